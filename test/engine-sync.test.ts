/**
 * The sync engine against the in-memory reference adapter, on the memory store and on SQLite (temp files):
 * dedupe, contacts before messages, ordering, updates after their message, lanes, batching, routing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CoexistenceEvent,
  type CoexistStore,
  type ContactSyncedEvent,
  type CrmAdapter,
  createMemoryStore,
  createSqliteStore,
  createSyncEngine,
  listApiReplies,
  type SyncEngine,
  type SyncProgress,
} from '@coexist/core';
import {
  createReferenceAdapter,
  type ReferenceAdapter,
  type ReferenceFault,
  type ReferenceMessageRecord,
} from '@coexist/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  contactSynced,
  echoedMessage,
  editEvent,
  historyBackfill,
  historyChunk,
  inboundMessage,
  mediaFollowUp,
  reactionEvent,
  statusEvent,
  threadPhone,
} from './fixtures/engine-events.ts';

const directories: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

const NO_LIMITS = { buckets: [] };

const backends: [string, () => CoexistStore][] = [
  ['memory store', () => createMemoryStore()],
  [
    'sqlite store',
    () => {
      const directory = mkdtempSync(join(tmpdir(), 'coexist-engine-'));
      directories.push(directory);
      return createSqliteStore({ path: join(directory, 'coexist.db') });
    },
  ],
  [
    'sqlite store, group commits in a writer thread',
    () => {
      const directory = mkdtempSync(join(tmpdir(), 'coexist-engine-'));
      directories.push(directory);
      return createSqliteStore({ path: join(directory, 'coexist.db'), writerThread: true });
    },
  ],
];

function track(engine: SyncEngine, store: CoexistStore): SyncEngine {
  cleanups.push(async () => {
    await engine.stop();
    await store.close();
  });
  return engine;
}

/** An engine on `store` where PN-1 moved from tenant-a (`first`, keeping PN-2) to tenant-b (a new CRM, `second`). */
function movedToTenantB(store: CoexistStore, first: ReferenceAdapter): { second: ReferenceAdapter; moved: SyncEngine } {
  const second = createReferenceAdapter({ crm: 'crm-b', rateLimits: NO_LIMITS });
  const moved = track(
    createSyncEngine({
      store,
      connections: [
        { id: 'tenant-a', adapter: first, phoneNumberIds: ['PN-2'] },
        { id: 'tenant-b', adapter: second, phoneNumberIds: ['PN-1'] },
      ],
    }),
    store,
  );
  return { second, moved };
}

