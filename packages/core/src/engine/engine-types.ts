/**
 * Public types of the sync engine: its options, connections, logger, progress events and status report.
 */
import type { CrmAdapter } from '../adapter/crm-adapter.ts';
import type { CoexistenceEvent } from '../events/coexistence-event.ts';
import type { HistoryPhaseProgress, NumberHealth } from '../models/number-health.ts';
import type { CoexistStore, DeadLetter, QueueLane } from '../store/coexist-store.ts';
import type { RateLimitBucketStatus } from './rate-limiter.ts';

/** One CRM account: an adapter with its own credentials and limits, serving some business numbers. */
export interface SyncConnection {
  /** Stable id of the connection (stored with every CRM id map entry: do not rename it). */
  id: string;
  adapter: CrmAdapter;
  /** The `phoneNumberId`s (Meta's `metadata.phone_number_id`) whose events go to this CRM. */
  phoneNumberIds: readonly string[];
  /**
   * Business number (any format, normalized to E.164) → CRM user id that owns the contacts met on it and the
   * messages of it. A contact's owner is set when Coexist creates it (or finds it without one) and never changed
   * afterwards: see docs/engine.md, *Contact owners*.
   */
  owners?: Readonly<Record<string, string>>;
  /** CRM user id for contacts and messages of business numbers `owners` does not name; unowned when omitted. */
  defaultOwnerId?: string;
  /**
   * Most CRM calls in flight at once for this connection.
   * @default capabilities.rateLimits.maxConcurrency, else 4
   */
  maxConcurrency?: number;
}

/** A structured logger; fields never carry message bodies or secrets. */
export interface SyncLogger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  info?(message: string, fields?: Record<string, unknown>): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
  error?(message: string, fields?: Record<string, unknown>): void;
}

/** Retry policy for transient failures. */
export interface SyncRetryOptions {
  /**
   * Attempts before an item goes to the dead-letter table as `transient`.
   * @default 8
   */
  maxAttempts?: number;
  /**
   * Scale of the first back-off, in milliseconds (full jitter, doubling per attempt).
   * @default 500
   */
  baseMs?: number;
  /**
   * Longest back-off, in milliseconds.
   * @default 60000
   */
  capMs?: number;
}

/** Options of `createSyncEngine`. */
export interface SyncEngineOptions {
  store: CoexistStore;
  connections: readonly SyncConnection[];
  /**
   * The clock (epoch milliseconds or a `Date`).
   * @default () => Date.now()
   */
  now?: () => number | Date;
  logger?: SyncLogger;
  retry?: SyncRetryOptions;
  /**
   * Milliseconds before a CRM call is abandoned as a transient failure (its items are resent later).
   * @default 30000
   */
  callTimeoutMs?: number;
  /**
   * Milliseconds a connection pauses after a `CrmAuthError` before it tries again.
   * @default 60000
   */
  authRetryMs?: number;
  /**
   * Least milliseconds between two progress events of one number.
   * @default 250
   */
  progressIntervalMs?: number;
  /**
   * Start the workers at once; with `false`, call `engine.start()`.
   * @default true
   */
  autoStart?: boolean;
  /** Random source in `[0, 1)` for back-off jitter. @default Math.random */
  random?: () => number;
}

/** Options of `engine.ingest`. */
export interface IngestOptions {
  /** The webhook's raw body, as received (it is stored before the webhook is acknowledged). */
  rawBody: string | Uint8Array;
  /** When the webhook was received. @default now */
  receivedAt?: string | Date;
}

/** Result of `engine.ingest`. */
export interface IngestReport {
  /** Id of the stored raw payload; `null` when it was a pure redelivery. */
  payloadId: number | null;
  /** New events stored. */
  accepted: number;
  /** Events already known, ignored. */
  duplicates: number;
}

/** A parser for `replayInvalidPayloads`: the raw body in, events out (throws when still invalid). */
export type PayloadParser = (rawBody: string) => readonly CoexistenceEvent[] | Promise<readonly CoexistenceEvent[]>;

/** Result of `engine.replayInvalidPayloads`. */
export interface InvalidPayloadReplay {
  /** Payloads that now parsed and were ingested. */
  replayed: number;
  /** Payloads that still failed (their error is updated). */
  failed: number;
  /** Events accepted from the replayed payloads. */
  accepted: number;
}

/**
 * What a number's sync is doing: writing its history (`backfill`) or only live traffic (`live`), nothing (`idle`),
 * waiting out an auth pause of its connection (`paused`), or holding messages no connection serves (`unrouted`).
 */
export type SyncPhase = 'idle' | 'backfill' | 'live' | 'paused' | 'unrouted';

/** Counts of one lane of one number. */
export interface LaneProgress {
  /** Messages stored from webhooks. */
  received: number;
  /** Messages written to the CRM. */
  written: number;
  /** Messages in the dead-letter table. */
  dead: number;
  /** Messages still to write. */
  pending: number;
}

