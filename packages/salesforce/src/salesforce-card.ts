/**
 * The Salesforce chat card. On a record page the card is the Lightning Web Component `coexistChatCard`
 * (`force-app/main/default/lwc/coexistChatCard/`), which reads our custom objects through the platform itself;
 * `renderCard` serves the same conversation as HTML for the fallback surfaces (a Canvas app or a Visualforce iframe,
 * crm-apis.md §3.6) and for previews outside Salesforce.
 */
import { type ChatCard, type CrmCardRendering, renderChatCardHtml } from '@coexist/core';

/** Renders a chat card as the HTML of the card's fallback surface. */
export function renderSalesforceCard(card: ChatCard): CrmCardRendering {
  return { contentType: 'text/html', body: renderChatCardHtml(card) };
}
