/**
 * The embedded default store: one SQLite file through `node:sqlite` (`DatabaseSync`), WAL journal with
 * `synchronous=NORMAL` (a commit survives a process crash; the last commits may be lost only on power loss),
 * `user_version`-based migrations and cached prepared statements.
 *
 * What is durable when:
 * - `ingest` (the webhook ack), `recordInvalidPayload`, `updateInvalidPayload`, `replayDeadLetter` and
 *   `routeUnrouted` commit their own `BEGIN IMMEDIATE` transaction before they resolve.
 * - `complete` and `saveContacts` are group-committed: applied at once to the in-memory view (the pending queue,
 *   the message, contact and thread-head maps, which every read consults) and written with the completions around
 *   them in one transaction, at most `FLUSH_INTERVAL_MS` later or as soon as `FLUSH_OUTCOMES` outcomes wait. A
 *   completion is never split across transactions. Every read that reports stored state (`countOpen`,
 *   `readCounters`, dead letters, documents, `findContactKeys`) and `close` flush first. A crash loses at most the
 *   completions of the last interval; their events are still `pending` in the file, so the next start sends them
 *   again, and the adapters' idempotent writes (by wamid, by contact key) answer with the records already there:
 *   nothing is lost and nothing is written twice. That is the argument the engine already relied on for a crash
 *   between a CRM call and its completion; group commit only widens that window from one call to one interval.
 * - The dedupe index (`event_hashes`, on a hash of the event id) and the thread index (`thread_events`) are filled
 *   in the same background transaction, up to a watermark (`store_state.indexed_seq`); events above it are indexed in memory and rebuilt
 *   from `events` on open, so a duplicate is recognised at every moment, before and after a crash.
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import type { CoexistenceEvent } from '../events/coexistence-event.ts';
import {
  type ClaimQuery,
  type ClaimResult,
  type CoexistStore,
  CoexistStoreError,
  type Completion,
  type ContactMapping,
  type DeadLetter,
  type IngestInput,
  type IngestResult,
  type InvalidPayload,
  type PlannedEvent,
  type QueueCount,
  type QueuedEvent,
  type QueueKind,
  type QueueLane,
  type QueueState,
} from './coexist-store.ts';
import { eventIdHash } from './event-id-hash.ts';
import { type PendingEntry, PendingQueue } from './pending-queue.ts';
import { type SqliteCheckpointer, startSqliteCheckpointer } from './sqlite-checkpointer.ts';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.ts';

/** Options of `createSqliteStore`. */
export interface SqliteStoreOptions {
  /** Path of the database file (created when missing); `:memory:` for a throwaway database. */
  path: string;
  /**
   * Milliseconds to wait for a lock held by another connection before failing.
   * @default 5000
   */
  busyTimeoutMs?: number;
}

/** Most keys bound in one `IN (…)` lookup. */
const LOOKUP_CHUNK = 400;
/** Most rows in one multi-row `INSERT` (12 columns × 64 rows stays far below SQLite's bound-variable limit). */
const INSERT_CHUNK = 64;
/** Longest a completion waits in memory before its group commit. */
const FLUSH_INTERVAL_MS = 50;
/** Completed outcomes (or unindexed events) that start a group commit at once. */
const FLUSH_OUTCOMES = 2048;
/** Most recently ingested event objects kept for the claim that will hand them out (each is handed out once). */
const RECENT_EVENTS = 2048;
/** Events ingested after which checkpoints move to a worker thread (small stores, e.g. in tests, never start one). */
const CHECKPOINTER_AFTER_EVENTS = 5000;
/** With the checkpointer running, the main connection checkpoints only past this many WAL pages (a fallback). */
const FALLBACK_CHECKPOINT_PAGES = 32_768;
/** Most contact mappings cached per store (the table stays the source of truth). */
const CONTACT_CACHE = 100_000;

/** `?, ?, …` for `count` values. */
function placeholders(count: number): string {
  return new Array<string>(count).fill('?').join(',');
}

/** `(?, ?), (?, ?), …` for `count` rows of `columns` values. */
function rows(count: number, columns: number): string {
  const row = `(${placeholders(columns)})`;
  return new Array<string>(count).fill(row).join(',');
}

/** The items in slices of at most `size`. */
function chunks<T>(items: readonly T[], size: number): T[][] {
  if (items.length <= size) return items.length === 0 ? [] : [items as T[]];
  const slices: T[][] = [];
  for (let start = 0; start < items.length; start += size) slices.push(items.slice(start, start + size));
  return slices;
}

type Row = Record<string, unknown>;

/**
 * Orders rows by their leading (key) columns, so a batch of random keys walks a B-tree left to right: each page is
 * found once, next to the last, instead of every insert descending to a random leaf.
 */
function byKeyColumns(left: SQLInputValue[], right: SQLInputValue[]): number {
  for (let index = 0; index < left.length; index++) {
    const a = left[index]!;
    const b = right[index]!;
    if (a !== b) return a! < b! ? -1 : 1;
  }
  return 0;
}

/** Opens (creating and migrating when needed) a SQLite-backed store. */
export function createSqliteStore(options: SqliteStoreOptions): CoexistStore {
  if (typeof options?.path !== 'string' || options.path.length === 0) {
    throw new CoexistStoreError('path', 'expected a file path (or ":memory:")');
  }
  // Loaded lazily so importing @coexist/core does not load node:sqlite for users of another store.
  const sqlite = process.getBuiltinModule('node:sqlite');
  const database: DatabaseSync = new sqlite.DatabaseSync(options.path);
  database.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
  database.exec('PRAGMA journal_mode = WAL');
  database.exec('PRAGMA synchronous = NORMAL');
  database.exec('PRAGMA foreign_keys = OFF');
  database.exec('PRAGMA temp_store = MEMORY');
  database.exec('PRAGMA cache_size = -32768');
  // Checkpoint every ~16 MB of WAL instead of 4 MB: a backfill writes tens of MB, and each checkpoint syncs.
  database.exec('PRAGMA wal_autocheckpoint = 4000');
  // Keep the WAL file from staying at its high-water mark after a backfill.
  database.exec('PRAGMA journal_size_limit = 67108864');
  // Migration 4 fills the hashed dedupe index from SQL.
  database.function('coexist_event_hash', { deterministic: true }, (id) => eventIdHash(String(id)));
  migrate(database);
  return new SqliteStore(database, options.path);
}

