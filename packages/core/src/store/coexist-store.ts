/**
 * The storage contract of the sync engine. Everything the engine must not lose lives behind this interface:
 * raw webhook payloads, the event queue with its per-item state, the contact and message CRM id maps, thread
 * checkpoints, dead letters, per-number state and counters. Methods are async and speak in engine terms (no
 * SQL), so a scale-out backend (Postgres, Redis) can implement it later; `createSqliteStore` is the embedded
 * default and `createMemoryStore` the test double.
 *
 * One engine owns a store at a time: claims are not leases shared between processes.
 */
import type { CoexistenceEvent } from '../events/coexistence-event.ts';

/** What a queued event asks of the CRM: a contact write, a message write, a message update, or no CRM call. */
export type QueueKind = 'contact' | 'message' | 'update' | 'meta';

/** The lane of a queued event: live traffic is always served before the history backfill. */
export type QueueLane = 'live' | 'history';

/**
 * The state of a queued event. `pending` waits for a worker (or is being worked: claims are not persisted, so a
 * crash leaves nothing to recover); `waiting` is an update whose target message is not written yet; `done` is
 * finished; `dead` is in the dead-letter table; `unrouted` belongs to a number no connection serves (rerouted when
 * one does).
 */
export type QueueState = 'pending' | 'waiting' | 'done' | 'dead' | 'unrouted';

/** An event as the engine plans it for the queue. */
export interface PlannedEvent {
  event: CoexistenceEvent;
  /** The connection that serves the event's number; `null` when none does (stored as `unrouted`). */
  connectionId: string | null;
  kind: QueueKind;
  lane: QueueLane;
  /** Items with the same thread key are handed out one claim at a time, in `(sortKey, seq)` order. */
  threadKey: string;
  /** The message key (wamid) the event writes or updates; `null` for contacts and meta events. */
  targetKey: string | null;
  /** Epoch milliseconds the queue orders by (the event's own time). */
  sortKey: number;
}

/** An event in the queue. */
export interface QueuedEvent extends PlannedEvent {
  /** Arrival sequence, unique per store. */
  seq: number;
  state: QueueState;
  /** Failed attempts so far. */
  attempts: number;
  /** Epoch milliseconds before which the event must not be retried. */
  notBefore: number;
  /** Id of the raw payload the event came from, when one was stored. */
  payloadId: number | null;
}

/** Input of `CoexistStore.ingest`. */
export interface IngestInput {
  /** The raw body as received (UTF-8 text). */
  rawBody: string;
  /** SHA-256 hex of the raw body: a byte-identical redelivery is recognised by it. */
  sha256: string;
  /** ISO-8601 time the webhook was received. */
  receivedAt: string;
  events: readonly PlannedEvent[];
  /** Attach the events to an already stored payload (replay of an invalid payload) instead of storing the body. */
  payloadId?: number;
}

/** Result of `CoexistStore.ingest`. */
export interface IngestResult {
  /** Id of the stored payload, `null` when nothing new had to be kept (a pure redelivery). */
  payloadId: number | null;
  /** Events stored now. */
  inserted: number;
  /** Events already known (redeliveries), ignored. */
  duplicates: number;
  /** Connections that got new work, so the engine wakes only their workers. */
  connectionIds: string[];
}

/** A signed webhook payload that failed validation, kept raw for a replay after a fix. */
export interface InvalidPayload {
  id: number;
  receivedAt: string;
  rawBody: string;
  /** Why it failed, as the parser said. */
  error: string;
  /** ISO time it was replayed successfully, when it was. */
  replayedAt: string | null;
}

/**
 * The order a claim serves threads in. `oldest-first` merges threads by `(sortKey, seq)`, so the oldest pending
 * events go first (live traffic). `longest-backlog-first` serves the thread with the most pending events first and
 * takes a thread's events together (up to `maxPerThread`), so batches touch few threads and the longest
 * conversations — the ones that can only be written one call after another — start first (a backfill).
 */
export type ClaimOrder = 'oldest-first' | 'longest-backlog-first';

/**
 * A claim request: the next events of one connection, kind and lane that may run now. Claimed events stay
 * `pending` in the store; the caller keeps their threads in `blockedThreads` until it completes them, which is
 * what keeps a second claim from returning them again.
 */
