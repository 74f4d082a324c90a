/**
 * The card data endpoints: `/cards/hubspot` (an app card's `hubspot.fetch`, signed with HubSpot's v3 signature)
 * and `/cards/close` (a signed chat link). Each verifies the caller, finds the contact's conversation in the
 * store and answers the chat card as JSON (or as a self-contained HTML page with `format=html`).
 */

import { createCloseCardHandler } from '@coexist/close';
import {
  CHAT_CARD_CONTENT_SECURITY_POLICY,
  type ChatCard,
  type CoexistStore,
  contactKey,
  readLimitedBody,
  renderChatCardHtml,
  type SyncConnection,
} from '@coexist/core';
import { HUBSPOT_CARD_MAX_BODY_BYTES, verifyHubSpotSignatureV3 } from '@coexist/hubspot';
import type { CoexistConfig, ConnectionConfig } from './coexist-config.ts';
import type { CoexistLogger } from './coexist-logger.ts';
import { loadChatCard } from './load-chat-card.ts';
import { json } from './status-routes.ts';

/** One card endpoint. */
export interface CardRoute {
  path: string;
  handle(request: Request): Promise<Response>;
}

/** What the card routes need. */
export interface CardRoutesContext {
  config: CoexistConfig;
  connections: readonly SyncConnection[];
  store: CoexistStore;
  logger: CoexistLogger;
  /** The clock (signature freshness, card times). @default Date.now */
  now?: () => number;
}

/** Which contact a card request is about, as its query string says. */
interface CardQuery {
  /** The CRM's contact id (HubSpot `objectId`/`contactId`, Close contact id). */
  crmId?: string;
  /** The contact's phone in any format. */
  phone?: string;
  phoneNumberId?: string;
  format: 'json' | 'html';
  limit?: number;
}

/** Creates the card endpoints for the configured connections. */
export function createCardRoutes(context: CardRoutesContext): CardRoute[] {
  const now = context.now ?? Date.now;
  const hubspotConnections = context.config.connections.filter(
    (connection): connection is Extract<ConnectionConfig, { crm: 'hubspot' }> => connection.crm === 'hubspot',
  );
  const closeConnections = context.config.connections.filter(
    (connection): connection is Extract<ConnectionConfig, { crm: 'close' }> => connection.crm === 'close',
  );
  const routes: CardRoute[] = [];

  if (hubspotConnections.length > 0) {
    routes.push({
      path: '/cards/hubspot',
      async handle(request) {
        if (request.method !== 'GET' && request.method !== 'POST') {
          return json({ error: { message: 'method not allowed' } }, 405, { allow: 'GET, POST' });
        }
        const url = new URL(request.url);
        const portalId = url.searchParams.get('portalId') ?? undefined;
        const connection =
          hubspotConnections.find((candidate) => portalId !== undefined && candidate.hubspot.portalId === portalId) ??
          (hubspotConnections.length === 1 ? hubspotConnections[0] : undefined);
        if (connection === undefined)
          return json({ error: { message: 'no HubSpot connection for this portalId' } }, 404);
        const clientSecret = connection.hubspot.clientSecret;
        if (clientSecret === undefined) {
          return json(
            { error: { message: `cards are off: connection "${connection.id}" has no hubspot.clientSecret` } },
            404,
          );
        }
        // Bounded: the route is public and the signature check needs the whole body.
        const bytes =
          request.method === 'POST' ? await readLimitedBody(request, HUBSPOT_CARD_MAX_BODY_BYTES) : new Uint8Array(0);
        if (bytes === undefined) {
          return json({ error: { message: `body exceeds ${HUBSPOT_CARD_MAX_BODY_BYTES} bytes` } }, 413);
        }
        const body = new TextDecoder().decode(bytes);
        // Behind a proxy the URL HubSpot signed is the public one, not the one this server sees.
        const publicUrl = context.config.publicUrl;
        const signedUrl =
          publicUrl === undefined ? request.url : `${publicUrl.replace(/\/+$/, '')}${url.pathname}${url.search}`;
        const verified = verifyHubSpotSignatureV3({
          method: request.method,
          url: signedUrl,
          body,
          signature: request.headers.get('x-hubspot-signature-v3'),
          timestamp: request.headers.get('x-hubspot-request-timestamp'),
          clientSecret,
          now: now(),
        });
        if (!verified.ok) {
          context.logger.warn('card request rejected', { route: '/cards/hubspot', reason: verified.reason });
          return json({ error: { message: `HubSpot signature check failed: ${verified.reason}` } }, 401);
        }
        const query = readCardQuery(url, ['objectId', 'contactId', 'hs_object_id']);
        if (query instanceof Response) return query;
        return cardResponse(context, connection, query, now);
      },
    });
  }

  if (closeConnections.length > 0) {
    const signed = closeConnections.filter((connection) => connection.close.linkSecret !== undefined);
    // One handler per link secret; a link's organization picks the connection.
    const handlers = signed.map((connection) => ({
      connection,
      handle: createCloseCardHandler({
        signingSecret: connection.close.linkSecret!,
        now,
        loadCard: async (target) => {
          if (
            connection.close.organizationId !== undefined &&
            connection.close.organizationId !== target.organizationId
          ) {
            return undefined;
          }
          const keys =
            target.contactPhone === undefined
              ? await context.store.findContactKeys(connection.id, target.leadId)
              : [contactKey({ phone: target.contactPhone })].filter((key) => key !== undefined);
          if (keys.length === 0) return undefined;
          return loadChatCard(context.store, {
            connectionId: connection.id,
            phoneNumberIds: connection.phoneNumberIds,
            contactKeys: keys,
            now: new Date(now()),
          });
        },
      }),
    }));
    routes.push({
      path: '/cards/close',
      async handle(request) {
        const organizationId = new URL(request.url).searchParams.get('org') ?? undefined;
        const match =
          handlers.find(
            (entry) => organizationId !== undefined && entry.connection.close.organizationId === organizationId,
          ) ?? (handlers.length === 1 ? handlers[0] : undefined);
        if (match === undefined) {
          return json(
            { error: { message: 'no Close connection with a close.linkSecret serves this organization' } },
            404,
          );
        }
        const response = await match.handle(request);
        if (response.status === 403) context.logger.warn('card request rejected', { route: '/cards/close' });
        return response;
      },
    });
  }
  return routes;
}

