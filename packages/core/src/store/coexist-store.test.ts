import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageReceivedEvent, MessageStatusEvent } from '../events/coexistence-event.ts';
import { messageEventId } from '../webhook/event-id.ts';
import type { ClaimQuery, CoexistStore, PlannedEvent, QueuedEvent } from './coexist-store.ts';
import { eventIdHash } from './event-id-hash.ts';
import { createMemoryStore } from './memory-store.ts';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.ts';
import { createSqliteStore } from './sqlite-store.ts';

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function temporaryPath(): string {
  const directory = mkdtempSync(join(tmpdir(), 'coexist-store-'));
  directories.push(directory);
  return join(directory, 'coexist.db');
}

function message(wamid: string, thread: string, at: number): PlannedEvent {
  const event: MessageReceivedEvent = {
    id: messageEventId(wamid),
    type: 'message.received',
    field: 'messages',
    wabaId: 'W',
    phoneNumberId: 'PN',
    occurredAt: new Date(at).toISOString(),
    contact: { phone: '+16505551234' },
    message: { id: wamid, kind: 'text', text: 'secret body' },
    source: 'live',
  };
  return { event, connectionId: 'c1', kind: 'message', lane: 'live', threadKey: thread, targetKey: wamid, sortKey: at };
}

/** A claim of the live lane of connection `c1` (messages, 10 at most, at time 0), with `overrides`. */
function liveClaim(overrides: Partial<ClaimQuery> = {}): ClaimQuery {
  return {
    connectionId: 'c1',
    kind: 'message',
    lane: 'live',
    limit: 10,
    now: 0,
    blockedThreads: new Set(),
    ...overrides,
  };
}

/** `store_state.pending_from` of the database at `path`, read over a connection of its own. */
function pendingFromIn(path: string): number {
  const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
  const database = new DatabaseSync(path);
  const row = database.prepare("SELECT value FROM store_state WHERE name = 'pending_from'").get();
  database.close();
  return Number(row?.value);
}

/** A database at schema `version` (the first `version` migrations run), open for the test to fill and close. */
function databaseAtSchema(path: string, version: number): DatabaseSync {
  const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
  const database = new DatabaseSync(path);
  database.exec('PRAGMA journal_mode = WAL');
  database.function('coexist_event_hash', { deterministic: true }, (id) => eventIdHash(String(id)));
  for (const [index, migration] of SQLITE_MIGRATIONS.slice(0, version).entries()) {
    database.exec(migration);
    database.exec(`PRAGMA user_version = ${index + 1}`);
  }
  return database;
}

function status(wamid: string, at: number): PlannedEvent {
  const event: MessageStatusEvent = {
    id: `status:${wamid}`,
    type: 'message.status',
    field: 'messages',
    wabaId: 'W',
    phoneNumberId: 'PN',
    occurredAt: new Date(at).toISOString(),
    messageId: wamid,
    status: 'read',
    recipient: { phone: '+16505551234' },
  };
  return {
    event,
    connectionId: 'c1',
    kind: 'update',
    lane: 'live',
    threadKey: `message|${wamid}`,
    targetKey: wamid,
    sortKey: at,
  };
}

const backends: [string, () => CoexistStore][] = [
  ['memory', () => createMemoryStore()],
  ['sqlite', () => createSqliteStore({ path: temporaryPath() })],
  ['sqlite, writer thread', () => createSqliteStore({ path: temporaryPath(), writerThread: true })],
];

