/**
 * The embedded default store: one SQLite file through `node:sqlite` (`DatabaseSync`), WAL journal with
 * `synchronous=NORMAL` (a commit survives a process crash; the last commits may be lost only on power loss),
 * `user_version`-based migrations, prepared statements and one `BEGIN IMMEDIATE` transaction per operation.
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
import { type PendingEntry, PendingQueue } from './pending-queue.ts';
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
  migrate(database);
  return new SqliteStore(database);
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

class SqliteStore implements CoexistStore {
  readonly backend = 'sqlite';
  readonly #database: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  #closed = false;
  /** Pending rows, mirrored in memory so claims never scan the table. */
  readonly #pending = new PendingQueue();
  /** Rows handed out by `claim` and not completed yet. */
  readonly #claimed = new Map<number, PendingEntry>();

  constructor(database: DatabaseSync) {
    this.#database = database;
    const rows = this.#sql(
      `SELECT seq, connection_id, kind, lane, thread_key, sort_key, not_before FROM events WHERE state = 'pending'
       ORDER BY sort_key, seq`,
    ).all();
    for (const row of rows) this.#pending.add(toEntry(row as Row));
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

  #read<T>(work: () => T): T {
    if (this.#closed) throw new CoexistStoreError('store', 'the store is closed');
    return work();
  }

  #transaction<T>(work: () => T): T {
    if (this.#closed) throw new CoexistStoreError('store', 'the store is closed');
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
    const added: PendingEntry[] = [];
    const result = this.#transaction(() => {
      const known = new Set<string>();
      const ids = [...new Set(input.events.map((planned) => planned.event.id))];
      for (const chunk of chunks(ids, LOOKUP_CHUNK)) {
        const statement = this.#sql(`SELECT event_id FROM events WHERE event_id IN (${placeholders(chunk.length)})`);
        for (const row of statement.all(...chunk)) known.add(String(row.event_id));
      }
      const fresh: PlannedEvent[] = [];
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
        const inserted = this.#sql(
          `INSERT INTO events (event_id, event_type, payload_id, phone_number_id, connection_id, kind, lane, thread_key,
             target_key, sort_key, state) VALUES ${rows(chunk.length, 11)}`,
        ).run(...values);
        // Rowids of one multi-row insert are consecutive: the last one names them all.
        const first = Number(inserted.lastInsertRowid) - chunk.length + 1;
        this.#sql(`INSERT INTO event_bodies (seq, body) VALUES ${rows(chunk.length, 2)}`).run(
          ...chunk.flatMap((planned, index) => [first + index, JSON.stringify(planned.event)]),
        );
        chunk.forEach((planned, index) => {
          if (planned.kind !== 'meta' && planned.connectionId === null) return;
          added.push({
            seq: first + index,
            connectionId: planned.kind === 'meta' ? '' : (planned.connectionId ?? ''),
            kind: planned.kind,
            lane: planned.lane,
            threadKey: planned.threadKey,
            sortKey: planned.sortKey,
            notBefore: 0,
          });
        });
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
    for (const entry of added) this.#pending.add(entry);
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
    // Read-only: claims are kept in memory (a crash loses nothing: the rows are still pending).
    return this.#read(() => {
      const { entries, nextDueAt } = this.#pending.take(query, {
        limit: query.limit,
        maxPerThread: query.maxPerThread ?? Number.POSITIVE_INFINITY,
        now: query.now,
        blocked: query.blockedThreads,
        maxScan: query.maxScan ?? Math.max(query.limit * 5, 500),
      });
      const bySeq = new Map<number, QueuedEvent>();
      const seqs = entries.map((entry) => entry.seq);
      for (const chunk of chunks(seqs, LOOKUP_CHUNK)) {
        const select = this.#sql(
          `SELECT e.*, b.body FROM events e JOIN event_bodies b ON b.seq = e.seq WHERE e.seq IN (${placeholders(chunk.length)})`,
        );
        for (const row of select.all(...chunk)) {
          const event = toQueuedEvent(row as Row);
          bySeq.set(event.seq, event);
        }
      }
      for (const entry of entries) this.#claimed.set(entry.seq, entry);
      return { events: seqs.map((seq) => bySeq.get(seq)!), nextDueAt };
    });
  }

  async complete(completion: Completion): Promise<void> {
    const back: PendingEntry[] = [];
    const settled: number[] = [];
    this.#transaction(() => {
      const messages = completion.messages ?? [];
      for (const chunk of chunks(messages, INSERT_CHUNK)) {
        this.#sql(
          `INSERT INTO messages (connection_id, key, crm_id) VALUES ${rows(chunk.length, 3)}
           ON CONFLICT (connection_id, key) DO UPDATE SET crm_id = excluded.crm_id`,
        ).run(...chunk.flatMap((message) => [message.connectionId, message.key, message.crmId]));
      }
      // Only the last message of each thread in the batch becomes its head.
      const heads = new Map<string, (typeof messages)[number]>();
      for (const message of messages) heads.set(`${message.connectionId}\u0000${message.threadKey}`, message);
      for (const chunk of chunks([...heads.values()], INSERT_CHUNK)) {
        this.#sql(
          `INSERT INTO threads (connection_id, thread_key, last_crm_id) VALUES ${rows(chunk.length, 3)}
           ON CONFLICT (connection_id, thread_key) DO UPDATE SET last_crm_id = excluded.last_crm_id`,
        ).run(...chunk.flatMap((message) => [message.connectionId, message.threadKey, message.crmId]));
      }
      this.#saveContacts(completion.contacts ?? []);
      const done: number[] = [];
      for (const outcome of completion.outcomes ?? []) {
        switch (outcome.outcome) {
          case 'done':
            done.push(outcome.seq);
            settled.push(outcome.seq);
            break;
          case 'retry':
            this.#sql("UPDATE events SET state = 'pending', attempts = ?, not_before = ? WHERE seq = ?").run(
              outcome.attempts,
              outcome.notBefore,
              outcome.seq,
            );
            back.push(this.#entryOf(outcome.seq, outcome.notBefore));
            break;
          case 'release':
            this.#sql("UPDATE events SET state = 'pending', not_before = ? WHERE seq = ?").run(
              outcome.notBefore ?? 0,
              outcome.seq,
            );
            back.push(this.#entryOf(outcome.seq, outcome.notBefore ?? 0));
            break;
          case 'wait': {
            const written = this.#sql('SELECT 1 AS found FROM messages WHERE connection_id = ? AND key = ?').get(
              outcome.connectionId,
              outcome.targetKey,
            );
            this.#sql('UPDATE events SET state = ? WHERE seq = ?').run(
              written === undefined ? 'waiting' : 'pending',
              outcome.seq,
            );
            if (written === undefined) settled.push(outcome.seq);
            else back.push(this.#entryOf(outcome.seq, 0));
            break;
          }
          case 'dead': {
            settled.push(outcome.seq);
            this.#sql("UPDATE events SET state = 'dead' WHERE seq = ?").run(outcome.seq);
            this.#sql(
              `INSERT INTO dead_letters (seq, event_id, event_type, connection_id, phone_number_id, reason, error_kind, created_at)
               SELECT seq, event_id, event_type, connection_id, phone_number_id, ?, ?, ? FROM events WHERE seq = ?`,
            ).run(outcome.reason, outcome.errorKind, outcome.at, outcome.seq);
            this.#countDead(outcome.seq, 1);
            break;
          }
        }
      }
      for (const chunk of chunks(done, LOOKUP_CHUNK)) {
        this.#sql(`UPDATE events SET state = 'done' WHERE seq IN (${placeholders(chunk.length)})`).run(...chunk);
      }
      const byConnection = new Map<string, string[]>();
      for (const message of messages) {
        const keys = byConnection.get(message.connectionId) ?? [];
        keys.push(message.key);
        byConnection.set(message.connectionId, keys);
      }
      for (const [connectionId, keys] of byConnection) {
        for (const chunk of chunks(keys, LOOKUP_CHUNK)) {
          const unparked = this.#sql(
            `UPDATE events SET state = 'pending'
             WHERE state = 'waiting' AND connection_id = ? AND target_key IN (${placeholders(chunk.length)})
             RETURNING seq, connection_id, kind, lane, thread_key, sort_key, not_before`,
          ).all(connectionId, ...chunk);
          for (const row of unparked) back.push(toEntry(row as Row));
        }
      }
      const counter = this.#sql(
        'INSERT INTO counters (scope, name, value) VALUES (?, ?, ?) ON CONFLICT (scope, name) DO UPDATE SET value = value + excluded.value',
      );
      for (const { scope, name, delta } of completion.counters ?? []) counter.run(scope, name, delta);
      const saveDocument = this.#sql(
        'INSERT INTO documents (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      );
      for (const { key, value } of completion.documents ?? []) saveDocument.run(key, JSON.stringify(value));
    });
    for (const seq of settled) this.#claimed.delete(seq);
    for (const entry of back) {
      this.#claimed.delete(entry.seq);
      this.#pending.add(entry);
    }
  }

  /** The index entry of a claimed (or, failing that, stored) row, with a new delay. */
  #entryOf(seq: number, notBefore: number): PendingEntry {
    const claimed = this.#claimed.get(seq);
    if (claimed !== undefined) return { ...claimed, notBefore };
    const row = this.#sql(
      'SELECT seq, connection_id, kind, lane, thread_key, sort_key, not_before FROM events WHERE seq = ?',
    ).get(seq) as Row | undefined;
    if (row === undefined) throw new CoexistStoreError('outcomes.seq', `no event ${seq}`);
    return { ...toEntry(row), notBefore };
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
    const routed: PendingEntry[] = [];
    this.#transaction(() => {
      const route = this.#sql(
        `UPDATE events SET state = 'pending', connection_id = ?
         WHERE state IN ('waiting', 'unrouted', 'dead') AND state = 'unrouted' AND phone_number_id = ?
         RETURNING seq, connection_id, kind, lane, thread_key, sort_key, not_before`,
      );
      for (const id of phoneNumberIds) for (const row of route.all(connectionId, id)) routed.push(toEntry(row as Row));
    });
    for (const entry of routed) this.#pending.add(entry);
    return routed.length;
  }

  #saveContacts(entries: readonly ({ connectionId: string; key: string } & ContactMapping)[]): void {
    const save = this.#sql(
      'INSERT INTO contacts (connection_id, key, crm_id, parent_id) VALUES (?, ?, ?, ?) ON CONFLICT (connection_id, key) DO UPDATE SET crm_id = excluded.crm_id, parent_id = excluded.parent_id',
    );
    for (const entry of entries) save.run(entry.connectionId, entry.key, entry.crmId, entry.parentId ?? null);
  }

  async getContacts(connectionId: string, keys: readonly string[]): Promise<Map<string, ContactMapping>> {
    const found = new Map<string, ContactMapping>();
    for (const row of this.#lookup('contacts', 'key', connectionId, keys)) {
      const mapping: ContactMapping = { crmId: String(row.crm_id) };
      if (row.parent_id !== null) mapping.parentId = String(row.parent_id);
      found.set(String(row.key), mapping);
    }
    return found;
  }

  async saveContacts(entries: readonly ({ connectionId: string; key: string } & ContactMapping)[]): Promise<void> {
    this.#transaction(() => this.#saveContacts(entries));
  }

  async getMessages(connectionId: string, keys: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const row of this.#lookup('messages', 'key', connectionId, keys))
      found.set(String(row.key), String(row.crm_id));
    return found;
  }

  async getThreadHeads(connectionId: string, threadKeys: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const row of this.#lookup('threads', 'thread_key', connectionId, threadKeys)) {
      found.set(String(row.thread_key), String(row.last_crm_id));
    }
    return found;
  }

  /** Rows of a `(connection_id, key)` table for many keys, in chunks of `IN (…)` lookups. */
  #lookup(table: string, column: string, connectionId: string, keys: readonly string[]): Row[] {
    const rows: Row[] = [];
    const unique = [...new Set(keys)];
    for (let start = 0; start < unique.length; start += LOOKUP_CHUNK) {
      const chunk = unique.slice(start, start + LOOKUP_CHUNK);
      const statement = this.#sql(
        `SELECT * FROM ${table} WHERE connection_id = ? AND ${column} IN (${chunk.map(() => '?').join(',')})`,
      );
      rows.push(...(statement.all(connectionId, ...chunk) as Row[]));
    }
    return rows;
  }

  async listThreadEvents(threadKeys: readonly string[]): Promise<CoexistenceEvent[]> {
    return this.#read(() => {
      const rows: Row[] = [];
      for (const chunk of chunks([...new Set(threadKeys)], LOOKUP_CHUNK)) {
        const statement = this.#sql(
          `SELECT e.sort_key, e.seq, b.body FROM events e JOIN event_bodies b ON b.seq = e.seq
           WHERE e.thread_key IN (${placeholders(chunk.length)})`,
        );
        rows.push(...(statement.all(...chunk) as Row[]));
      }
      rows.sort(
        (left, right) => Number(left.sort_key) - Number(right.sort_key) || Number(left.seq) - Number(right.seq),
      );
      return rows.map((row) => JSON.parse(String(row.body)) as CoexistenceEvent);
    });
  }

  async findContactKeys(connectionId: string, crmId: string): Promise<string[]> {
    return this.#read(() =>
      this.#sql('SELECT key FROM contacts WHERE connection_id = ? AND (crm_id = ? OR parent_id = ?) ORDER BY key')
        .all(connectionId, crmId, crmId)
        .map((row) => String(row.key)),
    );
  }

  async listDeadLetters(options: { includeReplayed?: boolean; limit?: number } = {}): Promise<DeadLetter[]> {
    const limit = options.limit ?? 1000;
    const rows = options.includeReplayed
      ? this.#sql('SELECT * FROM dead_letters ORDER BY id LIMIT ?').all(limit)
      : this.#sql('SELECT * FROM dead_letters WHERE replayed_at IS NULL ORDER BY id LIMIT ?').all(limit);
    return rows.map((row) => toDeadLetter(row as Row));
  }

  async replayDeadLetter(id: number, at: string): Promise<DeadLetter> {
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
        back.push(this.#entryOf(Number(row.seq), 0));
      }
      return toDeadLetter({ ...row, replayed_at: at });
    });
    for (const entry of back) this.#pending.add(entry);
    return letter;
  }

  async countOpen(): Promise<QueueCount[]> {
    const pending = this.#sql(
      `SELECT phone_number_id, kind, lane, state, count(*) AS count FROM events WHERE state = 'pending'
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
    const counters: Record<string, Record<string, number>> = {};
    for (const row of this.#sql('SELECT scope, name, value FROM counters').all()) {
      const scope = String(row.scope);
      counters[scope] ??= {};
      counters[scope][String(row.name)] = Number(row.value);
    }
    return counters;
  }

  async getDocument<T>(key: string): Promise<T | undefined> {
    const row = this.#sql('SELECT value FROM documents WHERE key = ?').get(key) as Row | undefined;
    return row === undefined ? undefined : (JSON.parse(String(row.value)) as T);
  }

  async listDocuments<T>(prefix: string): Promise<{ key: string; value: T }[]> {
    const rows = this.#sql('SELECT key, value FROM documents WHERE key >= ? AND key < ? ORDER BY key').all(
      prefix,
      `${prefix}\uffff`,
    ) as Row[];
    return rows.map((row) => ({ key: String(row.key), value: JSON.parse(String(row.value)) as T }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#statements.clear();
    this.#database.close();
  }
}

function toQueuedEvent(row: Row): QueuedEvent {
  const connectionId = row.connection_id === null ? null : String(row.connection_id);
  return {
    seq: Number(row.seq),
    event: JSON.parse(String(row.body)) as CoexistenceEvent,
    connectionId,
    kind: String(row.kind) as QueueKind,
    lane: String(row.lane) as QueueLane,
    threadKey: String(row.thread_key),
    targetKey: row.target_key === null ? null : String(row.target_key),
    sortKey: Number(row.sort_key),
    state: String(row.state) as QueueState,
    attempts: Number(row.attempts),
    notBefore: Number(row.not_before),
    payloadId: row.payload_id === null ? null : Number(row.payload_id),
  };
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
