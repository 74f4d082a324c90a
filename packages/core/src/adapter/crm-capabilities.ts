/**
 * What a CRM adapter declares about itself. The engine plans batches, pacing and retries from these
 * declarations alone, so every field is required: an adapter that cannot state a value is not done.
 */

/** How an adapter keeps a replayed write from creating a second record. */
export type IdempotencyStrategy =
  /** The CRM upserts on a unique external id (the event's stable key), so a replay updates in place. */
  | 'upsert-by-external-id'
  /** The CRM has no upsert; before retrying an uncertain write the adapter looks the key up (local map, then the CRM). */
  | 'lookup-before-retry';

/** The adapter operations a rate-limit bucket can govern. */
export type CrmOperationName =
  | 'findContacts'
  | 'createContacts'
  | 'upsertContacts'
  | 'writeMessages'
  | 'updateMessages'
  | 'prepareConversations'
  | 'renderCard';

/**
 * One token bucket the engine's limiter enforces: at most `limit` requests per `intervalMs`.
 * A request to a CRM costs one token in every bucket that governs its operation.
 */
export interface RateLimitBucket {
  /** Name the adapter also uses in `RateLimitSignal.bucket` and `CrmRateLimitedError.bucket` (e.g. `ten-secondly`, `search`). */
  name: string;
  /** Requests allowed per interval (the documented or negotiated figure; signals may lower it at run time). */
  limit: number;
  /** Length of the window in milliseconds (e.g. `10_000` for HubSpot's ten-secondly policy). */
  intervalMs: number;
  /**
   * Operations this bucket governs; every operation when omitted.
   * @default every operation
   */
  operations?: readonly CrmOperationName[];
  /**
   * Whether the CRM reports this bucket's real values in response headers (Close's `RateLimit`), in which case
   * the limiter should prefer the latest `RateLimitSignal` over `limit`/`intervalMs`.
   * @default false
   */
  dynamic?: boolean;
}

/** A daily (or rolling 24 h) request allocation, as Salesforce and HubSpot private apps have. */
export interface DailyAllocation {
  /** Requests per day; a signal's `limit` replaces it when the CRM reports the real allocation. */
  limit: number;
  /** `rolling-24h` (Salesforce) or `midnight` (HubSpot resets at the account time zone's midnight). */
  reset: 'rolling-24h' | 'midnight';
}

/** The declarative rate-limit policy the engine's limiter follows for one connection. */
export interface RateLimitPolicy {
  /** Token buckets, all enforced together; empty when the CRM has no per-interval limit (Salesforce). */
  buckets: readonly RateLimitBucket[];
  /** Maximum requests in flight at once for one connection; `undefined` for no cap (still bounded by the engine). */
  maxConcurrency?: number;
  /** A daily allocation, when the CRM has one. */
  dailyAllocation?: DailyAllocation;
}

/** Everything an adapter declares about the CRM it writes to. */
export interface CrmCapabilities {
  /** Most contacts per `createContacts`/`upsertContacts` call (HubSpot 100, Salesforce 200, Close 1). */
  contactBatchSize: number;
  /** Most messages per `writeMessages` call and updates per `updateMessages` call. */
  messageBatchSize: number;
  /** Most requests per `findContacts` call (1 when each phone needs its own search). */
  searchBatchSize: number;
  /** The rate-limit policy of one connection. */
  rateLimits: RateLimitPolicy;
  /** How the adapter keeps replays from duplicating records. */
  idempotency: IdempotencyStrategy;
  /**
   * Whether messages of one conversation must be written in order with the previous message's CRM id
   * (Close's `response_to_id`); the engine then writes a thread sequentially and fills `previousMessageCrmId`.
   */
  threadsMessages: boolean;
  /** Whether `renderCard` is supported; when `false` it throws `UnsupportedOperationError`. */
  supportsCards: boolean;
  /**
   * Most conversations per `prepareConversations` call, for an adapter that implements it (a CRM that keeps a
   * conversation record per thread, like Salesforce): the engine then upserts the conversations of all message
   * batches in flight together, in full calls, before their messages. Omitted: the adapter writes conversations
   * inside `writeMessages`, if it has any. Optional, so adapters written for v1 without it stay valid.
   */
  conversationBatchSize?: number;
}