export interface ClaimQuery {
  /** Connection id; `''` for meta events. */
  connectionId: string;
  kind: QueueKind;
  lane: QueueLane;
  /** Most events returned. */
  limit: number;
  /** Most events of one thread returned. @default unlimited */
  maxPerThread?: number;
  /** Epoch ms now: a thread whose first pending event has `notBefore > now` is skipped whole. */
  now: number;
  /** Threads with events in flight: skipped whole so a thread is never written out of order. */
  blockedThreads: ReadonlySet<string>;
  /** Most pending rows (threads, in the indexed stores) scanned to fill the claim. @default 5 × limit, at least 500 */
  maxScan?: number;
  /** Which threads go first. @default 'oldest-first' */
  order?: ClaimOrder;
  /**
   * `longest-backlog-first` only: while the queue holds at most this many rows, a thread whose pending run does not
   * fit the room left in the claim is left whole for a later claim instead of split across two (a run longer than
   * `limit` is still split). At the end of a backfill, a split leaves the rest of a conversation waiting a whole call
   * for its first part, alone in a small call after everything else. @default 0 (never)
   */
  wholeThreadsBelow?: number;
}

/** Result of a claim. */
export interface ClaimResult {
  /** The claimed events, in claim order; the events of one thread in `(sortKey, seq)` order. */
  events: QueuedEvent[];
  /** The earliest `notBefore` among skipped, delayed threads, for the engine's wake-up timer. */
  nextDueAt: number | null;
}

/** A dead letter: an event that can never succeed as is, with the reason. */
export interface DeadLetter {
  id: number;
  seq: number;
  eventId: string;
  eventType: string;
  connectionId: string | null;
  phoneNumberId: string | null;
  /** Why it died (the CRM error message, never a message body). */
  reason: string;
  /** `permanent`, `transient` (attempts exhausted), `auth` or `invalid`. */
  errorKind: string;
  createdAt: string;
  replayedAt: string | null;
}

/** A CRM contact the engine resolved for a contact key. */
export interface ContactMapping {
  crmId: string;
  /** The parent record (Close lead, Salesforce account), when the CRM has one. */
  parentId?: string;
}

/** One outcome of a worked event. */
export type EventOutcome =
  | { seq: number; outcome: 'done' }
  /** Back to `pending` after `notBefore`; `attempts` is the new count. */
  | { seq: number; outcome: 'retry'; notBefore: number; attempts: number }
  /** Back to `pending` now, attempts unchanged (rate limit, shutdown). */
  | { seq: number; outcome: 'release'; notBefore?: number }
  /** An update whose target message is not written: `waiting`, unless the target got written meanwhile. */
  | { seq: number; outcome: 'wait'; connectionId: string; targetKey: string }
  | { seq: number; outcome: 'dead'; reason: string; errorKind: string; at: string };

/** Everything one worked batch changes, applied in one transaction. */
export interface Completion {
  outcomes?: readonly EventOutcome[];
  /** Written messages: key → CRM id. Waiting updates of these keys become `pending`. */
  messages?: readonly { connectionId: string; key: string; crmId: string; threadKey: string }[];
  /** Resolved contacts: contact key → CRM id. */
  contacts?: readonly ({ connectionId: string; key: string } & ContactMapping)[];
  /** Counter increments (`scope` is a phone number id, `name` e.g. `written.history`). */
  counters?: readonly { scope: string; name: string; delta: number }[];
  /** State documents to save (number state, link health). */
  documents?: readonly { key: string; value: unknown }[];
}

/** Open work per number, for `engine.status()`. */
export interface QueueCount {
  phoneNumberId: string | null;
  kind: QueueKind;
  lane: QueueLane;
  state: QueueState;
  count: number;
}

/** The store contract the sync engine runs on. */
export interface CoexistStore {
  /** The backend's name (`sqlite`, `memory`). */
  readonly backend: string;

  /**
   * Stores the raw payload and its events in one transaction, durable when the promise resolves, ignoring events
   * whose id is known. The store may hand the event objects back from `claim`: do not mutate them afterwards.
   */
  ingest(input: IngestInput): Promise<IngestResult>;
  /** Keeps a payload that failed validation, raw, with its error. */
  recordInvalidPayload(input: { rawBody: string; sha256: string; error: string; receivedAt: string }): Promise<number>;
  /** Lists payloads that failed validation. */
  listInvalidPayloads(options?: { includeReplayed?: boolean }): Promise<InvalidPayload[]>;
  /** Marks an invalid payload replayed, or records the error of a failed replay. */
  updateInvalidPayload(id: number, update: { replayedAt?: string; error?: string }): Promise<void>;

