import {
  CRM_NOT_FOUND_CODE,
  CrmAuthError,
  CrmPermanentError,
  CrmRateLimitedError,
  type MessageRecord,
  type OperationContext,
  phoneVariants,
  type RateLimitSignal,
} from '@coexist/core';
import { type HubSpotEmulator, type HubSpotEmulatorOptions, startHubSpotEmulator } from '@coexist/sandbox';
import { afterEach, describe, expect, it } from 'vitest';
import { createHubSpotAdapter, type HubSpotAdapterOptions } from './hubspot-adapter.ts';

const SEARCH_ROUTE = 'POST /crm/v3/objects/:objectType/search';
const PROPERTY_CREATE_ROUTE = 'POST /crm/v3/properties/:objectType';

const emulators: HubSpotEmulator[] = [];
afterEach(async () => {
  await Promise.all(emulators.splice(0).map((emulator) => emulator.close()));
});

async function start(options: HubSpotEmulatorOptions = {}) {
  const emulator = await startHubSpotEmulator({ seed: 'adapter-test', ...options });
  emulators.push(emulator);
  const adapter = (overrides: Partial<HubSpotAdapterOptions> = {}) =>
    createHubSpotAdapter({ basePath: emulator.url, accessToken: emulator.token, defaultCountry: 'US', ...overrides });
  return { emulator, adapter };
}

function context(signals?: RateLimitSignal[]): OperationContext {
  return {
    connectionId: 'test',
    signal: new AbortController().signal,
    ...(signals === undefined ? {} : { onRateLimitSignal: (signal: RateLimitSignal) => signals.push(signal) }),
  };
}

function message(contactCrmId: string, index: number, overrides: Partial<MessageRecord> = {}): MessageRecord {
  const text = `Hello ${index}`;
  return {
    key: `wamid.test.${index}`,
    direction: 'inbound',
    actor: 'customer',
    occurredAt: new Date(Date.UTC(2026, 2, 1, 9, 0, index)).toISOString(),
    source: 'live',
    contactCrmId,
    businessPhone: '+14155550100',
    conversationKey: `conversation:${contactCrmId}`,
    content: { kind: 'text', text, summary: text, placeholder: false },
    ...overrides,
  };
}

async function createContact(adapter: ReturnType<typeof createHubSpotAdapter>, phone = '+16505550111') {
  const [result] = await adapter.createContacts([{ key: `phone:${phone}`, phone, name: 'Grace Hopper' }], context());
  if (!result?.ok) throw new Error('contact not created');
  return result.crmId;
}

describe('createHubSpotAdapter', () => {
  it('does no I/O when created and reports missing credentials as CrmAuthError on the first call', async () => {
    const { emulator } = await start();
    const adapter = createHubSpotAdapter({ basePath: emulator.url });
    expect(emulator.stats.requests).toBe(0);
    await expect(adapter.findContacts([{ key: 'k', phone: '+16505550100' }], context())).rejects.toMatchObject({
      name: 'CrmAuthError',
      field: 'accessToken',
    });
    expect(emulator.stats.requests).toBe(0);
  });

  it('declares the documented limits of its tier', async () => {
    const { adapter } = await start();
    expect(adapter().capabilities.rateLimits).toEqual({
      buckets: [
        expect.objectContaining({ name: 'ten-secondly', limit: 100, intervalMs: 10_000 }),
        { name: 'search', limit: 5, intervalMs: 1_000, operations: ['findContacts'] },
      ],
      dailyAllocation: { limit: 250_000, reset: 'midnight' },
    });
    expect(adapter({ tier: 'pro' }).capabilities.rateLimits.buckets[0]?.limit).toBe(190);
    const oauth = adapter({ tier: 'oauth' }).capabilities.rateLimits;
    expect(oauth.buckets[0]?.limit).toBe(110);
    expect(oauth.dailyAllocation).toBeUndefined();
  });
});

