import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CrmAuthError,
  CrmRateLimitedError,
  CrmTransientError,
  createMemoryStore,
  createSyncEngine,
  type MessageRecord,
  type OperationContext,
  parseWebhook,
  phoneVariants,
  type RateLimitSignal,
} from '@coexist/core';
import { generateTraffic } from '@coexist/sandbox';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CloseHarness,
  seedCloseContact,
  startCloseHarness,
  storedMessages,
  TEST_API_KEY,
} from './__fixtures__/close-test-harness.ts';
import { type CloseAdapterOptions, createCloseAdapter } from './close-adapter.ts';
import { verifyCloseCardLink } from './close-card.ts';

const SECRET = 'close-card-signing-secret-for-tests-0123456789';
const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((item) => item.close()));
});

async function harnessWith(options: Parameters<typeof startCloseHarness>[0] = {}): Promise<CloseHarness> {
  const harness = await startCloseHarness(options);
  running.push(harness.emulator);
  return harness;
}

function adapterFor(harness: CloseHarness, options: Partial<CloseAdapterOptions> = {}) {
  return createCloseAdapter({
    baseUrl: harness.emulator.apiUrl,
    apiKey: TEST_API_KEY,
    axios: harness.http,
    ...options,
  });
}

function context(signals: RateLimitSignal[] = []): OperationContext {
  return {
    connectionId: 'test',
    signal: new AbortController().signal,
    onRateLimitSignal: (signal) => signals.push(signal),
  };
}

function record(
  contact: { crmId: string; parentId?: string; phone: string },
  key: string,
  overrides: Partial<MessageRecord> = {},
): MessageRecord {
  return {
    key,
    direction: 'inbound',
    actor: 'customer',
    occurredAt: '2026-03-01T09:30:00.000Z',
    source: 'live',
    contactCrmId: contact.crmId,
    ...(contact.parentId === undefined ? {} : { contactParentCrmId: contact.parentId }),
    contactPhone: contact.phone,
    businessPhone: '+14155550100',
    conversationKey: `conversation:${contact.phone}`,
    previousMessageCrmId: null,
    content: { kind: 'text', text: 'Hi *there*', summary: 'Hi *there*', placeholder: false },
    ...overrides,
  };
}

async function newContact(adapter: ReturnType<typeof adapterFor>, phone = '+16505551000') {
  const [result] = await adapter.createContacts([{ key: `phone:${phone}`, phone, name: 'Grace Hopper' }], context());
  if (!result?.ok) throw new Error('contact not created');
  return { crmId: result.crmId, ...(result.parentId === undefined ? {} : { parentId: result.parentId }), phone };
}

