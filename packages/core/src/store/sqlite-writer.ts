/**
 * The writes of the SQLite store: the ingest transaction (the webhook ack), the group commit with the dedupe and
 * thread index catch-up, and the rare operator writes, with the in-memory dedupe index of events above the
 * watermark. Every write of a store goes through one writer on one connection (SQLite has one writer); by default
 * it runs in a worker thread (`sqlite-writer-host.ts`), off the event loop.
 *
 * The factory is self-contained on purpose: the worker is started from its source text (`String(createSqliteWriter)`),
 * so the built bundle needs no second file. It must not refer to anything outside its own body but its parameters,
 * and uses only erasable TypeScript (the source text runs as JavaScript).
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';

/**
 * One event of an ingest request, flat (cheap to send to a worker): event id, hash of the id, event type,
 * phone number id, connection id column (`''` for meta events, `null` when unrouted), kind, lane, thread key,
 * target key, sort key, whether it is routed (queued `pending`, else `unrouted`), the event's JSON, and the hash of
 * the thread key (the thread index's key).
 */
export type WriterEventRow = [
  eventId: string,
  hash: number,
  eventType: string,
  phoneNumberId: string | null,
  connectionId: string | null,
  kind: string,
  lane: string,
  threadKey: string,
  targetKey: string | null,
  sortKey: number,
  routed: boolean,
  body: string,
  threadHash: number,
];

/** An ingest request. */
export interface WriterIngestRequest {
  sha256: string;
  receivedAt: string;
  rawBody: string;
  /** Attach to this stored payload (replay) instead of storing the body. */
  payloadId: number | null;
  events: WriterEventRow[];
}

/** What an ingest committed: per input event its new seq, or 0 when it was a duplicate. */
export interface WriterIngestReply {
  payloadId: number | null;
  inserted: number;
  duplicates: number;
  connectionIds: string[];
  seqs: number[];
}

/**
 * One group commit: state changes, maps, counters and documents. The writer adds its dedupe and thread index
 * catch-up (the events ingested since the last flush) to the same transaction.
 */
export interface WriterFlushRequest {
  /** Seqs that became `done` (sorted). */
  done: number[];
  /** Other state changes: seq, state, attempts (or null: unchanged), not_before, dead letter reason, kind, time. */
  states: [number, string, number | null, number, string | null, string | null, string | null][];
  /**
   * Written messages: connection id, message key, CRM id, the hash of the id of the event that carried it
   * (`message:<key>`), and that event's seq when it is a claimed event finishing in this commit (else 0): its id is
   * then filed under that seq as given, and marks it done.
   */
  messages: [string, string, string, number, number][];
  heads: [string, string, string][];
  contacts: [string, string, string, string | null][];
  counters: [string, string, number][];
  documents: [string, string][];
  /**
   * A seq no pending row is below once this commit is in, to store as `store_state.pending_from` (the floor of the
   * scans that rebuild the pending queue on open); `null` keeps the stored one.
   */
  pendingFrom: number | null;
  /** Index every event above the watermark, however few (the store is quiet), instead of waiting for a batch. */
  indexAll: boolean;
}

/** What a group commit leaves to the next ones. */
export interface WriterFlushReply {
  /** Events the index catch-up still wants commits for (a batch under way, or enough events for one). */
  toIndex: number;
  /** Events above the watermark in all (deduped from memory until indexed). */
  unindexed: number;
  /** The index watermark after this commit: every event at or below it is in the dedupe and thread indexes. */
  indexedSeq: number;
}

/** A group commit that changes nothing yet (the store fills it in), carrying `pendingFrom`. */
export function emptyFlushRequest(pendingFrom: number | null, indexAll = false): WriterFlushRequest {
  return {
    done: [],
    states: [],
    messages: [],
    heads: [],
    contacts: [],
    counters: [],
    documents: [],
    pendingFrom,
    indexAll,
  };
}