describe('findContacts', () => {
  it('matches contacts stored in any format with one search request for many phones, and creates only the rest', async () => {
    const { emulator, adapter } = await start();
    const hubspot = adapter();
    await hubspot.setup();
    const seeded = emulator.seedContacts([
      { phone: '(650) 555-1234', firstname: 'Formatted' },
      { phone: '+1 650-555-2345', firstname: 'International' },
      { mobilephone: '6505553456', firstname: 'Digits' },
      { phone: '07911 123456', firstname: 'British' },
      { phone: '+1 650 555 9999', firstname: 'Someone else' },
    ]);
    const known = ['+16505551234', '+16505552345', '+16505553456', '+447911123456'];
    const unknown = Array.from({ length: 12 }, (_, index) => `+1650555${String(7000 + index)}`);
    const phones = [...known, ...unknown];
    emulator.resetStats();
    const results = await hubspot.findContacts(
      phones.map((phone) => ({ key: `phone:${phone}`, phone, phoneVariants: phoneVariants(phone) })),
      context(),
    );
    expect(emulator.stats.byRoute[SEARCH_ROUTE]).toBe(1);
    expect(results.map((result) => (result.ok ? result.matches.map((match) => match.crmId) : 'error'))).toEqual([
      [seeded[0]!.id],
      [seeded[1]!.id],
      [seeded[2]!.id],
      [seeded[3]!.id],
      ...unknown.map(() => []),
    ]);
    expect(results[0]).toMatchObject({ ok: true, matches: [{ matchedOn: 'phone', name: 'Formatted' }] });

    const missing = results.flatMap((result, index) =>
      result.ok && result.matches.length === 0 ? [phones[index]!] : [],
    );
    const created = await hubspot.createContacts(
      missing.map((phone) => ({ key: `phone:${phone}`, phone, name: 'New Contact' })),
      context(),
    );
    expect(created.every((result) => result.ok && result.created)).toBe(true);
    expect(emulator.state.contacts.size).toBe(seeded.length + unknown.length);
    expect(emulator.findDuplicates({ objectType: 'contacts', properties: ['phone'] })).toEqual([]);
  });

  it('halves the IN lists when HubSpot refuses the filter size and still finds every phone', async () => {
    const { emulator, adapter } = await start({ limits: { search: { maxInValues: 8 }, searchPerSecond: 100 } });
    const hubspot = adapter({ searchInValues: 40 });
    const seeded = emulator.seedContacts([{ phone: '(650) 555-1234' }, { phone: '650.555.2345' }]);
    const phones = ['+16505551234', '+16505552345', '+16505550001', '+16505550002'];
    const results = await hubspot.findContacts(
      phones.map((phone) => ({ key: phone, phone })),
      context(),
    );
    expect(results.map((result) => (result.ok ? result.matches[0]?.crmId : 'error'))).toEqual([
      seeded[0]!.id,
      seeded[1]!.id,
      undefined,
      undefined,
    ]);
    expect(emulator.stats.byStatus['400']).toBeGreaterThan(0);
    expect(emulator.stats.byRoute[SEARCH_ROUTE]).toBeGreaterThan(2);
  });
});