describe('createCloseAdapter against the Close emulator', () => {
  it('does no I/O at creation', async () => {
    const harness = await harnessWith();
    adapterFor(harness);
    createCloseAdapter({ baseUrl: harness.emulator.apiUrl, axios: harness.http });
    expect(harness.requests).toEqual([]);
  });

  it('matches contacts stored in many formats with one search request for many phones', async () => {
    const harness = await harnessWith();
    const stored = [
      { e164: '+16505551234', as: '+1 (650) 555-1234' },
      { e164: '+14155550101', as: '(415) 555-0101' },
      { e164: '+447911123456', as: '0044 7911 123456' },
      { e164: '+4915123456789', as: '4915123456789' },
      { e164: '+5511912345678', as: '+55 11 91234-5678' },
    ];
    const ids = stored.map((entry) =>
      seedCloseContact(harness.emulator, { phone: entry.as, name: `Seeded ${entry.e164}` }),
    );
    // A near miss (one digit off) is stored too: the client-side confirmation must not report it.
    seedCloseContact(harness.emulator, { phone: '+1 650 555 1235', name: 'Near miss' });
    const adapter = adapterFor(harness);
    const requests = [...stored.map((entry) => entry.e164), '+16505559999'].map((phone) => ({
      key: `phone:${phone}`,
      phone,
      phoneVariants: phoneVariants(phone),
    }));
    const results = await adapter.findContacts(requests, context());
    expect(harness.requests).toEqual(['POST /data/search/']);
    expect(results.map((result) => (result.ok ? result.matches.map((match) => match.crmId) : 'failed'))).toEqual([
      ...ids.map((id) => [id]),
      [],
    ]);
    const first = results[0];
    expect(first?.ok && first.matches[0]).toMatchObject({
      matchedOn: 'phone',
      objectType: 'contact',
      name: 'Seeded +16505551234',
    });
    expect(first?.ok && first.matches[0]?.parentId).toMatch(/^lead_/);
  });

  it('creates a lead with its contact, named from the app contact, owned through the owner field', async () => {
    const harness = await harnessWith();
    const adapter = adapterFor(harness, { ownerCustomFieldId: 'cf_owner', owners: { '+14155550100': 'user_rep' } });
    const [result] = await adapter.createContacts(
      [{ key: 'phone:+16505552000', phone: '+16505552000', name: 'Ada Lovelace' }],
      context(),
    );
    expect(result).toMatchObject({ ok: true, created: true });
    const lead = [...harness.emulator.state.leads.values()][0]!;
    const contact = [...harness.emulator.state.contacts.values()][0]!;
    expect(lead).toMatchObject({ name: 'Ada Lovelace', custom: { cf_owner: 'user_rep' } });
    expect(contact).toMatchObject({
      lead_id: lead.id,
      name: 'Ada Lovelace',
      phones: [{ phone: '+16505552000', type: 'mobile' }],
    });
    expect(result?.ok && result.parentId).toBe(lead.id);
  });

  it('skips its pre-create search when the engine has just searched (notFoundAt), and searches when the hint is stale', async () => {
    const harness = await harnessWith();
    const adapter = adapterFor(harness);
    const searches = () => harness.emulator.stats.byRoute['POST /api/v1/data/search/'] ?? 0;
    const [fresh] = await adapter.createContacts(
      [{ key: 'phone:+16505554000', phone: '+16505554000', name: 'Fresh', notFoundAt: new Date().toISOString() }],
      context(),
    );
    expect(fresh).toMatchObject({ ok: true, created: true });
    expect(searches()).toBe(0);
    // A stale "not found" proves nothing: the adapter looks up first and finds the lead just created.
    const [stale] = await adapter.createContacts(
      [{ key: 'phone:+16505554000', phone: '+16505554000', name: 'Fresh', notFoundAt: '2020-01-01T00:00:00Z' }],
      context(),
    );
    expect(searches()).toBe(1);
    expect(stale).toMatchObject({ ok: true, created: false, crmId: fresh!.ok ? fresh!.crmId : '' });
    expect(harness.emulator.state.leads.size).toBe(1);
    // A second create of the same customer whose search predates the first create (a contact sync and a message
    // batch resolving one person side by side) reuses the lead instead of posting another.
    const [late] = await adapter.createContacts(
      [{ key: 'phone:+16505554000', phone: '+16505554000', name: 'Fresh', notFoundAt: new Date().toISOString() }],
      context(),
    );
    expect(late).toMatchObject({ ok: true, created: false, crmId: fresh!.ok ? fresh!.crmId : '' });
    expect(harness.emulator.state.leads.size).toBe(1);
    expect(searches()).toBe(1);
  });

  it('creates one lead when two conversations with the same customer create it at once', async () => {
    const harness = await harnessWith();
    const adapter = adapterFor(harness);
    const input = { key: 'phone:+16505553000', phone: '+16505553000', name: 'Same Person' };
    const results = await Promise.all([
      adapter.createContacts([input], context()),
      adapter.createContacts([input], context()),
    ]);
    expect(harness.emulator.state.leads.size).toBe(1);
    const ids = results.map(([result]) => (result?.ok ? result.crmId : undefined));
    expect(ids[0]).toBe(ids[1]);
    expect(results.map(([result]) => result?.ok && result.created).sort()).toEqual([false, true]);
  });

  it('writes a WhatsApp activity with the exact payload fields, thread id and a signed card link', async () => {
    const harness = await harnessWith();
    const adapter = adapterFor(harness, {
      integrationLinkBaseUrl: 'https://cards.example.com/close/card',
      cardSigningSecret: SECRET,
      now: () => Date.parse('2026-03-01T00:00:00Z'),
    });
    const contact = await newContact(adapter);
    const first = await adapter.writeMessages([record(contact, 'wamid.one')], context());
    const firstId = first[0]?.ok ? first[0].crmId : '';
    await adapter.writeMessages(
      [
        record(contact, 'wamid.two', {
          direction: 'outbound',
          actor: 'business_app',
          occurredAt: '2026-03-01T09:31:00.000Z',
          status: 'sent',
          previousMessageCrmId: firstId,
          content: { kind: 'text', text: 'On my way', summary: 'On my way', placeholder: false },
        }),
      ],
      context(),
    );
    const [one, two] = [...harness.emulator.state.activities.values()];
    expect(one).toMatchObject({
      lead_id: contact.parentId,
      contact_id: contact.crmId,
      direction: 'incoming',
      external_whatsapp_message_id: 'wamid.one',
      activity_at: '2026-03-01T09:30:00.000000+00:00',
      local_phone: '+14155550100',
      remote_phone: '+16505551000',
      message_markdown: 'Hi *there*\n\n_WhatsApp · Customer_',
      response_to_id: null,
    });
    expect(two).toMatchObject({
      direction: 'outgoing',
      response_to_id: one!.id,
      message_markdown: 'On my way\n\n_WhatsApp · Business App · Sent_',
    });
    const link = verifyCloseCardLink(one!.integration_link!, {
      secret: SECRET,
      now: Date.parse('2026-03-02T00:00:00Z'),
    });
    expect(link).toMatchObject({
      ok: true,
      organizationId: 'orga_emulator',
      leadId: contact.parentId,
      contactPhone: '+16505551000',
      scope: 'lead',
    });
    // The organization id came from GET /me/ once, not once per message.
    expect(harness.requests.filter((request) => request === 'GET /me/')).toHaveLength(1);
  });

  it('does not duplicate an activity whose POST was applied after the client gave up (timeout, then retry)', async () => {
    const harness = await harnessWith();
    const adapter = adapterFor(harness, { timeoutMs: 150 });
    const contact = await newContact(adapter);
    // The POST is held 400 ms by the emulator and applied afterwards; the client times out at 150 ms.
    harness.onRequest = (request) => {
      if (request === 'POST /activity/whatsapp_message/')
        harness.emulator.faults.configure({ slowRate: 1, slowMs: 400 });
    };
    const message = record(contact, 'wamid.lost-answer');
    const outcome = await adapter.writeMessages([message], context()).then(
      (results) => (results[0]?.ok === false ? results[0].error : results[0]),
      (error: unknown) => error,
    );
    expect(outcome).toBeInstanceOf(CrmTransientError);
    expect((outcome as CrmTransientError).code).toBe('timeout');
    harness.onRequest = undefined;
    harness.emulator.faults.configure({});
    // The engine never learned the activity id; the write lands on the server regardless.
    await until(() => harness.emulator.state.activities.size === 1);
    const retried = await adapter.writeMessages([message], context());
    const stored = [...harness.emulator.state.activities.values()];
    expect(retried).toEqual([{ key: 'wamid.lost-answer', ok: true, crmId: stored[0]!.id, created: false }]);
    expect(harness.emulator.findDuplicates()).toEqual([]);
    expect(harness.requests.filter((request) => request === 'POST /activity/whatsapp_message/')).toHaveLength(1);
  });

  it('posts again without a thread parent Close refuses, and a lost answer to that post is not written twice', async () => {
    const harness = await harnessWith();
    const adapter = adapterFor(harness, { timeoutMs: 150 });
    const contact = await newContact(adapter);
    // The parent is refused (400 on `response_to_id` alone); the post without it is held 400 ms and applied after
    // the client timed out at 150 ms.
    let posts = 0;
    harness.onRequest = (request) => {
      if (request === 'POST /activity/whatsapp_message/' && ++posts === 2)
        harness.emulator.faults.configure({ slowRate: 1, slowMs: 400 });
    };
    const message = record(contact, 'wamid.orphan-reply', { previousMessageCrmId: 'acti_deleted' });
    const [lost] = await adapter.writeMessages([message], context());
    expect(lost).toMatchObject({ ok: false, error: { kind: 'transient', code: 'timeout' } });
    harness.onRequest = undefined;
    harness.emulator.faults.configure({});
    // Retried before the held post landed: not found yet, but it may still be running, so nothing is posted.
    const [early] = await adapter.writeMessages([message], context());
    expect(early).toMatchObject({ ok: false, error: { kind: 'transient', code: 'outcome_pending' } });
    await until(() => harness.emulator.state.activities.size === 1);
    const [retried] = await adapter.writeMessages([message], context());
    const stored = [...harness.emulator.state.activities.values()];
    expect(retried).toEqual({ key: 'wamid.orphan-reply', ok: true, crmId: stored[0]!.id, created: false });
    expect(stored[0]!.response_to_id).toBeNull();
    expect(harness.emulator.findDuplicates()).toEqual([]);
    expect(harness.requests.filter((request) => request === 'POST /activity/whatsapp_message/')).toHaveLength(2);
  });

  it('re-points an activity applied before a crash to the head it is given now, so the thread does not fork', async () => {
    const harness = await harnessWith();
    const adapter = adapterFor(harness);
    const contact = await newContact(adapter);
    const [head] = await adapter.writeMessages([record(contact, 'wamid.head')], context());
    const headId = head?.ok ? head.crmId : '';
    // Before the crash: the history message was applied, replying to the head, but never recorded.
    const history = record(contact, 'wamid.history', { source: 'history', previousMessageCrmId: headId });
    const [orphan] = await adapter.writeMessages([history], context());
    const orphanId = orphan?.ok ? orphan.crmId : '';
    // After the restart a live message of the conversation went first, replying to the head it knew.
    const [live] = await adapter.writeMessages(
      [record(contact, 'wamid.live', { previousMessageCrmId: headId })],
      context(),
    );
    const liveId = live?.ok ? live.crmId : '';
    // The history message's retry finds its activity and re-points it after the live one: one chain.
    const [retried] = await adapter.writeMessages([{ ...history, previousMessageCrmId: liveId }], context());
    expect(retried).toEqual({ key: 'wamid.history', ok: true, crmId: orphanId, created: false });
    const activities = harness.emulator.state.activities;
    expect(activities.get(orphanId)?.response_to_id).toBe(liveId);
    expect(activities.get(liveId)?.response_to_id).toBe(headId);
    expect(harness.emulator.findDuplicates()).toEqual([]);
    // A retry with the head it was written under changes nothing.
    const requests = harness.requests.length;
    await adapter.writeMessages([{ ...history, previousMessageCrmId: liveId }], context());
    expect(harness.requests.slice(requests)).toEqual(['GET /activity/whatsapp_message/']);
  });

  it('reports RateLimit headers per endpoint group, with either separator', async () => {
    for (const separator of [',', ';'] as const) {
      const harness = await harnessWith({ rateLimitSeparator: separator });
      const signals: RateLimitSignal[] = [];
      await adapterFor(harness).findContacts([{ key: 'phone:+16505554000', phone: '+16505554000' }], context(signals));
      expect(signals).toEqual([{ bucket: 'POST /data/search/', limit: 16, remaining: 15, resetAfterMs: 1000 }]);
    }
  });

  it('reports only the limit when an answered request took the last slot (whole-second reset overstates the wait)', async () => {
    const harness = await harnessWith({ limits: { groups: { 'POST /data/search/': { limit: 2, windowMs: 1_000 } } } });
    const adapter = adapterFor(harness);
    const signals: RateLimitSignal[] = [];
    for (const phone of ['+16505554000', '+16505554001']) {
      await adapter.findContacts([{ key: `phone:${phone}`, phone }], context(signals));
    }
    expect(signals).toEqual([
      { bucket: 'POST /data/search/', limit: 2, remaining: 1, resetAfterMs: 1000 },
      // `remaining=0, reset=1` on a 2xx: the engine's own window holds the next request; a 429 would say how long.
      { bucket: 'POST /data/search/', limit: 2 },
    ]);
  });

  it('maps a 429 to CrmRateLimitedError for that group with rate_reset', async () => {
    const clock = Date.parse('2026-03-01T00:00:00Z');
    const harness = await harnessWith({
      now: () => clock,
      limits: { groups: { 'POST /activity/whatsapp_message/': { limit: 1, windowMs: 5_000 } } },
    });
    const adapter = adapterFor(harness);
    const contact = await newContact(adapter);
    await adapter.writeMessages([record(contact, 'wamid.first')], context());
    const signals: RateLimitSignal[] = [];
    const error = await adapter
      .writeMessages([record(contact, 'wamid.second')], context(signals))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CrmRateLimitedError);
    expect(error).toMatchObject({ bucket: 'POST /activity/whatsapp_message/', retryAfterMs: 5_000, status: 429 });
    expect(signals.at(-1)).toMatchObject({
      bucket: 'POST /activity/whatsapp_message/',
      remaining: 0,
      retryAfterMs: 5_000,
    });
    expect(adapter.capabilities.rateLimits.buckets.map((bucket) => bucket.name)).toContain(
      'POST /activity/whatsapp_message/',
    );
  });

  it('maps refused credentials to CrmAuthError without leaking the key', async () => {
    const harness = await harnessWith();
    const adapter = createCloseAdapter({
      baseUrl: harness.emulator.apiUrl,
      apiKey: 'api_wrong_key',
      axios: harness.http,
    });
    const error = await adapter
      .findContacts([{ key: 'phone:+16505555000', phone: '+16505555000' }], context())
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CrmAuthError);
    expect(String((error as Error).message)).not.toContain('api_wrong_key');
    const missing = createCloseAdapter({ baseUrl: harness.emulator.apiUrl, axios: harness.http });
    await expect(missing.findContacts([{ key: 'k', phone: '+16505555000' }], context())).rejects.toBeInstanceOf(
      CrmAuthError,
    );
  });

  it('refreshes an OAuth token once on a 401 and retries, also for concurrent calls', async () => {
    const harness = await harnessWith({ oauthTokens: ['fresh-token'] });
    const calls: boolean[] = [];
    const adapter = createCloseAdapter({
      baseUrl: harness.emulator.apiUrl,
      axios: harness.http,
      getAccessToken: async ({ forceRefresh }) => {
        calls.push(forceRefresh);
        return forceRefresh ? 'fresh-token' : 'stale-token';
      },
    });
    const requests = [1, 2, 3].map((n) => [{ key: `phone:+1650555600${n}`, phone: `+1650555600${n}` }]);
    const results = await Promise.all(requests.map((request) => adapter.findContacts(request, context())));
    expect(results.every(([result]) => result?.ok)).toBe(true);
    expect(calls).toEqual([false, true]);
    const revoked = createCloseAdapter({
      baseUrl: harness.emulator.apiUrl,
      axios: harness.http,
      getAccessToken: async () => 'revoked-token',
    });
    await expect(revoked.findContacts(requests[0]!, context())).rejects.toBeInstanceOf(CrmAuthError);
  });

  it('applies status, reaction, edit and revoke by PUT, never downgrading and skipping no-op updates', async () => {
    const harness = await harnessWith();
    const adapter = adapterFor(harness);
    const contact = await newContact(adapter);
    const message = record(contact, 'wamid.updates', { direction: 'outbound', actor: 'business_app', status: 'sent' });
    const [written] = await adapter.writeMessages([message], context());
    const crmId = written?.ok ? written.crmId : '';
    const update = (key: string, change: Parameters<typeof adapter.updateMessages>[0][number]['change']) =>
      adapter.updateMessages([{ key, messageKey: message.key, crmId, change }], context());
    await update('read', { kind: 'status', status: 'read', at: '2026-03-01T10:00:00Z' });
    const putsBefore = harness.requests.filter((request) => request.startsWith('PUT')).length;
    await update('late-delivered', { kind: 'status', status: 'delivered', at: '2026-03-01T10:01:00Z' });
    expect(harness.requests.filter((request) => request.startsWith('PUT')).length).toBe(putsBefore);
    await update('reaction', { kind: 'reaction', actor: 'customer', emoji: '👍', at: '2026-03-01T10:02:00Z' });
    await update('edit', {
      kind: 'edit',
      content: { kind: 'text', text: 'Hi _again_', summary: 'Hi _again_', placeholder: false },
      at: '2026-03-01T10:03:00Z',
    });
    const activity = () => harness.emulator.state.activities.get(crmId)!;
    expect(activity().message_markdown).toBe(
      'Hi _again_\n\n_WhatsApp · Business App · Read · Edited · Reactions: 👍 Customer_',
    );
    await update('revoke', { kind: 'revoke', at: '2026-03-01T10:04:00Z' });
    expect(activity().message_markdown).toBe(
      '_This message was deleted_\n\n_WhatsApp · Business App · Read · Edited · Deleted · Reactions: 👍 Customer_',
    );
    expect(storedMessages(harness.emulator)[0]).toMatchObject({ status: 'read', edited: true, revoked: true });
  });

  it('attaches media Meta still serves through the Files API, and labels media it cannot fetch', async () => {
    const harness = await harnessWith();
    const media = await serveBytes(Buffer.from('fake-jpeg-bytes'), 'image/jpeg');
    const adapter = adapterFor(harness);
    const contact = await newContact(adapter);
    const photo = (key: string, url: string) =>
      record(contact, key, {
        content: {
          kind: 'image',
          caption: 'At the *beach*',
          summary: '[Photo] At the *beach*',
          placeholder: false,
          media: { id: 'media-1', mimeType: 'image/jpeg', url },
        },
      });
    await adapter.writeMessages([photo('wamid.photo', `${media.url}/photo.jpg`)], context());
    await adapter.writeMessages([photo('wamid.gone', `${media.url}/missing.jpg`)], context());
    const [attached, labelled] = [...harness.emulator.state.activities.values()];
    expect(attached!.attachments).toEqual([
      {
        url: expect.stringMatching(/^https:\/\/app\.close\.com\/go\/file\//),
        filename: 'image.jpg',
        content_type: 'image/jpeg',
        size: 15,
      },
    ]);
    expect(attached!.message_markdown).toBe('[Photo]\nAt the *beach*\n\n_WhatsApp · Customer_');
    expect(labelled!.attachments).toEqual([]);
    expect(labelled!.message_markdown).toBe('[Photo]\nAt the *beach*\n\n_WhatsApp · Customer_');
  });

  it('finds the lead of a contact the engine knows only by id', async () => {
    const harness = await harnessWith();
    const adapter = adapterFor(harness);
    const contact = await newContact(adapter);
    const fresh = adapterFor(harness);
    const [result] = await fresh.writeMessages(
      [record({ crmId: contact.crmId, phone: contact.phone }, 'wamid.no-parent')],
      context(),
    );
    expect(result).toMatchObject({ ok: true, created: true });
    expect([...harness.emulator.state.activities.values()][0]!.lead_id).toBe(contact.parentId);
  });

  it('registers the Integration Link once (setup is idempotent) with a signed lead template', async () => {
    const harness = await harnessWith();
    const now = Date.parse('2026-03-01T00:00:00Z');
    const options = {
      integrationLinkBaseUrl: 'https://cards.example.com/close/card',
      cardSigningSecret: SECRET,
      now: () => now,
    };
    const first = await adapterFor(harness, options).setup();
    const second = await adapterFor(harness, options).setup();
    expect([first.action, second.action]).toEqual(['created', 'unchanged']);
    const links = [...harness.emulator.state.integrationLinks.values()];
    expect(links).toHaveLength(1);
    expect(links[0]).toMatchObject({ type: 'lead', name: 'WhatsApp conversation' });
    expect(links[0]!.url).toContain('&lead={{lead.id}}');
    const clicked = links[0]!.url.replace('{{lead.id}}', 'lead_abc');
    expect(verifyCloseCardLink(clicked, { secret: SECRET, now })).toMatchObject({
      ok: true,
      scope: 'organization',
      leadId: 'lead_abc',
    });
    // Past half its lifetime, setup renews the signature in place.
    const later = await adapterFor(harness, { ...options, now: () => now + 50 * 86_400_000 }).setup();
    expect(later.action).toBe('updated');
    expect(harness.emulator.state.integrationLinks.size).toBe(1);
  });
});

