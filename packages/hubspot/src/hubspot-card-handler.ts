/**
 * The data endpoint of the HubSpot app card: `GET /cards/hubspot?contactId=…`, called by the card through
 * `hubspot.fetch()`, which signs every request with the app's client secret (signature v3). The handler verifies
 * the signature, loads the card and answers the `ChatCard` JSON. Web-standard `Request → Response`, so
 * `coexist serve` (or Hono, Next.js, Express via an adapter) can mount it.
 */
import { type ChatCard, readLimitedBody } from '@coexist/core';
import { verifyHubSpotSignatureV3 } from './hubspot-signature.ts';

/** Options of `createHubSpotCardHandler`. */
export interface HubSpotCardHandlerOptions {
  /** The HubSpot app's client secret (signs `hubspot.fetch` requests). */
  clientSecret: string;
  /** Loads the card of a HubSpot contact; `undefined` when Coexist has no conversation for it. */
  loadCard: (contactId: string, request: { portalId?: string }) => Promise<ChatCard | undefined> | ChatCard | undefined;
  /**
   * The public origin HubSpot calls (`https://coexist.example.com`), when a proxy rewrites the URL the server sees;
   * the signature covers the URL as HubSpot sent it.
   */
  publicOrigin?: string;
  /** Clock. @default Date.now */
  now?: () => number;
}

/**
 * The most a card request's body may hold. `hubspot.fetch` bodies are a few hundred bytes of JSON; the endpoint is
 * public, so anything larger is refused before its signature is checked (which needs the whole body).
 */
export const HUBSPOT_CARD_MAX_BODY_BYTES = 64 * 1024;

const json = (status: number, body: unknown): Response =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  });

/** Creates the card endpoint: verify the v3 signature, then answer the contact's `ChatCard` as JSON. */
export function createHubSpotCardHandler(options: HubSpotCardHandlerOptions): (request: Request) => Promise<Response> {
  if (typeof options.clientSecret !== 'string' || options.clientSecret === '') {
    throw new TypeError('[coexist/hubspot] createHubSpotCardHandler: `clientSecret` must be a non-empty string');
  }
  if (typeof options.loadCard !== 'function') {
    throw new TypeError('[coexist/hubspot] createHubSpotCardHandler: `loadCard` must be a function');
  }
  const now = options.now ?? Date.now;
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'POST') return json(405, { error: 'method_not_allowed' });
    const received = new URL(request.url);
    const url =
      options.publicOrigin === undefined
        ? request.url
        : `${options.publicOrigin.replace(/\/$/, '')}${received.pathname}${received.search}`;
    const bytes =
      request.method === 'GET' ? new Uint8Array(0) : await readLimitedBody(request, HUBSPOT_CARD_MAX_BODY_BYTES);
    if (bytes === undefined) return json(413, { error: 'body_too_large', maxBytes: HUBSPOT_CARD_MAX_BODY_BYTES });
    const body = new TextDecoder().decode(bytes);
    const verdict = verifyHubSpotSignatureV3({
      method: request.method,
      url,
      body,
      timestamp: request.headers.get('x-hubspot-request-timestamp'),
      signature: request.headers.get('x-hubspot-signature-v3'),
      clientSecret: options.clientSecret,
      now: now(),
    });
    if (!verdict.ok) return json(401, { error: 'invalid_signature', reason: verdict.reason });
    const contactId = received.searchParams.get('contactId') ?? '';
    if (!/^\d+$/.test(contactId)) return json(400, { error: 'invalid_request', field: 'contactId' });
    const portalId = received.searchParams.get('portalId') ?? undefined;
    const card = await options.loadCard(contactId, portalId === undefined ? {} : { portalId });
    if (card === undefined) return json(404, { error: 'not_found', contactId });
    return json(200, card);
  };
}