/** A progress event, per number, for a progress bar or a status page. */
export interface SyncProgress {
  phoneNumberId: string;
  connectionId: string | null;
  phase: SyncPhase;
  history: LaneProgress & {
    /** Latest history phase seen (0: day 0–1, 1: day 1–90, 2: day 90–180). */
    historyPhase: number | null;
    /** History chunks seen. */
    chunksSeen: number;
    /** Meta's overall backfill percentage (100 = all chunks sent). */
    metaProgress: number;
  };
  live: LaneProgress;
  /** History and live messages written so far. */
  messagesWritten: number;
  /** Messages written per second over the last ten seconds. */
  ratePerSecond: number;
  /** Seconds until the pending history is written at the current rate; `null` when unknown. */
  etaSeconds: number | null;
  /** ISO time of the event. */
  at: string;
}

/** Open queue items of one number. */
export interface QueueDepth {
  /** Events to work (including those being worked now). */
  pending: number;
  /** Updates waiting for their message. */
  waiting: number;
  /** Events of a number no connection serves. */
  unrouted: number;
  byLane: Record<QueueLane, number>;
}

/** One number in `engine.status()`. */
export interface NumberStatus {
  phoneNumberId: string;
  connectionId: string | null;
  wabaId: string | null;
  /** Link health: connection, inactivity countdown, sync deadline, warnings. */
  link: NumberHealth;
  backfill: {
    progress: number;
    complete: boolean;
    declined: boolean;
    phases: HistoryPhaseProgress[];
    received: number;
    written: number;
    pending: number;
  };
  queue: QueueDepth;
  deadLetters: number;
  progress: SyncProgress;
}

/** One connection in `engine.status()`. */
export interface ConnectionStatus {
  id: string;
  crm: string;
  phoneNumberIds: readonly string[];
  /** Calls in flight now. */
  inFlight: number;
  maxConcurrency: number;
  /** ISO time until which the connection is paused (auth failure), when it is. */
  pausedUntil: string | null;
  /** The last error (kind and message; never a body), when there was one. */
  lastError: { kind: string; message: string; at: string } | null;
  rateLimits: RateLimitBucketStatus[];
}

/** The engine's report for a `/status` endpoint. */
export interface SyncStatus {
  at: string;
  running: boolean;
  numbers: NumberStatus[];
  connections: ConnectionStatus[];
  deadLetters: number;
  invalidPayloads: number;
}

/** Events the engine emits. */
export interface SyncEngineEvents {
  progress: SyncProgress;
  'dead-letter': { eventId: string; eventType: string; connectionId: string; reason: string; errorKind: string };
}

/** The sync engine. */
export interface SyncEngine {
  /** Stores the raw payload and its events durably (one transaction) and wakes the workers; call before acking. */
  ingest(events: readonly CoexistenceEvent[], options: IngestOptions): Promise<IngestReport>;
  /** Keeps a signed payload that failed validation, raw, with its error; returns its id. */
  recordInvalidPayload(input: {
    rawBody: string | Uint8Array;
    error: unknown;
    receivedAt?: string | Date;
  }): Promise<number>;
  /** Lists payloads that failed validation and were not replayed yet. */
  listInvalidPayloads(): ReturnType<CoexistStore['listInvalidPayloads']>;
  /** Parses every stored invalid payload again (after a parser fix) and ingests those that now pass. */
  replayInvalidPayloads(parse: PayloadParser): Promise<InvalidPayloadReplay>;
  /** Lists dead letters not replayed yet. */
  listDeadLetters(options?: { includeReplayed?: boolean; limit?: number }): Promise<DeadLetter[]>;
  /** Puts a dead letter's event back in the queue and wakes its worker. */
  replayDeadLetter(id: number): Promise<DeadLetter>;
  /** The status report: per number link health, backfill, queue depth, dead letters; per connection limits. */
  status(): Promise<SyncStatus>;
  /** Subscribes to engine events; returns the unsubscribe function. */
  on<Name extends keyof SyncEngineEvents>(name: Name, listener: (event: SyncEngineEvents[Name]) => void): () => void;
  /** Progress events as an async iterator (ends when the engine stops). */
  progress(): AsyncIterableIterator<SyncProgress>;
  /** Starts the workers (when created with `autoStart: false`). */
  start(): Promise<void>;
  /** Resolves when nothing is in flight and nothing is runnable right now (delayed retries may remain). */
  idle(): Promise<void>;
  /** Resolves when no event is pending or in flight (waiting updates, dead letters and unrouted events remain). */
  drain(options?: { timeoutMs?: number }): Promise<void>;
  /** Stops the workers gracefully: in-flight calls are aborted and their items released for the next start. */
  stop(): Promise<void>;
}