function migrate(database: DatabaseSync): void {
  const current = Number((database.prepare('PRAGMA user_version').get() as Row).user_version);
  if (current > SQLITE_MIGRATIONS.length) {
    throw new CoexistStoreError(
      'user_version',
      `the database schema (${current}) is newer than this version of @coexist/core knows (${SQLITE_MIGRATIONS.length})`,
    );
  }
  for (let version = current; version < SQLITE_MIGRATIONS.length; version++) {
    database.exec('BEGIN IMMEDIATE');
    try {
      database.exec(SQLITE_MIGRATIONS[version]!);
      database.exec(`PRAGMA user_version = ${version + 1}`);
      database.exec('COMMIT');
    } catch (error) {
      database.exec('ROLLBACK');
      throw error;
    }
  }
}

/** A state change of one event waiting for its group commit. */
interface BufferedState {
  state: 'done' | 'pending' | 'waiting' | 'dead';
  attempts?: number;
  notBefore?: number;
  dead?: { reason: string; errorKind: string; at: string };
}

/** An event above the index watermark: indexed in memory until the next group commit writes it. */
interface UnindexedEvent {
  seq: number;
  threadKey: string;
}

const ENTRY_COLUMNS =
  'seq, connection_id, kind, lane, thread_key, sort_key, not_before, attempts, target_key, payload_id';
const SELECT_PENDING = `SELECT ${ENTRY_COLUMNS} FROM events WHERE state = 'pending'`;
const SELECT_ENTRY = `SELECT ${ENTRY_COLUMNS} FROM events WHERE seq = ?`;
const SELECT_WAITING = `SELECT ${ENTRY_COLUMNS} FROM events
  WHERE state = 'waiting' AND connection_id = ? AND target_key IN ($IN)`;

class SqliteStore implements CoexistStore {
  readonly backend = 'sqlite';
  readonly #database: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  readonly #manyStatements = new Map<string, StatementSync[]>();
  #closed = false;
  /** Pending rows, mirrored in memory so claims never scan the table. */
  readonly #pending = new PendingQueue();
  /** Rows handed out by `claim` and not completed yet. */
  readonly #claimed = new Map<number, PendingEntry>();
  /** Events just ingested, by seq: the claim that hands them out needs no read and no `JSON.parse`. */
  readonly #recent = new Map<number, CoexistenceEvent>();
  /** Events above the index watermark, by event id. */
  readonly #unindexed = new Map<string, UnindexedEvent>();
  #indexedSeq = 0;
  /** Contact mappings read or written (`connectionId \0 key`); bounded, the table is the source of truth. */
  readonly #contactCache = new Map<string, ContactMapping>();

  // ---- the group-commit buffer: applied in memory, written by the next flush ----
  readonly #bufferedStates = new Map<number, BufferedState>();
  /** Buffered `waiting` rows by `connectionId \0 targetKey`, so a message written before the flush unparks them. */
  readonly #bufferedWaits = new Map<string, Set<number>>();
  readonly #bufferedMessages = new Map<string, { connectionId: string; key: string; crmId: string }>();
  readonly #bufferedHeads = new Map<string, { connectionId: string; threadKey: string; crmId: string }>();
  readonly #bufferedContacts = new Map<string, { connectionId: string; key: string } & ContactMapping>();
  readonly #bufferedCounters = new Map<string, number>();
  readonly #bufferedDocuments = new Map<string, string>();
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #flushSoon = false;
  readonly #path: string;
  #checkpointer: SqliteCheckpointer | undefined;
  #ingestedEvents = 0;

  constructor(database: DatabaseSync, path: string) {
    this.#database = database;
    this.#path = path;
    for (const row of this.#sql(SELECT_PENDING).all()) {
      this.#pending.add(toEntry(row as Row));
    }
    this.#indexedSeq = Number(
      (this.#sql("SELECT value FROM store_state WHERE name = 'indexed_seq'").get() as Row | undefined)?.value ?? 0,
    );
    for (const row of this.#sql('SELECT seq, event_id, thread_key FROM events WHERE seq > ?').all(this.#indexedSeq)) {
      this.#unindexed.set(String(row.event_id), { seq: Number(row.seq), threadKey: String(row.thread_key) });
    }
  }

