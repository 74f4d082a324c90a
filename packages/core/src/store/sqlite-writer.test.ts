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
  it('indexes at most 1,024 events per group commit, oldest first, and dedupes every event meanwhile', () => {
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
    expect(writer.flush(nothing)).toBe(476);
    expect([count('event_hashes'), count('thread_hashes'), watermark()]).toEqual([1024, 1024, 1024]);
    // Half indexed, half in memory: a redelivery is a duplicate either way.
    expect(ingest('b')).toMatchObject({ inserted: 0, duplicates: 1500 });
    expect(writer.listThreadEvents([['T0', eventIdHash('T0')]])).toHaveLength(167);
    // A thread whose key shares the hash is told apart by its stored key.
    expect(writer.listThreadEvents([['T-other', eventIdHash('T0')]])).toHaveLength(0);
    expect(writer.flush(nothing)).toBe(0);
    expect([count('event_hashes'), count('thread_hashes'), watermark()]).toEqual([1500, 1500, 1500]);
    expect(ingest('c')).toMatchObject({ inserted: 0, duplicates: 1500 });
    database.close();
  });
});
