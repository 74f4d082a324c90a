/**
 * The sync engine preparing conversation records in pooled calls (`prepareConversations`) before the messages,
 * with the real Salesforce adapter (jsforce) against the Salesforce emulator: every message once, under its
 * conversation's one record, whose summary fields match the messages; and the same result without the capability
 * (the adapter's default, Collections only: each batch's conversations go with its messages in one Composite request).
 */
import { type CrmAdapter, createMemoryStore, createSyncEngine, type MessageRecord } from '@coexist/core';
import { createSalesforceAdapter } from '@coexist/salesforce';
import { type SalesforceEmulator, startSalesforceEmulator } from '@coexist/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { historyBackfill } from './fixtures/engine-events.ts';

let org: SalesforceEmulator;
beforeAll(async () => {
  // A little latency, so the batches of the backfill are in flight together.
  org = await startSalesforceEmulator({ latency: { baseMs: 20, jitterMs: 0, perRecordMs: 0 } });
});
afterAll(() => org.close());
beforeEach(() => {
  org.state.reset();
});

/** The real adapter, with the operations the engine calls counted (calls and items). */
function countedAdapter(adapter: CrmAdapter) {
  const calls: { operation: string; items: unknown[] }[] = [];
  const counted = { ...adapter } as CrmAdapter & Record<string, unknown>;
  for (const operation of ['findContacts', 'createContacts', 'writeMessages', 'prepareConversations'] as const) {
    const original = adapter[operation] as
      | ((items: readonly unknown[], context: unknown) => Promise<unknown>)
      | undefined;
    if (original === undefined) continue;
    (counted as Record<string, unknown>)[operation] = async (items: readonly unknown[], context: unknown) => {
      calls.push({ operation, items: [...items] });
      return original(items, context);
    };
  }
  return { adapter: counted as CrmAdapter, calls };
}

async function backfill(adapter: CrmAdapter): Promise<void> {
  const store = createMemoryStore();
  const engine = createSyncEngine({ store, connections: [{ id: 'salesforce', adapter, phoneNumberIds: ['PN-1'] }] });
  try {
    await engine.ingest(historyBackfill({ threads: 60, perThread: 10 }), { rawBody: 'backfill' });
    await engine.drain({ timeoutMs: 30_000 });
    expect((await engine.status()).deadLetters).toBe(0);
  } finally {
    await engine.stop();
    await store.close();
  }
}

/** Checks Salesforce: 600 messages once, 60 conversations once, each message under its thread's record. */
function expectOrgState(): void {
  const conversations = org.state.records('WhatsApp_Conversation__c');
  const messages = org.state.records('WhatsApp_Message__c');
  expect(messages).toHaveLength(600);
  expect(conversations).toHaveLength(60);
  expect(org.state.duplicates('WhatsApp_Message__c', 'Message_Id__c')).toEqual([]);
  expect(org.state.duplicates('WhatsApp_Conversation__c', 'Thread_Key__c')).toEqual([]);
  for (const conversation of conversations) {
    const own = messages.filter((message) => message.Conversation__c === conversation.Id);
    expect(own).toHaveLength(10);
    // One customer per conversation, and the record's last message time is its newest message's.
    expect(new Set(own.map((message) => String(message.Message_Id__c).split('.')[2]))).toHaveProperty('size', 1);
    const newest = own
      .map((message) => String(message.Sent_At__c))
      .sort()
      .at(-1);
    expect(conversation.Last_Message_At__c).toBe(newest);
    expect(conversation.Lead__c).toBeTruthy();
  }
}

describe('sync engine: conversations prepared in pooled calls (Salesforce adapter, real jsforce)', () => {
  const salesforce = () =>
    createSalesforceAdapter({ instanceUrl: org.url, accessToken: org.accessToken, defaultCountry: 'US' });

  it('upserts every conversation once, in fewer calls than message batches, and writes each message under it', async () => {
    // The adapter prepares conversations ahead when Bulk API 2.0 is enabled; batches of 200 stay below its threshold.
    const bulkReady = createSalesforceAdapter({
      instanceUrl: org.url,
      accessToken: org.accessToken,
      defaultCountry: 'US',
      bulkThreshold: 1000,
      bulkMaxBatchSize: 1000,
    });
    const { adapter, calls } = countedAdapter({
      ...bulkReady,
      capabilities: { ...bulkReady.capabilities, messageBatchSize: 200 },
    });
    await backfill(adapter);
    expectOrgState();
    const prepares = calls.filter((call) => call.operation === 'prepareConversations');
    const writes = calls.filter((call) => call.operation === 'writeMessages');
    expect(writes.length).toBeGreaterThanOrEqual(3);
    // The conversations of the concurrent batches went together; each conversation was prepared once.
    expect(prepares.length).toBeLessThan(writes.length);
    const prepared = prepares.flatMap((call) => call.items as { conversationKey: string }[]);
    expect(new Set(prepared.map((input) => input.conversationKey)).size).toBe(60);
    expect(prepared).toHaveLength(60);
    // Every message went out with its conversation's record id.
    for (const call of writes) {
      for (const record of call.items as MessageRecord[]) expect(record.conversationCrmId).toMatch(/^a0/);
    }
  });

  it('without the capability, writeMessages upserts the conversations itself, with the same result', async () => {
    const plain = salesforce();
    expect(plain.capabilities.conversationBatchSize).toBeUndefined();
    const { adapter, calls } = countedAdapter(plain);
    org.resetStats();
    await backfill(adapter);
    expectOrgState();
    expect(calls.some((call) => call.operation === 'prepareConversations')).toBe(false);
    // Each batch wrote its conversations and its messages in one Composite request (and each search read Contact
    // and Lead in one).
    const count = (operation: string) => calls.filter((call) => call.operation === operation).length;
    expect(org.stats.byRoute['POST /services/data/:version/composite']).toBe(
      count('writeMessages') + count('findContacts'),
    );
  });
});