describe.each(backends)('CoexistStore (%s)', (_name, createStore) => {
  it('hands out every event once, as ingested, past the events it keeps in memory, with claims in between', async () => {
    const store = createStore();
    // 12,000 events in 24 payloads (more than the SQLite store keeps for its claims), 40 threads; after every other
    // payload a claim takes a few from the middle, so the kept events have gaps when the oldest are let go.
    const ingested = new Map<string, PlannedEvent>();
    const claimed: QueuedEvent[] = [];
    for (let payload = 0; payload < 24; payload++) {
      const events = Array.from({ length: 500 }, (_, index) => {
        const n = payload * 500 + index;
        return message(`w${n}`, `T${n % 40}`, n);
      });
      await store.ingest({ rawBody: `p${payload}`, sha256: `p${payload}`, receivedAt: 'now', events });
      for (const planned of events) ingested.set(planned.event.id, planned);
      if (payload % 2 === 1) claimed.push(...(await store.claim(liveClaim({ limit: 7 }))).events);
    }
    for (;;) {
      const { events } = await store.claim(liveClaim({ limit: 1000 }));
      if (events.length === 0) break;
      claimed.push(...events);
    }
    expect(claimed).toHaveLength(12_000);
    expect(new Set(claimed.map((queued) => queued.seq)).size).toBe(12_000);
    expect(new Set(claimed.map((queued) => queued.event.id)).size).toBe(12_000);
    for (const queued of claimed) expect(queued.event).toEqual(ingested.get(queued.event.id)!.event);
    await store.close();
  });

  it("answers a thread's head and a message's id before they exist, from the buffer, and after each commit", async () => {
    const store = createStore();
    await store.ingest({
      rawBody: 'p',
      sha256: 'p',
      receivedAt: 'now',
      events: [message('w1', 'T', 1), message('w2', 'T', 2), message('w3', 'U', 3)],
    });
    // Asked before any exists (a store may remember the answer): none.
    expect(await store.getThreadHeads('c1', ['T', 'U'])).toEqual(new Map());
    expect(await store.getMessages('c1', ['w1', 'w2', 'w3'])).toEqual(new Map());
    const claimed = await store.claim(liveClaim({ limit: 1 }));
    await store.complete({
      outcomes: [{ seq: claimed.events[0]!.seq, outcome: 'done' }],
      messages: [{ connectionId: 'c1', key: 'w1', crmId: 'crm-1', threadKey: 'T' }],
    });
    expect(await store.getThreadHeads('c1', ['T', 'U'])).toEqual(new Map([['T', 'crm-1']]));
    expect(await store.getMessages('c1', ['w1', 'w2'])).toEqual(new Map([['w1', 'crm-1']]));
    await store.countOpen(); // commits the completion
    expect(await store.getThreadHeads('c1', ['T', 'U'])).toEqual(new Map([['T', 'crm-1']]));
    expect(await store.getMessages('c1', ['w1', 'w2'])).toEqual(new Map([['w1', 'crm-1']]));
    const next = await store.claim(liveClaim({ limit: 2 }));
    await store.complete({
      outcomes: next.events.map((event) => ({ seq: event.seq, outcome: 'done' as const })),
      messages: [
        { connectionId: 'c1', key: 'w2', crmId: 'crm-2', threadKey: 'T' },
        { connectionId: 'c1', key: 'w3', crmId: 'crm-3', threadKey: 'U' },
      ],
    });
    await store.countOpen();
    const heads = new Map([
      ['T', 'crm-2'],
      ['U', 'crm-3'],
    ]);
    expect(await store.getThreadHeads('c1', ['T', 'U'])).toEqual(heads);
    expect(await store.getThreadHeads('other-connection', ['T', 'U'])).toEqual(new Map());
    expect(await store.getMessages('c1', ['w1', 'w2', 'w3'])).toEqual(
      new Map([
        ['w1', 'crm-1'],
        ['w2', 'crm-2'],
        ['w3', 'crm-3'],
      ]),
    );
    expect(await store.getMessages('other-connection', ['w1'])).toEqual(new Map());
    await store.close();
  });

  it('stores a payload with its events once and ignores a redelivery', async () => {
    const store = createStore();
    const events = [message('w1', 't1', 1000), message('w2', 't1', 2000)];
    const first = await store.ingest({ rawBody: '{"a":1}', sha256: 'h1', receivedAt: '2026-01-01T00:00:00Z', events });
    expect(first).toMatchObject({ inserted: 2, duplicates: 0, connectionIds: ['c1'] });
    expect(first.payloadId).toBeTypeOf('number');
    const again = await store.ingest({ rawBody: '{"a":1}', sha256: 'h1', receivedAt: '2026-01-01T00:00:01Z', events });
    expect(again).toMatchObject({ payloadId: null, inserted: 0, duplicates: 2 });
    expect((await store.readCounters()).PN?.['message.live.received']).toBe(2);
    await store.close();
  });

  it('claims in time order, skips blocked and delayed threads, and caps items per thread', async () => {
    const store = createStore();
    await store.ingest({
      rawBody: 'x',
      sha256: 'x',
      receivedAt: '2026-01-01T00:00:00Z',
      events: [message('a2', 'A', 2000), message('b1', 'B', 1500), message('a1', 'A', 1000), message('c1', 'C', 3000)],
    });
    const blocked = await store.claim({
      connectionId: 'c1',
      kind: 'message',
      lane: 'live',
      limit: 10,
      now: 0,
      blockedThreads: new Set(['A']),
    });
    expect(blocked.events.map((event) => event.targetKey)).toEqual(['b1', 'c1']);
    // A claim hands rows out once; releasing them puts them back.
    await store.complete({
      outcomes: blocked.events.map((event) => ({ seq: event.seq, outcome: 'release' as const })),
    });
    const onePerThread = await store.claim(liveClaim({ maxPerThread: 1 }));
    expect(onePerThread.events.map((event) => event.targetKey)).toEqual(['a1', 'b1', 'c1']);
    await store.complete({
      outcomes: onePerThread.events.map((event) => ({ seq: event.seq, outcome: 'release' as const })),
    });
    const all = await store.claim(liveClaim());
    expect(all.events.map((event) => event.targetKey)).toEqual(['a1', 'b1', 'a2', 'c1']);
    expect((await store.claim(liveClaim())).events).toEqual([]);
    await store.complete({
      outcomes: all.events.slice(1).map((event) => ({ seq: event.seq, outcome: 'release' as const })),
    });

    const a1 = all.events[0]!;
    await store.complete({ outcomes: [{ seq: a1.seq, outcome: 'retry', attempts: 1, notBefore: 5000 }] });
    const delayed = await store.claim(liveClaim({ now: 100 }));
    // a1 waits until 5000 and a2 must not overtake it.
    expect(delayed.events.map((event) => event.targetKey)).toEqual(['b1', 'c1']);
    expect(delayed.nextDueAt).toBe(5000);
    await store.complete({
      outcomes: delayed.events.map((event) => ({ seq: event.seq, outcome: 'release' as const })),
    });
    const due = await store.claim(liveClaim({ now: 5000 }));
    expect(due.events[0]).toMatchObject({ targetKey: 'a1', attempts: 1 });
    await store.close();
  });

  it('claims a backfill longest backlog first, a thread at a time, and keeps each thread in order', async () => {
    const store = createStore();
    const claim = (options: { limit: number; maxPerThread?: number; now?: number; blocked?: string[] }) =>
      store.claim({
        connectionId: 'c1',
        kind: 'message',
        lane: 'live',
        limit: options.limit,
        ...(options.maxPerThread === undefined ? {} : { maxPerThread: options.maxPerThread }),
        now: options.now ?? 0,
        blockedThreads: new Set(options.blocked ?? []),
        order: 'longest-backlog-first',
      });
    const release = (events: readonly QueuedEvent[]) =>
      store.complete({ outcomes: events.map((event) => ({ seq: event.seq, outcome: 'release' as const })) });
    // Thread A has the oldest message but C the longest backlog; C's events arrive shuffled.
    await store.ingest({
      rawBody: 'x',
      sha256: 'x',
      receivedAt: '2026-01-01T00:00:00Z',
      events: [
        message('a1', 'A', 1000),
        message('c3', 'C', 3300),
        message('b1', 'B', 2000),
        message('c1', 'C', 3100),
        message('b2', 'B', 2200),
        message('c2', 'C', 3200),
      ],
    });
    const first = await claim({ limit: 4 });
    expect(first.events.map((event) => event.targetKey)).toEqual(['c1', 'c2', 'c3', 'b1']);
    await release(first.events);
    // One per thread (Close): the longest threads first, then the others by their oldest event.
    const onePerThread = await claim({ limit: 10, maxPerThread: 1 });
    expect(onePerThread.events.map((event) => event.targetKey)).toEqual(['c1', 'b1', 'a1']);
    await release(onePerThread.events);
    // A blocked thread is skipped whole; a new event makes B the longest.
    await store.ingest({
      rawBody: 'y',
      sha256: 'y',
      receivedAt: '2026-01-01T00:00:00Z',
      events: [message('b3', 'B', 2300), message('b0', 'B', 1900)],
    });
    const skipping = await claim({ limit: 10, blocked: ['B'] });
    expect(skipping.events.map((event) => event.targetKey)).toEqual(['c1', 'c2', 'c3', 'a1']);
    await release(skipping.events);
    const longest = await claim({ limit: 2 });
    expect(longest.events.map((event) => event.targetKey)).toEqual(['b0', 'b1']);
    // A delayed head holds its thread back whole and names when it is due.
    const b0 = longest.events[0]!;
    await store.complete({
      outcomes: [
        { seq: b0.seq, outcome: 'retry', attempts: 1, notBefore: 5000 },
        { seq: longest.events[1]!.seq, outcome: 'release' },
      ],
    });
    const delayed = await claim({ limit: 10, now: 100 });
    expect(delayed.events.map((event) => event.targetKey)).toEqual(['c1', 'c2', 'c3', 'a1']);
    expect(delayed.nextDueAt).toBe(5000);
    await store.close();
  });

  it('splits no thread across claims while the backlog is below `wholeThreadsBelow`', async () => {
    const store = createStore();
    const claim = (limit: number, wholeThreadsBelow?: number) =>
      store.claim(
        liveClaim({
          limit,
          order: 'longest-backlog-first',
          ...(wholeThreadsBelow === undefined ? {} : { wholeThreadsBelow }),
        }),
      );
    // C: 3 messages, B: 2, A: 1.
    await store.ingest({
      rawBody: 'x',
      sha256: 'x',
      receivedAt: '2026-01-01T00:00:00Z',
      events: [
        message('c1', 'C', 3100),
        message('c2', 'C', 3200),
        message('c3', 'C', 3300),
        message('b1', 'B', 2000),
        message('b2', 'B', 2200),
        message('a1', 'A', 1000),
      ],
    });
    // Above the threshold (6 rows > 5) a claim fills up to its limit, splitting B.
    const split = await claim(4, 5);
    expect(split.events.map((event) => event.targetKey)).toEqual(['c1', 'c2', 'c3', 'b1']);
    await store.complete({ outcomes: split.events.map((event) => ({ seq: event.seq, outcome: 'release' as const })) });
    // At or below it, B (2) does not fit the one place left after C: A (1) takes it, B waits whole.
    const whole = await claim(4, 6);
    expect(whole.events.map((event) => event.targetKey)).toEqual(['c1', 'c2', 'c3', 'a1']);
    // A thread longer than the limit is still split: nothing else could ever claim it.
    const rest = await claim(1, 6);
    expect(rest.events.map((event) => event.targetKey)).toEqual(['b1']);
    await store.close();
  });

  it('parks an update until its message is written, atomically', async () => {
    const store = createStore();
    await store.ingest({
      rawBody: 'x',
      sha256: 'x',
      receivedAt: 'now',
      events: [status('w1', 10), message('w1', 'T', 5)],
    });
    const updates = await store.claim(liveClaim({ kind: 'update' }));
    await store.complete({
      outcomes: [{ seq: updates.events[0]!.seq, outcome: 'wait', connectionId: 'c1', targetKey: 'w1' }],
    });
    expect((await store.countOpen()).find((count) => count.kind === 'update')).toMatchObject({
      state: 'waiting',
      count: 1,
    });
    const messages = await store.claim(liveClaim());
    await store.complete({
      outcomes: [{ seq: messages.events[0]!.seq, outcome: 'done' }],
      messages: [{ connectionId: 'c1', key: 'w1', crmId: 'crm-1', threadKey: 'T' }],
      counters: [{ scope: 'PN', name: 'message.live.written', delta: 1 }],
    });
    expect(await store.getMessages('c1', ['w1', 'w2'])).toEqual(new Map([['w1', 'crm-1']]));
    expect(await store.getThreadHeads('c1', ['T'])).toEqual(new Map([['T', 'crm-1']]));
    const unparked = await store.claim(liveClaim({ kind: 'update' }));
    expect(unparked.events).toHaveLength(1);
    // A wait for a target that is already written goes straight back to pending.
    await store.complete({
      outcomes: [{ seq: unparked.events[0]!.seq, outcome: 'wait', connectionId: 'c1', targetKey: 'w1' }],
    });
    expect((await store.countOpen()).find((count) => count.kind === 'update')).toMatchObject({ state: 'pending' });
    await store.close();
  });

  it('keeps dead letters with their reason and replays them', async () => {
    const store = createStore();
    await store.ingest({ rawBody: 'x', sha256: 'x', receivedAt: 'now', events: [message('w1', 'T', 5)] });
    const claimed = await store.claim(liveClaim());
    await store.complete({
      outcomes: [
        {
          seq: claimed.events[0]!.seq,
          outcome: 'dead',
          reason: 'contact rejected',
          errorKind: 'permanent',
          at: '2026-01-01T00:00:00Z',
        },
      ],
    });
    const [letter] = await store.listDeadLetters();
    expect(letter).toMatchObject({
      eventId: 'message:w1',
      eventType: 'message.received',
      reason: 'contact rejected',
      errorKind: 'permanent',
      connectionId: 'c1',
      phoneNumberId: 'PN',
    });
    expect((await store.readCounters()).PN?.['message.live.dead']).toBe(1);
    expect(await store.listDeadLetters({ limit: 1 })).toHaveLength(1);
    for (const limit of [0, -1, 1.5, Number.NaN]) {
      await expect(store.listDeadLetters({ limit })).rejects.toMatchObject({
        name: 'CoexistStoreError',
        field: 'limit',
      });
    }
    await store.replayDeadLetter(letter!.id, '2026-01-02T00:00:00Z');
    expect(await store.listDeadLetters()).toEqual([]);
    expect((await store.readCounters()).PN?.['message.live.dead']).toBe(0);
    await expect(store.replayDeadLetter(letter!.id, 'now')).rejects.toThrow(/already replayed/);
    await expect(store.replayDeadLetter(999, 'now')).rejects.toThrow(/\[coexist\/core\] store: id: no dead letter 999/);
    const again = await store.claim(liveClaim());
    expect(again.events[0]).toMatchObject({ attempts: 0, targetKey: 'w1' });
    await store.close();
  });

  it('moves open events to the connection now serving their number, or to unrouted', async () => {
    const store = createStore();
    await store.ingest({
      rawBody: 'x',
      sha256: 'x',
      receivedAt: 'now',
      events: [message('w1', 'T', 1), message('w2', 'T', 2)],
    });
    expect(await store.rerouteOpenEvents(new Map([['PN', 'c1']]))).toBe(0);
    expect(await store.rerouteOpenEvents(new Map([['PN', 'c2']]))).toBe(2);
    expect((await store.claim(liveClaim())).events).toEqual([]);
    const claimed = await store.claim(liveClaim({ connectionId: 'c2' }));
    expect(claimed.events.map((queued) => [queued.targetKey, queued.connectionId])).toEqual([
      ['w1', 'c2'],
      ['w2', 'c2'],
    ]);
    await store.complete({ outcomes: claimed.events.map((queued) => ({ seq: queued.seq, outcome: 'release' })) });
    // With no connection for their number, they wait as unrouted.
    expect(await store.rerouteOpenEvents(new Map())).toBe(2);
    expect(await store.countOpen()).toEqual([expect.objectContaining({ state: 'unrouted', count: 2 })]);
    await store.close();
  });

  it('keeps invalid payloads and routes unrouted events later', async () => {
    const store = createStore();
    const id = await store.recordInvalidPayload({
      rawBody: '{bad',
      sha256: 'bad',
      error: 'entry: required',
      receivedAt: 'now',
    });
    expect(await store.listInvalidPayloads()).toEqual([
      { id, rawBody: '{bad', error: 'entry: required', receivedAt: 'now', replayedAt: null },
    ]);
    await store.updateInvalidPayload(id, { replayedAt: 'later' });
    expect(await store.listInvalidPayloads()).toEqual([]);
    const unrouted = { ...message('w9', 'T', 1), connectionId: null };
    await store.ingest({ rawBody: 'y', sha256: 'y', receivedAt: 'now', events: [unrouted] });
    expect((await store.countOpen())[0]).toMatchObject({ state: 'unrouted', count: 1 });
    expect(await store.routeUnrouted(['PN'], 'c2')).toBe(1);
    const claimed = await store.claim(liveClaim({ connectionId: 'c2' }));
    expect(claimed.events.map((event) => event.targetKey)).toEqual(['w9']);
    await store.close();
  });
});

