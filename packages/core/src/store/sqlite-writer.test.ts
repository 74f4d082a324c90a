import { describe, expect, it } from 'vitest';
import { eventIdHash } from './event-id-hash.ts';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.ts';
import { createSqliteWriter, emptyFlushRequest, type WriterEventRow } from './sqlite-writer.ts';

function openDatabase() {
  const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
  const database = new DatabaseSync(':memory:');
  database.function('coexist_event_hash', { deterministic: true }, (id) => eventIdHash(String(id)));
  for (const migration of SQLITE_MIGRATIONS) database.exec(migration);
  return database;
}

function row(id: string, thread: string, sortKey: number): WriterEventRow {
  return [
    id,
    eventIdHash(id),
    'message.received',
    'PN',
    'c1',
    'message',
    'history',
    thread,
    id,
    sortKey,
    true,
    '{}',
    eventIdHash(thread),
  ];
}

const nothing = emptyFlushRequest(null);

describe('createSqliteWriter', () => {
  it("indexes a quiet store's events in slices of 1,024 per group commit, and dedupes every event meanwhile", () => {
    const database = openDatabase();
    const writer = createSqliteWriter(database, { indexedSeq: 0, unindexed: [] });
    const ids = Array.from({ length: 1500 }, (_, index) => `wamid.${index}`);
    const ingest = (sha: string) =>
      writer.ingest({
        sha256: sha,
        receivedAt: 'now',
        rawBody: sha,
        payloadId: null,
        events: ids.map((id, index) => row(id, `T${index % 9}`, index)),
      });
    const count = (table: string) =>
      Number((database.prepare(`SELECT count(*) AS count FROM ${table}`).get() as { count: number }).count);
    const watermark = () =>
      Number(
        (database.prepare("SELECT value FROM store_state WHERE name = 'indexed_seq'").get() as { value: number }).value,
      );

    expect(ingest('a')).toMatchObject({ inserted: 1500, duplicates: 0 });
    // Fewer events than a batch while ingests go on: nothing indexed yet.
    expect(writer.flush(nothing)).toEqual({ toIndex: 0, unindexed: 1500, indexedSeq: 0 });
    expect([count('event_hashes'), count('thread_hashes'), watermark()]).toEqual([0, 0, 0]);
    // The store is quiet: all 1,500 form a batch, its first slice goes in; the watermark waits for the last.
    expect(writer.flush(emptyFlushRequest(null, true))).toEqual({ toIndex: 476, unindexed: 1500, indexedSeq: 0 });
    expect([count('event_hashes'), count('thread_hashes'), watermark()]).toEqual([1024, 1024, 0]);
    // Part indexed, all in memory: a redelivery is a duplicate either way, and a thread is listed once.
    expect(ingest('b')).toMatchObject({ inserted: 0, duplicates: 1500 });
    expect(writer.listThreadEvents([['T0', eventIdHash('T0')]])).toHaveLength(167);
    // A thread whose key shares the hash is told apart by its stored key.
    expect(writer.listThreadEvents([['T-other', eventIdHash('T0')]])).toHaveLength(0);
    expect(writer.flush(nothing)).toEqual({ toIndex: 0, unindexed: 0, indexedSeq: 1500 });
    expect([count('event_hashes'), count('thread_hashes'), watermark()]).toEqual([1500, 1500, 1500]);
    expect(ingest('c')).toMatchObject({ inserted: 0, duplicates: 1500 });
    database.close();
  });

  it('forms a batch of the oldest events once 4,096 wait, and each commit inserts one hash range of it', () => {
    const database = openDatabase();
    const writer = createSqliteWriter(database, { indexedSeq: 0, unindexed: [] });
    const events = Array.from({ length: 9000 }, (_, index) => row(`wamid.${index}`, `T${index % 97}`, index));
    for (let start = 0; start < events.length; start += 500) {
      writer.ingest({
        sha256: `p${start}`,
        receivedAt: 'now',
        rawBody: `p${start}`,
        payloadId: null,
        events: events.slice(start, start + 500),
      });
    }
    // A batch of the oldest 8,192 (its most), its first slice in.
    expect(writer.flush(nothing)).toEqual({ toIndex: 8192 - 1024, unindexed: 9000, indexedSeq: 0 });
    // The slice is the 1,024 lowest hashes of the batch: one range of the index, not rows spread over all of it.
    const stored = (database.prepare('SELECT hash FROM event_hashes ORDER BY hash').all() as { hash: number }[]).map(
      (entry) => entry.hash,
    );
    const lowest = events
      .slice(0, 8192)
      .map((event) => event[1] as number)
      .sort((left, right) => left - right)
      .slice(0, 1024);
    expect(stored).toEqual(lowest);
    let reply = writer.flush(nothing);
    while (reply.toIndex > 0) reply = writer.flush(nothing);
    // The batch is in; the 808 after it wait for a batch of their own, or for a quiet store.
    expect(reply).toEqual({ toIndex: 0, unindexed: 808, indexedSeq: 8192 });
    expect(writer.flush(emptyFlushRequest(null, true))).toEqual({ toIndex: 0, unindexed: 0, indexedSeq: 9000 });
    database.close();
  });
});