  /**
   * A cached prepared statement for `count` items: `$IN` becomes `?,?,…` and `$ROWS` `(?,…),(?,…),…` of `columns`
   * values. Cached by template, then count, so a lookup never hashes a long generated text.
   */
  #sqlMany(template: string, count: number, columns = 1): StatementSync {
    let byCount = this.#manyStatements.get(template);
    if (byCount === undefined) {
      byCount = [];
      this.#manyStatements.set(template, byCount);
    }
    let statement = byCount[count];
    if (statement === undefined) {
      statement = this.#database.prepare(
        template.replace('$IN', placeholders(count)).replace('$ROWS', rows(count, columns)),
      );
      byCount[count] = statement;
    }
    return statement;
  }

  /** A cached prepared statement. */
  #sql(text: string): StatementSync {
    let statement = this.#statements.get(text);
    if (statement === undefined) {
      statement = this.#database.prepare(text);
      this.#statements.set(text, statement);
    }
    return statement;
  }

  #check(): void {
    if (this.#closed) throw new CoexistStoreError('store', 'the store is closed');
  }

  #transaction<T>(work: () => T): T {
    this.#check();
    this.#database.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      this.#database.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.#database.isTransaction) this.#database.exec('ROLLBACK');
      throw error;
    }
  }

  async ingest(input: IngestInput): Promise<IngestResult> {
    this.#check();
    const added: { entry: PendingEntry; event: CoexistenceEvent; routed: boolean }[] = [];
    const result = this.#transaction(() => {
      const fresh: PlannedEvent[] = [];
      // Dedupe: in memory above the watermark, `event_hashes` below it (a hash hit is confirmed by the stored id).
      const known = new Set<string>();
      const lookup: string[] = [];
      for (const planned of input.events) {
        const id = planned.event.id;
        if (this.#unindexed.has(id)) known.add(id);
        else lookup.push(id);
      }
      const hashes = new Set<number>();
      for (const id of lookup) hashes.add(eventIdHash(id));
      for (const chunk of chunks([...hashes], LOOKUP_CHUNK)) {
        const statement = this.#sqlMany(
          `SELECT e.event_id FROM event_hashes h JOIN events e ON e.seq = h.seq WHERE h.hash IN ($IN)`,
          chunk.length,
        );
        // A colliding stored id lands in `known` too, harmlessly: only ids of this input are looked up in it.
        for (const row of statement.all(...chunk)) known.add(String(row.event_id));
      }
      for (const planned of input.events) {
        if (known.has(planned.event.id)) continue;
        known.add(planned.event.id);
        fresh.push(planned);
      }
      const duplicates = input.events.length - fresh.length;
      let payloadId: number | null = input.payloadId ?? null;
      if (payloadId === null && (fresh.length > 0 || input.events.length === 0)) {
        const stored = this.#sql('SELECT id FROM payloads WHERE sha256 = ?').get(input.sha256) as Row | undefined;
        if (stored !== undefined) {
          payloadId = Number(stored.id);
        } else {
          const inserted = this.#sql(
            "INSERT INTO payloads (sha256, received_at, raw_body, status) VALUES (?, ?, ?, 'accepted')",
          ).run(input.sha256, input.receivedAt, input.rawBody);
          payloadId = Number(inserted.lastInsertRowid);
        }
      }
      const counts = new Map<string, number>();
      const connectionIds = new Set<string>();
      for (const chunk of chunks(fresh, INSERT_CHUNK)) {
        const values: SQLInputValue[] = [];
        const bodies: SQLInputValue[] = [];
        for (const planned of chunk) {
          const event = planned.event;
          const routed = planned.kind === 'meta' || planned.connectionId !== null;
          values.push(
            event.id,
            event.type,
            payloadId,
            event.phoneNumberId ?? null,
            planned.kind === 'meta' ? '' : planned.connectionId,
            planned.kind,
            planned.lane,
            planned.threadKey,
            planned.targetKey,
            planned.sortKey,
            routed ? 'pending' : 'unrouted',
          );
          if (planned.connectionId !== null && planned.kind !== 'meta') connectionIds.add(planned.connectionId);
          const countKey = `${event.phoneNumberId ?? ''}\u0000${planned.kind}.${planned.lane}.received`;
          counts.set(countKey, (counts.get(countKey) ?? 0) + 1);
        }
        const inserted = this.#sqlMany(
          `INSERT INTO events (event_id, event_type, payload_id, phone_number_id, connection_id, kind, lane, thread_key,
             target_key, sort_key, state) VALUES $ROWS`,
          chunk.length,
          11,
        ).run(...values);
        // Rowids of one multi-row insert are consecutive: the last one names them all.
        const first = Number(inserted.lastInsertRowid) - chunk.length + 1;
        for (let index = 0; index < chunk.length; index++) {
          bodies.push(first + index, JSON.stringify(chunk[index]!.event));
        }
        this.#sqlMany(`INSERT INTO event_bodies (seq, body) VALUES $ROWS`, chunk.length, 2).run(...bodies);
        for (let index = 0; index < chunk.length; index++) {
          const planned = chunk[index]!;
          const routed = planned.kind === 'meta' || planned.connectionId !== null;
          added.push({
            event: planned.event,
            entry: {
              seq: first + index,
              connectionId: planned.kind === 'meta' ? '' : (planned.connectionId ?? ''),
              kind: planned.kind,
              lane: planned.lane,
              threadKey: planned.threadKey,
              sortKey: planned.sortKey,
              notBefore: 0,
              attempts: 0,
              targetKey: planned.targetKey,
              payloadId,
            },
            routed,
          });
        }
      }
      const counter = this.#sql(
        'INSERT INTO counters (scope, name, value) VALUES (?, ?, ?) ON CONFLICT (scope, name) DO UPDATE SET value = value + excluded.value',
      );
      for (const [key, delta] of counts) {
        const [scope, name] = key.split('\u0000') as [string, string];
        counter.run(scope, name, delta);
      }
      return { payloadId, inserted: fresh.length, duplicates, connectionIds: [...connectionIds] };
    });
    // Committed: index the new events in memory, queue the routed ones, and keep their objects for the claim
    // (the store hands each one out once; callers do not mutate events after ingest).
    for (const { event, entry, routed } of added) {
      this.#unindexed.set(event.id, { seq: entry.seq, threadKey: entry.threadKey });
      if (!routed) continue;
      this.#pending.add(entry);
      this.#recent.set(entry.seq, event);
    }
    while (this.#recent.size > RECENT_EVENTS) this.#recent.delete(this.#recent.keys().next().value!);
    this.#ingestedEvents += result.inserted;
    if (this.#ingestedEvents >= CHECKPOINTER_AFTER_EVENTS) this.#startCheckpointer();
    this.#scheduleFlush(this.#unindexed.size >= FLUSH_OUTCOMES);
    return result;
  }

  async recordInvalidPayload(input: {
    rawBody: string;
    sha256: string;
    error: string;
    receivedAt: string;
  }): Promise<number> {
    return this.#transaction(() => {
      const known = this.#sql('SELECT id FROM payloads WHERE sha256 = ?').get(input.sha256) as Row | undefined;
      if (known !== undefined) return Number(known.id);
      const inserted = this.#sql(
        "INSERT INTO payloads (sha256, received_at, raw_body, status, error) VALUES (?, ?, ?, 'invalid', ?)",
      ).run(input.sha256, input.receivedAt, input.rawBody, input.error);
      return Number(inserted.lastInsertRowid);
    });
  }

  async listInvalidPayloads(options: { includeReplayed?: boolean } = {}): Promise<InvalidPayload[]> {
    this.#check();
    const rows = options.includeReplayed
      ? this.#sql(
          "SELECT * FROM payloads WHERE status = 'invalid' OR (status = 'replayed' AND error IS NOT NULL) ORDER BY id",
        ).all()
      : this.#sql("SELECT * FROM payloads WHERE status = 'invalid' ORDER BY id").all();
    return rows.map((row) => ({
      id: Number(row.id),
      receivedAt: String(row.received_at),
      rawBody: String(row.raw_body),
      error: String(row.error ?? ''),
      replayedAt: row.replayed_at === null ? null : String(row.replayed_at),
    }));
  }

  async updateInvalidPayload(id: number, update: { replayedAt?: string; error?: string }): Promise<void> {
    this.#transaction(() => {
      const result =
        update.replayedAt !== undefined
          ? this.#sql(
              "UPDATE payloads SET status = 'replayed', replayed_at = ? WHERE id = ? AND status = 'invalid'",
            ).run(update.replayedAt, id)
          : this.#sql("UPDATE payloads SET error = ? WHERE id = ? AND status = 'invalid'").run(update.error ?? '', id);
      if (Number(result.changes) === 0) throw new CoexistStoreError('id', `no invalid payload ${id}`);
    });
  }

  async claim(query: ClaimQuery): Promise<ClaimResult> {
    // Served from memory: claims are not persisted (a crash loses nothing: the rows are still pending).
    this.#check();
    const { entries, nextDueAt } = this.#pending.take(query, {
      limit: query.limit,
      maxPerThread: query.maxPerThread ?? Number.POSITIVE_INFINITY,
      now: query.now,
      blocked: query.blockedThreads,
      maxScan: query.maxScan ?? Math.max(query.limit * 5, 500),
      order: query.order ?? 'oldest-first',
    });
    const bodies = new Map<number, CoexistenceEvent>();
    const missing: number[] = [];
    for (const entry of entries) {
      const event = this.#recent.get(entry.seq);
      if (event === undefined) {
        missing.push(entry.seq);
      } else {
        // Handed out once: a retry reads the stored body again, like any older event.
        this.#recent.delete(entry.seq);
        bodies.set(entry.seq, event);
      }
    }
    for (const chunk of chunks(missing, LOOKUP_CHUNK)) {
      const select = this.#sqlMany(`SELECT seq, body FROM event_bodies WHERE seq IN ($IN)`, chunk.length);
      for (const row of select.all(...chunk)) {
        bodies.set(Number(row.seq), JSON.parse(String(row.body)) as CoexistenceEvent);
      }
    }
    const events: QueuedEvent[] = [];
    for (const entry of entries) {
      this.#claimed.set(entry.seq, entry);
      events.push({
        seq: entry.seq,
        event: bodies.get(entry.seq)!,
        connectionId: entry.connectionId,
        kind: entry.kind as QueueKind,
        lane: entry.lane as QueueLane,
        threadKey: entry.threadKey,
        targetKey: entry.targetKey,
        sortKey: entry.sortKey,
        state: 'pending',
        attempts: entry.attempts,
        notBefore: entry.notBefore,
        payloadId: entry.payloadId,
      });
    }
    return { events, nextDueAt };
  }

  async complete(completion: Completion): Promise<void> {
    this.#check();
    const back: PendingEntry[] = [];
    const settled: number[] = [];
    const messages = completion.messages ?? [];
    // Validate before changing anything, so a bad completion changes nothing.
    for (const outcome of completion.outcomes ?? []) {
      if ((outcome.outcome === 'retry' || outcome.outcome === 'release') && !this.#claimed.has(outcome.seq)) {
        this.#entryOf(outcome.seq, 0);
      }
    }
    for (const message of messages) {
      this.#bufferedMessages.set(`${message.connectionId}\u0000${message.key}`, {
        connectionId: message.connectionId,
        key: message.key,
        crmId: message.crmId,
      });
      // The last message of each thread in the batch becomes its head.
      this.#bufferedHeads.set(`${message.connectionId}\u0000${message.threadKey}`, {
        connectionId: message.connectionId,
        threadKey: message.threadKey,
        crmId: message.crmId,
      });
    }
    this.#bufferContacts(completion.contacts ?? []);
    let outcomes = 0;
    for (const outcome of completion.outcomes ?? []) {
      outcomes++;
      switch (outcome.outcome) {
        case 'done':
          this.#bufferState(outcome.seq, { state: 'done' });
          settled.push(outcome.seq);
          break;
        case 'retry':
          this.#bufferState(outcome.seq, {
            state: 'pending',
            attempts: outcome.attempts,
            notBefore: outcome.notBefore,
          });
          back.push({ ...this.#entryOf(outcome.seq, outcome.notBefore), attempts: outcome.attempts });
          break;
        case 'release': {
          const entry = this.#entryOf(outcome.seq, outcome.notBefore ?? 0);
          this.#bufferState(outcome.seq, {
            state: 'pending',
            attempts: entry.attempts,
            notBefore: outcome.notBefore ?? 0,
          });
          back.push(entry);
          break;
        }
        case 'wait': {
          const key = `${outcome.connectionId}\u0000${outcome.targetKey}`;
          if (this.#messageWritten(outcome.connectionId, outcome.targetKey)) {
            this.#bufferState(outcome.seq, { state: 'pending' });
            back.push(this.#entryOf(outcome.seq, 0));
          } else {
            this.#bufferState(outcome.seq, { state: 'waiting' });
            let waits = this.#bufferedWaits.get(key);
            if (waits === undefined) {
              waits = new Set();
              this.#bufferedWaits.set(key, waits);
            }
            waits.add(outcome.seq);
            settled.push(outcome.seq);
          }
          break;
        }
        case 'dead':
          this.#bufferState(outcome.seq, {
            state: 'dead',
            dead: { reason: outcome.reason, errorKind: outcome.errorKind, at: outcome.at },
          });
          settled.push(outcome.seq);
          break;
      }
    }
    // Written messages unpark the updates waiting for them: those waiting in the buffer, then those in the file.
    const byConnection = new Map<string, string[]>();
    for (const message of messages) {
      const key = `${message.connectionId}\u0000${message.key}`;
      const waits = this.#bufferedWaits.get(key);
      if (waits !== undefined) {
        this.#bufferedWaits.delete(key);
        for (const seq of waits) {
          this.#bufferState(seq, { state: 'pending' });
          back.push(this.#entryOf(seq, 0));
        }
      }
      const keys = byConnection.get(message.connectionId) ?? [];
      keys.push(message.key);
      byConnection.set(message.connectionId, keys);
    }
    for (const [connectionId, keys] of byConnection) {
      for (const chunk of chunks(keys, LOOKUP_CHUNK)) {
        const parked = this.#sqlMany(SELECT_WAITING, chunk.length).all(connectionId, ...chunk);
        for (const row of parked) {
          const entry = toEntry(row as Row);
          // A row whose state changed in the buffer is not waiting any more (or waits in the buffer, seen above).
          if (this.#bufferedStates.has(entry.seq)) continue;
          this.#bufferState(entry.seq, { state: 'pending' });
          back.push(entry);
        }
      }
    }
    for (const { scope, name, delta } of completion.counters ?? []) {
      const key = `${scope}\u0000${name}`;
      this.#bufferedCounters.set(key, (this.#bufferedCounters.get(key) ?? 0) + delta);
    }
    for (const { key, value } of completion.documents ?? []) this.#bufferedDocuments.set(key, JSON.stringify(value));
    for (const seq of settled) this.#claimed.delete(seq);
    for (const entry of back) {
      this.#claimed.delete(entry.seq);
      this.#pending.add(entry);
    }
    this.#scheduleFlush(this.#bufferedStates.size >= FLUSH_OUTCOMES || outcomes === 0);
  }

  /** Buffers a state change; a retry's attempts and delay survive later changes of the same flush. */
  #bufferState(seq: number, change: BufferedState): void {
    const previous = this.#bufferedStates.get(seq);
    if (change.attempts === undefined && previous?.attempts !== undefined) {
      change.attempts = previous.attempts;
      change.notBefore ??= change.state === 'pending' ? 0 : previous.notBefore;
    }
    this.#bufferedStates.set(seq, change);
  }

  /** Whether a message's CRM id is known (buffered or stored). */
  #messageWritten(connectionId: string, key: string): boolean {
    if (this.#bufferedMessages.has(`${connectionId}\u0000${key}`)) return true;
    return (
      this.#sql('SELECT 1 AS found FROM messages WHERE connection_id = ? AND key = ?').get(connectionId, key) !==
      undefined
    );
  }

  /** The index entry of a claimed (or, failing that, stored) row, with a new delay. */
  #entryOf(seq: number, notBefore: number): PendingEntry {
    const claimed = this.#claimed.get(seq);
    if (claimed !== undefined) return { ...claimed, notBefore };
    const row = this.#sql(SELECT_ENTRY).get(seq) as Row | undefined;
    if (row === undefined) throw new CoexistStoreError('outcomes.seq', `no event ${seq}`);
    const buffered = this.#bufferedStates.get(seq);
    const entry = toEntry(row);
    if (buffered?.attempts !== undefined) entry.attempts = buffered.attempts;
    return { ...entry, notBefore };
  }

  /** Moves WAL checkpoints (copy back and sync, the slowest part of a commit) to a worker thread, once. */
  #startCheckpointer(): void {
    if (this.#checkpointer !== undefined || this.#path === ':memory:' || this.#path.startsWith('file:')) return;
    this.#checkpointer = startSqliteCheckpointer(this.#path);
    if (this.#checkpointer !== undefined) {
      this.#database.exec(`PRAGMA wal_autocheckpoint = ${FALLBACK_CHECKPOINT_PAGES}`);
    } else {
      this.#ingestedEvents = Number.NEGATIVE_INFINITY;
    }
  }

  // ---- group commit ----

  /** Arms the flush: at once (next turn of the event loop) when `soon`, else within `FLUSH_INTERVAL_MS`. */
  #scheduleFlush(soon: boolean): void {
    if (this.#closed) return;
    if (soon && !this.#flushSoon) {
      this.#flushSoon = true;
      setImmediate(() => {
        this.#flushSoon = false;
        this.#backgroundFlush();
      });
    }
    if (this.#flushTimer === undefined) {
      this.#flushTimer = setTimeout(() => {
        this.#flushTimer = undefined;
        this.#backgroundFlush();
      }, FLUSH_INTERVAL_MS);
    }
  }

  #backgroundFlush(): void {
    if (this.#closed) return;
    try {
      this.#flush();
    } catch {
      // Kept buffered (the file lock may be held a moment); the next flush, a read or `close` tries again and
      // reports the error if it persists.
      this.#scheduleFlush(false);
    }
  }

  /** Whether anything waits for the next group commit. */
  #dirty(): boolean {
    return (
      this.#bufferedStates.size > 0 ||
      this.#bufferedMessages.size > 0 ||
      this.#bufferedHeads.size > 0 ||
      this.#bufferedContacts.size > 0 ||
      this.#bufferedCounters.size > 0 ||
      this.#bufferedDocuments.size > 0 ||
      this.#unindexed.size > 0
    );
  }

  /** Writes everything buffered, and the in-memory index, in one transaction; clears the buffer once committed. */
  #flush(): void {
    this.#check();
    if (!this.#dirty()) return;
    let watermark = this.#indexedSeq;
    this.#transaction(() => {
      const done: number[] = [];
      const setState = this.#sql('UPDATE events SET state = ? WHERE seq = ?');
      const setRetry = this.#sql('UPDATE events SET state = ?, attempts = ?, not_before = ? WHERE seq = ?');
      for (const [seq, change] of this.#bufferedStates) {
        if (change.state === 'done') {
          done.push(seq);
        } else if (change.state === 'dead') {
          if (change.attempts === undefined) setState.run('dead', seq);
          else setRetry.run('dead', change.attempts, change.notBefore ?? 0, seq);
          const dead = change.dead!;
          this.#sql(
            `INSERT INTO dead_letters (seq, event_id, event_type, connection_id, phone_number_id, reason, error_kind, created_at)
             SELECT seq, event_id, event_type, connection_id, phone_number_id, ?, ?, ? FROM events WHERE seq = ?`,
          ).run(dead.reason, dead.errorKind, dead.at, seq);
          this.#countDead(seq, 1);
        } else if (change.attempts !== undefined) {
          setRetry.run(change.state, change.attempts, change.notBefore ?? 0, seq);
        } else {
          setState.run(change.state, seq);
        }
      }
      done.sort((left, right) => left - right);
      for (const chunk of chunks(done, LOOKUP_CHUNK)) {
        this.#sqlMany(`UPDATE events SET state = 'done' WHERE seq IN ($IN)`, chunk.length).run(...chunk);
      }
      const values: SQLInputValue[][] = [];
      for (const message of this.#bufferedMessages.values()) {
        values.push([message.connectionId, message.key, message.crmId]);
      }
      values.sort(byKeyColumns);
      this.#insertRows(
        `INSERT INTO messages (connection_id, key, crm_id) VALUES $ROWS
         ON CONFLICT (connection_id, key) DO UPDATE SET crm_id = excluded.crm_id`,
        3,
        values.splice(0),
      );
      for (const head of this.#bufferedHeads.values()) values.push([head.connectionId, head.threadKey, head.crmId]);
      this.#insertRows(
        `INSERT INTO threads (connection_id, thread_key, last_crm_id) VALUES $ROWS
         ON CONFLICT (connection_id, thread_key) DO UPDATE SET last_crm_id = excluded.last_crm_id`,
        3,
        values.splice(0),
      );
      for (const contact of this.#bufferedContacts.values()) {
        values.push([contact.connectionId, contact.key, contact.crmId, contact.parentId ?? null]);
      }
      this.#insertRows(
        `INSERT INTO contacts (connection_id, key, crm_id, parent_id) VALUES $ROWS
         ON CONFLICT (connection_id, key) DO UPDATE SET crm_id = excluded.crm_id, parent_id = excluded.parent_id`,
        4,
        values.splice(0),
      );
      const counter = this.#sql(
        'INSERT INTO counters (scope, name, value) VALUES (?, ?, ?) ON CONFLICT (scope, name) DO UPDATE SET value = value + excluded.value',
      );
      for (const [key, delta] of this.#bufferedCounters) {
        const [scope, name] = key.split('\u0000') as [string, string];
        counter.run(scope, name, delta);
      }
      const saveDocument = this.#sql(
        'INSERT INTO documents (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      );
      for (const [key, value] of this.#bufferedDocuments) saveDocument.run(key, value);
      if (this.#unindexed.size > 0) {
        for (const [eventId, event] of this.#unindexed) values.push([eventIdHash(eventId), event.seq]);
        values.sort(byKeyColumns);
        // OR IGNORE: the catch-up is idempotent (a second process that wrongly opened the same file, say, must not wedge
        // every later flush on a key the first one already wrote).
        this.#insertRows('INSERT OR IGNORE INTO event_hashes (hash, seq) VALUES $ROWS', 2, values.splice(0));
        for (const event of this.#unindexed.values()) {
          values.push([event.threadKey, event.seq]);
          watermark = Math.max(watermark, event.seq);
        }
        values.sort(byKeyColumns);
        this.#insertRows('INSERT OR IGNORE INTO thread_events (thread_key, seq) VALUES $ROWS', 2, values.splice(0));
        this.#sql(
          `INSERT INTO store_state (name, value) VALUES ('indexed_seq', ?)
           ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)`,
        ).run(watermark);
      }
    });
    // Committed: the buffer is in the file now.
    for (const contact of this.#bufferedContacts.values()) this.#cacheContact(contact);
    this.#bufferedStates.clear();
    this.#bufferedWaits.clear();
    this.#bufferedMessages.clear();
    this.#bufferedHeads.clear();
    this.#bufferedContacts.clear();
    this.#bufferedCounters.clear();
    this.#bufferedDocuments.clear();
    this.#unindexed.clear();
    this.#indexedSeq = watermark;
  }

  /** Multi-row inserts of `columns`-wide rows, `INSERT_CHUNK` rows per statement. */
  #insertRows(statement: string, columns: number, values: SQLInputValue[][]): void {
    for (const chunk of chunks(values, INSERT_CHUNK)) {
      this.#sqlMany(statement, chunk.length, columns).run(...chunk.flat());
    }
  }

  /** Counts a dead (or replayed) event in `<kind>.<lane>.dead` of its number. */
  #countDead(seq: number, delta: number): void {
    this.#sql(
      `INSERT INTO counters (scope, name, value)
       SELECT coalesce(phone_number_id, ''), kind || '.' || lane || '.dead', ? FROM events WHERE seq = ?
       ON CONFLICT (scope, name) DO UPDATE SET value = value + excluded.value`,
    ).run(delta, seq);
  }

  async routeUnrouted(phoneNumberIds: readonly string[], connectionId: string): Promise<number> {
    this.#flush();
    const routed: PendingEntry[] = [];
    this.#transaction(() => {
      const route = this.#sql(
        `UPDATE events SET state = 'pending', connection_id = ?
         WHERE state IN ('waiting', 'unrouted', 'dead') AND state = 'unrouted' AND phone_number_id = ?
         RETURNING ${ENTRY_COLUMNS}`,
      );
      for (const id of phoneNumberIds) for (const row of route.all(connectionId, id)) routed.push(toEntry(row as Row));
    });
    for (const entry of routed) this.#pending.add(entry);
    return routed.length;
  }

  #bufferContacts(entries: readonly ({ connectionId: string; key: string } & ContactMapping)[]): void {
    for (const entry of entries) {
      const mapping: ContactMapping = { crmId: entry.crmId };
      if (entry.parentId !== undefined) mapping.parentId = entry.parentId;
      this.#bufferedContacts.set(`${entry.connectionId}\u0000${entry.key}`, {
        connectionId: entry.connectionId,
        key: entry.key,
        ...mapping,
      });
    }
  }

  #cacheContact(contact: { connectionId: string; key: string } & ContactMapping): void {
    if (this.#contactCache.size >= CONTACT_CACHE) this.#contactCache.clear();
    const mapping: ContactMapping = { crmId: contact.crmId };
    if (contact.parentId !== undefined) mapping.parentId = contact.parentId;
    this.#contactCache.set(`${contact.connectionId}\u0000${contact.key}`, mapping);
  }

  async getContacts(connectionId: string, keys: readonly string[]): Promise<Map<string, ContactMapping>> {
    this.#check();
    const found = new Map<string, ContactMapping>();
    const missing: string[] = [];
    for (const key of new Set(keys)) {
      const cacheKey = `${connectionId}\u0000${key}`;
      const mapping = this.#bufferedContacts.get(cacheKey) ?? this.#contactCache.get(cacheKey);
      if (mapping === undefined) missing.push(key);
      else
        found.set(
          key,
          mapping.parentId === undefined
            ? { crmId: mapping.crmId }
            : { crmId: mapping.crmId, parentId: mapping.parentId },
        );
    }
    for (const row of this.#lookup(
      'SELECT * FROM contacts WHERE connection_id = ? AND key IN ($IN)',
      connectionId,
      missing,
    )) {
      const mapping: ContactMapping = { crmId: String(row.crm_id) };
      if (row.parent_id !== null) mapping.parentId = String(row.parent_id);
      found.set(String(row.key), mapping);
      this.#cacheContact({ connectionId, key: String(row.key), ...mapping });
    }
    return found;
  }

  async saveContacts(entries: readonly ({ connectionId: string; key: string } & ContactMapping)[]): Promise<void> {
    this.#check();
    this.#bufferContacts(entries);
    this.#scheduleFlush(false);
  }

  async getMessages(connectionId: string, keys: readonly string[]): Promise<Map<string, string>> {
    this.#check();
    const found = new Map<string, string>();
    const missing: string[] = [];
    for (const key of new Set(keys)) {
      const buffered = this.#bufferedMessages.get(`${connectionId}\u0000${key}`);
      if (buffered === undefined) missing.push(key);
      else found.set(key, buffered.crmId);
    }
    for (const row of this.#lookup(
      'SELECT * FROM messages WHERE connection_id = ? AND key IN ($IN)',
      connectionId,
      missing,
    )) {
      found.set(String(row.key), String(row.crm_id));
    }
    return found;
  }

  async getThreadHeads(connectionId: string, threadKeys: readonly string[]): Promise<Map<string, string>> {
    this.#check();
    const found = new Map<string, string>();
    const missing: string[] = [];
    for (const key of new Set(threadKeys)) {
      const buffered = this.#bufferedHeads.get(`${connectionId}\u0000${key}`);
      if (buffered === undefined) missing.push(key);
      else found.set(key, buffered.crmId);
    }
    for (const row of this.#lookup(
      'SELECT * FROM threads WHERE connection_id = ? AND thread_key IN ($IN)',
      connectionId,
      missing,
    )) {
      found.set(String(row.thread_key), String(row.last_crm_id));
    }
    return found;
  }

  /** Rows of a `(connection_id, key)` table for many keys, in chunks of `IN (…)` lookups. */
  #lookup(template: string, connectionId: string, keys: readonly string[]): Row[] {
    const found: Row[] = [];
    for (const chunk of chunks(keys, LOOKUP_CHUNK)) {
      const statement = this.#sqlMany(template, chunk.length);
      for (const row of statement.all(connectionId, ...chunk)) found.push(row as Row);
    }
    return found;
  }

  async listThreadEvents(threadKeys: readonly string[]): Promise<CoexistenceEvent[]> {
    this.#check();
    const wanted = new Set(threadKeys);
    const seqs: number[] = [];
    for (const chunk of chunks([...wanted], LOOKUP_CHUNK)) {
      const statement = this.#sqlMany(`SELECT seq FROM thread_events WHERE thread_key IN ($IN)`, chunk.length);
      for (const row of statement.all(...chunk)) seqs.push(Number(row.seq));
    }
    for (const event of this.#unindexed.values()) if (wanted.has(event.threadKey)) seqs.push(event.seq);
    const found: Row[] = [];
    for (const chunk of chunks(seqs, LOOKUP_CHUNK)) {
      const statement = this.#sqlMany(
        `SELECT e.sort_key, e.seq, b.body FROM events e JOIN event_bodies b ON b.seq = e.seq
         WHERE e.seq IN ($IN)`,
        chunk.length,
      );
      for (const row of statement.all(...chunk)) found.push(row as Row);
    }
    found.sort((left, right) => Number(left.sort_key) - Number(right.sort_key) || Number(left.seq) - Number(right.seq));
    return found.map((row) => JSON.parse(String(row.body)) as CoexistenceEvent);
  }

  async findContactKeys(connectionId: string, crmId: string): Promise<string[]> {
    this.#flush();
    return this.#sql('SELECT key FROM contacts WHERE connection_id = ? AND (crm_id = ? OR parent_id = ?) ORDER BY key')
      .all(connectionId, crmId, crmId)
      .map((row) => String(row.key));
  }

  async listDeadLetters(options: { includeReplayed?: boolean; limit?: number } = {}): Promise<DeadLetter[]> {
    this.#flush();
    const limit = options.limit ?? 1000;
    const rows = options.includeReplayed
      ? this.#sql('SELECT * FROM dead_letters ORDER BY id LIMIT ?').all(limit)
      : this.#sql('SELECT * FROM dead_letters WHERE replayed_at IS NULL ORDER BY id LIMIT ?').all(limit);
    return rows.map((row) => toDeadLetter(row as Row));
  }

  async replayDeadLetter(id: number, at: string): Promise<DeadLetter> {
    this.#flush();
    const back: PendingEntry[] = [];
    const letter = this.#transaction(() => {
      const row = this.#sql('SELECT * FROM dead_letters WHERE id = ?').get(id) as Row | undefined;
      if (row === undefined) throw new CoexistStoreError('id', `no dead letter ${id}`);
      if (row.replayed_at !== null) throw new CoexistStoreError('id', `dead letter ${id} was already replayed`);
      this.#sql('UPDATE dead_letters SET replayed_at = ? WHERE id = ?').run(at, id);
      const changed = this.#sql(
        "UPDATE events SET state = 'pending', attempts = 0, not_before = 0 WHERE seq = ? AND state = 'dead'",
      ).run(Number(row.seq));
      if (Number(changed.changes) > 0) {
        this.#countDead(Number(row.seq), -1);
        back.push({ ...this.#entryOf(Number(row.seq), 0), attempts: 0 });
      }
      return toDeadLetter({ ...row, replayed_at: at });
    });
    for (const entry of back) this.#pending.add(entry);
    return letter;
  }

  async countOpen(): Promise<QueueCount[]> {
    this.#flush();
    const pending = this.#sql(
      `SELECT phone_number_id, kind, lane, 'pending' AS state, count(*) AS count FROM events WHERE state = 'pending'
       GROUP BY phone_number_id, kind, lane`,
    ).all();
    const parked = this.#sql(
      `SELECT phone_number_id, kind, lane, state, count(*) AS count FROM events
       WHERE state IN ('waiting', 'unrouted', 'dead') GROUP BY phone_number_id, kind, lane, state`,
    ).all();
    return [...pending, ...parked].map((row) => ({
      phoneNumberId: row.phone_number_id === null ? null : String(row.phone_number_id),
      kind: String(row.kind) as QueueKind,
      lane: String(row.lane) as QueueLane,
      state: String(row.state) as QueueState,
      count: Number(row.count),
    }));
  }

  async readCounters(): Promise<Record<string, Record<string, number>>> {
    this.#flush();
    const counters: Record<string, Record<string, number>> = {};
    for (const row of this.#sql('SELECT scope, name, value FROM counters').all()) {
      const scope = String(row.scope);
      counters[scope] ??= {};
      counters[scope][String(row.name)] = Number(row.value);
    }
    return counters;
  }

  async getDocument<T>(key: string): Promise<T | undefined> {
    this.#flush();
    const row = this.#sql('SELECT value FROM documents WHERE key = ?').get(key) as Row | undefined;
    return row === undefined ? undefined : (JSON.parse(String(row.value)) as T);
  }

  async listDocuments<T>(prefix: string): Promise<{ key: string; value: T }[]> {
    this.#flush();
    const rows = this.#sql('SELECT key, value FROM documents WHERE key >= ? AND key < ? ORDER BY key').all(
      prefix,
      `${prefix}\uffff`,
    ) as Row[];
    return rows.map((row) => ({ key: String(row.key), value: JSON.parse(String(row.value)) as T }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    try {
      this.#flush();
    } finally {
      // The checkpointer's connection first, so closing the last connection checkpoints and removes the WAL.
      await this.#checkpointer?.close();
      this.#checkpointer = undefined;
      this.#closed = true;
      this.#statements.clear();
      this.#manyStatements.clear();
      this.#recent.clear();
      this.#database.close();
    }
  }
}

function toEntry(row: Row): PendingEntry {
  return {
    seq: Number(row.seq),
    connectionId: String(row.connection_id ?? ''),
    kind: String(row.kind),
    lane: String(row.lane),
    threadKey: String(row.thread_key),
    sortKey: Number(row.sort_key),
    notBefore: Number(row.not_before),
    attempts: Number(row.attempts),
    targetKey: row.target_key === null ? null : String(row.target_key),
    payloadId: row.payload_id === null ? null : Number(row.payload_id),
  };
}

function toDeadLetter(row: Row): DeadLetter {
  return {
    id: Number(row.id),
    seq: Number(row.seq),
    eventId: String(row.event_id),
    eventType: String(row.event_type),
    connectionId: row.connection_id === null ? null : String(row.connection_id),
    phoneNumberId: row.phone_number_id === null ? null : String(row.phone_number_id),
    reason: String(row.reason),
    errorKind: String(row.error_kind),
    createdAt: String(row.created_at),
    replayedAt: row.replayed_at === null ? null : String(row.replayed_at),
  };
}