describe('createSqliteStore', () => {
  it('persists across reopen and records the schema version', async () => {
    const path = temporaryPath();
    const store = createSqliteStore({ path });
    await store.ingest({ rawBody: 'x', sha256: 'x', receivedAt: 'now', events: [message('w1', 'T', 5)] });
    await store.saveContacts([
      { connectionId: 'c1', key: 'phone:+16505551234', crmId: 'contact-1', parentId: 'lead-1' },
    ]);
    await store.complete({ documents: [{ key: 'number:PN', value: { health: 'ok' } }] });
    await store.close();
    const reopened = createSqliteStore({ path });
    expect((await reopened.countOpen())[0]).toMatchObject({ state: 'pending', count: 1 });
    expect(await reopened.getContacts('c1', ['phone:+16505551234'])).toEqual(
      new Map([['phone:+16505551234', { crmId: 'contact-1', parentId: 'lead-1' }]]),
    );
    expect(await reopened.listDocuments('number:')).toEqual([{ key: 'number:PN', value: { health: 'ok' } }]);
    await reopened.close();
    const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
    const database = new DatabaseSync(path);
    expect(database.prepare('PRAGMA user_version').get()).toEqual({ user_version: SQLITE_MIGRATIONS.length });
    expect(database.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    database.close();
  });

  it('migrates a database written before the deferred indexes (schema 2) and keeps deduping its events', async () => {
    const path = temporaryPath();
    const old = databaseAtSchema(path, 2);
    old.exec(`INSERT INTO events (event_id, event_type, phone_number_id, connection_id, kind, lane, thread_key,
      target_key, sort_key, state) VALUES ('message:w1', 'message.received', 'PN', 'c1', 'message', 'live', 'T', 'w1', 5, 'pending')`);
    old.exec(`INSERT INTO event_bodies (seq, body) VALUES (1, '${JSON.stringify(message('w1', 'T', 5).event)}')`);
    old.close();

    const store = createSqliteStore({ path });
    const again = await store.ingest({
      rawBody: 'x',
      sha256: 'x',
      receivedAt: 'now',
      events: [message('w1', 'T', 5), message('w2', 'T', 6)],
    });
    expect(again).toMatchObject({ inserted: 1, duplicates: 1 });
    expect((await store.listThreadEvents(['T'])).map((event) => event.id)).toEqual(['message:w1', 'message:w2']);
    const claimed = await store.claim(liveClaim());
    expect(claimed.events.map((event) => event.targetKey)).toEqual(['w1', 'w2']);
    await store.close();
  });

  it('moves the CRM ids kept on event rows (schema 7) to `message_crm_ids`', async () => {
    const path = temporaryPath();
    const old = databaseAtSchema(path, 7);
    old.exec(`INSERT INTO events (event_id, event_type, phone_number_id, connection_id, kind, lane, thread_key,
      target_key, sort_key, state, crm_id) VALUES
      ('message:w1', 'message.received', 'PN', 'c1', 'message', 'live', 'T', 'w1', 5, 'done', 'crm-w1'),
      ('message:w2', 'message.received', 'PN', 'c1', 'message', 'live', 'T', 'w2', 6, 'pending', NULL)`);
    old.exec(
      `INSERT INTO event_hashes (hash, seq) VALUES (${eventIdHash('message:w1')}, 1), (${eventIdHash('message:w2')}, 2)`,
    );
    old.exec("UPDATE store_state SET value = 2 WHERE name = 'indexed_seq'");
    old.close();

    const store = createSqliteStore({ path });
    expect(await store.getMessages('c1', ['w1', 'w2'])).toEqual(new Map([['w1', 'crm-w1']]));
    await store.close();
    const { DatabaseSync: Database } = process.getBuiltinModule('node:sqlite');
    const inspect = new Database(path, { readOnly: true });
    expect(inspect.prepare('SELECT seq, crm_id FROM message_crm_ids').all()).toEqual([{ seq: 1, crm_id: 'crm-w1' }]);
    expect(inspect.prepare('SELECT count(*) AS n FROM events WHERE crm_id IS NOT NULL').get()).toEqual({ n: 0 });
    inspect.close();
  });

  it('moves the CRM ids of events still pending (schema 8) to `messages`, so an id in `message_crm_ids` means done', async () => {
    const path = temporaryPath();
    const old = databaseAtSchema(path, 8);
    // w1 finished (its id came with its outcome); w2 is still pending but an outcome of another event wrote its id
    // under its seq, which schema 8 allowed.
    old.exec(`INSERT INTO events (event_id, event_type, phone_number_id, connection_id, kind, lane, thread_key,
      target_key, sort_key, state) VALUES
      ('message:w1', 'message.received', 'PN', 'c1', 'message', 'live', 'T', 'w1', 5, 'done'),
      ('message:w2', 'message.received', 'PN', 'c1', 'message', 'live', 'T', 'w2', 6, 'pending')`);
    old.exec(`INSERT INTO event_bodies (seq, body) VALUES (1, '${JSON.stringify(message('w1', 'T', 5).event)}'),
      (2, '${JSON.stringify(message('w2', 'T', 6).event)}')`);
    old.exec("INSERT INTO message_crm_ids (seq, crm_id) VALUES (1, 'crm-w1'), (2, 'crm-w2')");
    old.exec(
      `INSERT INTO event_hashes (hash, seq) VALUES (${eventIdHash('message:w1')}, 1), (${eventIdHash('message:w2')}, 2)`,
    );
    old.exec("UPDATE store_state SET value = 2 WHERE name = 'indexed_seq'");
    old.exec(
      "INSERT INTO store_state (name, value) VALUES ('pending_from', 1) ON CONFLICT (name) DO UPDATE SET value = 1",
    );
    old.close();

    const store = createSqliteStore({ path, writerThread: false });
    expect(await store.getMessages('c1', ['w1', 'w2'])).toEqual(
      new Map([
        ['w1', 'crm-w1'],
        ['w2', 'crm-w2'],
      ]),
    );
    // w2 is still open: claimed again, and counted.
    expect((await store.claim(liveClaim())).events.map((event) => event.targetKey)).toEqual(['w2']);
    expect(await store.countOpen()).toEqual([
      { phoneNumberId: 'PN', kind: 'message', lane: 'live', state: 'pending', count: 1 },
    ]);
    await store.close();
    const { DatabaseSync: Database } = process.getBuiltinModule('node:sqlite');
    const inspect = new Database(path, { readOnly: true });
    expect(inspect.prepare('SELECT seq, crm_id FROM message_crm_ids').all()).toEqual([{ seq: 1, crm_id: 'crm-w1' }]);
    expect(inspect.prepare('SELECT connection_id, key, crm_id FROM messages').all()).toEqual([
      { connection_id: 'c1', key: 'w2', crm_id: 'crm-w2' },
    ]);
    inspect.close();
  });

  it('reopens with finished messages closed though their rows still say pending, and an id for an open one kept apart', async () => {
    const path = temporaryPath();
    const store = createSqliteStore({ path, writerThread: false });
    await store.ingest({
      rawBody: 'p',
      sha256: 'p',
      receivedAt: 'now',
      events: [message('w1', 'T', 1), message('w2', 'T', 2), message('w3', 'U', 3)],
    });
    const claimed = await store.claim(liveClaim({ limit: 1 }));
    expect(claimed.events.map((event) => event.targetKey)).toEqual(['w1']);
    await store.complete({
      outcomes: [{ seq: claimed.events[0]!.seq, outcome: 'done' }],
      messages: [
        { connectionId: 'c1', key: 'w1', crmId: 'crm-w1', threadKey: 'T' },
        // w3's id, brought by this outcome (not w3's own): w3 stays open.
        { connectionId: 'c1', key: 'w3', crmId: 'crm-w3', threadKey: 'U' },
      ],
    });
    await store.countOpen(); // commits the completion
    await store.close();

    const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
    const inspect = new DatabaseSync(path, { readOnly: true });
    // w1's row was not rewritten: its row in `message_crm_ids` is what says it is done.
    expect(inspect.prepare("SELECT count(*) AS n FROM events WHERE state = 'pending'").get()).toEqual({ n: 3 });
    expect(inspect.prepare('SELECT seq FROM message_crm_ids').all()).toEqual([{ seq: claimed.events[0]!.seq }]);
    expect(inspect.prepare('SELECT key FROM messages').all()).toEqual([{ key: 'w3' }]);
    inspect.close();

    const reopened = createSqliteStore({ path, writerThread: false });
    expect(await reopened.countOpen()).toEqual([
      { phoneNumberId: 'PN', kind: 'message', lane: 'live', state: 'pending', count: 2 },
    ]);
    expect((await reopened.claim(liveClaim())).events.map((event) => event.targetKey).sort()).toEqual(['w2', 'w3']);
    expect(await reopened.getMessages('c1', ['w1', 'w3'])).toEqual(
      new Map([
        ['w1', 'crm-w1'],
        ['w3', 'crm-w3'],
      ]),
    );
    await reopened.close();
  });

  it("files a message's id under its event's seq only when that event's id is `message:<key>`", async () => {
    const path = temporaryPath();
    const store = createSqliteStore({ path, writerThread: false });
    // Planned as a message by a caller of its own, with an id of its own: it does not carry `w2`'s id.
    const own = message('w2', 'T', 2);
    own.event.id = 'custom:2';
    await store.ingest({ rawBody: 'p', sha256: 'p', receivedAt: 'now', events: [message('w1', 'T', 1), own] });
    const claimed = await store.claim(liveClaim());
    expect(claimed.events.map((event) => event.event.id)).toEqual(['message:w1', 'custom:2']);
    await store.complete({
      outcomes: claimed.events.map((event) => ({ seq: event.seq, outcome: 'done' as const })),
      messages: [
        { connectionId: 'c1', key: 'w1', crmId: 'crm-w1', threadKey: 'T' },
        { connectionId: 'c1', key: 'w2', crmId: 'crm-w2', threadKey: 'T' },
      ],
    });
    await store.close();

    const { DatabaseSync: Database } = process.getBuiltinModule('node:sqlite');
    const inspect = new Database(path, { readOnly: true });
    expect(inspect.prepare('SELECT seq FROM message_crm_ids').all()).toEqual([{ seq: claimed.events[0]!.seq }]);
    expect(inspect.prepare('SELECT key, crm_id FROM messages').all()).toEqual([{ key: 'w2', crm_id: 'crm-w2' }]);
    // Its own row says done; w1's is done by its id.
    expect(inspect.prepare('SELECT event_id, state FROM events ORDER BY seq').all()).toEqual([
      { event_id: 'message:w1', state: 'pending' },
      { event_id: 'custom:2', state: 'done' },
    ]);
    inspect.close();
    const reopened = createSqliteStore({ path });
    expect(await reopened.countOpen()).toEqual([]);
    expect(await reopened.getMessages('c1', ['w1', 'w2'])).toEqual(
      new Map([
        ['w1', 'crm-w1'],
        ['w2', 'crm-w2'],
      ]),
    );
    await reopened.close();
  });

  it('after a crash, finds every committed event (deduped, listed by thread) and resends unflushed completions', async () => {
    const path = temporaryPath();
    // Group commits on the calling thread, so every await below resolves in microtasks and the first store's flush
    // timer cannot fire before the "crash" (a writer thread answers in macrotasks). Crashes with the writer thread
    // are what test/engine-crash.test.ts covers (its runs alternate between the two modes).
    const store = createSqliteStore({ path, writerThread: false });
    await store.ingest({ rawBody: 'a', sha256: 'a', receivedAt: 'now', events: [message('w1', 'T', 1)] });
    await store.ingest({ rawBody: 'b', sha256: 'b', receivedAt: 'now', events: [message('w2', 'T', 2)] });
    const query = {
      connectionId: 'c1',
      kind: 'message',
      lane: 'live',
      limit: 1,
      now: 0,
      blockedThreads: new Set<string>(),
    } as const;
    const first = await store.claim(query);
    await store.complete({
      outcomes: [{ seq: first.events[0]!.seq, outcome: 'done' }],
      messages: [{ connectionId: 'c1', key: 'w1', crmId: 'm-1', threadKey: 'T' }],
    });
    // A read that reports stored state commits the buffered completion first.
    expect((await store.countOpen()).find((count) => count.state === 'pending')?.count).toBe(1);
    const second = await store.claim(query);
    await store.complete({
      outcomes: [{ seq: second.events[0]!.seq, outcome: 'done' }],
      messages: [{ connectionId: 'c1', key: 'w2', crmId: 'm-2', threadKey: 'T' }],
    });
    expect(await store.getMessages('c1', ['w1', 'w2'])).toEqual(
      new Map([
        ['w1', 'm-1'],
        ['w2', 'm-2'],
      ]),
    );

    // "Crash": a second process opens the file while the first never flushed nor closed.
    const restarted = createSqliteStore({ path, writerThread: false });
    const redelivery = await restarted.ingest({
      rawBody: 'c',
      sha256: 'c',
      receivedAt: 'now',
      events: [message('w1', 'T', 1), message('w2', 'T', 2)],
    });
    expect(redelivery).toMatchObject({ inserted: 0, duplicates: 2 });
    expect((await restarted.listThreadEvents(['T'])).map((event) => event.id)).toEqual(['message:w1', 'message:w2']);
    // w1's completion was committed; w2's was not: it is pending again and will be resent (idempotently).
    expect(await restarted.getMessages('c1', ['w1', 'w2'])).toEqual(new Map([['w1', 'm-1']]));
    const resend = await restarted.claim({ ...query, limit: 10 });
    expect(resend.events.map((event) => event.targetKey)).toEqual(['w2']);
    await restarted.close();
    await store.close();
  });

  it('moves the pending floor under a long backlog once a quarter of it has settled', async () => {
    const path = temporaryPath();
    const store = createSqliteStore({ path });
    // 20,000 live messages (seqs 1–20,000), far more than the short-queue bound of 4,096.
    for (let payload = 0; payload < 20; payload++) {
      const events = Array.from({ length: 1000 }, (_, index) => {
        const n = payload * 1000 + index;
        return message(`w${n}`, `T${n % 50}`, n);
      });
      await store.ingest({ rawBody: `p${payload}`, sha256: `p${payload}`, receivedAt: 'now', events });
    }
    // The oldest 5,000 written, a quarter of the 15,000 still waiting: the next commit walks the backlog.
    for (let round = 0; round < 5; round++) {
      const { events } = await store.claim(liveClaim({ limit: 1000 }));
      await store.complete({ outcomes: events.map((queued) => ({ seq: queued.seq, outcome: 'done' as const })) });
    }
    await store.countOpen(); // commits
    expect(pendingFromIn(path)).toBe(5001);
    await store.close();
    // Reopened, the store scans from there and finds the 15,000 still waiting.
    const reopened = createSqliteStore({ path });
    expect(await reopened.countOpen()).toEqual([
      { phoneNumberId: 'PN', kind: 'message', lane: 'live', state: 'pending', count: 15_000 },
    ]);
    await reopened.close();
  });

  it('rebuilds every pending row on reopen, without an index: retried, routed, replayed and unparked rows below the floor', async () => {
    const path = temporaryPath();
    const query = {
      connectionId: 'c1',
      kind: 'message',
      lane: 'live',
      limit: 100,
      now: 0,
      blockedThreads: new Set<string>(),
    } as const;
    const store = createSqliteStore({ path });
    // seq 1: for a number no connection serves yet; seq 2: an update parked until its message is written.
    await store.ingest({
      rawBody: 'a',
      sha256: 'a',
      receivedAt: 'now',
      events: [{ ...message('u1', 'U', 1), connectionId: null }, status('w40', 2)],
    });
    const update = await store.claim({ ...query, kind: 'update' });
    await store.complete({
      outcomes: [{ seq: update.events[0]!.seq, outcome: 'wait', connectionId: 'c1', targetKey: 'w40' }],
    });
    // seqs 3–42: 40 messages; w3 fails for good, w4 is retried later, the rest are written.
    const messages = Array.from({ length: 40 }, (_, index) => message(`w${index + 3}`, `T${index}`, 10 + index));
    await store.ingest({ rawBody: 'b', sha256: 'b', receivedAt: 'now', events: messages });
    const claimed = await store.claim(query);
    expect(claimed.events).toHaveLength(40);
    await store.complete({
      outcomes: claimed.events.map((event) =>
        event.targetKey === 'w3'
          ? { seq: event.seq, outcome: 'dead', reason: 'rejected', errorKind: 'permanent', at: 'now' }
          : event.targetKey === 'w4'
            ? { seq: event.seq, outcome: 'retry', notBefore: 0, attempts: 1 }
            : { seq: event.seq, outcome: 'done' },
      ),
    });
    await store.countOpen();
    const retried = await store.claim(query);
    expect(retried.events.map((event) => event.targetKey)).toEqual(['w4']);
    await store.complete({ outcomes: [{ seq: retried.events[0]!.seq, outcome: 'done' }] });
    await store.countOpen();
    // Nothing is pending now: the floor moved past every row, so reopening scans none of them.
    expect(pendingFromIn(path)).toBe(43);
    await store.close();

    // Rows become pending again below the floor: routed, replayed, unparked by the message they waited for.
    const second = createSqliteStore({ path });
    expect(await second.routeUnrouted(['PN'], 'c1')).toBe(1);
    const [letter] = await second.listDeadLetters();
    await second.replayDeadLetter(letter!.id, 'now');
    await second.ingest({ rawBody: 'c', sha256: 'c', receivedAt: 'now', events: [message('w44', 'T44', 99)] });
    await second.complete({ messages: [{ connectionId: 'c1', key: 'w40', crmId: 'm-40', threadKey: 'T37' }] });
    await second.countOpen();
    expect(pendingFromIn(path)).toBe(1);
    await second.close();

    const third = createSqliteStore({ path });
    const open = await third.countOpen();
    expect(open.filter((count) => count.state === 'pending').reduce((sum, count) => sum + count.count, 0)).toBe(4);
    expect((await third.claim(query)).events.map((event) => event.targetKey).sort()).toEqual(['u1', 'w3', 'w44']);
    expect((await third.claim({ ...query, kind: 'update' })).events.map((event) => event.targetKey)).toEqual(['w40']);
    await third.close();
  });

  it("keeps a message's CRM id under its event's seq (indexed or above the watermark), others in `messages`", async () => {
    const path = temporaryPath();
    const store = createSqliteStore({ path, writerThread: false });
    // Fewer events than a catch-up batch (4,096), with ingests going on: they stay above the watermark at first.
    const events = Array.from({ length: 1_500 }, (_, index) => message(`w${index}`, `t${index % 50}`, index + 1));
    await store.ingest({ rawBody: 'p', sha256: 'p', receivedAt: 'now', events });
    const claimed = await store.claim(liveClaim({ limit: 1_500 }));
    expect(claimed.events).toHaveLength(1_500);
    await store.complete({
      outcomes: claimed.events.map((event) => ({ seq: event.seq, outcome: 'done' as const })),
      messages: [
        ...claimed.events.map((event) => ({
          connectionId: 'c1',
          key: event.targetKey!,
          crmId: `crm-${event.targetKey}`,
          threadKey: event.threadKey,
        })),
        // Written by the CRM side, say: no stored event carried it.
        { connectionId: 'c1', key: 'sent-elsewhere', crmId: 'crm-elsewhere', threadKey: 't0' },
      ],
    });
    await store.countOpen(); // commits the completion
    const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
    const inspect = new DatabaseSync(path, { readOnly: true });
    const indexedSeq = Number(
      (inspect.prepare("SELECT value FROM store_state WHERE name = 'indexed_seq'").get() as { value: number }).value,
    );
    expect(indexedSeq).toBeLessThan(1_500);
    const keys = ['w0', 'w1', 'w1499', 'sent-elsewhere', 'unknown'];
    const expected = new Map([
      ['w0', 'crm-w0'],
      ['w1', 'crm-w1'],
      ['w1499', 'crm-w1499'],
      ['sent-elsewhere', 'crm-elsewhere'],
    ]);
    expect(await store.getMessages('c1', keys)).toEqual(expected);
    expect(await store.getMessages('other-connection', keys)).toEqual(new Map());
    expect((inspect.prepare('SELECT count(*) AS n FROM message_crm_ids').get() as { n: number }).n).toBe(1_500);
    // Under the seq of the event that carried it.
    expect(
      inspect
        .prepare(
          `SELECT count(*) AS n FROM message_crm_ids m JOIN events e ON e.seq = m.seq
           WHERE e.event_id = 'message:' || substr(m.crm_id, 5)`,
        )
        .get(),
    ).toEqual({ n: 1_500 });
    // Their rows there mark them done (migration 9): the events' own rows were not rewritten, and none is open.
    expect(inspect.prepare('SELECT state, count(*) AS n FROM events GROUP BY state').all()).toEqual([
      { state: 'pending', n: 1_500 },
    ]);
    expect(await store.countOpen()).toEqual([]);
    expect(inspect.prepare('SELECT key FROM messages').all()).toEqual([{ key: 'sent-elsewhere' }]);
    // A message written again without its event's outcome (no seq to go by): its row found through the dedupe index.
    await store.complete({ messages: [{ connectionId: 'c1', key: 'w1', crmId: 'crm-w1-again', threadKey: 't1' }] });
    await store.countOpen();
    expected.set('w1', 'crm-w1-again');
    expect(await store.getMessages('c1', keys)).toEqual(expected);
    expect(inspect.prepare('SELECT key FROM messages').all()).toEqual([{ key: 'sent-elsewhere' }]);
    // Quiet now (no ingest since the last commit): the events above the watermark are indexed, a slice of 1,024 per
    // commit, and the same ids are found through the index.
    await store.countOpen();
    await store.countOpen();
    expect(inspect.prepare("SELECT value FROM store_state WHERE name = 'indexed_seq'").get()).toEqual({ value: 1_500 });
    expect(await store.getMessages('c1', keys)).toEqual(expected);
    inspect.close();
    await store.close();
    const reopened = createSqliteStore({ path });
    expect(await reopened.getMessages('c1', keys)).toEqual(expected);
    await reopened.close();
  });

  it('keeps the pending floor below a replayed or routed row while a group commit goes out beside it', async () => {
    for (const writerThread of [false, true]) {
      const path = temporaryPath();
      const store = createSqliteStore({ path, writerThread });
      const unrouted = { ...message('w2', 'T2', 2), connectionId: null };
      await store.ingest({
        rawBody: 'a',
        sha256: 'a',
        receivedAt: 'now',
        events: [message('w1', 'T1', 1), unrouted, message('w3', 'T3', 3)],
      });
      const claimed = await store.claim(liveClaim());
      await store.complete({
        outcomes: claimed.events.map((event) =>
          event.targetKey === 'w1'
            ? { seq: event.seq, outcome: 'dead', reason: 'rejected', errorKind: 'permanent', at: 'now' }
            : { seq: event.seq, outcome: 'done' },
        ),
      });
      await store.countOpen();
      expect(pendingFromIn(path)).toBe(4);
      // Each write that makes a row pending again, with a completion whose group commit is sent before it answers.
      // (A few microtasks let the write be sent first; the completion's commit then goes out before it answers.)
      const microtasks = async () => {
        for (let turn = 0; turn < 5; turn++) await Promise.resolve();
      };
      const [letter] = await store.listDeadLetters();
      const replayed = store.replayDeadLetter(letter!.id, 'now');
      await microtasks();
      await store.complete({ documents: [{ key: 'beside-replay', value: 1 }] });
      await replayed;
      await store.listDocuments('beside-');
      // Read from the file as a restart would (closing would walk the floor again): the row is above it.
      expect(pendingFromIn(path)).toBeLessThanOrEqual(1);
      const routed = store.routeUnrouted(['PN'], 'c1');
      await microtasks();
      await store.complete({ documents: [{ key: 'beside-route', value: 1 }] });
      await routed;
      await store.listDocuments('beside-');
      expect(pendingFromIn(path)).toBeLessThanOrEqual(1);
      await store.close();
    }
  });

  it('works with each commit synced (synchronous: full), in both writer modes', async () => {
    for (const writerThread of [false, true]) {
      const path = temporaryPath();
      const store = createSqliteStore({ path, synchronous: 'full', writerThread });
      await store.ingest({ rawBody: 'x', sha256: 'x', receivedAt: 'now', events: [message('w1', 'T', 5)] });
      await store.close();
      const reopened = createSqliteStore({ path, synchronous: 'normal', writerThread });
      expect((await reopened.countOpen())[0]).toMatchObject({ state: 'pending', count: 1 });
      await reopened.close();
    }
  });

  it('names the field of bad options', () => {
    expect(() => createSqliteStore({ path: '' })).toThrow('[coexist/core] store: path: expected a file path');
    for (const synchronous of ['off', 'FULL', 2] as unknown as 'full'[]) {
      expect(() => createSqliteStore({ path: temporaryPath(), synchronous })).toThrow(
        "[coexist/core] store: synchronous: expected 'normal' or 'full'",
      );
    }
    for (const cacheSizeMb of [0, -1, Number.NaN, '8' as unknown as number]) {
      expect(() => createSqliteStore({ path: temporaryPath(), cacheSizeMb })).toThrow(
        '[coexist/core] store: cacheSizeMb: expected a positive number of megabytes',
      );
    }
  });
});
