import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CoexistenceEvent } from '../events/coexistence-event.ts';
import {
  type CreateWebhookHandlerOptions,
  createWebhookHandler,
  type InvalidWebhookDelivery,
  type WebhookDelivery,
} from './create-webhook-handler.ts';
import { parseWebhook } from './parse-webhook.ts';
import { toNodeListener } from './to-node-listener.ts';
import { WebhookValidationError } from './webhook-validation-error.ts';

const appSecret = 'handler-test-app-secret';
const verifyToken = 'handler-test-verify-token';
const maxBodyBytes = 64 * 1024;

/** Signed independently of the module under test. */
function sign(body: string | Uint8Array, secret = appSecret): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

/** A Meta `messages` webhook carrying one inbound text message. */
function textMessagePayload(
  text: string,
  id = 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
): string {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
              contacts: [{ profile: { name: 'Sheena Nelson' }, wa_id: '16505551234' }],
              messages: [{ from: '16505551234', id, timestamp: '1749416383', type: 'text', text: { body: text } }],
            },
            field: 'messages',
          },
        ],
      },
    ],
  });
}

const invalidEnvelope = JSON.stringify({
  object: 'whatsapp_business_account',
  entry: [
    {
      id: '102290129340398',
      changes: [
        {
          field: 'messages',
          value: {
            messaging_product: 'whatsapp',
            metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
            messages: [
              { from: '16505551234', id: 'wamid.X', timestamp: 'yesterday', type: 'text', text: { body: 'hi' } },
            ],
          },
        },
      ],
    },
  ],
});

/** What the handler handed to the application. */
interface Recorded {
  deliveries: { events: CoexistenceEvent[]; delivery: WebhookDelivery }[];
  invalid: InvalidWebhookDelivery[];
  failOnEvents: boolean;
  failOnInvalid: boolean;
}

const recorded: Recorded = { deliveries: [], invalid: [], failOnEvents: false, failOnInvalid: false };

const options: CreateWebhookHandlerOptions = {
  appSecret,
  verifyToken,
  maxBodyBytes,
  async onEvents(events, delivery) {
    if (recorded.failOnEvents) throw new Error('database down; payload text must not leak');
    recorded.deliveries.push({ events, delivery });
  },
  async onInvalid(delivery) {
    if (recorded.failOnInvalid) throw new Error('cannot store');
    recorded.invalid.push(delivery);
  },
};
const handler = createWebhookHandler(options);