function readCardQuery(url: URL, idParameters: readonly string[]): CardQuery | Response {
  const parameters = url.searchParams;
  const crmId =
    idParameters.map((name) => parameters.get(name)).find((value) => value !== null && value !== '') ?? undefined;
  const phone = parameters.get('phone') ?? undefined;
  if (crmId === undefined && (phone === undefined || phone === '')) {
    return json({ error: { message: `query: expected ${idParameters.join(' or ')}, or phone` } }, 400);
  }
  const format = parameters.get('format') ?? 'json';
  if (format !== 'json' && format !== 'html') return json({ error: { message: 'format: expected json or html' } }, 400);
  const limitText = parameters.get('limit');
  const limit = limitText === null ? undefined : Number(limitText);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 200)) {
    return json({ error: { message: 'limit: expected a whole number from 1 to 200' } }, 400);
  }
  return {
    ...(crmId === undefined ? {} : { crmId }),
    ...(phone === undefined || phone === '' ? {} : { phone }),
    ...(parameters.get('phoneNumberId') ? { phoneNumberId: parameters.get('phoneNumberId')! } : {}),
    format,
    ...(limit === undefined ? {} : { limit }),
  };
}

async function cardResponse(
  context: CardRoutesContext,
  connection: ConnectionConfig,
  query: CardQuery,
  now: () => number,
): Promise<Response> {
  const keys = new Set<string>();
  if (query.crmId !== undefined)
    for (const key of await context.store.findContactKeys(connection.id, query.crmId)) keys.add(key);
  if (query.phone !== undefined) {
    const key = contactKey({ phone: query.phone });
    if (key !== undefined) keys.add(key);
  }
  if (query.phoneNumberId !== undefined && !connection.phoneNumberIds.includes(query.phoneNumberId)) {
    return json({ error: { message: 'phoneNumberId: not served by this connection' } }, 404);
  }
  const card: ChatCard | undefined =
    keys.size === 0
      ? undefined
      : await loadChatCard(context.store, {
          connectionId: connection.id,
          phoneNumberIds: connection.phoneNumberIds,
          contactKeys: [...keys],
          ...(query.phoneNumberId === undefined ? {} : { phoneNumberId: query.phoneNumberId }),
          ...(query.limit === undefined ? {} : { limit: query.limit }),
          now: new Date(now()),
        });
  if (query.format === 'html') {
    if (card === undefined) return new Response('No WhatsApp conversation yet.', { status: 404 });
    return new Response(renderChatCardHtml(card), {
      status: 200,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': CHAT_CARD_CONTENT_SECURITY_POLICY,
        'cache-control': 'no-store',
      },
    });
  }
  // No conversation is an answer the card shows ("no WhatsApp conversation yet"), not an error.
  return json({ card: card ?? null });
}