describe('contacts', () => {
  it('writes names, E.164 phone, owner and identity, and sets an owner on upsert only when the record has none', async () => {
    const { emulator, adapter } = await start({
      owners: [
        { id: '501', email: 'ana@example.com' },
        { id: '502', email: 'bo@example.com' },
      ],
    });
    const hubspot = adapter();
    const [created] = await hubspot.createContacts(
      [{ key: 'phone:+16505550123', phone: '+16505550123', name: 'Ada Lovelace', firstName: 'Ada', ownerId: '501' }],
      context(),
    );
    expect(created).toMatchObject({ ok: true, created: true });
    const crmId = created!.ok ? created!.crmId : '';
    expect(emulator.state.contacts.get(crmId)?.properties).toMatchObject({
      coexist_whatsapp_id: 'phone:+16505550123',
      phone: '+16505550123',
      firstname: 'Ada',
      lastname: 'Lovelace',
      hubspot_owner_id: '501',
    });
    const [upserted] = await hubspot.upsertContacts(
      [{ key: 'phone:+16505550123', name: 'Countess Ada', ownerId: '502' }],
      context(),
    );
    expect(upserted).toMatchObject({ ok: true, crmId, created: false });
    expect(emulator.state.contacts.get(crmId)?.properties).toMatchObject({
      firstname: 'Countess',
      lastname: 'Ada',
      hubspot_owner_id: '501',
    });
    const [seeded] = emulator.seedContacts([{ phone: '(650) 555-0999', firstname: 'Rep typed' }]);
    const [claimed] = await hubspot.upsertContacts(
      [{ key: 'phone:+16505550999', crmId: seeded!.id, phone: '+16505550999', name: 'App Name', ownerId: '502' }],
      context(),
    );
    expect(claimed).toMatchObject({ ok: true, crmId: seeded!.id, created: false });
    expect(emulator.state.contacts.get(seeded!.id)?.properties).toMatchObject({
      phone: '(650) 555-0999',
      firstname: 'App',
      hubspot_owner_id: '502',
      coexist_whatsapp_id: 'phone:+16505550999',
    });
    const [missing] = await hubspot.upsertContacts([{ key: 'phone:+1', crmId: '123' }], context());
    expect(missing).toMatchObject({ ok: false, error: { code: CRM_NOT_FOUND_CODE, field: 'contacts[0].crmId' } });
  });

  it('upserts a contact the engine just searched for without reading it first, and a replay still makes one record', async () => {
    const { emulator, adapter } = await start();
    const hubspot = adapter();
    const input = {
      key: 'phone:+16505550777',
      phone: '+16505550777',
      name: 'New Customer',
      notFoundAt: new Date().toISOString(),
    };
    const readRoute = 'POST /crm/v3/objects/:objectType/batch/read';
    const [first] = await hubspot.upsertContacts([input], context());
    expect(first).toMatchObject({ ok: true });
    expect(emulator.stats.byRoute[readRoute] ?? 0).toBe(0);
    // A resend (the engine never learned the outcome) lands on the same record through the identity upsert.
    const [again] = await hubspot.upsertContacts([input], context());
    expect(again).toMatchObject({ ok: true, crmId: first!.ok ? first!.crmId : '' });
    expect(
      [...emulator.state.contacts.values()].filter((contact) => contact.properties.phone === '+16505550777'),
    ).toHaveLength(1);
    // Without the hint (or with a stale one) the upsert reads first, as before.
    await hubspot.upsertContacts([{ ...input, notFoundAt: '2020-01-01T00:00:00Z' }], context());
    expect(emulator.stats.byRoute[readRoute]).toBeGreaterThan(0);
  });
});

