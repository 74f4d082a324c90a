import {
  CrmAuthError,
  CrmRateLimitedError,
  CrmTransientError,
  type MessageRecord,
  type OperationContext,
  phoneVariants,
  type RateLimitSignal,
} from '@coexist/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type SalesforceHarness, startSalesforceHarness } from './__fixtures__/salesforce-emulator-harness.ts';
import { createSalesforceAdapter } from './salesforce-adapter.ts';
import { createMemoryJobStore } from './salesforce-job-store.ts';

const signals: RateLimitSignal[] = [];
const context = (): OperationContext => ({
  connectionId: 'adapter-test',
  signal: new AbortController().signal,
  onRateLimitSignal: (signal) => signals.push(signal),
});

function routeCount(harness: SalesforceHarness, suffix: string): number {
  return Object.entries(harness.emulator.stats.byRoute)
    .filter(([route]) => route.endsWith(suffix))
    .reduce((sum, [, count]) => sum + count, 0);
}

function messagesFor(contactCrmId: string, count: number, conversations = 3): MessageRecord[] {
  return Array.from({ length: count }, (_, index) => {
    const conversation = index % conversations;
    const text = `Backfill message ${index}`;
    return {
      key: `wamid.backfill.${index}`,
      direction: index % 2 === 0 ? 'inbound' : 'outbound',
      actor: index % 2 === 0 ? 'customer' : 'business_app',
      occurredAt: new Date(Date.UTC(2025, 9, 1, 8, 0, index)).toISOString(),
      source: 'history',
      contactCrmId,
      businessPhone: '+14155550100',
      contactPhone: '+16505550100',
      conversationKey: `conversation:${conversation}`,
      content: { kind: 'text', text, summary: text, placeholder: false },
    };
  });
}