/** The writes of the SQLite store. */
export interface SqliteWriter {
  ingest(request: WriterIngestRequest): WriterIngestReply;
  /** Commits a group; answers what the index catch-up leaves to the next commits. */
  flush(request: WriterFlushRequest): WriterFlushReply;
  recordInvalidPayload(input: { rawBody: string; sha256: string; error: string; receivedAt: string }): number;
  updateInvalidPayload(id: number, update: { replayedAt?: string; error?: string }): void;
  /** Routes unrouted events; returns their queue rows. */
  routeUnrouted(phoneNumberIds: readonly string[], connectionId: string): Record<string, unknown>[];
  /** Moves open events whose connection no longer serves their number (`[phone number id, connection id]`); returns how many. */
  rerouteOpenEvents(routes: readonly [string, string][]): number;
  /** Replays a dead letter; returns the letter's row and, when its event went back to pending, the event's row. */
  replayDeadLetter(
    id: number,
    at: string,
    routes?: readonly [string, string][],
  ): { letter: Record<string, unknown>; entry: Record<string, unknown> | null };
  /** Bodies (JSON) of the events of these threads (`[thread key, its hash]`), in `(sort_key, seq)` order. */
  listThreadEvents(threads: readonly [string, number][]): string[];
  exec(sql: string): void;
}

/**
 * The state a writer starts from: the index watermark and the events above it (`[eventId, seq, threadKey, hash of
 * the event id, hash of the thread key]`).
 */
export interface SqliteWriterStart {
  indexedSeq: number;
  unindexed: [string, number, string, number, number][];
}

/**
 * Creates the writer over an open, migrated connection. Errors about the caller's input carry `storeField` (the
 * field at fault), which the store turns into a `CoexistStoreError`.
 */
