import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type MetaEmulator, type MetaEmulatorOptions, startMetaEmulator } from './meta-emulator.ts';

const TOKEN = 'EAAG-test-token';
const APP_SECRET = 'app-secret-for-tests';
const NUMBER = { phoneNumberId: '106540352242922', displayPhoneNumber: '15550783881', wabaId: '102290129340398' };
const HOUR = 60 * 60 * 1000;

interface Received {
  body: Buffer;
  signature: string | undefined;
  verified: boolean;
}

/** A webhook receiver that verifies Meta's signature over the raw bytes with node:crypto. */
async function startReceiver(answer: (index: number) => number = () => 200) {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const signature = request.headers['x-hub-signature-256'] as string | undefined;
      const expected = Buffer.from(`sha256=${createHmac('sha256', APP_SECRET).update(body).digest('hex')}`);
      const verified =
        signature !== undefined &&
        signature.length === expected.length &&
        timingSafeEqual(Buffer.from(signature), expected);
      received.push({ body, signature, verified });
      response.writeHead(answer(received.length - 1)).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('Meta emulator (fetch)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(options: Partial<MetaEmulatorOptions> = {}): Promise<MetaEmulator> {
    const emulator = await startMetaEmulator({
      accessTokens: [TOKEN],
      appSecret: APP_SECRET,
      numbers: [{ ...NUMBER, onboardedAt: 0 }],
      ...options,
    });
    cleanups.push(() => emulator.close());
    return emulator;
  }

  function graph(emulator: MetaEmulator, path: string, init: { method?: string; body?: unknown; token?: string } = {}) {
    return fetch(`${emulator.url}/v23.0${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: { Authorization: `Bearer ${init.token ?? TOKEN}`, 'Content-Type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  }

  const text = (to: string, body = 'Hello') => ({ messaging_product: 'whatsapp', to, type: 'text', text: { body } });

  it('accepts each smb_app_data sync type once, only within 24 h of onboarding', async () => {
    let clock = 10 * HOUR;
    const emulator = await start({
      now: () => clock,
      numbers: [
        { ...NUMBER, onboardedAt: 0 },
        { phoneNumberId: '200', displayPhoneNumber: '15550000200', wabaId: '102290129340398', onboardedAt: 0 },
        { phoneNumberId: '300', displayPhoneNumber: '15550000300', wabaId: '1', onboardedAt: 0, isOnBizApp: false },
      ],
    });
    const sync = (id: string, syncType: string) =>
      graph(emulator, `/${id}/smb_app_data`, { body: { messaging_product: 'whatsapp', sync_type: syncType } });

    const contacts = await sync(NUMBER.phoneNumberId, 'smb_app_state_sync');
    expect(contacts.status).toBe(200);
    const accepted = await contacts.json();
    expect(accepted).toEqual({ messaging_product: 'whatsapp', request_id: expect.stringMatching(/^\d{16}$/) });
    expect((await sync(NUMBER.phoneNumberId, 'history')).status).toBe(200);

    const again = await sync(NUMBER.phoneNumberId, 'history');
    expect(again.status).toBe(400);
    const againBody = await again.json();
    expect(againBody.error).toMatchObject({
      type: 'OAuthException',
      code: 100,
      error_user_title: 'Sync already requested',
    });
    expect(againBody.error.fbtrace_id).toMatch(/^A[0-9A-Za-z]{22}$/);

    clock = 24 * HOUR + 1;
    const late = await sync('200', 'smb_app_state_sync');
    expect(late.status).toBe(400);
    expect((await late.json()).error).toMatchObject({ code: 100, error_user_title: 'Sync window expired' });

    expect((await (await sync('300', 'history')).json()).error.error_user_title).toBe(
      'Not a WhatsApp Business app number',
    );
    expect((await (await sync('200', 'everything')).json()).error.code).toBe(100);
    const unknown = await (await sync('999', 'history')).json();
    expect(unknown.error).toMatchObject({ type: 'GraphMethodException', code: 100, error_subcode: 33 });
    expect(emulator.syncRequests.map((request) => request.syncType)).toEqual(['smb_app_state_sync', 'history']);
  });

  it('delivers the payloads of the onSync hook as signed webhooks', async () => {
    const receiver = await startReceiver();
    cleanups.push(receiver.close);
    const emulator = await start({
      webhookUrl: receiver.url,
      onSync: (event) => [
        {
          object: 'whatsapp_business_account',
          entry: [{ id: event.number.wabaId, changes: [{ field: event.syncType, value: { n: 1 } }] }],
        },
        {
          object: 'whatsapp_business_account',
          entry: [{ id: event.number.wabaId, changes: [{ field: event.syncType, value: { n: 2 } }] }],
        },
      ],
      now: () => 1000,
    });
    const response = await graph(emulator, `/${NUMBER.phoneNumberId}/smb_app_data`, {
      body: { messaging_product: 'whatsapp', sync_type: 'history' },
    });
    expect(response.status).toBe(200);
    await emulator.waitForWebhooks();
    expect(receiver.received.map((item) => item.verified)).toEqual([true, true]);
    expect(receiver.received.map((item) => JSON.parse(item.body.toString()).entry[0].changes[0])).toEqual([
      { field: 'history', value: { n: 1 } },
      { field: 'history', value: { n: 2 } },
    ]);
  });

  it('reports the number as a Coexistence (Business App) number on the Cloud API', async () => {
    const emulator = await start();
    const response = await graph(emulator, `/${NUMBER.phoneNumberId}?fields=is_on_biz_app,platform_type`);
    expect(await response.json()).toEqual({
      is_on_biz_app: true,
      platform_type: 'CLOUD_API',
      id: NUMBER.phoneNumberId,
    });
    const bad = await graph(emulator, `/${NUMBER.phoneNumberId}?fields=colour`);
    expect((await bad.json()).error.message).toMatch(/nonexisting field \(colour\)/);
  });

  it('sends messages, then delivers signed sent/delivered/read status webhooks shaped like Meta', async () => {
    const receiver = await startReceiver();
    cleanups.push(receiver.close);
    const emulator = await start({ webhookUrl: receiver.url, statusDelaysMs: { sent: 0, delivered: 5, read: 10 } });
    const media = emulator.addMedia({ bytes: 'jpeg-bytes', mimeType: 'image/jpeg' });

    const sent = await graph(emulator, `/${NUMBER.phoneNumberId}/messages`, { body: text('+1 (650) 555-1234') });
    expect(sent.status).toBe(200);
    const answer = await sent.json();
    expect(answer).toEqual({
      messaging_product: 'whatsapp',
      contacts: [{ input: '+1 (650) 555-1234', wa_id: '16505551234' }],
      messages: [{ id: expect.stringMatching(/^wamid\./) }],
    });
    const template = await graph(emulator, `/${NUMBER.phoneNumberId}/messages`, {
      body: {
        messaging_product: 'whatsapp',
        to: '16505551234',
        type: 'template',
        template: { name: 'hello_world', language: { code: 'en_US' } },
      },
    });
    expect((await template.json()).messages[0].message_status).toBe('accepted');
    const image = await graph(emulator, `/${NUMBER.phoneNumberId}/messages`, {
      body: { messaging_product: 'whatsapp', to: '16505551234', type: 'image', image: { id: media.id } },
    });
    expect(image.status).toBe(200);
    const reaction = await graph(emulator, `/${NUMBER.phoneNumberId}/messages`, {
      body: {
        messaging_product: 'whatsapp',
        to: '16505551234',
        type: 'reaction',
        reaction: { message_id: answer.messages[0].id, emoji: '👍' },
      },
    });
    expect(reaction.status).toBe(200);

    await emulator.waitForWebhooks();
    expect(receiver.received).toHaveLength(3 + 3 + 3 + 1);
    expect(receiver.received.every((item) => item.verified)).toBe(true);
    const payloads = receiver.received.map((item) => JSON.parse(item.body.toString()));
    const forFirst = payloads.filter(
      (payload) => payload.entry[0].changes[0].value.statuses[0].id === answer.messages[0].id,
    );
    expect(forFirst.map((payload) => payload.entry[0].changes[0].value.statuses[0].status)).toEqual([
      'sent',
      'delivered',
      'read',
    ]);
    expect(forFirst[0]).toEqual({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: NUMBER.wabaId,
          changes: [
            {
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: NUMBER.displayPhoneNumber, phone_number_id: NUMBER.phoneNumberId },
                statuses: [
                  {
                    id: answer.messages[0].id,
                    status: 'sent',
                    timestamp: expect.stringMatching(/^\d{10}$/),
                    recipient_id: '16505551234',
                    pricing: {
                      billable: false,
                      pricing_model: 'PMP',
                      type: 'free_customer_service',
                      category: 'service',
                    },
                  },
                ],
              },
              field: 'messages',
            },
          ],
        },
      ],
    });
    // A tampered body no longer matches the signature.
    const first = receiver.received[0]!;
    const tampered = Buffer.concat([first.body, Buffer.from(' ')]);
    expect(`sha256=${createHmac('sha256', APP_SECRET).update(tampered).digest('hex')}`).not.toBe(first.signature);
    expect(emulator.webhookDeliveries.every((delivery) => delivery.delivered && delivery.attempts === 1)).toBe(true);
  });

  it('retries webhooks the receiver refuses when retries are configured', async () => {
    const receiver = await startReceiver((index) => (index === 0 ? 500 : 200));
    cleanups.push(receiver.close);
    const emulator = await start({ webhookUrl: receiver.url, webhookRetryDelaysMs: [5] });
    const delivery = await emulator.deliverWebhook({ object: 'whatsapp_business_account', entry: [] });
    expect(delivery).toMatchObject({ attempts: 2, status: 200, delivered: true });
    expect(receiver.received.map((item) => item.verified)).toEqual([true, true]);
  });

  it('allows 20 messages per second per number and answers 130429 beyond', async () => {
    let clock = 50_000;
    const emulator = await start({
      now: () => clock,
      statusDelaysMs: { sent: null, delivered: null, read: null },
      numbers: [
        { ...NUMBER, onboardedAt: 0 },
        { phoneNumberId: '200', displayPhoneNumber: '15550000200', wabaId: NUMBER.wabaId, onboardedAt: 0 },
      ],
    });
    const statuses: number[] = [];
    for (let index = 0; index < 21; index++) {
      statuses.push((await graph(emulator, `/${NUMBER.phoneNumberId}/messages`, { body: text('16505551234') })).status);
    }
    expect(statuses.filter((status) => status === 200)).toHaveLength(20);
    const limited = await graph(emulator, `/${NUMBER.phoneNumberId}/messages`, { body: text('16505551234') });
    expect(limited.status).toBe(400);
    expect((await limited.json()).error).toMatchObject({
      code: 130429,
      type: 'OAuthException',
      message: '(#130429) Rate limit hit',
      error_data: { messaging_product: 'whatsapp', details: 'Cloud API message throughput has been reached.' },
    });
    expect(statuses[20]).toBe(400);
    // Per number: the other number is unaffected; a second later the first accepts again.
    expect((await graph(emulator, '/200/messages', { body: text('16505551234') })).status).toBe(200);
    clock += 1000;
    expect((await graph(emulator, `/${NUMBER.phoneNumberId}/messages`, { body: text('16505551234') })).status).toBe(
      200,
    );
    expect(emulator.sentMessages).toHaveLength(22);
  });

  it('validates messaging_product, to and type', async () => {
    const emulator = await start({ statusDelaysMs: { sent: null, delivered: null, read: null } });
    const send = async (body: unknown) => {
      const response = await graph(emulator, `/${NUMBER.phoneNumberId}/messages`, { body });
      return { status: response.status, error: (await response.json()).error };
    };
    expect(await send({ to: '16505551234', type: 'text', text: { body: 'x' } })).toMatchObject({
      status: 400,
      error: { code: 100 },
    });
    expect((await send({ messaging_product: 'whatsapp', type: 'text', text: { body: 'x' } })).error.code).toBe(131008);
    expect(
      (await send({ messaging_product: 'whatsapp', to: 'abc', type: 'text', text: { body: 'x' } })).error.code,
    ).toBe(131009);
    expect((await send({ messaging_product: 'whatsapp', to: '16505551234', type: 'poll' })).error.code).toBe(131009);
    expect(
      (await send({ messaging_product: 'whatsapp', to: '16505551234', type: 'text', text: {} })).error.error_data
        .details,
    ).toBe('text.body is required');
    expect(
      (await send({ messaging_product: 'whatsapp', to: '16505551234', type: 'image', image: { id: 'nope' } })).error
        .code,
    ).toBe(131053);
    expect(emulator.sentMessages).toHaveLength(0);
  });

  it('serves registered media: lookup, then bytes from the URL with the bearer token', async () => {
    const emulator = await start();
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0x10]);
    const media = emulator.addMedia({ bytes, mimeType: 'image/png', id: '1234567890' });
    const lookup = await graph(emulator, '/1234567890');
    const info = await lookup.json();
    expect(info).toEqual({
      messaging_product: 'whatsapp',
      url: expect.stringContaining('/whatsapp_business/attachments/?mid=1234567890'),
      mime_type: 'image/png',
      sha256: createHash('sha256').update(bytes).digest('hex'),
      file_size: 7,
      id: media.id,
    });
    const download = await fetch(info.url, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(download.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await download.arrayBuffer())).toEqual(bytes);
    expect((await fetch(info.url)).status).toBe(401);
    expect(
      (await fetch(info.url.replace(/hash=[^&]+/, 'hash=forged'), { headers: { Authorization: `Bearer ${TOKEN}` } }))
        .status,
    ).toBe(404);
    expect((await (await graph(emulator, '/555')).json()).error.error_subcode).toBe(33);
  });

  it('refuses a bad token with Graph error 190', async () => {
    const emulator = await start();
    const response = await graph(emulator, `/${NUMBER.phoneNumberId}/messages`, {
      body: text('16505551234'),
      token: 'wrong',
    });
    expect(response.status).toBe(401);
    expect((await response.json()).error).toMatchObject({ type: 'OAuthException', code: 190 });
    const missing = await fetch(`${emulator.url}/v21.0/${NUMBER.phoneNumberId}?fields=is_on_biz_app`);
    expect(missing.status).toBe(401);
    const queryToken = await fetch(
      `${emulator.url}/v21.0/${NUMBER.phoneNumberId}?fields=is_on_biz_app&access_token=${TOKEN}`,
    );
    expect(queryToken.status).toBe(200);
    expect((await graph(emulator, `/${NUMBER.phoneNumberId}`)).status).toBe(200);
    const badVersion = await fetch(`${emulator.url}/latest/${NUMBER.phoneNumberId}`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect((await badVersion.json()).error.code).toBe(2500);
  });
});