/** An engine on `store` writing PN-1 into a reference CRM without rate limits; stopped and closed after the test. */
function referenceEngine(store: CoexistStore): { store: CoexistStore; adapter: ReferenceAdapter; engine: SyncEngine } {
  const adapter = createReferenceAdapter({ rateLimits: NO_LIMITS });
  const engine = track(
    createSyncEngine({ store, connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'] }] }),
    store,
  );
  return { store, adapter, engine };
}

/** The CRM's message records of one thread (contact phone), in creation order. */
function threadRecords(adapter: ReferenceAdapter, phone: string): ReferenceMessageRecord[] {
  return [...adapter.state.messages.values()]
    .filter((record) => record.contactPhone === phone)
    .sort((left, right) => left.sequence - right.sequence);
}

/** The Business App's address book: `count` contacts, the customers of threads 0… (`threadPhone`), with app names. */
function addressBook(count: number): ContactSyncedEvent[] {
  return Array.from({ length: count }, (_, index) =>
    contactSynced({ phone: threadPhone(index), name: `App name ${index}`, at: Date.parse('2026-03-01T09:00:00Z') }),
  );
}

/**
 * An engine (not started) on the reference CRM for tests of address-book syncs beside a backfill: by default small
 * batches and two call slots, so a sync holds one slot a while.
 */
function syncingEngine(
  store: CoexistStore,
  sizes: { contactBatchSize: number; searchBatchSize: number; messageBatchSize: number; maxConcurrency: number } = {
    contactBatchSize: 20,
    searchBatchSize: 20,
    messageBatchSize: 4,
    maxConcurrency: 2,
  },
): { adapter: ReferenceAdapter; engine: SyncEngine } {
  const { maxConcurrency, ...batchSizes } = sizes;
  const adapter = createReferenceAdapter({ rateLimits: NO_LIMITS, ...batchSizes });
  const engine = track(
    createSyncEngine({
      store,
      connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'], maxConcurrency }],
      autoStart: false,
    }),
    store,
  );
  return { adapter, engine };
}

/** An engine on a clock the test moves (`clock.now`), over a reference adapter with no rate limits. */
function clockedEngine(
  store: CoexistStore,
  sizes: { messageBatchSize: number; maxConcurrency: number },
): { adapter: ReferenceAdapter; engine: SyncEngine; clock: { now: number } } {
  const adapter = createReferenceAdapter({ rateLimits: NO_LIMITS, messageBatchSize: sizes.messageBatchSize });
  const clock = { now: Date.parse('2026-03-01T09:00:00Z') };
  const engine = track(
    createSyncEngine({
      store,
      connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'], maxConcurrency: sizes.maxConcurrency }],
      autoStart: false,
      now: () => clock.now,
    }),
    store,
  );
  return { adapter, engine, clock };
}

/** The order in which the adapter's calls of these operations finish, from now on. */
function finishOrder(adapter: ReferenceAdapter, names: readonly string[]): string[] {
  const finished: string[] = [];
  const methods = adapter as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const name of names) {
    const original = methods[name]!;
    methods[name] = async (...args) => {
      try {
        return await original(...args);
      } finally {
        finished.push(name);
      }
    };
  }
  return finished;
}

/**
 * Ten customers in the address book and a backfill of their conversations (four messages each), ingested before
 * the engine starts with `faults` injected, then drained: the address-book sync runs while their messages are claimed.
 */
async function syncBesideBackfill(
  store: CoexistStore,
  faults: ReferenceFault[],
): Promise<{ adapter: ReferenceAdapter; engine: SyncEngine }> {
  const { adapter, engine } = syncingEngine(store, {
    contactBatchSize: 10,
    searchBatchSize: 10,
    messageBatchSize: 40,
    maxConcurrency: 4,
  });
  const book = addressBook(10);
  await engine.ingest(book, { rawBody: 'address book' });
  await engine.ingest(historyBackfill({ threads: 10, perThread: 4 }), { rawBody: 'backfill' });
  for (const fault of faults) adapter.injectFault(fault);
  await engine.start();
  await engine.drain();
  return { adapter, engine };
}

describe.each(backends)('sync engine (%s)', (_name, createStore) => {
  it('ignores a redelivered webhook: nothing is stored or written twice', async () => {
    const { adapter, engine } = referenceEngine(createStore());
    const events = [
      inboundMessage({ wamid: 'wamid.1', phone: '+16505551001', at: 1_000 }),
      echoedMessage({ wamid: 'wamid.2', phone: '+16505551001', at: 2_000 }),
    ];
    const rawBody = JSON.stringify({ object: 'whatsapp_business_account', n: 1 });
    expect(await engine.ingest(events, { rawBody })).toMatchObject({ accepted: 2, duplicates: 0 });
    await engine.drain();
    expect(await engine.ingest(events, { rawBody })).toEqual({ payloadId: null, accepted: 0, duplicates: 2 });
    // Meta may also resend the same events in a differently serialized body.
    expect(await engine.ingest(events, { rawBody: `${rawBody} ` })).toMatchObject({ accepted: 0, duplicates: 2 });
    await engine.drain();
    expect(adapter.state.messages.size).toBe(2);
    expect([...adapter.state.messages.values()].map((record) => record.writeCount)).toEqual([1, 1]);
    expect(adapter.state.calls.filter((call) => call.operation === 'writeMessages')).toHaveLength(1);
  });

  it('sends no edit, reaction or media follow-up that a later update of its message supersedes', async () => {
    const { adapter, engine } = referenceEngine(createStore());
    const phone = '+16505551009';
    const placeholder = inboundMessage({ wamid: 'wamid.photo', phone, at: 1_000, source: 'history' });
    placeholder.message = { id: 'wamid.photo', kind: 'media_placeholder' };
    await engine.ingest([inboundMessage({ wamid: 'wamid.in', phone, at: 4_000 }), placeholder], { rawBody: 'm' });
    await engine.drain();
    // The newer updates first: a reaction removed (9 s), an edit (8 s); the photo's caption edited live.
    await engine.ingest(
      [
        reactionEvent({ wamid: 'wamid.in', phone, at: 9_000, emoji: null }),
        editEvent({ wamid: 'wamid.in', phone, at: 8_000, text: 'NEWER EDIT' }),
        editEvent({ wamid: 'wamid.photo', phone, at: 5_000, text: 'EDITED CAPTION' }),
      ],
      { rawBody: 'a' },
    );
    await engine.drain();
    // Late, older ones: the reaction itself (7 s), the first edit (6 s), and the photo's media follow-up.
    await engine.ingest(
      [
        reactionEvent({ wamid: 'wamid.in', phone, at: 7_000, emoji: '👍' }),
        editEvent({ wamid: 'wamid.in', phone, at: 6_000, text: 'OLDER EDIT' }),
        mediaFollowUp(placeholder),
      ],
      { rawBody: 'b' },
    );
    await engine.drain();
    const [message, photo] = ['wamid.in', 'wamid.photo'].map((key) =>
      [...adapter.state.messages.values()].find((record) => record.key === key),
    );
    expect(message?.content.text).toBe('NEWER EDIT');
    expect(message?.reactions ?? []).toEqual([]);
    expect(photo?.content.text).toBe('EDITED CAPTION');
    // The superseded ones are done, not parked: nothing is left to send.
    expect((await engine.status()).numbers[0]?.queue).toMatchObject({ pending: 0, waiting: 0 });
    expect(adapter.state.calls.filter((call) => call.operation === 'updateMessages')).toHaveLength(1);
  });

  it('resolves contacts in batches before writing the messages that need them', async () => {
    const store = createStore();
    const adapter = createReferenceAdapter({
      rateLimits: NO_LIMITS,
      searchBatchSize: 10,
      contactBatchSize: 100,
      defaultCountry: 'US',
    });
    // A rep typed one customer's number in a national format: it must be found, not duplicated.
    const seeded = adapter.seedContact({ phone: '(650) 555-1003', name: 'Existing customer' });
    const events = historyBackfill({ threads: 25, perThread: 4 });
    const store2 = store;
    const engine = track(
      createSyncEngine({
        store: store2,
        connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'], owners: { '+15550001001': 'user-7' } }],
      }),
      store2,
    );
    await engine.ingest(events, { rawBody: 'backfill' });
    await engine.drain();

    expect(adapter.state.messages.size).toBe(100);
    // 25 customers: one found by phone, 24 created; no contact twice.
    expect(adapter.state.contacts.size).toBe(25);
    const searches = adapter.state.calls.filter((call) => call.operation === 'findContacts');
    // Never one search per contact: 25 phones in requests of 10.
    expect(searches.map((call) => call.size)).toEqual([10, 10, 5]);
    const creations = adapter.state.calls.filter((call) => call.operation === 'createContacts');
    expect(creations.map((call) => call.size)).toEqual([24]);
    // Every write came after its contact existed, pointing at it; the seeded one kept its id.
    const firstWrite = adapter.state.calls.findIndex((call) => call.operation === 'writeMessages');
    expect(firstWrite).toBeGreaterThan(adapter.state.calls.findIndex((call) => call.operation === 'createContacts'));
    for (const record of adapter.state.messages.values()) {
      expect(adapter.state.contacts.has(record.contactCrmId)).toBe(true);
      expect(record.ownerId).toBe('user-7');
    }
    expect(threadRecords(adapter, threadPhone(3)).every((record) => record.contactCrmId === seeded)).toBe(true);
    const created = [...adapter.state.contacts.values()].filter((contact) => contact.key !== undefined);
    expect(created.every((contact) => contact.ownerId === 'user-7')).toBe(true);
  });

  it('gives contacts and messages of a number the owners map does not name to defaultOwnerId', async () => {
    const store = createStore();
    const adapter = createReferenceAdapter({ rateLimits: NO_LIMITS });
    const engine = track(
      createSyncEngine({
        store,
        connections: [
          {
            id: 'crm',
            adapter,
            phoneNumberIds: ['PN-1', 'PN-2'],
            owners: { '+15550001001': 'rep-1' },
            defaultOwnerId: 'team',
          },
        ],
      }),
      store,
    );
    await engine.ingest(
      [
        inboundMessage({ wamid: 'mapped', phone: '+16505551101', at: 1_000 }),
        inboundMessage({
          wamid: 'unmapped',
          phone: '+16505551102',
          at: 1_000,
          phoneNumberId: 'PN-2',
          businessPhone: '+15550001002',
        }),
      ],
      { rawBody: 'two numbers' },
    );
    await engine.drain();
    const owners = (phone: string) => [
      ...threadRecords(adapter, phone).map((record) => record.ownerId),
      ...[...adapter.state.contacts.values()].filter((contact) => contact.phone === phone).map((c) => c.ownerId),
    ];
    expect(owners('+16505551101')).toEqual(['rep-1', 'rep-1']);
    expect(owners('+16505551102')).toEqual(['team', 'team']);
    expect(() =>
      createSyncEngine({ store, connections: [{ id: 'x', adapter, phoneNumberIds: [], defaultOwnerId: '' }] }),
    ).toThrow(/connections\[0\]\.defaultOwnerId/);
  });

  it('writes each thread in chronological order even when chunks arrive shuffled', async () => {
    const store = createStore();
    const adapter = createReferenceAdapter({ rateLimits: NO_LIMITS, messageBatchSize: 7 });
    const engine = track(
      createSyncEngine({ store, connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'] }], autoStart: false }),
      store,
    );
    const events = historyBackfill({ threads: 6, perThread: 20 });
    // Deterministic shuffle, delivered in 5 payloads before the workers start.
    const shuffled = events
      .map((event, index) => ({ event, rank: (index * 7919) % events.length }))
      .sort((left, right) => left.rank - right.rank)
      .map((entry) => entry.event);
    for (let start = 0; start < shuffled.length; start += 24) {
      await engine.ingest(shuffled.slice(start, start + 24), { rawBody: `chunk ${start}` });
    }
    await engine.start();
    await engine.drain();
    expect(adapter.state.messages.size).toBe(120);
    for (let thread = 0; thread < 6; thread++) {
      const records = threadRecords(adapter, threadPhone(thread));
      expect(records).toHaveLength(20);
      const times = records.map((record) => Date.parse(record.occurredAt));
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
  });

  it('applies updates after their message: an early status waits, it is never dropped', async () => {
    const { store, adapter, engine } = referenceEngine(createStore());
    const phone = '+16505551009';
    // Statuses and a reaction overtake the message they are about.
    await engine.ingest(
      [
        statusEvent({ messageId: 'wamid.out', status: 'delivered', phone, at: 5_000 }),
        statusEvent({ messageId: 'wamid.out', status: 'read', phone, at: 6_000 }),
        {
          id: 'reaction:1',
          type: 'message.reaction',
          field: 'messages',
          wabaId: 'WABA-1',
          phoneNumberId: 'PN-1',
          occurredAt: new Date(7_000).toISOString(),
          actor: 'customer',
          contact: { phone },
          targetMessageId: 'wamid.out',
          emoji: '👍',
        },
      ],
      { rawBody: 'statuses first' },
    );
    await engine.drain();
    expect(adapter.state.messages.size).toBe(0);
    expect((await engine.status()).numbers[0]?.queue.waiting).toBe(3);
    // A status of a message never seen may be of one sent through the Cloud API: recorded under its conversation.
    expect(await listApiReplies(store, [`PN-1|phone:${phone}`])).toEqual([
      { messageId: 'wamid.out', phoneNumberId: 'PN-1', threadKey: `PN-1|phone:${phone}`, at: expect.any(String) },
    ]);

    await engine.ingest([echoedMessage({ wamid: 'wamid.out', phone, at: 4_000 })], { rawBody: 'the message' });
    await engine.drain();
    const [record] = [...adapter.state.messages.values()];
    expect(record).toMatchObject({ key: 'wamid.out', status: 'read', reactions: [{ actor: 'customer', emoji: '👍' }] });
    const operations = adapter.state.calls.map((call) => call.operation);
    expect(operations.indexOf('updateMessages')).toBeGreaterThan(operations.indexOf('writeMessages'));
    expect((await engine.status()).numbers[0]?.queue).toMatchObject({ pending: 0, waiting: 0 });
  });

  it("passes a failed status's error code and title to the CRM, never its message", async () => {
    const { adapter, engine } = referenceEngine(createStore());
    const phone = '+16505551011';
    await engine.ingest([echoedMessage({ wamid: 'wamid.f', phone, at: 1_000 })], { rawBody: 'echo' });
    await engine.drain();
    const failed = {
      ...statusEvent({ messageId: 'wamid.f', status: 'failed', phone, at: 2_000 }),
      errors: [{ code: 131047, title: 'Re-engagement message', message: 'more than 24 hours since +16505551011' }],
    };
    await engine.ingest([failed], { rawBody: 'failed' });
    await engine.drain();
    const [record] = threadRecords(adapter, phone);
    expect(record).toMatchObject({ status: 'failed', statusError: '131047: Re-engagement message' });
  });

  it('fills batches up to the declared size and never beyond', async () => {
    const store = createStore();
    const adapter = createReferenceAdapter({
      rateLimits: NO_LIMITS,
      messageBatchSize: 25,
      contactBatchSize: 8,
      searchBatchSize: 4,
    });
    const engine = track(
      createSyncEngine({ store, connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'] }] }),
      store,
    );
    await engine.ingest(historyBackfill({ threads: 30, perThread: 10 }), { rawBody: 'backfill' });
    await engine.drain();
    expect(adapter.state.messages.size).toBe(300);
    const sizes = (operation: string) =>
      adapter.state.calls.filter((call) => call.operation === operation).map((call) => call.size);
    expect(Math.max(...sizes('writeMessages'))).toBe(25);
    expect(sizes('writeMessages').reduce((sum, size) => sum + size, 0)).toBe(300);
    // Full batches, except where thread ordering or the tail leaves fewer.
    expect(sizes('writeMessages').filter((size) => size === 25).length).toBeGreaterThanOrEqual(10);
    expect(Math.max(...sizes('createContacts'))).toBeLessThanOrEqual(8);
    expect(Math.max(...sizes('findContacts'))).toBeLessThanOrEqual(4);
  });

  it('writes a live message before a large backfill finishes (separate lanes)', async () => {
    const store = createStore();
    // 20 calls per 500 ms: the 3,000-message backfill needs 150 write calls, several seconds.
    const rateLimits = { buckets: [{ name: 'requests', limit: 20, intervalMs: 500 }] };
    const adapter = createReferenceAdapter({
      rateLimits,
      messageBatchSize: 20,
      contactBatchSize: 100,
      searchBatchSize: 50,
    });
    const engine = track(
      createSyncEngine({ store, connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'] }] }),
      store,
    );
    await engine.ingest(historyBackfill({ threads: 50, perThread: 60 }), { rawBody: 'backfill' });
    // Let the backfill get going, then a customer writes.
    while (adapter.state.messages.size < 100) await new Promise((resolve) => setTimeout(resolve, 10));
    await engine.ingest(
      [inboundMessage({ wamid: 'wamid.live', phone: '+16505559999', at: Date.parse('2026-03-05T10:00:00Z') })],
      {
        rawBody: 'live',
      },
    );
    while (![...adapter.state.messages.values()].some((record) => record.key === 'wamid.live')) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const historyWritten = [...adapter.state.messages.values()].filter((record) => record.source === 'history').length;
    expect(historyWritten).toBeLessThan(3000);
    // The live message jumped the queue: it did not wait for the 2,900 history messages still queued.
    expect(historyWritten).toBeLessThan(1000);
    await engine.stop();
  });

  it('writes a live message while a slow backfill batch of the same conversation is still in flight', async () => {
    const store = createStore();
    const adapter = createReferenceAdapter({ rateLimits: NO_LIMITS, messageBatchSize: 50 });
    const engine = track(
      createSyncEngine({ store, connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'] }], autoStart: false }),
      store,
    );
    // The conversation's first backfill batch hangs for 3 s.
    await engine.ingest(historyBackfill({ threads: 1, perThread: 40 }), { rawBody: 'backfill' });
    adapter.injectFault({ type: 'delay', operation: 'writeMessages', ms: 3000 });
    await engine.start();
    while (adapter.state.callsInFlight === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await engine.ingest(
      [inboundMessage({ wamid: 'wamid.live.0', phone: threadPhone(0), at: Date.parse('2026-03-05T10:00:00Z') })],
      { rawBody: 'live' },
    );
    const liveWritten = () => [...adapter.state.messages.values()].some((record) => record.key === 'wamid.live.0');
    while (!liveWritten()) await new Promise((resolve) => setTimeout(resolve, 5));
    // The hanging batch (thread 0's 40 history messages) has not answered yet; the live message did not wait for it.
    expect(threadRecords(adapter, threadPhone(0)).map((record) => record.key)).toEqual(['wamid.live.0']);
    await engine.drain();
    expect(threadRecords(adapter, threadPhone(0))).toHaveLength(41);
    expect(threadRecords(adapter, threadPhone(0)).at(-1)!.key).toBe('wamid.h.0.39');
  });

  it('claims a backfill thread by thread, longest first, and never runs more calls than maxConcurrency', async () => {
    const store = createStore();
    const adapter = createReferenceAdapter({ rateLimits: NO_LIMITS, messageBatchSize: 30, searchBatchSize: 5 });
    const engine = track(
      createSyncEngine({
        store,
        connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'], maxConcurrency: 3 }],
        autoStart: false,
      }),
      store,
    );
    // 12 threads of 2 messages; thread 0 gets 25 more, later: it has the longest backlog and goes first, whole.
    await engine.ingest(historyBackfill({ threads: 12, perThread: 2 }), { rawBody: 'short' });
    await engine.ingest(
      historyBackfill({ threads: 1, perThread: 25, prefix: 'long', start: Date.parse('2025-12-01') }),
      {
        rawBody: 'long',
      },
    );
    // Slow calls, so batches pile up behind the three slots.
    adapter.injectFault({ type: 'delay', operation: 'writeMessages', ms: 50, times: 20 });
    adapter.injectFault({ type: 'delay', operation: 'findContacts', ms: 50, times: 20 });
    await engine.start();
    await engine.drain();
    const writes = adapter.state.calls.filter((call) => call.operation === 'writeMessages');
    const written = [...adapter.state.messages.values()].sort((left, right) => left.sequence - right.sequence);
    expect(written).toHaveLength(49);
    // Thread 0's 27 messages were the first batch's first 27 records, in order.
    expect(written.slice(0, 27).map((record) => record.contactPhone)).toEqual(Array(27).fill(threadPhone(0)));
    expect(writes[0]!.size).toBe(30);
    // Batches touch few threads, so they stay full: 3 calls at most (one thread's rest may wait for its turn).
    expect(writes.length).toBeLessThanOrEqual(3);
    expect(adapter.state.maxCallsInFlight).toBeLessThanOrEqual(3);
  });

  it("splits no conversation in a backfill's last round of batches", async () => {
    const store = createStore();
    const { adapter, engine, clock } = clockedEngine(store, { messageBatchSize: 30, maxConcurrency: 2 });
    // Conversations of 20, 20 and 15 messages: 55, within the 2 × 30 the slots' batches can take.
    await engine.ingest(
      [
        ...historyBackfill({ threads: 1, perThread: 20, prefix: 'a', phoneNumberId: 'PN-1' }),
        ...historyBackfill({ threads: 1, perThread: 20, prefix: 'b', start: Date.parse('2025-11-01') }).map(
          (event) => ({ ...event, contact: { phone: threadPhone(1), waId: threadPhone(1).slice(1) } }),
        ),
        ...historyBackfill({ threads: 1, perThread: 15, prefix: 'c', start: Date.parse('2025-12-01') }).map(
          (event) => ({ ...event, contact: { phone: threadPhone(2), waId: threadPhone(2).slice(1) } }),
        ),
      ],
      { rawBody: 'backfill' },
    );
    // The backfill has arrived (no webhook for a second): its last round.
    clock.now += 1_000;
    await engine.start();
    await engine.drain();
    expect(adapter.state.messages.size).toBe(55);
    // Each conversation in one call, none split across two (which would have filled the first batch to 30).
    const sizes = adapter.state.calls.filter((call) => call.operation === 'writeMessages').map((call) => call.size);
    expect(sizes.sort((left, right) => left - right)).toEqual([15, 20, 20]);
  });

  it('counts pooled searches and creations against maxConcurrency too: never more calls out than it allows', async () => {
    const store = createStore();
    // Small searches and creations, so many pooled calls are wanted at once while message batches wait for them.
    const adapter = createReferenceAdapter({
      rateLimits: NO_LIMITS,
      messageBatchSize: 10,
      searchBatchSize: 2,
      contactBatchSize: 2,
    });
    const engine = track(
      createSyncEngine({
        store,
        connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'], maxConcurrency: 2 }],
        autoStart: false,
      }),
      store,
    );
    await engine.ingest(historyBackfill({ threads: 16, perThread: 2 }), { rawBody: 'many-new-people' });
    adapter.injectFault({ type: 'delay', operation: 'findContacts', ms: 20, times: 50 });
    adapter.injectFault({ type: 'delay', operation: 'createContacts', ms: 20, times: 50 });
    adapter.injectFault({ type: 'delay', operation: 'writeMessages', ms: 20, times: 50 });
    await engine.start();
    await engine.drain();
    expect(adapter.state.messages.size).toBe(32);
    expect(adapter.state.calls.filter((call) => call.operation === 'findContacts').length).toBeGreaterThan(2);
    expect(adapter.state.maxCallsInFlight).toBeLessThanOrEqual(2);
  });

  it('writes messages while a large address-book sync is still running, and the app names still land', async () => {
    const { adapter, engine } = syncingEngine(createStore(), {
      contactBatchSize: 10,
      searchBatchSize: 10,
      messageBatchSize: 20,
      maxConcurrency: 2,
    });
    // 600 address-book contacts (the first 10 are the conversations' customers), then 10 conversations of 6.
    const book = addressBook(600);
    await engine.ingest(book, { rawBody: 'address book' });
    await engine.ingest(historyBackfill({ threads: 10, perThread: 6 }), { rawBody: 'backfill' });
    // Slow contact upserts: a sync served before everything else would keep the messages waiting for most of them.
    adapter.injectFault({ type: 'delay', operation: 'upsertContacts', ms: 20, times: 60 });
    await engine.start();
    await engine.drain();
    const operations = adapter.state.calls.map((call) => call.operation);
    const firstWrite = operations.indexOf('writeMessages');
    const syncsBefore = operations.slice(0, firstWrite).filter((operation) => operation === 'upsertContacts').length;
    expect(firstWrite).toBeGreaterThan(-1);
    // The 60 sync calls ran beside the messages, not ahead of them.
    expect(syncsBefore).toBeLessThan(30);
    expect(adapter.state.messages.size).toBe(60);
    // One contact per person, and the Business App's names won over the WhatsApp profile names.
    const phones = new Set(Array.from({ length: 10 }, (_, index) => threadPhone(index)));
    const customers = [...adapter.state.contacts.values()].filter((contact) => phones.has(contact.phone ?? ''));
    expect(customers).toHaveLength(10);
    expect(customers.every((contact) => contact.name?.startsWith('App name'))).toBe(true);
    expect(adapter.state.contacts.size).toBe(600);
  });

  it("takes a customer's record from the address-book sync in flight instead of searching and creating it again", async () => {
    // Its upsert is slow: the backfill's messages are claimed while it runs.
    const { adapter } = await syncBesideBackfill(createStore(), [
      { type: 'delay', operation: 'upsertContacts', ms: 150 },
    ]);
    const calls = (operation: string) => adapter.state.calls.filter((call) => call.operation === operation);
    expect(adapter.state.messages.size).toBe(40);
    expect(adapter.state.contacts.size).toBe(10);
    // The sync searched each person once and wrote each once; the messages waited for its records.
    expect(calls('findContacts').reduce((sum, call) => sum + call.size, 0)).toBe(10);
    expect(calls('createContacts')).toHaveLength(0);
    expect(calls('upsertContacts')).toHaveLength(1);
    const firstWrite = adapter.state.calls.findIndex((call) => call.operation === 'writeMessages');
    expect(adapter.state.calls.findIndex((call) => call.operation === 'upsertContacts')).toBeLessThan(firstWrite);
    // Every message is on the record the sync wrote.
    const customerIds = new Set([...adapter.state.contacts.values()].map((contact) => contact.crmId));
    expect([...adapter.state.messages.values()].every((message) => customerIds.has(message.contactCrmId))).toBe(true);
  });

  it('resolves a customer itself when the address-book sync it waited for fails, and retries the sync', async () => {
    // The sync's upsert is slow, then fails as a whole: the message batches waiting for it go on by themselves.
    const { adapter, engine } = await syncBesideBackfill(createStore(), [
      { type: 'delay', operation: 'upsertContacts', ms: 150 },
      { type: 'throw', operation: 'upsertContacts', error: 'transient' },
    ]);
    expect(adapter.state.messages.size).toBe(40);
    // One record per person (created by the batches, then named by the retried sync), and nothing dead.
    expect(adapter.state.contacts.size).toBe(10);
    expect([...adapter.state.contacts.values()].every((contact) => contact.name?.startsWith('App name'))).toBe(true);
    expect(adapter.state.calls.filter((call) => call.operation === 'createContacts').length).toBeGreaterThan(0);
    expect((await engine.status()).deadLetters).toBe(0);
  });

  it("resolves the customers of a backfill's short conversations ahead of their turn", async () => {
    const store = createStore();
    const adapter = createReferenceAdapter({ rateLimits: NO_LIMITS, messageBatchSize: 20 });
    const engine = track(
      createSyncEngine({
        store,
        connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'], maxConcurrency: 2 }],
        autoStart: false,
      }),
      store,
    );
    // Six conversations of 20 messages (a batch each, longest first) and then ten of one message, all new customers.
    const long = historyBackfill({ threads: 6, perThread: 20 });
    const short = historyBackfill({ threads: 16, perThread: 1, prefix: 'short' }).slice(6);
    await engine.ingest([...long, ...short], { rawBody: 'backfill' });
    // Slow message writes: the short conversations' turn comes after three rounds of two calls.
    adapter.injectFault({ type: 'delay', operation: 'writeMessages', ms: 60, times: 10 });
    await engine.start();
    await engine.drain();
    expect(adapter.state.messages.size).toBe(130);
    expect(adapter.state.contacts.size).toBe(16);
    const operations = adapter.state.calls.map((call) => call.operation);
    const writes = operations.flatMap((operation, index) => (operation === 'writeMessages' ? [index] : []));
    // Every customer was created while the first round of writes ran, not when their conversation's turn came.
    expect(operations.lastIndexOf('createContacts')).toBeLessThan(writes[2]!);
    // Each customer searched and created once.
    const items = (operation: string) =>
      adapter.state.calls.filter((call) => call.operation === operation).reduce((sum, call) => sum + call.size, 0);
    expect(items('findContacts')).toBe(16);
    expect(items('createContacts')).toBe(16);
  });

  it('gives the event loop a turn between the chunks of customers it resolves ahead', async () => {
    const store = createStore();
    // Chunks of 5 customers; message writes held back, so the searches are the chunks' (a batch's come later).
    const adapter = createReferenceAdapter({
      rateLimits: NO_LIMITS,
      contactBatchSize: 5,
      searchBatchSize: 5,
      messageBatchSize: 5,
    });
    const engine = track(
      createSyncEngine({
        store,
        connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'], maxConcurrency: 1 }],
        autoStart: false,
      }),
      store,
    );
    adapter.injectFault({ type: 'delay', operation: 'writeMessages', ms: 200 });
    await engine.ingest(historyBackfill({ threads: 60, perThread: 1 }), { rawBody: 'backfill' });
    // The searches made in each turn of the event loop (a webhook's ack waits for its turn).
    let mostInOneTurn = 0;
    let seen = 0;
    let ticking = true;
    const tick = (): void => {
      const searches = adapter.state.calls.filter((call) => call.operation === 'findContacts').length;
      mostInOneTurn = Math.max(mostInOneTurn, searches - seen);
      seen = searches;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    await engine.start();
    await engine.drain();
    ticking = false;
    expect(adapter.state.contacts.size).toBe(60);
    expect(seen).toBeGreaterThanOrEqual(10);
    // At most the two chunks resolved at once and a batch's own search in one turn; chained in microtasks, one
    // chunk's end starting the next, nine did (before the fix).
    expect(mostInOneTurn).toBeLessThanOrEqual(3);
  });

  it('resolves customers outside the address book ahead while its syncs are still running', async () => {
    const { adapter, engine } = syncingEngine(createStore());
    // Ten customers in the address book with long conversations (claimed first, their batches park until the
    // sync wrote them, up to the worker's bound), ten others with one message each.
    const book = addressBook(10);
    await engine.ingest(book, { rawBody: 'address book' });
    await engine.ingest(historyBackfill({ threads: 10, perThread: 8 }), { rawBody: 'long' });
    await engine.ingest(historyBackfill({ threads: 20, perThread: 1, prefix: 'short' }).slice(10), {
      rawBody: 'short',
    });
    const finished = finishOrder(adapter, ['createContacts', 'upsertContacts']);
    adapter.injectFault({ type: 'delay', operation: 'upsertContacts', ms: 300 });
    await engine.start();
    await engine.drain();
    expect(adapter.state.messages.size).toBe(90);
    expect(adapter.state.contacts.size).toBe(20);
    // The other customers were created while the sync's upsert ran, not after it.
    expect(finished[0]).toBe('createContacts');
    expect(finished.filter((name) => name === 'upsertContacts')).toHaveLength(1);
  });

  it('claims conversations it can write now, not those whose customer a sync is still writing', async () => {
    const { adapter, engine } = syncingEngine(createStore());
    // Ten customers already in the CRM (a live message each), then the address book of ten others with long
    // conversations (claimed first, longest first, if nothing held them back) and short backfills of the first ten.
    await engine.ingest(
      Array.from({ length: 10 }, (_, index) =>
        inboundMessage({ wamid: `wamid.live.${index}`, phone: threadPhone(10 + index), at: 1_000 + index }),
      ),
      { rawBody: 'live' },
    );
    await engine.start();
    await engine.drain();
    const finished = finishOrder(adapter, ['writeMessages', 'upsertContacts']);
    adapter.injectFault({ type: 'delay', operation: 'upsertContacts', ms: 300 });
    await engine.ingest(addressBook(10), { rawBody: 'address book' });
    await engine.ingest(historyBackfill({ threads: 10, perThread: 8 }), { rawBody: 'long' });
    await engine.ingest(historyBackfill({ threads: 20, perThread: 2, prefix: 'short' }).slice(20), {
      rawBody: 'short',
    });
    await engine.drain();
    expect(adapter.state.messages.size).toBe(10 + 80 + 20);
    // The known customers' conversations were written while the sync's upsert ran.
    expect(finished.indexOf('writeMessages')).toBeLessThan(finished.indexOf('upsertContacts'));
  });

  it("writes a backfill's media follow-ups while its messages are still being written", async () => {
    const store = createStore();
    const { adapter, engine, clock } = clockedEngine(store, { messageBatchSize: 10, maxConcurrency: 1 });
    // Forty conversations of ten messages; the first message of each has a media follow-up.
    const backfill = historyBackfill({ threads: 40, perThread: 10 });
    const followUps = backfill.slice(0, 40).map(mediaFollowUp);
    await engine.ingest([...backfill, ...followUps], { rawBody: 'backfill' });
    // Every write takes a second of the engine's clock: the follow-ups get their turn once a second.
    adapter.injectFault({ type: 'delay', operation: 'writeMessages', ms: 5, times: 40 });
    const advance = setInterval(() => {
      clock.now += 250;
    }, 5);
    try {
      await engine.start();
      await engine.drain();
    } finally {
      clearInterval(advance);
    }
    expect(adapter.state.messages.size).toBe(400);
    const operations = adapter.state.calls.map((call) => call.operation);
    // The first follow-ups went out between message batches, long before the last of those.
    expect(operations.indexOf('updateMessages')).toBeGreaterThan(-1);
    expect(operations.indexOf('updateMessages')).toBeLessThan(operations.lastIndexOf('writeMessages') - 10);
    const updated = adapter.state.calls.filter((call) => call.operation === 'updateMessages');
    expect(updated.reduce((sum, call) => sum + call.size, 0)).toBe(40);
  });

  it('carries media follow-ups and statuses that arrived first in the write of their message', async () => {
    const store = createStore();
    const adapter = createReferenceAdapter({ rateLimits: NO_LIMITS, messageBatchSize: 10 });
    const engine = track(
      createSyncEngine({
        store,
        connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'], maxConcurrency: 2 }],
        autoStart: false,
        retry: { baseMs: 1, capMs: 5 },
      }),
      store,
    );
    // Ten conversations of four messages: the first of each is a history media placeholder, the second (sent from
    // the app) gets a `read` status; one of those a `failed` status with its error instead.
    const backfill = historyBackfill({ threads: 10, perThread: 4 }).map((event) =>
      event.message.id.endsWith('.0')
        ? { ...event, message: { id: event.message.id, kind: 'media_placeholder' as const } }
        : event,
    );
    const placeholders = backfill.filter((event) => event.message.kind === 'media_placeholder');
    const followUps = placeholders.map(mediaFollowUp);
    const echoes = backfill.filter((event) => event.message.id.endsWith('.1'));
    const statuses = echoes.map((echo, index) => {
      const status = statusEvent({
        messageId: echo.message.id,
        status: index === 0 ? 'failed' : 'read',
        phone: echo.contact.phone!,
        at: Date.parse(echo.occurredAt) + 1_000,
      });
      return index === 0 ? { ...status, errors: [{ code: 131_026, title: 'Message undeliverable' }] } : status;
    });
    await engine.ingest([...backfill, ...followUps, ...statuses], { rawBody: 'backfill' });
    // A write whose answer is lost is sent again: it must carry the updates again, and lose none.
    adapter.injectFault({ type: 'lose-response', operation: 'writeMessages', times: 1 });
    await engine.start();
    await engine.drain();

    expect(adapter.state.messages.size).toBe(40);
    const byKey = new Map([...adapter.state.messages.values()].map((record) => [record.key, record]));
    for (const placeholder of placeholders) {
      const record = byKey.get(placeholder.message.id)!;
      expect(record.content).toMatchObject({
        kind: 'image',
        placeholder: false,
        media: { id: `media-${placeholder.message.id}` },
      });
    }
    expect(echoes.slice(1).map((echo) => byKey.get(echo.message.id)!.status)).toEqual(new Array(9).fill('read'));
    // Only the failed status (its error code has no place in a message record) needed a call of its own.
    const updated = adapter.state.calls.filter((call) => call.operation === 'updateMessages');
    expect(updated.reduce((sum, call) => sum + call.size, 0)).toBe(1);
    expect(byKey.get(echoes[0]!.message.id)!.status).toBe('failed');
    const status = await engine.status();
    expect(status.numbers.find((number) => number.phoneNumberId === 'PN-1')?.queue).toMatchObject({
      pending: 0,
      waiting: 0,
    });
  });

  it('routes each number to its own connection and keeps unserved numbers until a connection serves them', async () => {
    const store = createStore();
    const hubspot = createReferenceAdapter({ crm: 'crm-a', rateLimits: NO_LIMITS });
    const close = createReferenceAdapter({ crm: 'crm-b', rateLimits: NO_LIMITS });
    const engine = createSyncEngine({
      store,
      connections: [
        { id: 'tenant-a', adapter: hubspot, phoneNumberIds: ['PN-A1', 'PN-A2'] },
        { id: 'tenant-b', adapter: close, phoneNumberIds: ['PN-B1'] },
      ],
    });
    const at = 1_000;
    await engine.ingest(
      [
        inboundMessage({ wamid: 'a1', phone: '+16505551001', at, phoneNumberId: 'PN-A1', wabaId: 'WABA-A' }),
        inboundMessage({ wamid: 'a2', phone: '+16505551002', at, phoneNumberId: 'PN-A2', wabaId: 'WABA-A' }),
        inboundMessage({ wamid: 'b1', phone: '+16505551001', at, phoneNumberId: 'PN-B1', wabaId: 'WABA-B' }),
        inboundMessage({ wamid: 'c1', phone: '+16505551001', at, phoneNumberId: 'PN-C1', wabaId: 'WABA-C' }),
      ],
      { rawBody: 'multi-tenant' },
    );
    await engine.drain();
    expect([...hubspot.state.messages.values()].map((record) => record.key).sort()).toEqual(['a1', 'a2']);
    expect([...close.state.messages.values()].map((record) => record.key)).toEqual(['b1']);
    expect(hubspot.state.calls.every((call) => call.connectionId === 'tenant-a')).toBe(true);
    const status = await engine.status();
    const unserved = status.numbers.find((number) => number.phoneNumberId === 'PN-C1');
    expect(unserved?.queue.unrouted).toBe(1);
    expect(unserved?.progress.phase).toBe('unrouted');
    await engine.stop();

    // Later the third tenant is configured: its stored events are routed and written.
    const third = createReferenceAdapter({ crm: 'crm-c', rateLimits: NO_LIMITS });
    const next = track(
      createSyncEngine({ store, connections: [{ id: 'tenant-c', adapter: third, phoneNumberIds: ['PN-C1'] }] }),
      store,
    );
    await next.drain();
    expect([...third.state.messages.values()].map((record) => record.key)).toEqual(['c1']);
  });

  it('takes the open events of a number along when it moves to another connection or leaves the configuration', async () => {
    const store = createStore();
    const phone = '+16505551009';
    const first = createReferenceAdapter({ crm: 'crm-a', rateLimits: NO_LIMITS });
    // Served by tenant-a: a status of a message not written yet waits; then four messages queue, unsent.
    const before = createSyncEngine({
      store,
      connections: [{ id: 'tenant-a', adapter: first, phoneNumberIds: ['PN-1'] }],
    });
    await before.ingest([statusEvent({ messageId: 'wamid.1', status: 'read', phone, at: 9_000 })], { rawBody: 's' });
    await before.drain();
    await before.stop();
    const queued = createSyncEngine({
      store,
      autoStart: false,
      connections: [{ id: 'tenant-a', adapter: first, phoneNumberIds: ['PN-1'] }],
    });
    await queued.ingest(
      [1, 2, 3, 4].map((n) => echoedMessage({ wamid: `wamid.${n}`, phone, at: n * 1_000 })),
      { rawBody: 'messages' },
    );
    await queued.stop();
    expect((await queued.status()).numbers[0]?.queue).toMatchObject({ pending: 4, waiting: 1 });

    // PN-1 moves to tenant-b (tenant-a keeps another number): tenant-b writes everything, the status included.
    const { second, moved } = movedToTenantB(store, first);
    await moved.drain({ timeoutMs: 10_000 });
    expect(first.state.messages.size).toBe(0);
    expect(threadRecords(second, phone).map((record) => [record.key, record.status])).toEqual([
      ['wamid.1', 'read'],
      ['wamid.2', undefined],
      ['wamid.3', undefined],
      ['wamid.4', undefined],
    ]);
    await moved.stop();

    // Then no connection serves PN-1 any more: its open events wait as unrouted, and drain() does not wait for them.
    const later = createSyncEngine({
      store,
      autoStart: false,
      connections: [{ id: 'tenant-b', adapter: second, phoneNumberIds: ['PN-1'] }],
    });
    await later.ingest([echoedMessage({ wamid: 'wamid.5', phone, at: 5_000 })], { rawBody: 'one more' });
    await later.stop();
    const dropped = track(
      createSyncEngine({ store, connections: [{ id: 'tenant-b', adapter: second, phoneNumberIds: ['PN-2'] }] }),
      store,
    );
    await dropped.drain({ timeoutMs: 10_000 });
    const number = (await dropped.status()).numbers.find((entry) => entry.phoneNumberId === 'PN-1');
    expect(number?.queue).toMatchObject({ pending: 0, unrouted: 1 });
  });

  it('replays a dead letter to the connection serving its number now', async () => {
    const store = createStore();
    const phone = '+16505551010';
    const first = createReferenceAdapter({ crm: 'crm-a', rateLimits: NO_LIMITS });
    first.injectFault({ type: 'fail-item', operation: 'writeMessages', index: 0, error: 'permanent' });
    const before = createSyncEngine({
      store,
      connections: [{ id: 'tenant-a', adapter: first, phoneNumberIds: ['PN-1'] }],
    });
    await before.ingest([inboundMessage({ wamid: 'wamid.dead', phone, at: 1_000 })], { rawBody: 'dies' });
    await before.drain();
    const [letter] = await before.listDeadLetters();
    await before.stop();

    const { second, moved } = movedToTenantB(store, first);
    await moved.replayDeadLetter(letter!.id);
    await moved.drain({ timeoutMs: 10_000 });
    expect(threadRecords(second, phone).map((record) => record.key)).toEqual(['wamid.dead']);
    expect(first.state.messages.size).toBe(0);
  });

  it('reports progress and status a person can follow', async () => {
    const store = createStore();
    const adapter = createReferenceAdapter({ rateLimits: NO_LIMITS, messageBatchSize: 50 });
    const engine = track(
      createSyncEngine({
        store,
        connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'] }],
        progressIntervalMs: 10,
      }),
      store,
    );
    const seen: SyncProgress[] = [];
    engine.on('progress', (progress) => seen.push(progress));
    await engine.ingest(
      [
        historyChunk({ phase: 0, chunkOrder: 1, progress: 40, messageCount: 200 }),
        contactSynced({ phone: threadPhone(0), name: 'Pablo Morales', at: 500 }),
        ...historyBackfill({ threads: 10, perThread: 20 }),
      ],
      { rawBody: 'chunk' },
    );
    await engine.drain();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ phoneNumberId: 'PN-1', connectionId: 'crm', messagesWritten: 200, etaSeconds: 0 });
    expect(last.history).toMatchObject({
      received: 200,
      written: 200,
      pending: 0,
      chunksSeen: 1,
      historyPhase: 0,
      metaProgress: 40,
    });
    expect(
      seen.some((progress) => progress.phase === 'backfill' || progress.history.written < 200) || seen.length >= 1,
    ).toBe(true);
    // The Business App name won over nothing: the synced contact has it.
    expect([...adapter.state.contacts.values()].find((contact) => contact.phone === threadPhone(0))?.name).toBe(
      'Pablo Morales',
    );
    const status = await engine.status();
    expect(status.numbers).toHaveLength(1);
    expect(status.numbers[0]).toMatchObject({
      phoneNumberId: 'PN-1',
      connectionId: 'crm',
      wabaId: 'WABA-1',
      backfill: { progress: 40, complete: false, received: 200, written: 200, pending: 0 },
      queue: { pending: 0, waiting: 0, unrouted: 0 },
      deadLetters: 0,
    });
    expect(status.connections[0]).toMatchObject({ id: 'crm', crm: 'reference', inFlight: 0, pausedUntil: null });
  });
});

describe('sync engine API', () => {
  it('starts no CRM call while a webhook is being stored: the ack goes first', async () => {
    // A store whose ingest takes 40 ms (a large delivery), and a backlog the workers are writing meanwhile.
    const memory = createMemoryStore();
    const ingests: [number, number][] = [];
    const store = new Proxy(memory, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (property !== 'ingest') return typeof value === 'function' ? value.bind(target) : value;
        return async (input: Parameters<CoexistStore['ingest']>[0]) => {
          const startedAt = performance.now();
          const result = await target.ingest(input);
          await new Promise((resolve) => setTimeout(resolve, 40));
          ingests.push([startedAt, performance.now()]);
          return result;
        };
      },
    }) as CoexistStore;
    const reference = createReferenceAdapter({ rateLimits: NO_LIMITS, messageBatchSize: 5 });
    const calls: number[] = [];
    const adapter: CrmAdapter = {
      ...reference,
      async writeMessages(messages, context) {
        calls.push(performance.now());
        await new Promise((resolve) => setTimeout(resolve, 5));
        return reference.writeMessages(messages, context);
      },
    };
    const engine = track(
      createSyncEngine({ store, connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'] }] }),
      store,
    );
    await engine.ingest(historyBackfill({ threads: 8, perThread: 25 }), { rawBody: 'backlog' });
    for (let n = 0; n < 3; n++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      await engine.ingest([inboundMessage({ wamid: `wamid.live.${n}`, phone: '+16505559000', at: n * 1_000 })], {
        rawBody: `live ${n}`,
      });
    }
    await engine.drain();
    expect(reference.state.messages.size).toBe(203);
    // Calls started before an ingest may still run; none starts while one is under way.
    const during = calls.filter((at) => ingests.some(([start, end]) => at > start + 1 && at < end - 1));
    expect(during).toEqual([]);
  });

  it('writes a message ingested while a claim that finds nothing is in flight (no lost wake-up)', async () => {
    // A store whose claims answer a turn later (any store that is not in memory): a webhook arrives meanwhile.
    const memory = createMemoryStore();
    let duringEmptyClaim: (() => Promise<void>) | undefined;
    const store = new Proxy(memory, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (property !== 'claim') return typeof value === 'function' ? value.bind(target) : value;
        return async (query: Parameters<CoexistStore['claim']>[0]) => {
          const result = await target.claim(query);
          await new Promise((resolve) => setImmediate(resolve));
          if (query.kind === 'message' && query.lane === 'live' && result.events.length === 0 && duringEmptyClaim) {
            const arrive = duringEmptyClaim;
            duringEmptyClaim = undefined;
            await arrive();
          }
          return result;
        };
      },
    }) as CoexistStore;
    const adapter = createReferenceAdapter({ rateLimits: NO_LIMITS });
    const engine = track(
      createSyncEngine({ store, connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'] }] }),
      store,
    );
    const phone = '+16505551234';
    duringEmptyClaim = async () => {
      await engine.ingest([inboundMessage({ wamid: 'wamid.2', phone, at: 2_000 })], { rawBody: 'second' });
    };
    await engine.ingest([inboundMessage({ wamid: 'wamid.1', phone, at: 1_000 })], { rawBody: 'first' });
    await engine.drain({ timeoutMs: 5_000 });
    expect(duringEmptyClaim).toBeUndefined();
    expect(threadRecords(adapter, phone).map((record) => record.key)).toEqual(['wamid.1', 'wamid.2']);
  });

  it('resolves drain() after the last progress event, even one a timer started on a slow store', async () => {
    // A store whose counters take a while to read: the timer's flush is still reading when drain() finishes.
    const memory = createMemoryStore();
    const store = new Proxy(memory, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (property !== 'readCounters' && property !== 'countOpen') {
          return typeof value === 'function' ? value.bind(target) : value;
        }
        return async () => {
          const answer = await (value as () => Promise<unknown>).call(target);
          await new Promise((resolve) => setTimeout(resolve, property === 'countOpen' ? 15 : 30));
          return answer;
        };
      },
    }) as CoexistStore;
    const adapter = createReferenceAdapter({ rateLimits: NO_LIMITS });
    const engine = track(
      createSyncEngine({
        store,
        progressIntervalMs: 0,
        connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'] }],
      }),
      store,
    );
    const seen: SyncProgress[] = [];
    engine.on('progress', (progress) => seen.push(progress));
    const messages = [1, 2, 3, 4, 5].map((n) =>
      inboundMessage({ wamid: `w${n}`, phone: '+16505551234', at: n * 1_000 }),
    );
    await engine.ingest(messages, { rawBody: 'five' });
    await engine.drain();
    expect(seen.at(-1)?.messagesWritten).toBe(5);
  });

  it('makes a second stop() wait for the first, so the store can be closed after either', async () => {
    const store = createMemoryStore();
    const adapter = createReferenceAdapter({ rateLimits: NO_LIMITS, messageBatchSize: 10 });
    const errors: string[] = [];
    const engine = createSyncEngine({
      store,
      logger: { error: (message) => errors.push(message), warn: () => {} },
      connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'] }],
    });
    adapter.injectFault({ type: 'delay', operation: 'writeMessages', ms: 200 });
    await engine.ingest(historyBackfill({ threads: 10, perThread: 5 }), { rawBody: 'backfill' });
    while (adapter.state.calls.every((call) => call.operation !== 'writeMessages')) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    let firstDone = false;
    const first = engine.stop().then(() => {
      firstDone = true;
    });
    await engine.stop();
    expect(firstDone).toBe(true);
    await store.close();
    await first;
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(errors).toEqual([]);
  });

  it('keeps a payload that failed validation and replays it after a fix', async () => {
    const store = createMemoryStore();
    const adapter = createReferenceAdapter({ rateLimits: NO_LIMITS });
    const engine = track(
      createSyncEngine({ store, connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'] }] }),
      store,
    );
    const rawBody = JSON.stringify({ wamid: 'wamid.fixed', phone: '+16505551001' });
    const id = await engine.recordInvalidPayload({
      rawBody,
      error: new Error('entry[0].changes[0].value: unknown shape'),
    });
    expect(await engine.listInvalidPayloads()).toEqual([
      expect.objectContaining({ id, rawBody, error: 'entry[0].changes[0].value: unknown shape', replayedAt: null }),
    ]);
    expect((await engine.status()).invalidPayloads).toBe(1);
    // The parser still fails: the error is updated, the payload kept.
    expect(
      await engine.replayInvalidPayloads(() => {
        throw new Error('still broken');
      }),
    ).toEqual({ replayed: 0, failed: 1, accepted: 0 });
    expect((await engine.listInvalidPayloads())[0]?.error).toBe('still broken');
    // After the fix it parses and its events are written.
    const fixed = (body: string) => {
      const parsed = JSON.parse(body) as { wamid: string; phone: string };
      return [inboundMessage({ wamid: parsed.wamid, phone: parsed.phone, at: 1_000 })];
    };
    expect(await engine.replayInvalidPayloads(fixed)).toEqual({ replayed: 1, failed: 0, accepted: 1 });
    await engine.drain();
    expect([...adapter.state.messages.values()].map((record) => record.key)).toEqual(['wamid.fixed']);
    expect(await engine.listInvalidPayloads()).toEqual([]);
  });

  it("reports the account's onboarding in status(): sync deadline, calls seen made, inactivity from onboarding", async () => {
    const store = createMemoryStore();
    let now = Date.parse('2026-03-01T08:30:00Z');
    const adapter = createReferenceAdapter({ rateLimits: NO_LIMITS });
    const engine = track(
      createSyncEngine({ store, connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'] }], now: () => now }),
      store,
    );
    // PARTNER_ADDED carries no phone number id (account_update has no metadata): it is the account's.
    await engine.ingest(
      [
        {
          id: 'partner-added',
          type: 'account.updated',
          field: 'account_update',
          wabaId: 'WABA-1',
          occurredAt: '2026-03-01T08:00:00.000Z',
          event: 'PARTNER_ADDED',
          raw: {},
        },
        inboundMessage({ wamid: 'wamid.first', phone: '+16505551001', at: Date.parse('2026-03-01T08:10:00Z') }),
      ] as CoexistenceEvent[],
      { rawBody: 'onboarded' },
    );
    await engine.drain();
    expect((await engine.status()).numbers[0]?.link).toMatchObject({
      onboardedAt: '2026-03-01T08:00:00.000Z',
      syncDeadline: '2026-03-02T08:00:00.000Z',
      pendingSyncTypes: ['smb_app_state_sync', 'history'],
      warnings: ['sync-deadline'],
    });
    // The contacts sync and the history arrive: both calls were made.
    await engine.ingest(
      [
        contactSynced({ phone: '+16505551001', name: 'Ana', at: Date.parse('2026-03-01T08:20:00Z') }),
        historyChunk({ phase: 0, chunkOrder: 1, progress: 100, messageCount: 0 }),
      ],
      { rawBody: 'syncs' },
    );
    await engine.drain();
    now = Date.parse('2026-03-13T09:00:00Z');
    expect((await engine.status()).numbers[0]?.link).toMatchObject({
      pendingSyncTypes: [],
      daysSinceAppActivity: 12,
      warnings: ['app-inactive'],
    });
  });

  it('keeps a raw body given as bytes byte for byte, a leading BOM included', async () => {
    const store = createMemoryStore();
    const engine = track(createSyncEngine({ store, connections: [] }), store);
    const bytes = new TextEncoder().encode('\uFEFF{"entry":"kaputt"}');
    expect(bytes[0]).toBe(0xef);
    await engine.recordInvalidPayload({ rawBody: bytes, error: new Error('entry: expected an array') });
    const [kept] = await engine.listInvalidPayloads();
    expect(new TextEncoder().encode(kept!.rawBody)).toEqual(bytes);
  });

  it('rejects bad input with errors naming the field', async () => {
    const store = createMemoryStore();
    const adapter = createReferenceAdapter();
    expect(() =>
      createSyncEngine({
        store,
        connections: [
          { id: 'a', adapter, phoneNumberIds: ['PN'] },
          { id: 'b', adapter, phoneNumberIds: ['PN'] },
        ],
      }),
    ).toThrow('[coexist/core] engine: options.connections[1].phoneNumberIds: "PN" is already served by connection "a"');
    const engine = track(createSyncEngine({ store, connections: [] }), store);
    await expect(engine.ingest([{ type: 'unknown' } as never], { rawBody: '{}' })).rejects.toThrow(
      '[coexist/core] engine: events[0].id: expected a non-empty string',
    );
    await expect(engine.ingest([], { rawBody: 42 as never })).rejects.toThrow('options.rawBody');
  });
});
