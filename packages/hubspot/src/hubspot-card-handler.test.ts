import type { ChatCard } from '@coexist/core';
import { describe, expect, it } from 'vitest';
import { createHubSpotCardHandler, HUBSPOT_CARD_MAX_BODY_BYTES } from './hubspot-card-handler.ts';
import { signHubSpotRequestV3 } from './hubspot-signature.ts';

const clientSecret = 'app-client-secret';
const now = Date.UTC(2026, 2, 1, 12);
const card: ChatCard = {
  contact: { name: 'Ada', phone: '+16505551234' },
  messages: [],
  olderMessageCount: 0,
  ownership: {},
  serviceWindow: { open: false, freeFormAllowed: false, templateRequired: true },
  numberHealth: { connection: 'connected', warnings: [], backfillProgress: 100, backfillComplete: true },
  generatedAt: '2026-03-01T12:00:00.000Z',
};

function signedRequest(url: string, timestamp = now, secret = clientSecret): Request {
  const signature = signHubSpotRequestV3({ method: 'GET', url, body: '', timestamp, clientSecret: secret });
  return new Request(url, {
    headers: { 'x-hubspot-signature-v3': signature, 'x-hubspot-request-timestamp': String(timestamp) },
  });
}

describe('createHubSpotCardHandler', () => {
  const loaded: string[] = [];
  const handler = createHubSpotCardHandler({
    clientSecret,
    now: () => now,
    loadCard: (contactId) => {
      loaded.push(contactId);
      return contactId === '51' ? card : undefined;
    },
  });

  it('answers the card JSON for a signed request', async () => {
    const response = await handler(
      signedRequest('https://coexist.example.com/cards/hubspot?contactId=51&portalId=123'),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(await response.json()).toEqual(card);
  });

  it('refuses unsigned, stale or foreign requests before loading anything', async () => {
    loaded.length = 0;
    const url = 'https://coexist.example.com/cards/hubspot?contactId=51';
    expect((await handler(new Request(url))).status).toBe(401);
    expect((await handler(signedRequest(url, now - 6 * 60_000))).status).toBe(401);
    const foreign = await handler(signedRequest(url, now, 'another-app'));
    expect(foreign.status).toBe(401);
    expect(await foreign.json()).toEqual({ error: 'invalid_signature', reason: 'mismatch' });
    expect(loaded).toEqual([]);
  });

  it('refuses a body over HUBSPOT_CARD_MAX_BODY_BYTES with 413 before reading it, and verifies a POST body it read', async () => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        controller.enqueue(new Uint8Array(16 * 1024));
      },
    });
    const url = 'https://coexist.example.com/cards/hubspot?contactId=51';
    const oversized = await handler(new Request(url, { method: 'POST', body: endless, duplex: 'half' } as RequestInit));
    expect(oversized.status).toBe(413);
    expect(pulled).toBeLessThanOrEqual(HUBSPOT_CARD_MAX_BODY_BYTES / (16 * 1024) + 2);
    const body = '{"note":"ok"}';
    const signature = signHubSpotRequestV3({ method: 'POST', url, body, timestamp: now, clientSecret });
    const posted = await handler(
      new Request(url, {
        method: 'POST',
        body,
        headers: { 'x-hubspot-signature-v3': signature, 'x-hubspot-request-timestamp': String(now) },
      }),
    );
    expect(posted.status).toBe(200);
  });

  it('answers 400 for a bad contactId and 404 for an unknown contact', async () => {
    expect((await handler(signedRequest('https://coexist.example.com/cards/hubspot?contactId=abc'))).status).toBe(400);
    expect((await handler(signedRequest('https://coexist.example.com/cards/hubspot?contactId=52'))).status).toBe(404);
  });

  it('verifies against the public origin behind a proxy', async () => {
    const proxied = createHubSpotCardHandler({
      clientSecret,
      now: () => now,
      publicOrigin: 'https://coexist.example.com',
      loadCard: () => card,
    });
    const signed = signedRequest('https://coexist.example.com/cards/hubspot?contactId=51');
    const internal = new Request('http://127.0.0.1:8080/cards/hubspot?contactId=51', { headers: signed.headers });
    expect((await proxied(internal)).status).toBe(200);
  });
});