describe('the Close adapter driven by the sync engine', () => {
  /** Runs generated traffic through the engine into an emulator and returns Close's activities. */
  async function mirror(harness: CloseHarness, adapterOptions: Partial<CloseAdapterOptions>) {
    const traffic = generateTraffic({ messages: 40, seed: 11, accountEvents: false });
    const engine = createSyncEngine({
      store: createMemoryStore(),
      connections: [
        {
          id: 'close',
          adapter: adapterFor(harness, adapterOptions),
          phoneNumberIds: traffic.plan.numbers.map((number) => number.phoneNumberId),
        },
      ],
      retry: { baseMs: 20, capMs: 250, maxAttempts: 40 },
      callTimeoutMs: 5_000,
    });
    for (const payload of traffic)
      await engine.ingest(parseWebhook(JSON.parse(payload.body)), { rawBody: payload.body });
    await engine.drain({ timeoutMs: 60_000 });
    await engine.stop();
    return [...harness.emulator.state.activities.values()];
  }
  // Real limits would pace this test for seconds; the emulator's RateLimit headers raise the engine's limiter too.
  const limits = {
    default: { limit: 1_000, windowMs: 1_000 },
    groups: { 'POST /data/search/': { limit: 1_000, windowMs: 1_000 } },
  };

  it('writes each message exactly once, threaded, despite 5xx, dropped connections and answers lost after the write', async () => {
    const cleanHarness = await harnessWith({ limits });
    const clean = await mirror(cleanHarness, {});
    const faulty = await harnessWith({
      limits,
      seed: 5,
      faults: { serverErrorRate: 0.08, dropRate: 0.04, slowRate: 0.1, slowMs: 200 },
    });
    const activities = await mirror(faulty, { timeoutMs: 100, inFlightGraceMs: 500 });
    expect(faulty.emulator.stats.byTag.fault ?? 0).toBeGreaterThan(5);
    expect(faulty.emulator.findDuplicates()).toEqual([]);
    const phones = (harness: CloseHarness) =>
      [...harness.emulator.state.contacts.values()]
        .flatMap((contact) => contact.phones.map((phone) => phone.phone))
        .sort();
    expect(phones(faulty)).toEqual(phones(cleanHarness));
    expect(new Set(phones(faulty)).size).toBe(phones(faulty).length);
    const keys = (list: typeof clean) => list.map((activity) => activity.external_whatsapp_message_id).sort();
    expect(keys(activities)).toEqual(keys(clean));
    expect(clean.length).toBeGreaterThan(25);
    // Threads are chained: every response_to_id names an activity of the same lead, and each lead starts at most one
    // chain per engine lane (the engine writes live traffic before older history of the same conversation).
    const byId = new Map(activities.map((activity) => [activity.id, activity]));
    for (const activity of activities) {
      if (activity.response_to_id !== null) expect(byId.get(activity.response_to_id)?.lead_id).toBe(activity.lead_id);
    }
    const starts = activities.filter((activity) => activity.response_to_id === null).length;
    expect(starts).toBeLessThanOrEqual(2 * new Set(activities.map((activity) => activity.lead_id)).size);
  });
});

async function until(condition: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 100 && !condition(); attempt++)
    await new Promise((resolve) => setTimeout(resolve, 20));
  if (!condition()) throw new Error('condition not met within 2 s');
}

async function serveBytes(bytes: Buffer, contentType: string): Promise<{ url: string }> {
  const server: Server = createServer((request, response) => {
    if (request.url === '/photo.jpg') {
      response.writeHead(200, { 'content-type': contentType });
      response.end(bytes);
    } else {
      response.writeHead(404);
      response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  running.push({ close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
