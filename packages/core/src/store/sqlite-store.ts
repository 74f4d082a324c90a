/**
 * The embedded default store: one SQLite file through `node:sqlite` (`DatabaseSync`), WAL journal with
 * `synchronous=NORMAL` by default (a commit survives a process crash; the last commits may be lost only on power loss
 * or an OS crash; `synchronous: 'full'` syncs each commit),
 * `user_version`-based migrations and cached prepared statements.
 *
 * The writes live in `sqlite-writer.ts`, one writer for all of them (SQLite has one writer), run by
 * `sqlite-writer-host.ts`: on this thread's connection by default, or with `writerThread: true` on a second
 * connection in a worker thread, while this thread keeps the in-memory queue and reads committed state.
 *
 * What is durable when:
 * - `ingest` (the webhook ack), `recordInvalidPayload`, `updateInvalidPayload`, `replayDeadLetter` and
 *   `routeUnrouted` commit their own `BEGIN IMMEDIATE` transaction before they resolve.
 * - `complete` and `saveContacts` are group-committed: applied at once to the in-memory view (the pending queue,
 *   overlays of the message, contact and thread-head maps, which every read consults first) and sent to the writer
 *   with the completions around them as one transaction, at most `FLUSH_INTERVAL_MS` later or as soon as
 *   `FLUSH_OUTCOMES` outcomes wait. An overlay entry is dropped only once the transaction that carries it
 *   committed, so reads see it either in memory or in the file. A completion is never split across transactions.
 *   Every read that reports stored state (`countOpen`, `readCounters`, dead letters, documents, `findContactKeys`)
 *   and `close` flush and wait for the commit first. A crash loses at most the completions of the last interval;
 *   their events are still `pending` in the file, so the next start sends them again, and the adapters' idempotent
 *   writes (by wamid, by contact key) answer with the records already there: nothing is lost and nothing is
 *   written twice. That is the argument the engine already relied on for a crash between a CRM call and its
 *   completion; group commit only widens that window from one call to one interval.
 * - The dedupe index (`event_hashes`, on a hash of the event id) and the thread index (`thread_hashes`, on a hash of
 *   the thread key) are filled in the same background transaction, up to a watermark (`store_state.indexed_seq`);
 *   events above it are indexed in memory (by the writer) and rebuilt from `events` on open, so a duplicate is
 *   recognised at every moment, before and after a crash.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { CoexistenceEvent } from '../events/coexistence-event.ts';
import { messageEventId } from '../webhook/event-id.ts';
import {
  type ClaimQuery,
  type ClaimResult,
  type CoexistStore,
  CoexistStoreError,
  type Completion,
  type ContactMapping,
  type DeadLetter,
  deadLetterLimit,
  type IngestInput,
  type IngestResult,
  type InvalidPayload,
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
import { emptyFlushRequest, type SqliteWriter, type WriterEventRow } from './sqlite-writer.ts';
import { type SqliteWriterHost, startSqliteWriterHost } from './sqlite-writer-host.ts';

/** Options of `createSqliteStore`. */
export interface SqliteStoreOptions {
  /** Path of the database file (created when missing); `:memory:` for a throwaway database. */
  path: string;
  /**
   * Milliseconds to wait for a lock held by another connection before failing.
   * @default 5000
   */
  busyTimeoutMs?: number;
  /**
   * Run the store's one writer (every ingest, group commit and operator write) in a worker thread with its own
   * connection, off the event loop. It pays where webhook deliveries overlap and a core is free (~18% less engine
   * time in the engine benchmark with 4 deliveries in flight); with one delivery at a time the engine waits for each
   * commit anyway and the hand-off made it slower, and the thread adds 25–65 MB of resident memory (its isolate's
   * young generation follows the process's `--max-semi-space-size`) and up to ~30 ms to the ack p99, so it is off by
   * default (docs/serve.md *Throughput*). Ignored for `:memory:` databases.
   * @default false
   */
  writerThread?: boolean;
  /**
   * SQLite's page cache per connection, in megabytes (the store opens one or two, plus a checkpointer). Pages
   * beyond it come from the operating system's file cache, so a smaller cache costs little: in the engine benchmark
   * 8 MB ran as fast as 32 MB and kept ~20 MB less resident.
   * @default 8
   */
  cacheSizeMb?: number;
  /**
   * When a commit reaches the disk (SQLite's `synchronous`). `'normal'`: a commit survives a crash of the process
   * (`kill -9`), and the WAL is synced at each checkpoint, so a power cut or an operating-system crash may lose the
   * last commits — webhooks already answered 200, which Meta does not send again. `'full'`: each commit syncs the WAL
   * before it resolves, so an acknowledged webhook survives those too, at one `fsync` per commit (on the engine
   * benchmark's VM: docs/engine.md *The store*).
   * @default 'normal'
   */
  synchronous?: 'normal' | 'full';
}

/** Default of `SqliteStoreOptions.cacheSizeMb`. */
const DEFAULT_CACHE_SIZE_MB = 8;

/** Most keys bound in one `IN (…)` lookup. */
const LOOKUP_CHUNK = 400;
/** Longest a completion waits in memory before its group commit. */
const FLUSH_INTERVAL_MS = 50;
/** Completed outcomes (or unindexed events) that start a group commit at once. */
const FLUSH_OUTCOMES = 2048;
/**
 * A group commit carries a new `pending_from` every time while under 4,096 rows wait; else once the rows settled
 * since the last one number a quarter of those waiting. The floor is a walk over every pending row: timed by the
 * rows that left, it costs at most this many steps per settled row, however long the backlog (every eighth commit
 * walked ~200,000 rows in the engine benchmark's ack phase: 5 ms each, 322 ms in all; docs/engine.md, round 12).
 */