describe('writeMessages', () => {
  it('writes WhatsApp communications associated inline, 100 per call, and never twice', async () => {
    const { emulator, adapter } = await start({ owners: [{ id: '77', email: 'rep@example.com' }] });
    const hubspot = adapter({ owners: { '+14155550100': '77' } });
    const contactId = await createContact(hubspot);
    const records = Array.from({ length: 100 }, (_, index) => message(contactId, index));
    emulator.resetStats();
    const first = await hubspot.writeMessages(records, context());
    expect(emulator.stats.byRoute['POST /crm/v3/objects/:objectType/batch/create']).toBe(1);
    expect(
      emulator.stats.byRoute['POST /crm/v4/associations/:fromObjectType/:toObjectType/batch/create'],
    ).toBeUndefined();
    expect(first.every((result) => result.ok && result.created)).toBe(true);
    expect(emulator.countCommunications({ contactId })).toBe(100);
    const stored = [...emulator.state.communications.values()][0]!;
    expect(stored.properties).toMatchObject({
      hs_communication_channel_type: 'WHATS_APP',
      hs_communication_logged_from: 'CRM',
      hs_timestamp: '2026-03-01T09:00:00.000Z',
      coexist_message_id: 'wamid.test.0',
      coexist_direction: 'inbound',
      coexist_actor: 'customer',
      hubspot_owner_id: '77',
    });
    expect(emulator.state.associationsOf('communications', stored.id, 'contacts')[0]?.associationTypeId).toBe(81);

    const replay = await hubspot.writeMessages(records.slice(0, 10), context());
    expect(
      replay.every(
        (result, index) => result.ok && !result.created && result.crmId === (first[index] as { crmId: string }).crmId,
      ),
    ).toBe(true);
    expect(emulator.state.communications.size).toBe(100);
    expect(emulator.findDuplicates()).toEqual([]);
  });

  it('recovers a resent batch that HubSpot refuses whole for one written message: updates those, creates the rest', async () => {
    const { emulator, adapter } = await start();
    const hubspot = adapter();
    const contactId = await createContact(hubspot);
    const records = Array.from({ length: 6 }, (_, index) => message(contactId, index));
    // Before a crash, messages 1 and 4 of the batch were written; the engine resends all six.
    const before = await hubspot.writeMessages([records[1]!, records[4]!], context());
    emulator.resetStats();
    const resent = await hubspot.writeMessages(records, context());
    expect(resent.map((result) => result.ok && result.created)).toEqual([true, false, true, true, false, true]);
    expect((resent[1] as { crmId: string }).crmId).toBe((before[0] as { crmId: string }).crmId);
    // The refused call, one read of every key, one create of the four new ones (then the replays' read and update).
    expect(emulator.stats.byRoute['POST /crm/v3/objects/:objectType/batch/create']).toBe(2);
    expect(emulator.countCommunications({ contactId })).toBe(6);
    expect(emulator.findDuplicates()).toEqual([]);
  });

  it('maps a 207 partial failure to per-item results', async () => {
    const { emulator, adapter } = await start();
    const hubspot = adapter();
    const contactId = await createContact(hubspot);
    emulator.resetStats();
    const results = await hubspot.writeMessages(
      [message(contactId, 0), message('99999999', 1), message(contactId, 2)],
      context(),
    );
    expect(emulator.stats.byStatus['207']).toBe(1);
    expect(results.map((result) => result.ok)).toEqual([true, false, true]);
    const failed = results[1]!;
    if (failed.ok) throw new Error('expected a failure');
    expect(failed.error).toBeInstanceOf(CrmPermanentError);
    expect(failed.error).toMatchObject({ field: 'messages[1].contactCrmId', code: CRM_NOT_FOUND_CODE });
    expect(emulator.state.communications.size).toBe(2);
  });

  it('keeps the stored status when a replay carries an older one, and applies updates to the same record', async () => {
    const { emulator, adapter } = await start();
    const hubspot = adapter();
    const contactId = await createContact(hubspot);
    const record = message(contactId, 0, { direction: 'outbound', actor: 'business_app', status: 'sent' });
    const [written] = await hubspot.writeMessages([record], context());
    const crmId = written!.ok ? written!.crmId : '';
    const updates = await hubspot.updateMessages(
      [
        { key: 'u1', messageKey: record.key, change: { kind: 'status', status: 'read', at: '2026-03-01T09:01:00Z' } },
        {
          key: 'u2',
          messageKey: record.key,
          change: { kind: 'reaction', actor: 'customer', emoji: '👍', at: '2026-03-01T09:02:00Z' },
        },
        { key: 'u3', messageKey: 'wamid.unknown', change: { kind: 'revoke', at: '2026-03-01T09:03:00Z' } },
      ],
      context(),
    );
    expect(updates.map((result) => (result.ok ? result.crmId : result.error.code))).toEqual([
      crmId,
      crmId,
      CRM_NOT_FOUND_CODE,
    ]);
    await hubspot.writeMessages([record], context());
    const stored = emulator.state.communications.get(crmId)!.properties;
    expect(stored.coexist_status).toBe('read');
    expect(stored.hs_communication_body).toContain('Status: Read');
    expect(stored.hs_communication_body).toContain('Rep (WhatsApp Business App)');
    expect(emulator.state.communications.size).toBe(1);
  });
});