export function createSqliteWriter(database: DatabaseSync, start: SqliteWriterStart): SqliteWriter {
  /** Most keys bound in one `IN (…)` lookup. */
  const LOOKUP_CHUNK = 400;
  /**
   * The index catch-up works in batches: the oldest events above the watermark, at least `CATCH_UP_BATCH` of them
   * (or all, when the store is quiet), at most `CATCH_UP_BATCH_MAX`, sorted by hash and inserted one slice of
   * `CATCH_UP_SLICE` rows per index per group commit, so a commit's rows fall in one hash range: the hashed keys are
   * random, and a thousand of them spread over the whole index dirtied nearly every page of both indexes in every
   * commit (a quarter of the bytes the engine benchmark wrote; engine.md, Measured, Round 9). The watermark moves when a
   * batch's last slice commits. The index can lag safely: events above the watermark are deduped from memory and
   * re-read on open.
   */
  const CATCH_UP_BATCH = 4096;
  const CATCH_UP_BATCH_MAX = 8192;
  const CATCH_UP_SLICE = 1024;
  /** Most rows in one multi-row `INSERT` (12 columns × 64 rows stays far below SQLite's bound-variable limit). */
  const INSERT_CHUNK = 64;
  const ENTRY_COLUMNS =
    'seq, connection_id, kind, lane, thread_key, sort_key, not_before, attempts, target_key, payload_id';
  const statements = new Map<string, StatementSync>();
  const manyStatements = new Map<string, StatementSync[]>();
  /** An event above the index watermark. */
  type UnindexedEvent = { seq: number; threadKey: string; hash: number; threadHash: number };
  /** Events above the index watermark, by event id. */
  const unindexed = new Map<string, UnindexedEvent>();
  let indexedSeq = start.indexedSeq;
  for (const [eventId, seq, threadKey, hash, threadHash] of start.unindexed) {
    unindexed.set(eventId, { seq, threadKey, hash, threadHash });
  }

  function storeError(field: string, message: string): Error {
    return Object.assign(new Error(message), { storeField: field });
  }

  function placeholders(count: number): string {
    return new Array<string>(count).fill('?').join(',');
  }

  function chunks<T>(items: readonly T[], size: number): T[][] {
    if (items.length <= size) return items.length === 0 ? [] : [items as T[]];
    const slices: T[][] = [];
    for (let index = 0; index < items.length; index += size) slices.push(items.slice(index, index + size));
    return slices;
  }

  /** Orders flushed messages by the seq of the event that carried them (0, none known, first). */
  function byCarrier(left: WriterFlushRequest['messages'][number], right: WriterFlushRequest['messages'][number]) {
    return left[4] - right[4];
  }

  /** Orders rows by their leading (key) columns, so a batch of random keys walks a B-tree left to right. */
  function byKeyColumns(left: readonly SQLInputValue[], right: readonly SQLInputValue[]): number {
    for (let index = 0; index < left.length; index++) {
      const a = left[index]!;
      const b = right[index]!;
      if (a !== b) return a! < b! ? -1 : 1;
    }
    return 0;
  }

  function sql(text: string): StatementSync {
    let statement = statements.get(text);
    if (statement === undefined) {
      statement = database.prepare(text);
      statements.set(text, statement);
    }
    return statement;
  }

  /** A cached statement for `count` items: `$IN` becomes `?,?,…`, `$ROWS` `(?,…),(?,…),…` of `columns` values. */
  function sqlMany(template: string, count: number, columns = 1): StatementSync {
    let byCount = manyStatements.get(template);
    if (byCount === undefined) {
      byCount = [];
      manyStatements.set(template, byCount);
    }
    let statement = byCount[count];
    if (statement === undefined) {
      const row = `(${placeholders(columns)})`;
      statement = database.prepare(
        template.replace('$IN', placeholders(count)).replace('$ROWS', new Array<string>(count).fill(row).join(',')),
      );
      byCount[count] = statement;
    }
    return statement;
  }

  function transaction<T>(work: () => T): T {
    database.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      database.exec('COMMIT');
      return result;
    } catch (error) {
      if (database.isTransaction) database.exec('ROLLBACK');
      throw error;
    }
  }

  /** Multi-row inserts of `columns`-wide rows, `INSERT_CHUNK` rows per statement. */
  function insertRows(statement: string, columns: number, values: SQLInputValue[][]): void {
    for (const chunk of chunks(values, INSERT_CHUNK)) sqlMany(statement, chunk.length, columns).run(...chunk.flat());
  }

  function addCounter(scope: string, name: string, delta: number): void {
    sql(
      'INSERT INTO counters (scope, name, value) VALUES (?, ?, ?) ON CONFLICT (scope, name) DO UPDATE SET value = value + excluded.value',
    ).run(scope, name, delta);
  }

  /**
   * Lowers `store_state.pending_from` to `seq`: a row at or above it is becoming pending (rows only ever become
   * pending above it on ingest, which needs no update).
   */
  function lowerPendingFrom(seq: number): void {
    sql(
      `INSERT INTO store_state (name, value) VALUES ('pending_from', ?)
       ON CONFLICT (name) DO UPDATE SET value = min(value, excluded.value)`,
    ).run(seq);
  }

  /** Counts a dead (or replayed) event in `<kind>.<lane>.dead` of its number. */
  function countDead(seq: number, delta: number): void {
    sql(
      `INSERT INTO counters (scope, name, value)
       SELECT coalesce(phone_number_id, ''), kind || '.' || lane || '.dead', ? FROM events WHERE seq = ?
       ON CONFLICT (scope, name) DO UPDATE SET value = value + excluded.value`,
    ).run(delta, seq);
  }

  function ingest(request: WriterIngestRequest): WriterIngestReply {
    const reply = transaction((): WriterIngestReply => {
      const events = request.events;
      // Dedupe: in memory above the watermark, `event_hashes` below it (a hash hit is confirmed by the stored id).
      const known = new Set<string>();
      const hashes = new Set<number>();
      for (const row of events) {
        if (unindexed.has(row[0])) known.add(row[0]);
        else hashes.add(row[1]);
      }
      for (const chunk of chunks([...hashes], LOOKUP_CHUNK)) {
        const statement = sqlMany(
          'SELECT e.event_id FROM event_hashes h JOIN events e ON e.seq = h.seq WHERE h.hash IN ($IN)',
          chunk.length,
        );
        // A colliding stored id lands in `known` too, harmlessly: only ids of this input are looked up in it.
        for (const found of statement.all(...chunk)) known.add(String(found.event_id));
      }
      const fresh: number[] = [];
      events.forEach((row, index) => {
        if (known.has(row[0])) return;
        known.add(row[0]);
        fresh.push(index);
      });
      let payloadId = request.payloadId;
      if (payloadId === null && (fresh.length > 0 || events.length === 0)) {
        const stored = sql('SELECT id FROM payloads WHERE sha256 = ?').get(request.sha256);
        if (stored !== undefined) {
          payloadId = Number(stored.id);
        } else {
          const inserted = sql(
            "INSERT INTO payloads (sha256, received_at, raw_body, status) VALUES (?, ?, ?, 'accepted')",
          ).run(request.sha256, request.receivedAt, request.rawBody);
          payloadId = Number(inserted.lastInsertRowid);
        }
      }
      const seqs = new Array<number>(events.length).fill(0);
      const counts = new Map<string, number>();
      const connectionIds = new Set<string>();
      for (const chunk of chunks(fresh, INSERT_CHUNK)) {
        const values: SQLInputValue[] = [];
        for (const index of chunk) {
          const row = events[index]!;
          values.push(row[0], row[2], payloadId, row[3], row[4], row[5], row[6], row[7], row[8], row[9]);
          values.push(row[10] ? 'pending' : 'unrouted');
          if (row[4] !== null && row[5] !== 'meta') connectionIds.add(row[4]);
          const countKey = `${row[3] ?? ''}\u0000${row[5]}.${row[6]}.received`;
          counts.set(countKey, (counts.get(countKey) ?? 0) + 1);
        }
        const inserted = sqlMany(
          `INSERT INTO events (event_id, event_type, payload_id, phone_number_id, connection_id, kind, lane, thread_key,
             target_key, sort_key, state) VALUES $ROWS`,
          chunk.length,
          11,
        ).run(...values);
        // Rowids of one multi-row insert are consecutive: the last one names them all.
        const first = Number(inserted.lastInsertRowid) - chunk.length + 1;
        const bodies: SQLInputValue[] = [];
        chunk.forEach((index, offset) => {
          seqs[index] = first + offset;
          bodies.push(first + offset, events[index]![11]);
        });
        sqlMany('INSERT INTO event_bodies (seq, body) VALUES $ROWS', chunk.length, 2).run(...bodies);
      }
      for (const [key, delta] of counts) {
        const [scope, name] = key.split('\u0000') as [string, string];
        addCounter(scope, name, delta);
      }
      return {
        payloadId,
        inserted: fresh.length,
        duplicates: events.length - fresh.length,
        connectionIds: [...connectionIds],
        seqs,
      };
    });
    // Committed: index the new events in memory until the next flush writes them.
    const events = request.events;
    reply.seqs.forEach((seq, index) => {
      const row = events[index]!;
      if (seq > 0) unindexed.set(row[0], { seq, threadKey: row[7], hash: row[1], threadHash: row[12] });
    });
    return reply;
  }

  /**
   * The catch-up batch under way: its events in hash order and in thread-hash order (references to `unindexed`'s
   * entries, so a batch costs two arrays of pointers), the next slice, the watermark once it is all in.
   */
  let batch: { byHash: UnindexedEvent[]; byThreadHash: UnindexedEvent[]; next: number; watermark: number } | undefined;

  /**
   * This commit's slice of the catch-up batch (forming one from the oldest events above the watermark when there are
   * enough, or any when `all`), and the watermark to store when the slice is the batch's last. `unindexed` holds
   * events in seq order (each ingest adds its seqs, which only grow, after its commit), so a batch is a seq prefix.
   */
  function catchUp(all: boolean): {
    hashRows: [number, number][];
    threadRows: [number, number][];
    end: number;
    watermark: number | undefined;
  } {
    if (batch === undefined) {
      if (unindexed.size === 0 || (!all && unindexed.size < CATCH_UP_BATCH)) {
        return { hashRows: [], threadRows: [], end: 0, watermark: undefined };
      }
      const events: UnindexedEvent[] = [];
      let watermark = indexedSeq;
      for (const event of unindexed.values()) {
        if (events.length === CATCH_UP_BATCH_MAX) break;
        events.push(event);
        if (event.seq > watermark) watermark = event.seq;
      }
      const byHash = events.slice().sort((left, right) => left.hash - right.hash || left.seq - right.seq);
      const byThreadHash = events.sort((left, right) => left.threadHash - right.threadHash || left.seq - right.seq);
      batch = { byHash, byThreadHash, next: 0, watermark };
    }
    const end = Math.min(batch.next + CATCH_UP_SLICE, batch.byHash.length);
    const hashRows: [number, number][] = [];
    const threadRows: [number, number][] = [];
    for (let index = batch.next; index < end; index++) {
      hashRows.push([batch.byHash[index]!.hash, batch.byHash[index]!.seq]);
      threadRows.push([batch.byThreadHash[index]!.threadHash, batch.byThreadHash[index]!.seq]);
    }
    return { hashRows, threadRows, end, watermark: end === batch.byHash.length ? batch.watermark : undefined };
  }

  /** A commit carried the catch-up's slice up to `end`; with the batch's last slice, its events are indexed now. */
  function caughtUp(end: number, watermark: number | undefined): void {
    if (batch === undefined) return;
    batch.next = end;
    if (watermark === undefined) return;
    batch = undefined;
    // In seq order: the indexed ones are a prefix; what was ingested after the batch was formed stays.
    for (const [eventId, event] of unindexed) {
      if (event.seq > watermark) break;
      unindexed.delete(eventId);
    }
    if (watermark > indexedSeq) indexedSeq = watermark;
  }

  /** Events the catch-up wants commits for: the rest of the batch under way, or those that would form one. */
  function toIndex(): number {
    if (batch !== undefined) return batch.byHash.length - batch.next;
    return unindexed.size >= CATCH_UP_BATCH ? unindexed.size : 0;
  }

  function flush(request: WriterFlushRequest): WriterFlushReply {
    const slice = catchUp(request.indexAll);
    transaction(() => {
      const setState = sql('UPDATE events SET state = ? WHERE seq = ?');
      const setRetry = sql('UPDATE events SET state = ?, attempts = ?, not_before = ? WHERE seq = ?');
      let lowestPending = request.pendingFrom ?? Number.POSITIVE_INFINITY;
      for (const [seq, state, attempts, notBefore, reason, errorKind, at] of request.states) {
        if (state === 'pending' && seq < lowestPending) lowestPending = seq;
        if (attempts === null) setState.run(state, seq);
        else setRetry.run(state, attempts, notBefore, seq);
        if (state === 'dead') {
          sql(
            `INSERT INTO dead_letters (seq, event_id, event_type, connection_id, phone_number_id, reason, error_kind, created_at)
             SELECT seq, event_id, event_type, connection_id, phone_number_id, ?, ?, ? FROM events WHERE seq = ?`,
          ).run(reason, errorKind, at, seq);
          countDead(seq, 1);
        }
      }
      if (request.pendingFrom !== null) {
        sql(
          `INSERT INTO store_state (name, value) VALUES ('pending_from', ?)
           ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
        ).run(lowestPending);
      } else if (lowestPending !== Number.POSITIVE_INFINITY) {
        lowerPendingFrom(lowestPending);
      }
      // A message's CRM id goes in `message_crm_ids` under the seq of the event that carried it (`message:<key>`,
      // `messageEventId`; the store names a carrier only for a claimed event with that id), `messages` takes the
      // others (migrations 6 and 8). In seq order, so the rows land on the table's last pages one after the other.
      // Only a carrier finishing in this commit creates a row, so a row marks its event done and that event's `done`
      // update is left out (migration 9: a `pending` row with an id is done). An id no carrier brought updates the
      // row of its message's event if there is one, else goes in `messages`.
      const bySeq = request.messages.length < 2 ? request.messages : [...request.messages].sort(byCarrier);
      const carried: SQLInputValue[][] = [];
      const doneByCrmId = new Set<number>();
      for (const message of bySeq) {
        if (message[4] === 0) continue;
        carried.push([message[4], message[2]]);
        doneByCrmId.add(message[4]);
      }
      insertRows(
        `INSERT INTO message_crm_ids (seq, crm_id) VALUES $ROWS
         ON CONFLICT (seq) DO UPDATE SET crm_id = excluded.crm_id`,
        2,
        carried,
      );
      const updateCrmId = sql(
        `UPDATE message_crm_ids SET crm_id = ?
         WHERE seq = (SELECT seq FROM events WHERE seq = ? AND connection_id = ? AND event_id = ?)`,
      );
      const indexedSeq = sql(
        'SELECT e.seq AS seq FROM event_hashes h JOIN events e ON e.seq = h.seq WHERE h.hash = ? AND e.event_id = ?',
      );
      const withoutEvent: SQLInputValue[][] = [];
      for (const [connectionId, key, crmId, hash, carriedBy] of bySeq) {
        if (carriedBy > 0) continue;
        const eventId = `message:${key}`;
        const seq = unindexed.get(eventId)?.seq ?? (indexedSeq.get(hash, eventId)?.seq as number | undefined);
        if (seq === undefined || Number(updateCrmId.run(crmId, seq, connectionId, eventId).changes) === 0) {
          withoutEvent.push([connectionId, key, crmId]);
        }
      }
      const done = doneByCrmId.size === 0 ? request.done : request.done.filter((seq) => !doneByCrmId.has(seq));
      for (const chunk of chunks(done, LOOKUP_CHUNK)) {
        sqlMany(`UPDATE events SET state = 'done' WHERE seq IN ($IN)`, chunk.length).run(...chunk);
      }
      insertRows(
        `INSERT INTO messages (connection_id, key, crm_id) VALUES $ROWS
         ON CONFLICT (connection_id, key) DO UPDATE SET crm_id = excluded.crm_id`,
        3,
        withoutEvent.sort(byKeyColumns),
      );
      insertRows(
        `INSERT INTO threads (connection_id, thread_key, last_crm_id) VALUES $ROWS
         ON CONFLICT (connection_id, thread_key) DO UPDATE SET last_crm_id = excluded.last_crm_id`,
        3,
        request.heads,
      );
      insertRows(
        `INSERT INTO contacts (connection_id, key, crm_id, parent_id) VALUES $ROWS
         ON CONFLICT (connection_id, key) DO UPDATE SET crm_id = excluded.crm_id, parent_id = excluded.parent_id`,
        4,
        request.contacts,
      );
      for (const [scope, name, delta] of request.counters) addCounter(scope, name, delta);
      const saveDocument = sql(
        'INSERT INTO documents (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      );
      for (const [key, value] of request.documents) saveDocument.run(key, value);
      // OR IGNORE: the catch-up is idempotent (a slice committed before a crash comes again in the batch formed on
      // the next open; a second process that wrongly opened the same file must not wedge every later flush).
      insertRows('INSERT OR IGNORE INTO event_hashes (hash, seq) VALUES $ROWS', 2, slice.hashRows);
      insertRows('INSERT OR IGNORE INTO thread_hashes (hash, seq) VALUES $ROWS', 2, slice.threadRows);
      if (slice.watermark !== undefined) {
        sql(
          `INSERT INTO store_state (name, value) VALUES ('indexed_seq', ?)
           ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)`,
        ).run(slice.watermark);
      }
    });
    caughtUp(slice.end, slice.watermark);
    return { toIndex: toIndex(), unindexed: unindexed.size, indexedSeq };
  }

  return {
    ingest,
    flush,
    recordInvalidPayload(input) {
      return transaction(() => {
        const known = sql('SELECT id FROM payloads WHERE sha256 = ?').get(input.sha256);
        if (known !== undefined) return Number(known.id);
        const inserted = sql(
          "INSERT INTO payloads (sha256, received_at, raw_body, status, error) VALUES (?, ?, ?, 'invalid', ?)",
        ).run(input.sha256, input.receivedAt, input.rawBody, input.error);
        return Number(inserted.lastInsertRowid);
      });
    },
    updateInvalidPayload(id, update) {
      transaction(() => {
        const result =
          update.replayedAt !== undefined
            ? sql("UPDATE payloads SET status = 'replayed', replayed_at = ? WHERE id = ? AND status = 'invalid'").run(
                update.replayedAt,
                id,
              )
            : sql("UPDATE payloads SET error = ? WHERE id = ? AND status = 'invalid'").run(update.error ?? '', id);
        if (Number(result.changes) === 0) throw storeError('id', `no invalid payload ${id}`);
      });
    },
    routeUnrouted(phoneNumberIds, connectionId) {
      const routed: Record<string, unknown>[] = [];
      transaction(() => {
        const route = sql(
          `UPDATE events SET state = 'pending', connection_id = ?
           WHERE state IN ('waiting', 'unrouted', 'dead') AND state = 'unrouted' AND phone_number_id = ?
           RETURNING ${ENTRY_COLUMNS}`,
        );
        for (const id of phoneNumberIds) for (const row of route.all(connectionId, id)) routed.push({ ...row });
        let lowest = Number.POSITIVE_INFINITY;
        for (const row of routed) lowest = Math.min(lowest, Number(row.seq));
        if (routed.length > 0) lowerPendingFrom(lowest);
      });
      return routed;
    },
    rerouteOpenEvents(routes) {
      const served = new Map(routes);
      return transaction(() => {
        const pendingFrom = Number(sql("SELECT value FROM store_state WHERE name = 'pending_from'").get()?.value ?? 0);
        const open = [
          ...sql(
            // `STILL_PENDING` of sqlite-store.ts (this function runs in a worker from its source: no module scope).
            `SELECT seq, phone_number_id, connection_id FROM events WHERE seq >= ? AND kind <> 'meta'
             AND state = 'pending' AND NOT EXISTS (SELECT 1 FROM message_crm_ids m WHERE m.seq = events.seq)`,
          ).all(pendingFrom),
          ...sql(
            "SELECT seq, phone_number_id, connection_id FROM events WHERE state = 'waiting' AND kind <> 'meta'",
          ).all(),
        ];
        const move = sql('UPDATE events SET connection_id = ?, state = ? WHERE seq = ?');
        let moved = 0;
        let lowest = Number.POSITIVE_INFINITY;
        for (const row of open) {
          const connectionId = served.get(String(row.phone_number_id ?? '')) ?? null;
          if (connectionId === (row.connection_id ?? null)) continue;
          move.run(connectionId, connectionId === null ? 'unrouted' : 'pending', Number(row.seq));
          if (connectionId !== null) lowest = Math.min(lowest, Number(row.seq));
          moved++;
        }
        if (lowest !== Number.POSITIVE_INFINITY) lowerPendingFrom(lowest);
        return moved;
      });
    },
    replayDeadLetter(id, at, routes) {
      return transaction(() => {
        const row = sql('SELECT * FROM dead_letters WHERE id = ?').get(id);
        if (row === undefined) throw storeError('id', `no dead letter ${id}`);
        if (row.replayed_at !== null) throw storeError('id', `dead letter ${id} was already replayed`);
        sql('UPDATE dead_letters SET replayed_at = ? WHERE id = ?').run(at, id);
        const seq = Number(row.seq);
        const event = sql(
          "SELECT phone_number_id, connection_id, kind FROM events WHERE seq = ? AND state = 'dead'",
        ).get(seq);
        if (event === undefined) return { letter: { ...row, replayed_at: at }, entry: null };
        // With the engine's routes, to the connection serving its number now (or unrouted when none does).
        const connectionId =
          routes === undefined || event.kind === 'meta'
            ? (event.connection_id ?? null)
            : (new Map(routes).get(String(event.phone_number_id ?? '')) ?? null);
        const entry = sql(
          `UPDATE events SET state = ?, connection_id = ?, attempts = 0, not_before = 0 WHERE seq = ?
           RETURNING ${ENTRY_COLUMNS}`,
        ).get(connectionId === null ? 'unrouted' : 'pending', connectionId, seq);
        countDead(seq, -1);
        if (connectionId === null) return { letter: { ...row, replayed_at: at }, entry: null };
        lowerPendingFrom(seq);
        return { letter: { ...row, replayed_at: at }, entry: entry === undefined ? null : { ...entry } };
      });
    },
    listThreadEvents(threads) {
      const wanted = new Set(threads.map(([threadKey]) => threadKey));
      // A Set: an event of a catch-up batch under way is in the index and still above the watermark.
      const seqs = new Set<number>();
      for (const chunk of chunks([...new Set(threads.map(([, hash]) => hash))], LOOKUP_CHUNK)) {
        const statement = sqlMany(
          'SELECT t.seq, e.thread_key FROM thread_hashes t JOIN events e ON e.seq = t.seq WHERE t.hash IN ($IN)',
          chunk.length,
        );
        // A hash is not a unique key: a colliding thread's rows are left out by their stored key.
        for (const row of statement.all(...chunk)) if (wanted.has(String(row.thread_key))) seqs.add(Number(row.seq));
      }
      for (const event of unindexed.values()) if (wanted.has(event.threadKey)) seqs.add(event.seq);
      const found: { sortKey: number; seq: number; body: string }[] = [];
      for (const chunk of chunks([...seqs], LOOKUP_CHUNK)) {
        const statement = sqlMany(
          `SELECT e.sort_key, e.seq, b.body FROM events e JOIN event_bodies b ON b.seq = e.seq WHERE e.seq IN ($IN)`,
          chunk.length,
        );
        for (const row of statement.all(...chunk)) {
          found.push({ sortKey: Number(row.sort_key), seq: Number(row.seq), body: String(row.body) });
        }
      }
      found.sort((left, right) => left.sortKey - right.sortKey || left.seq - right.seq);
      return found.map((row) => row.body);
    },
    exec(text) {
      database.exec(text);
    },
  };
}