const PENDING_FLOOR_STEPS_PER_SETTLED = 4;
/**
 * Most recently ingested event objects kept for the claim that will hand them out (each is handed out once). With
 * 2,048, the history claims of the engine benchmark read a fifth of their bodies back from the file; 8,192 ran ~5%
 * faster at the same peak RSS (docs/engine.md, round 10).
 */
const RECENT_EVENTS = 8192;
/** Events ingested after which checkpoints move to a worker thread (small stores, e.g. in tests, never start one). */
const CHECKPOINTER_AFTER_EVENTS = 5000;
/** With the checkpointer running, the main connection checkpoints only past this many WAL pages (a fallback). */
const FALLBACK_CHECKPOINT_PAGES = 32_768;
/** Most contact mappings cached per store (the table stays the source of truth). */
const CONTACT_CACHE = 100_000;
/**
 * Most thread heads cached per store, with the threads known to have none (`null`): every message batch asks for the
 * heads of its threads, and a backfill's threads are mostly new, so without it each batch probed `threads` for ~100
 * keys that are not there (~2% of the engine benchmark's time). Exact: every write of `threads` goes through this
 * store, and a commit updates the threads cached.
 */
const THREAD_HEAD_CACHE = 50_000;

/** `?, ?, …` for `count` values. */
function placeholders(count: number): string {
  return new Array<string>(count).fill('?').join(',');
}

/** The items in slices of at most `size`. */
function chunks<T>(items: readonly T[], size: number): T[][] {
  if (items.length <= size) return items.length === 0 ? [] : [items as T[]];
  const slices: T[][] = [];
  for (let start = 0; start < items.length; start += size) slices.push(items.slice(start, start + size));
  return slices;
}

type Row = Record<string, unknown>;