describe('pacing of calls that send several requests', () => {
  it('asks the engine for a slot before every request after the first, naming the bucket it counts against', async () => {
    const { emulator, adapter } = await start();
    const hubspot = adapter();
    await hubspot.setup();
    const contactId = await createContact(hubspot);
    const record = message(contactId, 0, { direction: 'outbound', actor: 'business_app', status: 'sent' });
    await hubspot.writeMessages([record], context());
    const slots: (string | undefined)[] = [];
    // One context per call, as the engine gives.
    const paced = (): OperationContext => ({
      ...context(),
      acquireRequestSlot: async (bucket) => {
        slots.push(bucket);
      },
    });
    const before = emulator.stats.requests;
    // An update reads the record, then writes it: two requests, the second paced.
    await hubspot.updateMessages(
      [{ key: 'u1', messageKey: record.key, change: { kind: 'status', status: 'read', at: '2026-03-01T09:01:00Z' } }],
      paced(),
    );
    expect(emulator.stats.requests - before).toBe(2);
    expect(slots).toEqual(['ten-secondly']);
    // A search call whose phones need one request asks for nothing more.
    slots.length = 0;
    await hubspot.findContacts([{ key: 'phone:+16505550111', phone: '+16505550111' }], paced());
    expect(slots).toEqual([]);
  });
});

describe('errors and rate limits', () => {
  it('maps a ten-secondly 429 to CrmRateLimitedError with the interval, or Retry-After when sent', async () => {
    // The clock jumps a window per request during setup, then stands still.
    let clock = Date.UTC(2026, 2, 1, 12);
    let running = true;
    const now = () => {
      if (running) clock += 10_001;
      return clock;
    };
    const { adapter } = await start({ now, limits: { tenSecondly: 2, intervalMs: 10_000 } });
    const hubspot = adapter();
    await hubspot.setup();
    const contactId = await createContact(hubspot);
    running = false;
    const signals: RateLimitSignal[] = [];
    const [ok] = await hubspot.writeMessages([message(contactId, 0)], context(signals));
    expect(ok?.ok).toBe(true);
    expect(signals).toEqual([
      { bucket: 'ten-secondly', remaining: 1, limit: 2, intervalMs: 10_000 },
      { bucket: 'daily', remaining: expect.any(Number), limit: 250_000 },
    ]);
    await hubspot.writeMessages([message(contactId, 1)], context(signals));
    const outcome = await hubspot
      .writeMessages([message(contactId, 2)], context(signals))
      .catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(CrmRateLimitedError);
    expect(outcome).toMatchObject({
      bucket: 'ten-secondly',
      retryAfterMs: 10_000,
      code: 'TEN_SECONDLY_ROLLING',
      retryable: true,
    });
    expect(signals.at(-1)).toEqual({ bucket: 'ten-secondly', remaining: 0, retryAfterMs: 10_000 });

    running = true;
    const { adapter: withRetryAfter } = await start({ now, limits: { tenSecondly: 1, retryAfter: true } });
    const limited = withRetryAfter();
    await limited.setup();
    running = false;
    clock += 4_000;
    await limited.createContacts([{ key: 'a', phone: '+16505550100' }], context());
    clock += 3_000;
    const second = await limited
      .createContacts([{ key: 'b', phone: '+16505550101' }], context())
      .catch((error: unknown) => error);
    expect(second).toMatchObject({ name: 'CrmRateLimitedError', bucket: 'ten-secondly', retryAfterMs: 7_000 });
  });

  it('maps the search limit to a one-second wait and the daily limit to a pause until midnight', async () => {
    const clock = Date.UTC(2026, 2, 1, 18);
    const { adapter } = await start({ now: () => clock, limits: { searchPerSecond: 1, daily: 3 } });
    const hubspot = adapter({ now: () => clock });
    await hubspot.findContacts([{ key: 'a', phone: '+16505550100' }], context());
    await expect(hubspot.findContacts([{ key: 'b', phone: '+16505550101' }], context())).rejects.toMatchObject({
      name: 'CrmRateLimitedError',
      bucket: 'search',
      retryAfterMs: 1_000,
    });
    await hubspot.setup().catch(() => undefined);
    const daily = await hubspot
      .createContacts([{ key: 'c', phone: '+16505550102' }], context())
      .catch((error: unknown) => error);
    expect(daily).toMatchObject({
      name: 'CrmRateLimitedError',
      bucket: 'daily',
      code: 'DAILY',
      retryAfterMs: 6 * 3_600_000,
    });
  });

  it('maps refused credentials to CrmAuthError', async () => {
    const { adapter } = await start();
    const hubspot = adapter({ accessToken: 'pat-na1-revoked' });
    await expect(hubspot.findContacts([{ key: 'a', phone: '+16505550100' }], context())).rejects.toBeInstanceOf(
      CrmAuthError,
    );
    await expect(hubspot.writeMessages([message('1', 0)], context())).rejects.toMatchObject({
      name: 'CrmAuthError',
      status: 401,
    });
  });

  it('rejects a batch larger than declared before any I/O', async () => {
    const { emulator, adapter } = await start();
    const tooMany = Array.from({ length: 101 }, (_, index) => message('1', index));
    await expect(adapter().writeMessages(tooMany, context())).rejects.toMatchObject({
      code: 'batch_too_large',
      field: 'messages',
    });
    expect(emulator.stats.requests).toBe(0);
  });
});