describe('createSalesforceAdapter against the Salesforce emulator (real jsforce)', () => {
  let harness: SalesforceHarness;
  beforeAll(async () => {
    harness = await startSalesforceHarness();
  });
  afterAll(() => harness.emulator.close());
  beforeEach(async () => {
    await harness.reset();
    harness.emulator.resetStats();
    signals.length = 0;
  });

  const adapter = (extra: Parameters<typeof createSalesforceAdapter>[0] = {}) =>
    createSalesforceAdapter({
      instanceUrl: harness.emulator.url,
      accessToken: harness.emulator.accessToken,
      defaultCountry: 'US',
      ...extra,
    });

  it('creating it does no I/O, even without credentials', () => {
    const before = harness.emulator.stats.requests;
    const created = createSalesforceAdapter({});
    expect(created.crm).toBe('salesforce');
    expect(created.capabilities.messageBatchSize).toBe(200);
    expect(created.capabilities.rateLimits).toEqual({
      buckets: [],
      maxConcurrency: 25,
      dailyAllocation: { limit: 90_000, reset: 'rolling-24h' },
    });
    expect(harness.emulator.stats.requests).toBe(before);
  });

  it('names the missing credential on the first operation', async () => {
    await expect(
      createSalesforceAdapter({}).findContacts([{ key: 'k', phone: '+16505550100' }], context()),
    ).rejects.toMatchObject({ name: 'CrmAuthError', field: 'options.accessToken' });
  });

  it('rejects bad options at creation, naming the field', () => {
    expect(() => createSalesforceAdapter({ apiVersion: '45.0' })).toThrow(/options\.apiVersion/);
    expect(() => createSalesforceAdapter({ owners: { '4155550100': '005000000000001' } })).toThrow(/owners/);
    expect(() => createSalesforceAdapter({ dailyReserve: -1 })).toThrow(/options\.dailyReserve/);
  });

  it('matches a Contact and a Lead stored in other formats with ONE SOSL request, then by SOQL on WhatsApp_E164__c', async () => {
    const contactId = harness.seedContact({ LastName: 'Rep Typed', Phone: '(650) 555-1234' });
    const leadId = harness.seedContact({ LastName: 'Lead Typed', MobilePhone: '+1 650 555 1235' }, 'Lead');
    harness.seedContact({ LastName: 'Converted', Phone: '650-555-1236', IsConverted: true }, 'Lead');
    const salesforce = adapter();
    const requests = ['+16505551234', '+16505551235', '+16505551236', '+16505559999'].map((phone) => ({
      key: `phone:${phone}`,
      phone,
      phoneVariants: phoneVariants(phone),
    }));
    const results = await salesforce.findContacts(requests, context());
    expect(routeCount(harness, '/search')).toBe(1);
    expect(results.map((result) => (result.ok ? result.matches.map((match) => match.crmId) : 'error'))).toEqual([
      [contactId],
      [leadId],
      [],
      [],
    ]);
    expect(results[0]).toMatchObject({
      ok: true,
      matches: [{ objectType: 'Contact', matchedOn: 'phone', name: 'Rep Typed' }],
    });
    // The matched records now carry our E.164 field; the next lookup is exact and needs no search. The Contact and
    // the Lead are marked by one update (a call per object before).
    expect(harness.emulator.stats.byRoute['PATCH /services/data/:version/composite/sobjects']).toBe(1);
    expect(harness.emulator.state.get('Contact', contactId)?.WhatsApp_E164__c).toBe('+16505551234');
    expect(harness.emulator.state.get('Lead', leadId)?.WhatsApp_E164__c).toBe('+16505551235');
    const again = await salesforce.findContacts(requests.slice(0, 2), context());
    expect(again.map((result) => result.ok && result.matches[0]?.crmId)).toEqual([contactId, leadId]);
    expect(routeCount(harness, '/search')).toBe(1);
    expect(signals.at(-1)).toMatchObject({ bucket: 'daily', limit: 90_000, resetAfterMs: 1_800_000 });
  });

  it('creates missing contacts as Leads with Company and the owner, or as Contacts', async () => {
    const owner = harness.emulator.state.defaultUserId;
    const [lead] = await adapter().createContacts(
      [{ key: 'phone:+16505550111', phone: '+16505550111', name: 'Grace Hopper', ownerId: owner }],
      context(),
    );
    expect(lead).toMatchObject({ ok: true, created: true });
    const stored = harness.emulator.state.get('Lead', lead!.ok ? lead!.crmId : '');
    expect(stored).toMatchObject({
      FirstName: 'Grace',
      LastName: 'Hopper',
      Company: '[not provided]',
      MobilePhone: '+16505550111',
      WhatsApp_E164__c: '+16505550111',
      OwnerId: owner,
    });
    const [contact] = await adapter({ createMissingAs: 'Contact' }).createContacts(
      [{ key: 'phone:+16505550112', phone: '+16505550112' }],
      context(),
    );
    expect(contact!.ok && contact!.crmId.startsWith('003')).toBe(true);
    const [renamed] = await adapter().upsertContacts(
      [{ key: 'phone:+16505550111', phone: '+16505550111', name: 'Ada Lovelace' }],
      context(),
    );
    expect(renamed).toMatchObject({ ok: true, created: false, crmId: lead!.ok ? lead!.crmId : '' });
    expect(harness.emulator.state.get('Lead', lead!.ok ? lead!.crmId : '')).toMatchObject({
      FirstName: 'Ada',
      LastName: 'Lovelace',
      OwnerId: owner,
    });
  });

  it('sets the owner on create and never changes it on upsert: a Salesforce record always has one', async () => {
    const rep = (name: string) => {
      const user = harness.emulator.state.create('User', {
        Username: `${name}@acme.test`,
        LastName: name,
        Email: `${name}@acme.test`,
      });
      if (!user.success) throw new Error(`seeding a User failed: ${JSON.stringify(user.errors)}`);
      return user.id;
    };
    const [first, second] = [rep('first'), rep('second')];
    const salesforce = adapter();
    const ownerOf = (crmId: string) => harness.contacts().find((contact) => contact.crmId === crmId)?.ownerId;
    const create = async (phone: string, ownerId?: string) => {
      const [result] = await salesforce.createContacts(
        [{ key: `phone:${phone}`, phone, name: 'Owned', ...(ownerId === undefined ? {} : { ownerId }) }],
        context(),
      );
      return result!.ok ? result!.crmId : '';
    };
    const owned = await create('+16505550121', first);
    // Created without an owner, the record is the API user's (Salesforce never leaves OwnerId empty).
    const plain = await create('+16505550122');
    expect([ownerOf(owned), ownerOf(plain)]).toEqual([first, harness.emulator.state.defaultUserId]);
    const upserted = await salesforce.upsertContacts(
      [
        { key: 'phone:+16505550121', crmId: owned, phone: '+16505550121', ownerId: second },
        { key: 'phone:+16505550122', crmId: plain, phone: '+16505550122', ownerId: second },
      ],
      context(),
    );
    expect(upserted.map((result) => result.ok)).toEqual([true, true]);
    expect([ownerOf(owned), ownerOf(plain)]).toEqual([first, harness.emulator.state.defaultUserId]);
  });

  it('looks BSUIDs and phones up in ONE Composite request, then searches only the phones it did not find', async () => {
    const salesforce = adapter();
    const userId = 'US.13491208655302741918';
    const [created] = await salesforce.createContacts([{ key: `bsuid:${userId}`, userId, name: 'Ada' }], context());
    const tagged = harness.seedContact({ LastName: 'Tagged', WhatsApp_E164__c: '+16505551240' });
    const typed = harness.seedContact({ LastName: 'Typed', Phone: '(650) 555-1241' });
    const before = harness.emulator.stats.requests;
    const results = await salesforce.findContacts(
      [
        { key: `bsuid:${userId}`, userId },
        { key: 'phone:+16505551240', phone: '+16505551240' },
        { key: 'phone:+16505551241', phone: '+16505551241' },
      ],
      context(),
    );
    expect(results.map((result) => result.ok && result.matches.map((match) => match.crmId))).toEqual([
      [created!.ok ? created!.crmId : ''],
      [tagged],
      [typed],
    ]);
    // One Composite (Contact and Lead by BSUID and by E.164, side by side), one SOSL search for the phone the
    // E.164 field did not find, one update marking that record: not a query per object and key field first.
    expect(harness.emulator.stats.requests - before).toBe(3);
    expect(routeCount(harness, '/query')).toBe(0);
  });

  it('keys people without a shared phone by their BSUID on WhatsApp_User_Id__c: created once, then found', async () => {
    const salesforce = adapter();
    const userId = 'US.13491208655302741918';
    const [missing] = await salesforce.findContacts([{ key: `bsuid:${userId}`, userId }], context());
    expect(missing).toMatchObject({ ok: true, matches: [] });
    const input = { key: `bsuid:${userId}`, userId, name: 'Ada Username' };
    const [created] = await salesforce.createContacts([input], context());
    expect(created).toMatchObject({ ok: true, created: true });
    const id = created!.ok ? created!.crmId : '';
    expect(harness.emulator.state.get('Lead', id)).toMatchObject({ WhatsApp_User_Id__c: userId, LastName: 'Username' });
    const [replayed] = await salesforce.createContacts([input], context());
    expect(replayed).toMatchObject({ ok: true, crmId: id, created: false });
    const [found] = await salesforce.findContacts([{ key: `bsuid:${userId}`, userId }], context());
    expect(found).toMatchObject({ ok: true, matches: [{ crmId: id, matchedOn: 'userId', objectType: 'Lead' }] });
    const [renamed] = await salesforce.upsertContacts([{ ...input, name: 'Ada Lovelace' }], context());
    expect(renamed).toMatchObject({ ok: true, crmId: id, created: false });
    expect(harness.emulator.state.count('Lead')).toBe(1);
    expect(harness.emulator.state.get('Lead', id)).toMatchObject({ FirstName: 'Ada', LastName: 'Lovelace' });

    const [badUserId] = await salesforce.createContacts([{ key: 'bsuid:x', userId: "x'; DELETE" }], context());
    expect(badUserId).toMatchObject({ ok: false, error: { field: 'contacts[0].userId' } });
    const [nobody] = await salesforce.createContacts([{ key: 'nobody', name: 'No Identity' }], context());
    expect(nobody).toMatchObject({ ok: false, error: { field: 'contacts[0].phone' } });
  });

  it('stays inside the daily allocation minus the reserve, pauses, and resumes after the window frees', async () => {
    let clock = Date.UTC(2026, 2, 1, 12);
    const limited = await startSalesforceHarness({ dailyAllocation: 30, now: () => clock });
    try {
      const salesforce = createSalesforceAdapter({
        instanceUrl: limited.emulator.url,
        accessToken: limited.emulator.accessToken,
        dailyReserve: 5,
        dailyLimitPauseMs: 60_000,
        now: () => clock,
      });
      const [created] = await salesforce.createContacts(
        [{ key: 'c', phone: '+16505550120', name: 'Limit' }],
        context(),
      );
      const contactCrmId = created!.ok ? created!.crmId : '';
      let outcome: unknown;
      let writes = 0;
      for (let batch = 0; batch < 40 && outcome === undefined; batch++) {
        try {
          await salesforce.writeMessages(
            messagesFor(contactCrmId, 2, 1).map((message) => ({ ...message, key: `${message.key}.${batch}` })),
            context(),
          );
          writes++;
        } catch (error) {
          outcome = error;
        }
      }
      expect(outcome).toBeInstanceOf(CrmRateLimitedError);
      expect(outcome).toMatchObject({ bucket: 'daily', retryAfterMs: 60_000, code: 'daily_budget' });
      expect(writes).toBeGreaterThan(5);
      // The adapter refused before Salesforce had to: the reserve of 5 is untouched and no 403 was answered.
      expect(limited.emulator.limits.used(clock)).toBeLessThanOrEqual(25);
      expect(limited.emulator.stats.byStatus['403']).toBeUndefined();
      expect(signals.at(-1)).toMatchObject({ bucket: 'daily', limit: 25 });
      // Still paused: no request at all.
      const requests = limited.emulator.stats.requests;
      await expect(salesforce.findContacts([{ key: 'k', phone: '+16505550120' }], context())).rejects.toBeInstanceOf(
        CrmRateLimitedError,
      );
      expect(limited.emulator.stats.requests).toBe(requests);
      // A day later the rolling window has freed the allocation and the pause is over.
      clock += 24 * 60 * 60 * 1000 + 1;
      const [resumed] = await salesforce.writeMessages(
        messagesFor(contactCrmId, 1, 1).map((message) => ({ ...message, key: 'wamid.after-reset' })),
        context(),
      );
      expect(resumed).toMatchObject({ ok: true, created: true });
    } finally {
      await limited.emulator.close();
    }
  });

  it('maps 403 REQUEST_LIMIT_EXCEEDED to a daily rate limit and then pauses without spinning', async () => {
    const salesforce = adapter({ dailyLimitPauseMs: 3_600_000 });
    const [created] = await salesforce.createContacts([{ key: 'c', phone: '+16505550121' }], context());
    const contactCrmId = created!.ok ? created!.crmId : '';
    // The customer's other integrations used the rest of the allocation.
    const limits = harness.emulator.limits;
    limits.setDailyAllocation(limits.used(Date.now()));
    const error = await salesforce.writeMessages(messagesFor(contactCrmId, 1), context()).catch((caught) => caught);
    expect(error).toBeInstanceOf(CrmRateLimitedError);
    expect(error).toMatchObject({
      bucket: 'daily',
      retryAfterMs: 3_600_000,
      code: 'REQUEST_LIMIT_EXCEEDED',
      status: 403,
    });
    const requests = harness.emulator.stats.requests;
    await expect(salesforce.writeMessages(messagesFor(contactCrmId, 1), context())).rejects.toMatchObject({
      bucket: 'daily',
    });
    expect(harness.emulator.stats.requests).toBe(requests);
  });

  it('writes the same backfill exactly once through Collections and through Bulk API 2.0', async () => {
    const count = 450;
    const stores = { collections: 0, bulk: 0 };
    for (const path of ['collections', 'bulk'] as const) {
      await harness.reset();
      harness.emulator.resetStats();
      const salesforce = path === 'bulk' ? adapter({ bulkThreshold: 100, bulkPollIntervalMs: 20 }) : adapter();
      const [created] = await salesforce.createContacts([{ key: 'c', phone: '+16505550100' }], context());
      const records = messagesFor(created!.ok ? created!.crmId : '', count);
      const size = salesforce.capabilities.messageBatchSize;
      for (let round = 0; round < 2; round++) {
        const results = [];
        for (let start = 0; start < records.length; start += size) {
          results.push(...(await salesforce.writeMessages(records.slice(start, start + size), context())));
        }
        expect(results.every((result) => result.ok)).toBe(true);
        expect(results.map((result) => result.ok && result.created)).toEqual(records.map(() => round === 0));
      }
      const stored = harness.messages();
      expect(stored).toHaveLength(count);
      expect(new Set(stored.map((message) => message.key)).size).toBe(count);
      expect(harness.emulator.state.duplicates('WhatsApp_Message__c', 'Message_Id__c')).toEqual([]);
      expect(harness.emulator.state.records('WhatsApp_Conversation__c')).toHaveLength(3);
      stores[path] = routeCount(harness, '/jobs/ingest');
    }
    expect(stores.collections).toBe(0);
    expect(stores.bulk).toBeGreaterThan(0);
  });

  it('answers a Bulk row Salesforce refused with its error, read from the failed results, and writes the others', async () => {
    const salesforce = adapter({ bulkThreshold: 2, bulkPollIntervalMs: 20 });
    const [created] = await salesforce.createContacts([{ key: 'c', phone: '+16505550100' }], context());
    const records = messagesFor(created!.ok ? created!.crmId : '', 3, 1);
    // The second row belongs to a conversation whose record (the engine says) does not exist.
    records[1] = { ...records[1]!, conversationKey: 'conversation:gone', conversationCrmId: 'a0B000000000001AAA' };
    const results = await salesforce.writeMessages(records, context());
    expect(routeCount(harness, '/jobs/ingest')).toBeGreaterThan(0);
    expect(results[0]).toMatchObject({ ok: true, created: true });
    expect(results[1]).toMatchObject({ ok: false, error: { kind: 'permanent', field: 'messages[1]' } });
    expect(results[2]).toMatchObject({ ok: true, created: true });
    expect(harness.messages().map((message) => message.key)).toEqual([records[0]!.key, records[2]!.key]);
  });

  it('creates a conversation the engine calls new without reading it, and reads one it does not know otherwise', async () => {
    const [created] = await adapter().createContacts([{ key: 'c', phone: '+16505550100' }], context());
    const contactId = created!.ok ? created!.crmId : '';
    const first = messagesFor(contactId, 4, 2).map((record) => ({ ...record, firstInConversation: true }));
    harness.emulator.resetStats();
    expect((await adapter().writeMessages(first, context())).every((result) => result.ok)).toBe(true);
    // Two conversations created by one upsert, no SOQL read of them.
    expect(routeCount(harness, '/query')).toBe(0);
    expect(harness.emulator.state.records('WhatsApp_Conversation__c')).toHaveLength(2);
    // A resend after a crash (still "first") lands on the same conversation records.
    expect((await adapter().writeMessages(first, context())).every((result) => result.ok)).toBe(true);
    expect(harness.emulator.state.records('WhatsApp_Conversation__c')).toHaveLength(2);
    // A fresh adapter (empty cache) writing later messages of those conversations reads them first, so their summary
    // fields only move forward.
    harness.emulator.resetStats();
    const later = messagesFor(contactId, 6, 2)
      .slice(4)
      .map((record) => ({ ...record, firstInConversation: false }));
    expect((await adapter().writeMessages(later, context())).every((result) => result.ok)).toBe(true);
    expect(routeCount(harness, '/query')).toBe(1);
    expect(harness.emulator.state.duplicates('WhatsApp_Conversation__c', 'Thread_Key__c')).toEqual([]);
  });

  it('prepares conversations in one call, then writes messages under them with no conversation call', async () => {
    const [created] = await adapter().createContacts([{ key: 'c', phone: '+16505550100' }], context());
    const contactId = created!.ok ? created!.crmId : '';
    // Declared (with `conversationBatchSize`) when Bulk API 2.0 is enabled.
    expect(adapter().prepareConversations).toBeUndefined();
    expect(adapter().capabilities.conversationBatchSize).toBeUndefined();
    const salesforce = adapter({ bulkThreshold: 1000 });
    const messages = messagesFor(contactId, 6, 2).map((record) => ({ ...record, firstInConversation: true }));
    const inputs = ['conversation:0', 'conversation:1'].map((conversationKey) => ({
      key: `history:${conversationKey}`,
      conversationKey,
      messages: messages.filter((message) => message.conversationKey === conversationKey),
    }));
    // The live batch of conversation 0, written at the same time, shares its record.
    const live = {
      ...messages[4]!,
      key: 'wamid.live',
      source: 'live' as const,
      occurredAt: '2025-10-02T09:00:00.000Z',
    };
    inputs.push({ key: 'live:conversation:0', conversationKey: 'conversation:0', messages: [live] });
    harness.emulator.resetStats();
    const prepared = await salesforce.prepareConversations!(inputs, context());
    expect(prepared.map((result) => result.ok && result.created)).toEqual([true, true, false]);
    expect(prepared[2]!.ok && prepared[2]!.crmId).toBe(prepared[0]!.ok && prepared[0]!.crmId);
    // One upsert for the three inputs, no read (the conversations are new).
    expect(harness.emulator.stats.requests).toBe(1);
    const conversations = harness.emulator.state.records('WhatsApp_Conversation__c');
    expect(conversations).toHaveLength(2);
    const zero = conversations.find((record) => record.Thread_Key__c === 'conversation:0')!;
    expect(zero).toMatchObject({ Lead__c: contactId, Customer_Phone__c: '+16505550100' });
    // The customer's live message opened the service window.
    expect(String(zero.Window_Expires_At__c)).toMatch(/^2025-10-03T09:00:00/);

    const idOf = (key: string) => {
      const result = prepared[inputs.findIndex((input) => input.conversationKey === key)]!;
      return result.ok ? result.crmId : '';
    };
    harness.emulator.resetStats();
    const written = await salesforce.writeMessages(
      messages.map((message) => ({ ...message, conversationCrmId: idOf(message.conversationKey) })),
      context(),
    );
    expect(written.every((result) => result.ok && result.created)).toBe(true);
    // Only the message upsert: the conversations were ready.
    expect(harness.emulator.stats.requests).toBe(1);
    const conversationOf = new Map(messages.map((message) => [message.key, message.conversationKey]));
    const stored = harness.emulator.state.records('WhatsApp_Message__c');
    expect(stored).toHaveLength(6);
    for (const record of stored) {
      expect(record.Conversation__c).toBe(idOf(conversationOf.get(String(record.Message_Id__c))!));
    }

    // A resend after a crash, by a fresh adapter (empty cache), still calling them new: same records, nothing moves
    // back. An older backfill batch then neither creates nor rewinds anything.
    const restarted = adapter({ bulkThreshold: 1000 });
    const again = await restarted.prepareConversations!(inputs, context());
    expect(again.map((result) => result.ok && result.crmId)).toEqual(
      prepared.map((result) => result.ok && result.crmId),
    );
    expect(again.every((result) => result.ok && !result.created)).toBe(true);
    const older = {
      ...messages[0]!,
      key: 'wamid.older',
      occurredAt: '2025-09-01T08:00:00.000Z',
      firstInConversation: false,
    };
    await restarted.prepareConversations!(
      [{ key: 'history:conversation:0', conversationKey: 'conversation:0', messages: [older] }],
      context(),
    );
    const after = harness.emulator.state.get('WhatsApp_Conversation__c', idOf('conversation:0'))!;
    expect(after.Last_Message_At__c).toBe(zero.Last_Message_At__c);
    expect(after.Window_Expires_At__c).toBe(zero.Window_Expires_At__c);
    expect(harness.emulator.state.duplicates('WhatsApp_Conversation__c', 'Thread_Key__c')).toEqual([]);
  });

  it("writes a batch's conversations and its messages in one Composite request, messages naming theirs by External ID", async () => {
    const [created] = await adapter().createContacts([{ key: 'c', phone: '+16505550100' }], context());
    const contactId = created!.ok ? created!.crmId : '';
    const salesforce = adapter();
    const messages = messagesFor(contactId, 9, 3).map((record) => ({ ...record, firstInConversation: true }));
    // Conversation 2 names a Lead that does not exist: its record is refused, and so are its messages.
    const missingLead = `${contactId.slice(0, 3)}${'9'.repeat(12)}`;
    const batch = messages.map((message) =>
      message.conversationKey === 'conversation:2' ? { ...message, contactCrmId: missingLead } : message,
    );
    harness.emulator.resetStats();
    const written = await salesforce.writeMessages(batch, context());
    expect(harness.emulator.stats.requests).toBe(1);
    expect(routeCount(harness, '/composite')).toBe(1);
    expect(written.map((result) => result.ok)).toEqual(
      batch.map((message) => message.conversationKey !== 'conversation:2'),
    );
    const refused = written.find((result) => !result.ok);
    expect(refused).toMatchObject({ ok: false, error: { kind: 'permanent', field: 'messages[2].contactCrmId' } });
    const conversations = harness.emulator.state.records('WhatsApp_Conversation__c');
    expect(conversations.map((record) => record.Thread_Key__c).sort()).toEqual(['conversation:0', 'conversation:1']);
    const idOf = new Map(conversations.map((record) => [record.Thread_Key__c, record.Id]));
    const stored = harness.emulator.state.records('WhatsApp_Message__c');
    expect(stored).toHaveLength(6);
    for (const record of stored) {
      const message = batch.find((candidate) => candidate.key === record.Message_Id__c)!;
      expect(record.Conversation__c).toBe(idOf.get(message.conversationKey));
    }
    // The next batch of known conversations: one Composite request again (their fields move forward), no read.
    harness.emulator.resetStats();
    const next = messagesFor(contactId, 12, 3)
      .slice(9)
      .map((message) => ({ ...message, key: `${message.key}.next`, occurredAt: '2025-10-02T08:00:00.000Z' }));
    const again = await salesforce.writeMessages(next.slice(0, 2), context());
    expect(again.every((result) => result.ok && result.created)).toBe(true);
    expect(harness.emulator.stats.requests).toBe(1);
    expect(harness.emulator.state.duplicates('WhatsApp_Conversation__c', 'Thread_Key__c')).toEqual([]);
  });

  it('reads the messages of a full update batch in one Composite request (two IN lists), then writes them once', async () => {
    const [created] = await adapter().createContacts([{ key: 'c', phone: '+16505550100' }], context());
    const contactId = created!.ok ? created!.crmId : '';
    const salesforce = adapter();
    const messages = messagesFor(contactId, 150, 3)
      .map((record) => ({ ...record, firstInConversation: true }))
      .filter((record) => record.direction === 'outbound');
    const written = await salesforce.writeMessages(messages, context());
    expect(written.every((result) => result.ok)).toBe(true);
    harness.emulator.resetStats();
    const updates = messages.flatMap((message, index) => [
      {
        key: `read.${index}`,
        messageKey: message.key,
        change: { kind: 'status' as const, status: 'read' as const, at: '2025-10-03T00:00:00.000Z' },
      },
      // Out of order: a later "delivered" does not move the status back.
      {
        key: `delivered.${index}`,
        messageKey: message.key,
        change: { kind: 'status' as const, status: 'delivered' as const, at: '2025-10-02T00:00:00.000Z' },
      },
    ]);
    // More messages, so that the batch names over 100 of them: two IN lists of 100 at most.
    const more = messagesFor(contactId, 280, 3)
      .slice(150)
      .filter((record) => record.direction === 'outbound')
      .map((record) => ({ ...record, firstInConversation: false }));
    expect((await salesforce.writeMessages(more, context())).every((result) => result.ok)).toBe(true);
    harness.emulator.resetStats();
    const all = [
      ...updates,
      ...more.map((message, index) => ({
        key: `more.${index}`,
        messageKey: message.key,
        change: { kind: 'status' as const, status: 'delivered' as const, at: '2025-10-02T00:00:00.000Z' },
      })),
    ].slice(0, 200);
    const results = await salesforce.updateMessages(all, context());
    expect(results.every((result) => result.ok)).toBe(true);
    expect(new Set(all.map((update) => update.messageKey)).size).toBeGreaterThan(100);
    // One Composite read (two queries), one Collections update.
    expect(routeCount(harness, '/composite')).toBe(1);
    expect(harness.emulator.stats.requests).toBe(2);
    const statusOf = new Map(
      harness.emulator.state.records('WhatsApp_Message__c').map((record) => [record.Message_Id__c, record.Status__c]),
    );
    expect(statusOf.get(messages[0]!.key)).toBe('read');
    expect(statusOf.get(more[0]!.key)).toBe('delivered');
  });

  it('answers each bad conversation input with a permanent error naming the field', async () => {
    const [created] = await adapter().createContacts([{ key: 'c', phone: '+16505550100' }], context());
    const contactId = created!.ok ? created!.crmId : '';
    const [good] = messagesFor(contactId, 1, 1);
    const results = await adapter({ bulkThreshold: 1000 }).prepareConversations!(
      [
        { key: 'a', conversationKey: 'conversation:0', messages: [] },
        { key: 'b', conversationKey: 'conversation:0', messages: [{ ...good!, contactCrmId: 'nope' }] },
        { key: 'c', conversationKey: 'conversation:9', messages: [good!] },
        { key: 'd', conversationKey: 'conversation:0', messages: [good!] },
      ],
      context(),
    );
    expect(results.map((result) => (result.ok ? 'ok' : result.error.field))).toEqual([
      'conversations[0].messages',
      'conversations[1].messages[0].contactCrmId',
      'conversations[2].messages[0].conversationKey',
      'ok',
    ]);
    const [bad] = await adapter().writeMessages([{ ...good!, conversationCrmId: "a'1" }], context());
    expect(bad).toMatchObject({ ok: false, error: { kind: 'permanent', field: 'messages[0].conversationCrmId' } });
  });

  it('creates people keyed by a phone and people keyed by a BSUID in ONE Composite request', async () => {
    const salesforce = adapter();
    const userId = 'US.13491208655302741918';
    const people = [
      { key: 'phone:+16505550150', phone: '+16505550150', name: 'Ana Lopez' },
      { key: `bsuid:${userId}`, userId, name: 'Bo Username' },
      { key: 'phone:+16505550151', phone: '+16505550151', name: 'Cy Chen' },
    ];
    const created = await salesforce.createContacts(people, context());
    expect(created).toMatchObject([
      { ok: true, created: true },
      { ok: true, created: true },
      { ok: true, created: true },
    ]);
    // One round trip: a phone upsert and a BSUID upsert as two Collections subrequests, not two requests in a row.
    expect(harness.emulator.stats.requests).toBe(1);
    expect(routeCount(harness, '/composite')).toBe(1);
    const leads = harness.emulator.state.records('Lead');
    expect(leads.map((lead) => lead.LastName).sort()).toEqual(['Chen', 'Lopez', 'Username']);
    expect(leads.find((lead) => lead.LastName === 'Username')).toMatchObject({ WhatsApp_User_Id__c: userId });
    // The address-book sync of the same people (searched just before): one request again, the same records.
    harness.emulator.resetStats();
    const notFoundAt = new Date().toISOString();
    const upserted = await salesforce.upsertContacts(
      people.map((person) => ({ ...person, notFoundAt })),
      context(),
    );
    expect(upserted.map((result) => (result.ok ? result.crmId : undefined))).toEqual(
      created.map((result) => (result.ok ? result.crmId : undefined)),
    );
    expect(harness.emulator.stats.requests).toBe(1);
    expect(harness.emulator.state.count('Lead')).toBe(3);
  });

  it('brings existing Contacts and Leads up to date in ONE update, each answered in input order', async () => {
    const contactId = harness.seedContact({ LastName: 'Old Contact', Phone: '(650) 555-1260' });
    const leadId = harness.seedContact({ LastName: 'Old Lead', MobilePhone: '+1 650 555 1261' }, 'Lead');
    const otherLeadId = harness.seedContact({ LastName: 'Old Lead Two' }, 'Lead');
    harness.emulator.resetStats();
    const results = await adapter().upsertContacts(
      [
        { key: 'phone:+16505551261', phone: '+16505551261', name: 'Lia Lead', crmId: leadId },
        { key: 'phone:+16505551260', phone: '+16505551260', name: 'Cas Contact', crmId: contactId },
        { key: 'phone:+16505551262', phone: '+16505551262', name: 'Leo Lead', crmId: otherLeadId },
      ],
      context(),
    );
    expect(results).toEqual([
      { key: 'phone:+16505551261', ok: true, crmId: leadId, created: false },
      { key: 'phone:+16505551260', ok: true, crmId: contactId, created: false },
      { key: 'phone:+16505551262', ok: true, crmId: otherLeadId, created: false },
    ]);
    expect(harness.emulator.stats.requests).toBe(1);
    expect(harness.emulator.state.get('Contact', contactId)).toMatchObject({
      LastName: 'Contact',
      FirstName: 'Cas',
      WhatsApp_E164__c: '+16505551260',
    });
    expect(harness.emulator.state.get('Lead', leadId)).toMatchObject({
      LastName: 'Lead',
      WhatsApp_E164__c: '+16505551261',
    });
    expect(harness.emulator.state.get('Lead', otherLeadId)).toMatchObject({
      LastName: 'Lead',
      FirstName: 'Leo',
      WhatsApp_E164__c: '+16505551262',
    });
  });

  it('creates a person another call is writing at the same time once: the creation takes that record', async () => {
    const salesforce = adapter();
    harness.emulator.latency.configure({ baseMs: 100 });
    try {
      // The address-book sync writes the person; a message batch's creation of the same customer arrives meanwhile.
      const syncing = salesforce.upsertContacts(
        [{ key: 'phone:+16505550140', phone: '+16505550140', name: 'Ana Lopez', notFoundAt: new Date().toISOString() }],
        context(),
      );
      await new Promise((resolve) => setTimeout(resolve, 20));
      const [created] = await salesforce.createContacts(
        [
          { key: 'phone:+16505550140', phone: '+16505550140', name: 'Ana' },
          { key: 'phone:+16505550141', phone: '+16505550141', name: 'Bo' },
        ],
        context(),
      );
      const [synced] = await syncing;
      expect(synced).toMatchObject({ ok: true, created: true });
      expect(created).toMatchObject({ ok: true, created: false, crmId: synced!.ok ? synced!.crmId : '' });
      // Two upserts (the sync's, the other customer's), not three writes of two records; one record per phone.
      expect(routeCount(harness, '/composite/sobjects/:type/:field')).toBe(2);
      expect(
        harness.emulator.state
          .records('Lead')
          .map((record) => record.LastName)
          .sort(),
      ).toEqual(['Bo', 'Lopez']);
      // Once the sync is answered, a creation writes again (an upsert by the same External ID: no duplicate).
      const [later] = await salesforce.createContacts(
        [{ key: 'phone:+16505550140', phone: '+16505550140' }],
        context(),
      );
      expect(later).toMatchObject({ ok: true, created: false, crmId: synced!.ok ? synced!.crmId : '' });
      expect(routeCount(harness, '/composite/sobjects/:type/:field')).toBe(3);
      expect(harness.emulator.state.duplicates('Lead', 'WhatsApp_E164__c')).toEqual([]);
    } finally {
      harness.emulator.latency.configure({});
    }
  });

  it('upserts a contact the engine just searched for without reading it again, replacing the name whole', async () => {
    const salesforce = adapter();
    // A message batch created the person (profile name) after the contact sync's search found nobody.
    const [created] = await salesforce.createContacts(
      [{ key: 'phone:+16505550130', phone: '+16505550130', name: 'Ana Maria Lopez' }],
      context(),
    );
    harness.emulator.resetStats();
    const [upserted] = await salesforce.upsertContacts(
      [
        {
          key: 'phone:+16505550130',
          phone: '+16505550130',
          name: 'Dr Lopez',
          firstName: 'Dr',
          notFoundAt: new Date().toISOString(),
        },
      ],
      context(),
    );
    expect(upserted).toMatchObject({ ok: true, created: false, crmId: created!.ok ? created!.crmId : '' });
    expect(routeCount(harness, '/query')).toBe(0);
    expect(harness.emulator.state.records('Lead')).toHaveLength(1);
    expect(harness.emulator.state.records('Lead')[0]).toMatchObject({ FirstName: 'Dr', LastName: 'Lopez' });
    await salesforce.upsertContacts(
      [{ key: 'phone:+16505550130', phone: '+16505550130', name: 'Lopez', notFoundAt: new Date().toISOString() }],
      context(),
    );
    expect(harness.emulator.state.records('Lead')[0]?.LastName).toBe('Lopez');
    expect(harness.emulator.state.records('Lead')[0]?.FirstName ?? null).toBeNull();
    // A stale "not found" is not trusted: the adapter reads first.
    harness.emulator.resetStats();
    await salesforce.upsertContacts(
      [{ key: 'phone:+16505550130', phone: '+16505550130', name: 'Ana', notFoundAt: '2020-01-01T00:00:00Z' }],
      context(),
    );
    // The look-ups on Contact and Lead go together in one Composite request.
    expect(routeCount(harness, '/composite')).toBe(1);
    expect(harness.emulator.stats.requests).toBe(2);
    expect(harness.emulator.state.records('Lead')).toHaveLength(1);
  });

  it('keeps one summary Task per conversation and day, also when two batches of it are written at once', async () => {
    const salesforce = adapter({ summaryTasks: true });
    const [created] = await salesforce.createContacts([{ key: 'c', phone: '+16505550100' }], context());
    const contactCrmId = created!.ok ? created!.crmId : '';
    const at = (key: string, occurredAt: string, source: 'live' | 'history'): MessageRecord => ({
      ...messagesFor(contactCrmId, 1)[0]!,
      key,
      occurredAt,
      source,
      conversationKey: 'conversation:tasks',
    });
    // A live batch and a backfill batch of one conversation, the same day, written together; then a later day.
    const [live, history] = await Promise.all([
      salesforce.writeMessages([at('wamid.live', '2025-10-01T12:00:00.000Z', 'live')], context()),
      salesforce.writeMessages([at('wamid.history', '2025-10-01T08:00:00.000Z', 'history')], context()),
    ]);
    expect([...live, ...history].every((result) => result.ok)).toBe(true);
    await salesforce.writeMessages([at('wamid.next-day', '2025-10-02T09:00:00.000Z', 'live')], context());
    const tasks = harness.emulator.state.records('Task');
    expect(tasks.map((task) => task.ActivityDate).sort()).toEqual(['2025-10-01', '2025-10-02']);
    expect(new Set(tasks.map((task) => task.WhatId)).size).toBe(1);
  });

  it('persists the Bulk job id so a restarted adapter resumes polling the same job', async () => {
    const jobStore = createMemoryJobStore();
    const slow = await startSalesforceHarness({ bulkProcessingMsPerRecord: 2 });
    try {
      const options = {
        instanceUrl: slow.emulator.url,
        accessToken: slow.emulator.accessToken,
        bulkThreshold: 50,
        bulkPollIntervalMs: 20,
        jobStore,
      };
      const first = createSalesforceAdapter({ ...options, bulkPollTimeoutMs: 0 });
      const [created] = await first.createContacts([{ key: 'c', phone: '+16505550100' }], context());
      const records = messagesFor(created!.ok ? created!.crmId : '', 200);
      const error = await first.writeMessages(records, context()).catch((caught) => caught);
      expect(error).toBeInstanceOf(CrmTransientError);
      expect(error).toMatchObject({ code: 'bulk_job_pending' });
      expect(jobStore.entries.size).toBe(1);
      // "Restart": a new adapter with the same job store and the same batch.
      const second = createSalesforceAdapter({ ...options, bulkPollTimeoutMs: 30_000 });
      const results = await second.writeMessages(records, context());
      expect(results.every((result) => result.ok && result.created)).toBe(true);
      expect(slow.emulator.bulk2.summary()).toHaveLength(1);
      expect(jobStore.entries.size).toBe(0);
      expect(slow.messages()).toHaveLength(200);
    } finally {
      await slow.emulator.close();
    }
  });

  it('writes the newer state a resent Bulk batch carries, after the job with the older rows finished', async () => {
    const jobStore = createMemoryJobStore();
    const slow = await startSalesforceHarness({ bulkProcessingMsPerRecord: 2 });
    try {
      const salesforce = createSalesforceAdapter({
        instanceUrl: slow.emulator.url,
        accessToken: slow.emulator.accessToken,
        bulkThreshold: 50,
        bulkPollIntervalMs: 20,
        bulkPollTimeoutMs: 0,
        jobStore,
      });
      const [created] = await salesforce.createContacts([{ key: 'c', phone: '+16505550100' }], context());
      const records = messagesFor(created!.ok ? created!.crmId : '', 60).map(
        (record): MessageRecord => (record.direction === 'outbound' ? { ...record, status: 'sent' } : record),
      );
      await expect(salesforce.writeMessages(records, context())).rejects.toMatchObject({ code: 'bulk_job_pending' });
      // Resent with a status that arrived meanwhile (the engine carries it in the write).
      const resent = records.map((record, index) => (index === 1 ? { ...record, status: 'read' as const } : record));
      let results: Awaited<ReturnType<typeof salesforce.writeMessages>> | undefined;
      for (let attempt = 0; attempt < 200 && results === undefined; attempt++) {
        results = await salesforce.writeMessages(resent, context()).catch(async (error: { code?: string }) => {
          expect(error.code).toBe('bulk_job_pending');
          await new Promise((resolve) => setTimeout(resolve, 20));
          return undefined;
        });
      }
      expect(results?.every((result) => result.ok)).toBe(true);
      expect(slow.messages().find((message) => message.key === 'wamid.backfill.1')?.status).toBe('read');
      // Two jobs, one after the other: the second only once the first had finished.
      expect(slow.emulator.bulk2.summary()).toHaveLength(2);
      expect(slow.messages()).toHaveLength(60);
    } finally {
      await slow.emulator.close();
    }
  });

  describe('OAuth', () => {
    let oauth: SalesforceHarness;
    beforeAll(async () => {
      oauth = await startSalesforceHarness({
        tokens: ['initial-access-token'],
        oauth: { clientId: 'client', clientSecret: 'secret', refreshTokens: ['refresh-token'] },
      });
    });
    afterAll(() => oauth.emulator.close());
    afterEach(() => oauth.reset());

    it('refreshes an expired access token with jsforce OAuth2 and reports the new token', async () => {
      const refreshed: string[] = [];
      const salesforce = createSalesforceAdapter({
        instanceUrl: oauth.emulator.url,
        accessToken: 'initial-access-token',
        refreshToken: 'refresh-token',
        oauth2: { clientId: 'client', clientSecret: 'secret', loginUrl: oauth.emulator.url },
        onAccessTokenRefresh: (token) => refreshed.push(token),
      });
      await salesforce.findContacts([{ key: 'k', phone: '+16505550100' }], context());
      expect(refreshed).toEqual([]);
      oauth.emulator.sessions.expireAccessTokens();
      const [result] = await salesforce.findContacts([{ key: 'k', phone: '+16505550100' }], context());
      expect(result).toMatchObject({ ok: true, matches: [] });
      expect(refreshed).toHaveLength(1);
      expect(refreshed[0]).not.toBe('initial-access-token');
    });

    it('maps a refused refresh token to CrmAuthError', async () => {
      const salesforce = createSalesforceAdapter({
        instanceUrl: oauth.emulator.url,
        refreshToken: 'revoked-refresh-token',
        oauth2: { clientId: 'client', clientSecret: 'secret', loginUrl: oauth.emulator.url },
      });
      await expect(salesforce.findContacts([{ key: 'k', phone: '+16505550100' }], context())).rejects.toBeInstanceOf(
        CrmAuthError,
      );
    });
  });
});