/** Opens (creating and migrating when needed) a SQLite-backed store. */
export function createSqliteStore(options: SqliteStoreOptions): CoexistStore {
  if (typeof options?.path !== 'string' || options.path.length === 0) {
    throw new CoexistStoreError('path', 'expected a file path (or ":memory:")');
  }
  const synchronous = options.synchronous ?? 'normal';
  if (synchronous !== 'normal' && synchronous !== 'full') {
    throw new CoexistStoreError('synchronous', "expected 'normal' or 'full'");
  }
  const cacheSizeMb = options.cacheSizeMb ?? DEFAULT_CACHE_SIZE_MB;
  if (typeof cacheSizeMb !== 'number' || !Number.isFinite(cacheSizeMb) || cacheSizeMb <= 0) {
    throw new CoexistStoreError('cacheSizeMb', 'expected a positive number of megabytes');
  }
  // Loaded lazily so importing @coexist/core does not load node:sqlite for users of another store.
  const sqlite = process.getBuiltinModule('node:sqlite');
  const database: DatabaseSync = new sqlite.DatabaseSync(options.path);
  const pragmas = [
    `PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`,
    `PRAGMA synchronous = ${synchronous.toUpperCase()}`,
    'PRAGMA foreign_keys = OFF',
    'PRAGMA temp_store = MEMORY',
    `PRAGMA cache_size = ${-Math.round(cacheSizeMb * 1024)}`,
    // Checkpoint every ~16 MB of WAL instead of 4 MB: a backfill writes tens of MB, and each checkpoint syncs.
    'PRAGMA wal_autocheckpoint = 4000',
    // Keep the WAL file from staying at its high-water mark after a backfill.
    'PRAGMA journal_size_limit = 67108864',
  ];
  database.exec(pragmas[0]!);
  database.exec('PRAGMA journal_mode = WAL');
  for (const pragma of pragmas.slice(1)) database.exec(pragma);
  // Migration 4 fills the hashed dedupe index from SQL.
  database.function('coexist_event_hash', { deterministic: true }, (id) => eventIdHash(String(id)));
  migrate(database);
  const inMemory = options.path === ':memory:' || options.path.startsWith('file:');
  return new SqliteStore(database, options.path, pragmas, !inMemory && options.writerThread === true);
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

/** A state change of one event waiting for its group commit; `generation` is the flush that carries it. */
interface BufferedState {
  state: 'done' | 'pending' | 'waiting' | 'dead';
  attempts?: number;
  notBefore?: number;
  dead?: { reason: string; errorKind: string; at: string };
  generation: number;
}

const ENTRY_COLUMNS =
  'seq, connection_id, kind, lane, thread_key, sort_key, not_before, attempts, target_key, payload_id';
/**
 * A row still `pending` in the file is open unless `message_crm_ids` has its seq: a message event's `done` is that
 * row, written in the commit that finished it (migration 9). (Repeated in the writer's `rerouteOpenEvents`.)
 */
const STILL_PENDING = `state = 'pending' AND NOT EXISTS (SELECT 1 FROM message_crm_ids m WHERE m.seq = events.seq)`;
/** Pending rows, scanned by rowid from `store_state.pending_from` up (the pending rows have no index). */
const SELECT_PENDING = `SELECT ${ENTRY_COLUMNS} FROM events WHERE seq >= ? AND ${STILL_PENDING}`;
const SELECT_ENTRY = `SELECT ${ENTRY_COLUMNS} FROM events WHERE seq = ?`;
const SELECT_WAITING = `SELECT ${ENTRY_COLUMNS} FROM events
  WHERE state = 'waiting' AND connection_id = ? AND target_key IN ($IN)`;

/** A writer error as a store error when it names the caller's field at fault; any other error as it is. */
function toStoreError(error: unknown): unknown {
  const field = (error as { storeField?: unknown } | null)?.storeField;
  return typeof field === 'string' ? new CoexistStoreError(field, (error as Error).message) : error;
}

class SqliteStore implements CoexistStore {
  readonly backend = 'sqlite';
  /** This thread's connection: reads (and the writes, when the writer runs on this thread). */
  readonly #database: DatabaseSync;
  /** Every write: from a worker thread over its own connection, or on this connection. */
  readonly #writer: SqliteWriterHost;
  readonly #statements = new Map<string, StatementSync>();
  readonly #manyStatements = new Map<string, StatementSync[]>();
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Pending rows, mirrored in memory so claims never scan the table. */
  #pending = new PendingQueue();
  /** Rows handed out by `claim` and not completed yet. */
  readonly #claimed = new Map<number, PendingEntry>();
  /**
   * The claimed message events whose id is `message:<target key>` (`messageEventId`): only those carry their
   * message's CRM id to the writer, which files it under their seq without reading their row.
   */
  readonly #carriers = new Set<number>();
  /** Events just ingested, by seq: the claim that hands them out needs no read and no `JSON.parse`. */
  readonly #recent = new Map<number, CoexistenceEvent>();
  /** No seq below this one is in `#recent` (entries go in in seq order): where its eviction goes on. */
  #recentFloor = 0;
  /** Contact mappings read or written (`connectionId \0 key`); bounded, the table is the source of truth. */
  readonly #contactCache = new Map<string, ContactMapping>();
  /** Committed thread heads by `connection\u0000thread`, `null` for a thread with none (see `THREAD_HEAD_CACHE`). */
  readonly #threadHeadCache = new Map<string, string | null>();

  // ---- the group-commit overlays: applied in memory, dropped once the flush that carries them committed ----
  readonly #bufferedStates = new Map<number, BufferedState>();
  /**
   * `connectionId \0 targetKey` of every message that updates may wait for in the file (a superset: loaded on open,
   * added on each `wait`, removed once a written message looked its waiting rows up), so a written message whose
   * key nobody waits for costs no look-up.
   */
  readonly #waitingKeys = new Set<string>();
  /** Buffered `waiting` rows by `connectionId \0 targetKey`, so a message written before the flush unparks them. */
  readonly #bufferedWaits = new Map<string, Set<number>>();
  /** Written messages not committed yet; `seq` is the claimed event that carried the message, when known. */
  readonly #bufferedMessages = new Map<
    string,
    { connectionId: string; key: string; crmId: string; seq: number; generation: number }
  >();
  readonly #bufferedHeads = new Map<
    string,
    { connectionId: string; threadKey: string; crmId: string; generation: number }
  >();
  readonly #bufferedContacts = new Map<
    string,
    { connectionId: string; key: string; generation: number } & ContactMapping
  >();
  #bufferedCounters = new Map<string, number>();
  #bufferedDocuments = new Map<string, string>();
  /** The generation new changes join: the flush that will carry them. */
  #generation = 1;
  /** Whether anything of the current generation waits to be sent. */
  #dirty = false;
  #statesInGeneration = 0;
  /**
   * Events the index catch-up wants group commits for: ingested since the last flush was sent, or what the last
   * flush's reply left (a batch under way, or enough events above the watermark for one).
   */
  #unindexedEvents = 0;
  /** Events above the index watermark, as of the last flush's reply (indexed all at once when the store is quiet). */
  #aboveWatermark = 0;
  /** Whether an ingest committed since the last flush was sent (a quiet store indexes every event above the watermark). */
  #ingestedSinceFlush = false;
  /**
   * Message events above the index watermark: event id → seq, in seq order. A message's CRM id is found through the
   * dedupe index, or — above its watermark — through this map, without scanning the rows above it.
   */
  readonly #unindexedMessages = new Map<string, number>();
  /** The highest seq this store has seen committed (at open, or in an ingest's reply). */
  #highestSeq = 0;
  /** Rows settled (done, waiting, dead) since the pending floor was last walked (`PENDING_FLOOR_STEPS_PER_SETTLED`). */
  #settledSinceFloor = 0;
  /**
   * Writes under way that make rows pending again (`replayDeadLetter`, `routeUnrouted`), counted from before they are
   * sent until their rows are in `#pending`. While any is under way a group commit stores no new pending floor: the
   * floor is walked over `#pending`, which does not hold those rows yet, so it could land above them, and the writer
   * would apply it after the write that lowered the floor for them (with the writer thread, a group commit can be
   * sent in between) — leaving a pending row below `pending_from`, never loaded again after a restart.
   */
  #becomingPending = 0;
  /** The flush in flight (one at a time, so a failed one can be merged into the next without reordering). */
  #flushing: Promise<void> | undefined;
  #flushAgain = false;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #flushSoon = false;
  readonly #path: string;
  #checkpointer: SqliteCheckpointer | undefined;
  #ingestedEvents = 0;

  constructor(database: DatabaseSync, path: string, pragmas: readonly string[], threaded: boolean) {
    this.#database = database;
    this.#path = path;
    this.#loadPending();
    this.#highestSeq = Number((this.#sql('SELECT coalesce(max(seq), 0) AS seq FROM events').get() as Row).seq);
    const indexedSeq = Number(
      (this.#sql("SELECT value FROM store_state WHERE name = 'indexed_seq'").get() as Row | undefined)?.value ?? 0,
    );
    const unindexed: [string, number, string, number, number][] = [];
    for (const row of this.#sql('SELECT seq, event_id, thread_key, kind FROM events WHERE seq > ? ORDER BY seq').all(
      indexedSeq,
    )) {
      const eventId = String(row.event_id);
      const threadKey = String(row.thread_key);
      unindexed.push([eventId, Number(row.seq), threadKey, eventIdHash(eventId), eventIdHash(threadKey)]);
      if (row.kind === 'message') this.#unindexedMessages.set(eventId, Number(row.seq));
    }
    for (const row of this.#sql("SELECT connection_id, target_key FROM events WHERE state = 'waiting'").all()) {
      this.#waitingKeys.add(`${String(row.connection_id ?? '')}\u0000${String(row.target_key)}`);
    }
    this.#unindexedEvents = unindexed.length;
    this.#aboveWatermark = unindexed.length;
    this.#writer = startSqliteWriterHost({ path, database, pragmas, threaded, start: { indexedSeq, unindexed } });
  }

  /** Fills the in-memory pending queue from the file: the open rows from `store_state.pending_from` up. */
  #loadPending(): void {
    const pendingFrom = Number(
      (this.#sql("SELECT value FROM store_state WHERE name = 'pending_from'").get() as Row | undefined)?.value ?? 0,
    );
    for (const row of this.#sql(SELECT_PENDING).all(pendingFrom)) {
      this.#pending.add(toEntry(row as Row));
    }
  }

  /**
   * A cached prepared statement for `count` items: `$IN` becomes `?,?,…`. Cached by template, then count, so a
   * lookup never hashes a long generated text.
   */
  #sqlMany(template: string, count: number): StatementSync {
    let byCount = this.#manyStatements.get(template);
    if (byCount === undefined) {
      byCount = [];
      this.#manyStatements.set(template, byCount);
    }
    let statement = byCount[count];
    if (statement === undefined) {
      statement = this.#database.prepare(template.replace('$IN', placeholders(count)));
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

  /**
   * Runs a writer operation after the writes already sent (the writer runs them in order); its input errors come
   * out as `CoexistStoreError`s.
   */
  async #write<Operation extends Exclude<keyof SqliteWriter, 'exec'>>(
    operation: Operation,
    ...parameters: Parameters<SqliteWriter[Operation]>
  ): Promise<ReturnType<SqliteWriter[Operation]>> {
    this.#check();
    try {
      return await this.#writer.call(operation, ...parameters);
    } catch (error) {
      throw toStoreError(error);
    }
  }

  async ingest(input: IngestInput): Promise<IngestResult> {
    this.#check();
    const rows = input.events.map((planned): WriterEventRow => {
      const event = planned.event;
      return [
        event.id,
        eventIdHash(event.id),
        event.type,
        event.phoneNumberId ?? null,
        planned.kind === 'meta' ? '' : planned.connectionId,
        planned.kind,
        planned.lane,
        planned.threadKey,
        planned.targetKey,
        planned.sortKey,
        planned.kind === 'meta' || planned.connectionId !== null,
        JSON.stringify(event),
        eventIdHash(planned.threadKey),
      ];
    });
    const reply = await this.#write('ingest', {
      sha256: input.sha256,
      receivedAt: input.receivedAt,
      rawBody: input.rawBody,
      payloadId: input.payloadId ?? null,
      events: rows,
    });
    // Committed: queue the routed events, and keep their objects for the claim (the store hands each one out
    // once; callers do not mutate events after ingest).
    for (let index = 0; index < rows.length; index++) {
      const seq = reply.seqs[index]!;
      if (seq === 0) continue;
      const planned = input.events[index]!;
      // Routed or not (an unrouted message is written once its number is routed).
      if (planned.kind === 'message') this.#unindexedMessages.set(planned.event.id, seq);
      if (!rows[index]![10]) continue;
      this.#pending.add({
        seq,
        connectionId: planned.kind === 'meta' ? '' : (planned.connectionId ?? ''),
        kind: planned.kind,
        lane: planned.lane,
        threadKey: planned.threadKey,
        sortKey: planned.sortKey,
        notBefore: 0,
        attempts: 0,
        targetKey: planned.targetKey,
        payloadId: reply.payloadId,
      });
      if (this.#recent.size === 0) this.#recentFloor = seq;
      this.#recent.set(seq, planned.event);
    }
    // The oldest first, by seq. (`keys().next()` walks past every entry deleted since the map last rehashed: ~4 µs
    // an eviction at 8,192 entries, ~3 ms of each 1,000-event ack while the engine runs behind; docs/engine.md.)
    while (this.#recent.size > RECENT_EVENTS) this.#recent.delete(this.#recentFloor++);
    for (const seq of reply.seqs) if (seq > this.#highestSeq) this.#highestSeq = seq;
    this.#unindexedEvents += reply.inserted;
    if (reply.inserted > 0) this.#ingestedSinceFlush = true;
    this.#ingestedEvents += reply.inserted;
    if (this.#ingestedEvents >= CHECKPOINTER_AFTER_EVENTS) this.#startCheckpointer();
    if (reply.inserted > 0) this.#scheduleFlush(this.#unindexedEvents >= FLUSH_OUTCOMES);
    return {
      payloadId: reply.payloadId,
      inserted: reply.inserted,
      duplicates: reply.duplicates,
      connectionIds: reply.connectionIds,
    };
  }

  async recordInvalidPayload(input: {
    rawBody: string;
    sha256: string;
    error: string;
    receivedAt: string;
  }): Promise<number> {
    this.#check();
    return this.#write('recordInvalidPayload', input);
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
    this.#check();
    await this.#write('updateInvalidPayload', id, update);
  }
  async claim(query: ClaimQuery): Promise<ClaimResult> {
    // Served from memory: claims are not persisted (a crash loses nothing: the rows are still pending).
    this.#check();
    const { entries, nextDueAt } = this.#pending.claim(query);
    const events: QueuedEvent[] = new Array(entries.length);
    // Bodies not kept in memory, read from the file: their seq → index in `events`.
    const missing = new Map<number, number>();
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index]!;
      const event = this.#recent.get(entry.seq);
      // Handed out once: a retry reads the stored body again, like any older event.
      if (event === undefined) missing.set(entry.seq, index);
      else this.#recent.delete(entry.seq);
      this.#claimed.set(entry.seq, entry);
      events[index] = {
        seq: entry.seq,
        event: event as CoexistenceEvent,
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
      };
    }
    for (const chunk of chunks([...missing.keys()], LOOKUP_CHUNK)) {
      const select = this.#sqlMany(`SELECT seq, body FROM event_bodies WHERE seq IN ($IN)`, chunk.length);
      for (const row of select.all(...chunk)) {
        events[missing.get(Number(row.seq))!]!.event = JSON.parse(String(row.body)) as CoexistenceEvent;
      }
    }
    for (const queued of events) {
      if (
        queued.kind === 'message' &&
        queued.targetKey !== null &&
        queued.event.id === messageEventId(queued.targetKey)
      ) {
        this.#carriers.add(queued.seq);
      }
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
    // The claimed message events of this completion, by the message they carried: the writer files each CRM id
    // under its event's seq, with no look-up (migrations 8 and 9). Keyed by the message key alone (a completion's
    // messages are one connection's; the connection is checked on use), so no key string is built per outcome.
    const carriedBy = new Map<string, PendingEntry>();
    for (const outcome of completion.outcomes ?? []) {
      const claimed = outcome.outcome === 'done' ? this.#claimed.get(outcome.seq) : undefined;
      if (claimed !== undefined && this.#carriers.has(claimed.seq)) carriedBy.set(claimed.targetKey!, claimed);
    }
    // Each message's buffer key, built once: the unparking below uses it again.
    const messageKeys = new Array<string>(messages.length);
    for (let index = 0; index < messages.length; index++) {
      const message = messages[index]!;
      const key = `${message.connectionId}\u0000${message.key}`;
      messageKeys[index] = key;
      const carrier = carriedBy.get(message.key);
      this.#bufferedMessages.set(key, {
        connectionId: message.connectionId,
        key: message.key,
        crmId: message.crmId,
        seq: carrier?.connectionId === message.connectionId ? carrier.seq : 0,
        generation: this.#generation,
      });
      // The last message of each thread in the batch becomes its head.
      this.#bufferedHeads.set(`${message.connectionId}\u0000${message.threadKey}`, {
        connectionId: message.connectionId,
        threadKey: message.threadKey,
        crmId: message.crmId,
        generation: this.#generation,
      });
      this.#dirty = true;
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
            this.#waitingKeys.add(key);
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
    for (let index = 0; index < messages.length; index++) {
      const message = messages[index]!;
      const key = messageKeys[index]!;
      const waits = this.#bufferedWaits.get(key);
      if (waits !== undefined) {
        this.#bufferedWaits.delete(key);
        for (const seq of waits) {
          this.#bufferState(seq, { state: 'pending' });
          back.push(this.#entryOf(seq, 0));
        }
      }
      // Looked up below, which unparks every waiting row of the key in the file.
      if (!this.#waitingKeys.delete(key)) continue;
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
      this.#dirty = true;
    }
    for (const { key, value } of completion.documents ?? []) {
      this.#bufferedDocuments.set(key, JSON.stringify(value));
      this.#dirty = true;
    }
    for (const seq of settled) {
      this.#claimed.delete(seq);
      this.#carriers.delete(seq);
    }
    this.#settledSinceFloor += settled.length;
    for (const entry of back) {
      this.#claimed.delete(entry.seq);
      this.#carriers.delete(entry.seq);
      this.#pending.add(entry);
    }
    this.#scheduleFlush(this.#statesInGeneration >= FLUSH_OUTCOMES || outcomes === 0);
  }

  /** Buffers a state change; a retry's attempts and delay survive later changes before their flush committed. */
  #bufferState(seq: number, change: Omit<BufferedState, 'generation'>): void {
    const previous = this.#bufferedStates.get(seq);
    // Built field by field (one shape for every state, no spread): one object per outcome of a hot path.
    const buffered: BufferedState = {
      state: change.state,
      attempts: change.attempts,
      notBefore: change.notBefore,
      dead: change.dead,
      generation: this.#generation,
    };
    if (buffered.attempts === undefined && previous?.attempts !== undefined) {
      buffered.attempts = previous.attempts;
      buffered.notBefore ??= buffered.state === 'pending' ? 0 : previous.notBefore;
    }
    if (previous?.generation !== this.#generation) this.#statesInGeneration++;
    this.#bufferedStates.set(seq, buffered);
    this.#dirty = true;
  }

  /** Whether a message's CRM id is known (buffered or stored). */
  #messageWritten(connectionId: string, key: string): boolean {
    if (this.#bufferedMessages.has(`${connectionId}\u0000${key}`)) return true;
    return this.#storedMessages(connectionId, [key]).size > 0;
  }

  /**
   * The stored CRM ids of messages: in `message_crm_ids` under the seqs of the events that carried them (found
   * through the dedupe index, or above its watermark by rowid range), else in `messages` (migrations 6 and 8).
   */
  #storedMessages(connectionId: string, keys: readonly string[]): Map<string, string> {
    const found = new Map<string, string>();
    const byEventId = new Map(keys.map((key) => [messageEventId(key), key]));
    const foundOnEvent = (row: Row) => {
      const key = byEventId.get(String(row.event_id));
      if (key === undefined) return;
      found.set(key, String(row.crm_id));
      byEventId.delete(String(row.event_id));
    };
    for (const chunk of chunks([...byEventId.keys()], LOOKUP_CHUNK)) {
      const statement = this.#sqlMany(
        `SELECT e.event_id, m.crm_id FROM event_hashes h JOIN events e ON e.seq = h.seq
           JOIN message_crm_ids m ON m.seq = e.seq
         WHERE h.hash IN ($IN) AND e.connection_id = ?`,
        chunk.length,
      );
      for (const row of statement.all(...chunk.map(eventIdHash), connectionId)) foundOnEvent(row as Row);
    }
    // Above the watermark: the seqs of the events that carried them, from memory.
    const seqs: number[] = [];
    for (const eventId of byEventId.keys()) {
      const seq = this.#unindexedMessages.get(eventId);
      if (seq !== undefined) seqs.push(seq);
    }
    for (const chunk of chunks(seqs, LOOKUP_CHUNK)) {
      const statement = this.#sqlMany(
        `SELECT e.event_id, m.crm_id FROM message_crm_ids m JOIN events e ON e.seq = m.seq
         WHERE m.seq IN ($IN) AND e.connection_id = ?`,
        chunk.length,
      );
      for (const row of statement.all(...chunk, connectionId)) foundOnEvent(row as Row);
    }
    for (const row of this.#lookup('SELECT * FROM messages WHERE connection_id = ? AND key IN ($IN)', connectionId, [
      ...byEventId.values(),
    ])) {
      found.set(String(row.key), String(row.crm_id));
    }
    return found;
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

  /**
   * A seq no row pending in the file is below once `committing` (a generation, or none) committed: the lowest of the
   * rows queued, claimed or with a state change that commit does not carry (a row stays `pending` in the file until
   * the commit that carries its new state), else above every seq seen (an ingest committed but not answered yet has
   * higher seqs still).
   */
  #pendingFloor(committing?: number): number {
    let floor = this.#pending.lowestSeq() ?? this.#highestSeq + 1;
    for (const seq of this.#claimed.keys()) if (seq < floor) floor = seq;
    // `forEach`, not `for…of` over entries: no `[key, value]` array per entry (these maps hold a commit's worth).
    this.#bufferedStates.forEach((change, seq) => {
      if (seq < floor && (change.generation !== committing || change.state === 'pending')) floor = seq;
    });
    return floor;
  }

  /** Moves WAL checkpoints (copy back and sync, the slowest part of a commit) to a worker thread, once. */
  #startCheckpointer(): void {
    if (this.#checkpointer !== undefined || this.#path === ':memory:' || this.#path.startsWith('file:')) return;
    this.#checkpointer = startSqliteCheckpointer(this.#path);
    if (this.#checkpointer !== undefined) {
      // Both writing connections: a commit on either may cross the fallback threshold.
      this.#database.exec(`PRAGMA wal_autocheckpoint = ${FALLBACK_CHECKPOINT_PAGES}`);
      this.#writer.exec(`PRAGMA wal_autocheckpoint = ${FALLBACK_CHECKPOINT_PAGES}`).catch(() => {
        // Only the fallback threshold: that connection keeps the default one.
      });
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
    if (this.#closed || this.#closing !== undefined) return;
    if (this.#flushing !== undefined) {
      this.#flushAgain = true;
      return;
    }
    if (!this.#isDirty()) return;
    this.#sendFlush().catch(() => {
      // Kept buffered (the file lock may be held a moment); the next flush, a read or `close` tries again and
      // reports the error if it persists.
      this.#scheduleFlush(false);
    });
  }

  /** Whether anything waits to be sent with the next group commit. */
  #isDirty(): boolean {
    return this.#dirty || this.#unindexedEvents > 0 || (this.#aboveWatermark > 0 && !this.#ingestedSinceFlush);
  }

  /** Commits everything buffered so far (after the flush in flight, if any); rejects when the commit failed. */
  async #flushAll(): Promise<void> {
    this.#check();
    while (this.#flushing !== undefined) await this.#flushing.catch(() => {});
    if (this.#isDirty()) await this.#sendFlush();
  }

  /** Sends the current generation as one transaction; resolves once it committed. */
  #sendFlush(): Promise<void> {
    const generation = this.#generation++;
    // A new pending floor while the queue is short, or once enough rows left it (`PENDING_FLOOR_STEPS_PER_SETTLED`).
    const walkFloor =
      this.#becomingPending === 0 &&
      (this.#pending.size < 4096 || this.#settledSinceFloor * PENDING_FLOOR_STEPS_PER_SETTLED >= this.#pending.size);
    if (walkFloor) this.#settledSinceFloor = 0;
    const request = emptyFlushRequest(
      walkFloor ? this.#pendingFloor(generation) : null,
      // No ingest since the last flush: the events above the watermark are all the catch-up will get for now.
      !this.#ingestedSinceFlush,
    );
    this.#ingestedSinceFlush = false;
    this.#bufferedStates.forEach((change, seq) => {
      if (change.generation !== generation) return;
      if (change.state === 'done') request.done.push(seq);
      else {
        request.states.push([
          seq,
          change.state,
          change.attempts ?? null,
          change.notBefore ?? 0,
          change.dead?.reason ?? null,
          change.dead?.errorKind ?? null,
          change.dead?.at ?? null,
        ]);
      }
    });
    request.done.sort((left, right) => left - right);
    for (const message of this.#bufferedMessages.values()) {
      if (message.generation === generation) {
        const hash = eventIdHash(messageEventId(message.key));
        request.messages.push([message.connectionId, message.key, message.crmId, hash, message.seq]);
      }
    }
    for (const head of this.#bufferedHeads.values()) {
      if (head.generation === generation) request.heads.push([head.connectionId, head.threadKey, head.crmId]);
    }
    for (const contact of this.#bufferedContacts.values()) {
      if (contact.generation === generation) {
        request.contacts.push([contact.connectionId, contact.key, contact.crmId, contact.parentId ?? null]);
      }
    }
    const counters = this.#bufferedCounters;
    this.#bufferedCounters = new Map();
    for (const [key, delta] of counters) {
      const [scope, name] = key.split('\u0000') as [string, string];
      request.counters.push([scope, name, delta]);
    }
    const documents = this.#bufferedDocuments;
    this.#bufferedDocuments = new Map();
    for (const [key, value] of documents) request.documents.push([key, value]);
    const unindexed = this.#unindexedEvents;
    this.#unindexedEvents = 0;
    this.#dirty = false;
    this.#statesInGeneration = 0;
    const flushing = this.#writer
      .call('flush', request)
      .then(
        (reply) => {
          this.#committed(generation);
          this.#indexed(reply.indexedSeq);
          this.#aboveWatermark = reply.unindexed;
          // The writer indexes a slice per commit: the rest goes with later ones, and a quiet store's last events
          // with the next timer (`#isDirty`).
          if (reply.toIndex > this.#unindexedEvents) this.#unindexedEvents = reply.toIndex;
          if (reply.toIndex > 0) this.#scheduleFlush(reply.toIndex >= FLUSH_OUTCOMES);
          else if (reply.unindexed > 0) this.#scheduleFlush(false);
        },
        (error: unknown) => {
          this.#uncommitted(generation, counters, documents, unindexed);
          throw toStoreError(error);
        },
      )
      .finally(() => {
        this.#flushing = undefined;
        if (this.#flushAgain) {
          this.#flushAgain = false;
          this.#scheduleFlush(true);
        }
      });
    this.#flushing = flushing;
    return flushing;
  }

  /** The index watermark moved to `indexedSeq`: the message events at or below it are found through the index. */
  #indexed(indexedSeq: number): void {
    // In seq order: the indexed ones are a prefix.
    for (const [eventId, seq] of this.#unindexedMessages) {
      if (seq > indexedSeq) break;
      this.#unindexedMessages.delete(eventId);
    }
  }

  /** A flush committed: what it carried is in the file now, so the overlays drop it (unless changed since). */
  #committed(generation: number): void {
    // `forEach` (deleting the entry visited is allowed): no `[key, value]` array per entry.
    this.#bufferedStates.forEach((change, seq, states) => {
      if (change.generation <= generation) states.delete(seq);
    });
    this.#bufferedMessages.forEach((message, key, messages) => {
      if (message.generation <= generation) messages.delete(key);
    });
    this.#bufferedHeads.forEach((head, key, heads) => {
      if (head.generation > generation) return;
      // Kept exact for the threads asked about; the others are read from the file when asked.
      if (this.#threadHeadCache.has(key)) this.#threadHeadCache.set(key, head.crmId);
      heads.delete(key);
    });
    this.#bufferedContacts.forEach((contact, key, contacts) => {
      if (contact.generation > generation) return;
      this.#cacheContact(contact);
      contacts.delete(key);
    });
    // A waiting row whose state is in the file now is found there (`SELECT_WAITING`).
    for (const [key, waits] of this.#bufferedWaits) {
      for (const seq of waits) if (!this.#bufferedStates.has(seq)) waits.delete(seq);
      if (waits.size === 0) this.#bufferedWaits.delete(key);
    }
  }

  /** A flush failed (rolled back): what it carried joins the next generation, never reordered before newer changes. */
  #uncommitted(
    generation: number,
    counters: Map<string, number>,
    documents: Map<string, string>,
    unindexed: number,
  ): void {
    const next = this.#generation;
    for (const change of this.#bufferedStates.values()) {
      if (change.generation !== generation) continue;
      change.generation = next;
      this.#statesInGeneration++;
    }
    for (const message of this.#bufferedMessages.values())
      if (message.generation === generation) message.generation = next;
    for (const head of this.#bufferedHeads.values()) if (head.generation === generation) head.generation = next;
    for (const contact of this.#bufferedContacts.values())
      if (contact.generation === generation) contact.generation = next;
    for (const [key, delta] of counters)
      this.#bufferedCounters.set(key, (this.#bufferedCounters.get(key) ?? 0) + delta);
    for (const [key, value] of documents)
      if (!this.#bufferedDocuments.has(key)) this.#bufferedDocuments.set(key, value);
    this.#unindexedEvents += unindexed;
    this.#dirty = true;
  }

  async rerouteOpenEvents(routes: ReadonlyMap<string, string>): Promise<number> {
    await this.#flushAll();
    this.#becomingPending++;
    try {
      const moved = await this.#write('rerouteOpenEvents', [...routes]);
      if (moved > 0) {
        // The in-memory queue files rows by connection: built again from the file, as on open.
        this.#pending = new PendingQueue();
        this.#loadPending();
      }
      return moved;
    } finally {
      this.#becomingPending--;
    }
  }

  async routeUnrouted(phoneNumberIds: readonly string[], connectionId: string): Promise<number> {
    await this.#flushAll();
    this.#becomingPending++;
    try {
      const rows = await this.#write('routeUnrouted', phoneNumberIds, connectionId);
      for (const row of rows) this.#pending.add(toEntry(row));
      return rows.length;
    } finally {
      this.#becomingPending--;
    }
  }

  #bufferContacts(entries: readonly ({ connectionId: string; key: string } & ContactMapping)[]): void {
    for (const entry of entries) {
      const mapping: ContactMapping = { crmId: entry.crmId };
      if (entry.parentId !== undefined) mapping.parentId = entry.parentId;
      this.#bufferedContacts.set(`${entry.connectionId}\u0000${entry.key}`, {
        connectionId: entry.connectionId,
        key: entry.key,
        ...mapping,
        generation: this.#generation,
      });
      this.#dirty = true;
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
    for (const [key, crmId] of this.#storedMessages(connectionId, missing)) found.set(key, crmId);
    return found;
  }

  async getThreadHeads(connectionId: string, threadKeys: readonly string[]): Promise<Map<string, string>> {
    this.#check();
    const found = new Map<string, string>();
    const missing: string[] = [];
    for (const key of new Set(threadKeys)) {
      const cacheKey = `${connectionId}\u0000${key}`;
      const head = this.#bufferedHeads.get(cacheKey)?.crmId ?? this.#threadHeadCache.get(cacheKey);
      if (head === undefined) missing.push(key);
      else if (head !== null) found.set(key, head);
    }
    for (const row of this.#lookup(
      'SELECT * FROM threads WHERE connection_id = ? AND thread_key IN ($IN)',
      connectionId,
      missing,
    )) {
      found.set(String(row.thread_key), String(row.last_crm_id));
    }
    for (const key of missing) {
      if (this.#threadHeadCache.size >= THREAD_HEAD_CACHE) this.#threadHeadCache.clear();
      this.#threadHeadCache.set(`${connectionId}\u0000${key}`, found.get(key) ?? null);
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
    // The writer knows the events above the index watermark.
    const threads = [...new Set(threadKeys)].map((threadKey): [string, number] => [threadKey, eventIdHash(threadKey)]);
    const bodies = await this.#write('listThreadEvents', threads);
    return bodies.map((body) => JSON.parse(body) as CoexistenceEvent);
  }

  async findContactKeys(connectionId: string, crmId: string): Promise<string[]> {
    await this.#flushAll();
    return this.#sql('SELECT key FROM contacts WHERE connection_id = ? AND (crm_id = ? OR parent_id = ?) ORDER BY key')
      .all(connectionId, crmId, crmId)
      .map((row) => String(row.key));
  }

  async listDeadLetters(options: { includeReplayed?: boolean; limit?: number } = {}): Promise<DeadLetter[]> {
    const limit = deadLetterLimit(options);
    await this.#flushAll();
    const rows = options.includeReplayed
      ? this.#sql('SELECT * FROM dead_letters ORDER BY id LIMIT ?').all(limit)
      : this.#sql('SELECT * FROM dead_letters WHERE replayed_at IS NULL ORDER BY id LIMIT ?').all(limit);
    return rows.map((row) => toDeadLetter(row as Row));
  }

  async replayDeadLetter(id: number, at: string, routes?: ReadonlyMap<string, string>): Promise<DeadLetter> {
    await this.#flushAll();
    this.#becomingPending++;
    try {
      const { letter, entry } = await this.#write(
        'replayDeadLetter',
        id,
        at,
        routes === undefined ? undefined : [...routes],
      );
      if (entry !== null) this.#pending.add({ ...toEntry(entry), attempts: 0, notBefore: 0 });
      return toDeadLetter(letter);
    } finally {
      this.#becomingPending--;
    }
  }

  async countOpen(): Promise<QueueCount[]> {
    await this.#flushAll();
    const pending = this.#sql(
      `SELECT phone_number_id, kind, lane, 'pending' AS state, count(*) AS count FROM events
       WHERE seq >= ? AND ${STILL_PENDING} GROUP BY phone_number_id, kind, lane`,
    ).all(this.#pendingFloor());
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
    await this.#flushAll();
    const counters: Record<string, Record<string, number>> = {};
    for (const row of this.#sql('SELECT scope, name, value FROM counters').all()) {
      const scope = String(row.scope);
      counters[scope] ??= {};
      counters[scope][String(row.name)] = Number(row.value);
    }
    return counters;
  }

  async getDocument<T>(key: string): Promise<T | undefined> {
    await this.#flushAll();
    const row = this.#sql('SELECT value FROM documents WHERE key = ?').get(key) as Row | undefined;
    return row === undefined ? undefined : (JSON.parse(String(row.value)) as T);
  }

  async listDocuments<T>(prefix: string): Promise<{ key: string; value: T }[]> {
    await this.#flushAll();
    const rows = this.#sql('SELECT key, value FROM documents WHERE key >= ? AND key < ? ORDER BY key').all(
      prefix,
      `${prefix}\uffff`,
    ) as Row[];
    return rows.map((row) => ({ key: String(row.key), value: JSON.parse(String(row.value)) as T }));
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#closed) return;
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    try {
      await this.#flushAll();
    } finally {
      this.#closed = true;
      // The other connections first, so closing the last one checkpoints and removes the WAL.
      await this.#writer.close();
      await this.#checkpointer?.close();
      this.#checkpointer = undefined;
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