  /** The next runnable events of one connection, kind and lane, skipping blocked and delayed threads. */
  claim(query: ClaimQuery): Promise<ClaimResult>;
  /**
   * Applies the outcomes of worked events and the maps they produced, atomically. A backend may group-commit: the
   * change is visible to every later call at once and durable within a short interval (SQLite: ≤ 50 ms, and before
   * any read that reports stored state); a crash before then leaves the events pending, to be resent idempotently.
   */
  complete(completion: Completion): Promise<void>;
  /** Routes `unrouted` events of these numbers to a connection; returns how many. */
  routeUnrouted(phoneNumberIds: readonly string[], connectionId: string): Promise<number>;
  /**
   * Moves the open events (pending or waiting; not meta) whose connection is no longer the one serving their number:
   * to the connection `routes` (phone number id → connection id) names for it, as pending (a waiting update waits
   * again there if its message is not written there yet), or to `unrouted` when none does. Returns how many moved.
   * For a number moved to another connection or dropped from the configuration; call it before any claim (the
   * engine does, on start): claims live in memory, so an event claimed at the time would be moved and queued again.
   */
  rerouteOpenEvents(routes: ReadonlyMap<string, string>): Promise<number>;

  /** Known CRM contacts of a connection by contact key. */
  getContacts(connectionId: string, keys: readonly string[]): Promise<Map<string, ContactMapping>>;
  /** Saves resolved contacts at once (creation is idempotent, so this may run ahead of the batch's completion). */
  saveContacts(entries: readonly ({ connectionId: string; key: string } & ContactMapping)[]): Promise<void>;
  /** Known CRM message ids of a connection by message key. */
  getMessages(connectionId: string, keys: readonly string[]): Promise<Map<string, string>>;
  /** CRM id of the last message written in each thread (for CRMs that thread replies). */
  getThreadHeads(connectionId: string, threadKeys: readonly string[]): Promise<Map<string, string>>;

  /** Events of these threads in any state, in `(sortKey, seq)` order: what a chat card is built from. */
  listThreadEvents(threadKeys: readonly string[]): Promise<CoexistenceEvent[]>;
  /** Contact keys a connection resolved to this CRM id, as the contact or its parent record (the reverse of `getContacts`). */
  findContactKeys(connectionId: string, crmId: string): Promise<string[]>;

  /** Lists dead letters, newest last. */
  listDeadLetters(options?: { includeReplayed?: boolean; limit?: number }): Promise<DeadLetter[]>;
  /**
   * Puts a dead letter's event back in the queue (`pending`, attempts reset); returns the letter. With `routes` (phone
   * number id → connection id, the engine's configuration now), the event goes to the connection serving its number,
   * or to `unrouted` when none does; without, to the connection it died on.
   */
  replayDeadLetter(id: number, at: string, routes?: ReadonlyMap<string, string>): Promise<DeadLetter>;

  /** Counts of open (not `done`) events per number, kind, lane and state. */
  countOpen(): Promise<QueueCount[]>;
  /** All counters, by scope then name. */
  readCounters(): Promise<Record<string, Record<string, number>>>;
  /** A saved state document. */
  getDocument<T>(key: string): Promise<T | undefined>;
  /** Every saved state document whose key starts with the prefix. */
  listDocuments<T>(prefix: string): Promise<{ key: string; value: T }[]>;

  /** Closes the backend; the store is unusable afterwards. */
  close(): Promise<void>;
}

/** The prefix of every store error. */
export const STORE_ERROR_PREFIX = '[coexist/core] store: ';

/** Thrown by a store for bad input or an unknown id; the message names the field. */
export class CoexistStoreError extends Error {
  override readonly name = 'CoexistStoreError';
  /** The field or id at fault. */
  readonly field: string;

  /** Creates a store error naming the field. */
  constructor(field: string, message: string) {
    super(`${STORE_ERROR_PREFIX}${field}: ${message}`);
    this.field = field;
  }
}

/** The `limit` of `listDeadLetters` (default 1,000); throws a `CoexistStoreError` naming `limit` unless a positive integer. */
export function deadLetterLimit(options: { limit?: number }): number {
  const limit = options.limit ?? 1000;
  if (!Number.isInteger(limit) || limit <= 0) {
    throw new CoexistStoreError('limit', `expected a positive integer, got ${String(limit)}`);
  }
  return limit;
}