describe('setup', () => {
  it('creates the properties once; a second run only reads', async () => {
    const { emulator, adapter } = await start();
    const first = await adapter().setup();
    expect(first.created).toContain('contacts.coexist_whatsapp_id');
    expect(first.created).toContain('communications.coexist_message_id');
    expect(first.messageIdempotency).toBe('upsert-by-external-id');
    expect(emulator.state.properties('communications').get('coexist_message_id')?.hasUniqueValue).toBe(true);
    emulator.resetStats();
    const second = await adapter().setup();
    expect(second).toEqual({ created: [], messageIdempotency: 'upsert-by-external-id' });
    expect(emulator.stats.byRoute[PROPERTY_CREATE_ROUTE]).toBeUndefined();
    expect(emulator.stats.requests).toBe(2);
  });

  it('falls back to look-up-before-retry when HubSpot refuses a unique property on communications', async () => {
    const { emulator, adapter } = await start({ uniquePropertiesOnCommunications: false });
    const hubspot = adapter();
    expect((await hubspot.setup()).messageIdempotency).toBe('lookup-before-retry');
    expect(hubspot.capabilities.idempotency).toBe('lookup-before-retry');
    expect(hubspot.capabilities.rateLimits.buckets[1]?.operations).toContain('writeMessages');
    expect(emulator.state.properties('communications').get('coexist_message_id')?.hasUniqueValue).toBe(false);
    const contactId = await createContact(hubspot);
    const records = [message(contactId, 0), message(contactId, 1)];
    const first = await hubspot.writeMessages(records, context());
    const replay = await hubspot.writeMessages(records, context());
    expect(replay.map((result) => result.ok && result.created)).toEqual([false, false]);
    // A fresh adapter (its in-memory map lost, as after a crash) finds the records by searching HubSpot.
    const restarted = adapter();
    expect((await restarted.setup()).messageIdempotency).toBe('lookup-before-retry');
    const afterCrash = await restarted.writeMessages(records, context());
    expect(afterCrash.map((result) => (result.ok ? [result.crmId, result.created] : 'error'))).toEqual(
      first.map((result) => (result.ok ? [result.crmId, false] : 'error')),
    );
    expect(emulator.state.communications.size).toBe(2);
    const [revoked] = await restarted.updateMessages(
      [{ key: 'r', messageKey: records[0]!.key, change: { kind: 'revoke', at: '2026-03-01T10:00:00Z' } }],
      context(),
    );
    expect(revoked).toMatchObject({ ok: true, created: false });
    expect(emulator.state.communications.get((revoked as { crmId: string }).crmId)?.properties.coexist_revoked).toBe(
      'true',
    );
  });
});
