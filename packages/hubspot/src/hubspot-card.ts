/**
 * The chat card for HubSpot: the app card (`packages/hubspot/card/`, a UI extension) fetches the core `ChatCard`
 * model as JSON from `coexist serve` (`/cards/hubspot?contactId=…`, see `createHubSpotCardHandler`) and renders it
 * with `@hubspot/ui-extensions` components. So the adapter's rendering is the JSON the card reads.
 */
import type { ChatCard, CrmCardRendering } from '@coexist/core';

/** The JSON the HubSpot app card fetches: the `ChatCard` model, unchanged. */
export function renderHubSpotCard(card: ChatCard): CrmCardRendering {
  return { contentType: 'application/json', body: JSON.stringify(card) };
}
