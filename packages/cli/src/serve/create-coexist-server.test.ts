/**
 * The server's routes over real HTTP, with the real HubSpot adapter writing to the HubSpot emulator:
 * handshake, signed deliveries, invalid payloads, /health, /status, the HubSpot card endpoint.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { signWebhookBody } from '@coexist/core';
import { HUBSPOT_CARD_MAX_BODY_BYTES, signHubSpotRequestV3 } from '@coexist/hubspot';
import { type HubSpotEmulator, startHubSpotEmulator } from '@coexist/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCoexistConfig } from './coexist-config.ts';
import { type CoexistServer, startCoexistServer } from './create-coexist-server.ts';

const fixture = readFileSync(
  fileURLToPath(new URL('../../../core/src/webhook/__fixtures__/meta/messages-text.json', import.meta.url)),
  'utf8',
);
const PHONE_NUMBER_ID = '106540352242922';
const CUSTOMER_PHONE = '+16505551234';
const WAMID = 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=';

let emulator: HubSpotEmulator;
let server: CoexistServer;
const env = {
  META_APP_SECRET: 'test-app-secret-0001',
  META_VERIFY_TOKEN: 'test-verify-token-0002',
  ADMIN_TOKEN: 'test-admin-token-0003',
  HUBSPOT_CLIENT_SECRET: 'test-hubspot-client-secret-0004',
  HUBSPOT_TOKEN: '',
};

beforeAll(async () => {
  emulator = await startHubSpotEmulator({ tier: 'pro' });
  env.HUBSPOT_TOKEN = emulator.token;
  const config = parseCoexistConfig(
    {
      port: 0,
      store: { type: 'memory' },
      adminToken: { env: 'ADMIN_TOKEN' },
      meta: { appSecret: { env: 'META_APP_SECRET' }, verifyToken: { env: 'META_VERIFY_TOKEN' } },
      connections: [
        {
          id: 'hubspot-main',
          crm: 'hubspot',
          phoneNumberIds: [PHONE_NUMBER_ID],
          hubspot: {
            accessToken: { env: 'HUBSPOT_TOKEN' },
            clientSecret: { env: 'HUBSPOT_CLIENT_SECRET' },
            basePath: emulator.url,
            tier: 'pro',
            portalId: '12345678',
          },
        },
      ],
    },
    env,
  );
  server = await startCoexistServer(config);
});

afterAll(async () => {
  await server?.close();
  await emulator?.close();
});

function post(body: string, signature = signWebhookBody(body, env.META_APP_SECRET)): Promise<Response> {
  return fetch(`${server.url}/webhooks/meta`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
    body,
  });
}

function signedCardRequest(path: string, options: { timestamp?: number; secret?: string } = {}): Promise<Response> {
  const url = `${server.url}${path}`;
  const timestamp = String(options.timestamp ?? Date.now());
  const signature = signHubSpotRequestV3({
    method: 'GET',
    url,
    body: '',
    timestamp,
    clientSecret: options.secret ?? env.HUBSPOT_CLIENT_SECRET,
  });
  return fetch(url, { headers: { 'x-hubspot-signature-v3': signature, 'x-hubspot-request-timestamp': timestamp } });
}

describe('coexist server', () => {
  it('answers Meta\u2019s verification handshake only with the verify token', async () => {
    const ok = await fetch(
      `${server.url}/webhooks/meta?hub.mode=subscribe&hub.verify_token=${env.META_VERIFY_TOKEN}&hub.challenge=1158201444`,
    );
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('1158201444');
    const wrong = await fetch(`${server.url}/webhooks/meta?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1`);
    expect(wrong.status).toBe(403);
  });

  it('acks a signed delivery after storing it, and the message reaches HubSpot through the real adapter', async () => {
    const response = await post(fixture);
    expect(response.status).toBe(200);
    // Acked means stored: the event is in the queue or already written.
    await server.coexist.engine.drain({ timeoutMs: 20_000 });
    const communications = [...emulator.state.communications.values()];
    expect(communications).toHaveLength(1);
    expect(communications[0]!.properties.coexist_message_id).toBe(WAMID);
    const contacts = [...emulator.state.contacts.values()];
    expect(contacts).toHaveLength(1);
    const associated = emulator.state.associationsOf('communications', communications[0]!.id, 'contacts');
    expect(associated.map((association) => association.toObjectId)).toEqual([contacts[0]!.id]);

    // A redelivery of the same bytes is acked and written nowhere twice.
    expect((await post(fixture)).status).toBe(200);
    await server.coexist.engine.drain({ timeoutMs: 20_000 });
    expect(emulator.state.communications.size).toBe(1);
  });

  it('refuses a wrong signature and keeps a signed but invalid payload for replay', async () => {
    expect((await post(fixture, 'sha256=00')).status).toBe(401);
    const invalid = '{"object":"whatsapp_business_account","entry":"nope"}';
    expect((await post(invalid)).status).toBe(400);
    const kept = await server.coexist.engine.listInvalidPayloads();
    expect(kept.map((payload) => payload.rawBody)).toContain(invalid);
  });

  it('reports health', async () => {
    const response = await fetch(`${server.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, store: 'ok', workers: 'running' });
  });

  it('reports per-number status behind the admin token, without secrets', async () => {
    expect((await fetch(`${server.url}/status`)).status).toBe(401);
    expect((await fetch(`${server.url}/status`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const response = await fetch(`${server.url}/status`, { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } });
    expect(response.status).toBe(200);
    const text = await response.text();
    for (const secret of Object.values(env)) expect(text).not.toContain(secret);
    const status = JSON.parse(text);
    expect(status.running).toBe(true);
    expect(status.invalidPayloads).toBe(1);
    const number = status.numbers.find((entry: { phoneNumberId: string }) => entry.phoneNumberId === PHONE_NUMBER_ID);
    expect(number).toMatchObject({
      connectionId: 'hubspot-main',
      link: { connection: expect.any(String), warnings: expect.any(Array) },
      backfill: { progress: expect.any(Number), complete: expect.any(Boolean) },
      queue: { pending: 0, waiting: 0, unrouted: 0 },
      deadLetters: 0,
    });
    expect(number.progress.live).toMatchObject({ received: 1, written: 1 });
    expect(status.connections).toEqual([expect.objectContaining({ id: 'hubspot-main', crm: 'hubspot' })]);
  });

  it('serves the chat card to a correctly signed HubSpot request only', async () => {
    const contactId = [...emulator.state.contacts.keys()][0]!;
    const path = `/cards/hubspot?contactId=${contactId}&portalId=12345678&userId=1&appId=2`;
    const response = await signedCardRequest(path);
    expect(response.status).toBe(200);
    const { card } = await response.json();
    expect(card.contact.phone).toBe(CUSTOMER_PHONE);
    expect(card.messages).toEqual([
      expect.objectContaining({ id: WAMID, direction: 'inbound', text: 'Does it come in another color?' }),
    ]);
    expect(card.serviceWindow).toMatchObject({ templateRequired: expect.any(Boolean) });

    // By phone in a rep's format, as HTML for an iframe.
    const html = await signedCardRequest('/cards/hubspot?phone=%2B1%20650-555-1234&format=html');
    expect(html.status).toBe(200);
    expect(html.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await html.text()).toContain('Does it come in another color?');

    expect((await signedCardRequest(path, { secret: 'another-app-secret' })).status).toBe(401);
    expect((await signedCardRequest(path, { timestamp: Date.now() - 10 * 60_000 })).status).toBe(401);
    expect((await fetch(`${server.url}${path}`)).status).toBe(401);
    // A contact with no conversation gets an empty card, not an error.
    const empty = await signedCardRequest('/cards/hubspot?contactId=999999');
    expect(await empty.json()).toEqual({ card: null });
  });

  it('refuses a card POST body over the bound with 413 before checking its signature', async () => {
    const response = await fetch(`${server.url}/cards/hubspot?contactId=1`, {
      method: 'POST',
      headers: { 'x-hubspot-signature-v3': 'junk', 'x-hubspot-request-timestamp': String(Date.now()) },
      body: 'x'.repeat(HUBSPOT_CARD_MAX_BODY_BYTES + 1),
    });
    expect(response.status).toBe(413);
  });

  it('answers 404 for other paths', async () => {
    expect((await fetch(`${server.url}/nothing-here`)).status).toBe(404);
  });
});