let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = createServer(toNodeListener(handler));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/meta`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  recorded.deliveries = [];
  recorded.invalid = [];
  recorded.failOnEvents = false;
  recorded.failOnInvalid = false;
});

function post(body: string, signature?: string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (signature !== undefined) headers['x-hub-signature-256'] = signature;
  return fetch(baseUrl, { method: 'POST', headers, body });
}

describe('GET verification handshake (over HTTP)', () => {
  it('answers 200 text/plain with the raw hub.challenge when the verify token matches', async () => {
    const challenge = '1158201444';
    const response = await fetch(
      `${baseUrl}?hub.mode=subscribe&hub.challenge=${challenge}&hub.verify_token=${encodeURIComponent(verifyToken)}`,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await response.text()).toBe(challenge);
  });

  it('answers 403 for a wrong verify token, a missing one, or a mode other than subscribe', async () => {
    for (const query of [
      `hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong`,
      `hub.mode=subscribe&hub.challenge=1`,
      `hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=${verifyToken}`,
      `hub.mode=subscribe&hub.challenge=1&hub.verify_token=${verifyToken}x`,
    ]) {
      const response = await fetch(`${baseUrl}?${query}`);
      expect(response.status, query).toBe(403);
      expect(await response.text()).not.toContain('1');
    }
  });
});

describe('POST deliveries (over HTTP)', () => {
  it('answers 200 and hands the parsed events, raw body and receive time to onEvents', async () => {
    const body = textMessagePayload('Does it come in another color?');
    const before = Date.now();
    const response = await post(body, sign(body));
    expect(response.status).toBe(200);
    expect(recorded.deliveries).toHaveLength(1);
    const { events, delivery } = recorded.deliveries[0]!;
    expect(new TextDecoder().decode(delivery.rawBody)).toBe(body);
    expect(delivery.receivedAt).toBeInstanceOf(Date);
    expect(delivery.receivedAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(events).toEqual(parseWebhook(JSON.parse(body), { receivedAt: delivery.receivedAt }));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'message.received',
      wabaId: '102290129340398',
      message: { kind: 'text', text: 'Does it come in another color?' },
    });
    expect(recorded.invalid).toHaveLength(0);
  });

  it('answers 401 without a signature and calls neither onEvents nor onInvalid, even for an invalid body', async () => {
    for (const body of [textMessagePayload('hi'), 'not json', invalidEnvelope]) {
      const response = await post(body);
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: { message: 'missing X-Hub-Signature-256 header' } });
    }
    expect(recorded.deliveries).toHaveLength(0);
    expect(recorded.invalid).toHaveLength(0);
  });

  it('answers 401 for a wrong signature and calls neither onEvents nor onInvalid', async () => {
    const body = textMessagePayload('hi');
    for (const [payload, signature] of [
      [body, sign(body, 'another-secret')],
      [body, sign(`${body} `)],
      [body, 'sha256=deadbeef'],
      [body, sign(body).slice(7)],
      ['not json', sign('not json', 'another-secret')],
    ] as const) {
      const response = await post(payload, signature);
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: { message: 'X-Hub-Signature-256 does not match the body' } });
    }
    expect(recorded.deliveries).toHaveLength(0);
    expect(recorded.invalid).toHaveLength(0);
  });

  it('accepts Meta’s escaped-Unicode signature and keeps the text intact', async () => {
    const text = 'Olá! Preço 👋 äöå';
    const body = textMessagePayload(text);
    const escapedBody = body.replace(
      /[^\0-\x7f]/g,
      (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
    expect(escapedBody).toContain('Ol\\u00e1! Pre\\u00e7o \\ud83d\\udc4b');
    const response = await post(body, sign(escapedBody));
    expect(response.status).toBe(200);
    expect(recorded.deliveries[0]!.events[0]).toMatchObject({ message: { text } });
    // And the plain raw-bytes signature of the same body works too.
    expect((await post(body, sign(body))).status).toBe(200);
  });

  it('answers 413 for a body over maxBodyBytes with a Content-Length, without calling anything', async () => {
    const body = textMessagePayload('x'.repeat(maxBodyBytes));
    const response = await post(body, sign(body));
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: { message: `body exceeds maxBodyBytes (${maxBodyBytes} bytes)` } });
    expect(recorded.deliveries).toHaveLength(0);
    expect(recorded.invalid).toHaveLength(0);
  });

  it('answers 413 for a chunked body (no Content-Length) that grows past maxBodyBytes', async () => {
    let sent = 0;
    const chunk = new TextEncoder().encode('x'.repeat(16 * 1024));
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 64)
          controller.close(); // 1 MiB in all, far past the limit
        else {
          controller.enqueue(chunk);
          sent += 1;
        }
      },
    });
    const response = await fetch(baseUrl, {
      method: 'POST',
      headers: { 'x-hub-signature-256': sign('irrelevant') },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(recorded.deliveries).toHaveLength(0);
  });

  it('answers 400 with the reason for a signed body that is not JSON, after onInvalid kept it', async () => {
    const body = '{"object":"whatsapp_business_account","entry":[';
    const response = await post(body, sign(body));
    expect(response.status).toBe(400);
    const answer = (await response.json()) as { error: { message: string; path: string } };
    expect(answer.error.path).toBe('');
    expect(answer.error.message).toMatch(/not valid JSON/);
    expect(recorded.invalid).toHaveLength(1);
    const [invalid] = recorded.invalid;
    expect(new TextDecoder().decode(invalid!.rawBody)).toBe(body);
    expect(invalid!.error).toBeInstanceOf(WebhookValidationError);
    expect(invalid!.receivedAt).toBeInstanceOf(Date);
    expect(recorded.deliveries).toHaveLength(0);
  });

  it('answers 400 naming the path at fault for a signed but invalid envelope, after onInvalid kept it', async () => {
    const response = await post(invalidEnvelope, sign(invalidEnvelope));
    expect(response.status).toBe(400);
    const answer = (await response.json()) as { error: { message: string; path: string } };
    expect(answer.error.path).toBe('entry[0].changes[0].value.messages[0].timestamp');
    expect(answer.error.message).toContain('entry[0].changes[0].value.messages[0].timestamp');
    expect(recorded.invalid).toHaveLength(1);
    expect(recorded.invalid[0]!.error.path).toBe('entry[0].changes[0].value.messages[0].timestamp');
    expect(new TextDecoder().decode(recorded.invalid[0]!.rawBody)).toBe(invalidEnvelope);
    expect(recorded.deliveries).toHaveLength(0);
  });

  it('keeps a signed body the parser cannot read for another reason (nesting too deep) as invalid, with a 400', async () => {
    const nested = '['.repeat(20_000) + ']'.repeat(20_000);
    const body = textMessagePayload('hi').replace(
      '"messaging_product"',
      `"future_field":${nested},"messaging_product"`,
    );
    const response = await post(body, sign(body));
    expect(response.status).toBe(400);
    expect(recorded.invalid).toHaveLength(1);
    expect(recorded.invalid[0]!.error.message).toMatch(/the payload could not be read \(RangeError\)/);
    expect(new TextDecoder().decode(recorded.invalid[0]!.rawBody)).toBe(body);
    expect(recorded.deliveries).toHaveLength(0);
  });

  it('answers 500 when onInvalid throws, so Meta redelivers what could not be stored', async () => {
    recorded.failOnInvalid = true;
    const response = await post(invalidEnvelope, sign(invalidEnvelope));
    expect(response.status).toBe(500);
  });

  it('answers 500 when onEvents throws, without leaking the error', async () => {
    recorded.failOnEvents = true;
    const body = textMessagePayload('hi');
    const response = await post(body, sign(body));
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).not.toContain('database down');
    expect(JSON.parse(text)).toEqual({ error: { message: 'onEvents failed; the delivery was not processed' } });
  });

  it('answers 405 with Allow for other methods', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const response = await fetch(baseUrl, { method, body: '{}' });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, POST');
    }
  });
});

describe('the handler with web-standard Request objects', () => {
  const url = 'https://example.test/api/whatsapp';

  it('performs the handshake', async () => {
    const response = await handler(
      new Request(`${url}?hub.mode=subscribe&hub.challenge=abc%20123&hub.verify_token=${verifyToken}`),
    );
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('abc 123');
  });

  it('delivers a signed POST', async () => {
    const body = textMessagePayload('hello');
    const response = await handler(
      new Request(url, { method: 'POST', headers: { 'x-hub-signature-256': sign(body) }, body }),
    );
    expect(response.status).toBe(200);
    expect(recorded.deliveries[0]!.events[0]).toMatchObject({ type: 'message.received', message: { text: 'hello' } });
  });

  it('stops reading an endless body at maxBodyBytes instead of buffering it', async () => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        controller.enqueue(new Uint8Array(8 * 1024));
      },
    });
    const response = await handler(
      new Request(url, {
        method: 'POST',
        headers: { 'x-hub-signature-256': sign('x') },
        body: endless,
        duplex: 'half',
      } as RequestInit),
    );
    expect(response.status).toBe(413);
    // The limit is 64 KiB of 8 KiB chunks: reading stopped right after it was passed.
    expect(pulled).toBeLessThanOrEqual(maxBodyBytes / (8 * 1024) + 2);
  });

  it('refuses to be created without a secret or verify token', () => {
    expect(() => createWebhookHandler({ ...options, appSecret: '' })).toThrow(
      '[coexist/core] createWebhookHandler: options.appSecret must be a non-empty string',
    );
    expect(() => createWebhookHandler({ ...options, verifyToken: '' })).toThrow(
      '[coexist/core] createWebhookHandler: options.verifyToken must be a non-empty string',
    );
    expect(() => createWebhookHandler({ ...options, maxBodyBytes: 0 })).toThrow(
      '[coexist/core] createWebhookHandler: options.maxBodyBytes must be a positive integer',
    );
  });
});
