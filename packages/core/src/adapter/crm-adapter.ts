/**
 * The CRM adapter contract, v1. One adapter per CRM (`createHubSpotAdapter`, `createSalesforceAdapter`,
 * `createCloseAdapter`); the sync engine drives them all through this interface and nothing else.
 *
 * Rules every adapter follows:
 * - **Required means required.** Every method exists. An operation the capabilities rule out (`renderCard` with
 *   `supportsCards: false`) throws `UnsupportedOperationError`; nothing returns `undefined` for "not supported".
 * - **Batches answer per item.** A batch returns one result per input item, in input order, with the item's `key`.
 *   One failed item is `{ ok: false, error }`; only a failure of the whole call (auth, rate limit, network before
 *   any item was processed, a batch larger than declared) is thrown, always as a `CrmError`.
 * - **Every write is idempotent by the item's stable key.** After a crash the engine resends whatever it cannot
 *   prove was written, so the same `MessageRecord.key` (the wamid) or `ContactInput.key` written twice must leave
 *   one CRM record, answering `created: false` the second time. With `idempotency: 'upsert-by-external-id'` the
 *   adapter upserts on a unique external-id field holding the key; with `'lookup-before-retry'` it keeps a
 *   key → CRM id map and, for any key it cannot prove absent, looks the record up in the CRM before creating.
 * - **Writes are native and complete.** A message record carries direction, sender, original timestamp, content,
 *   media, status, edit/revoke marks, the contact and the conversation; updates never move a status backwards.
 * - **No I/O at creation.** Factories validate options lazily; the first operation connects.
 * - **Rate limits are reported, not hidden.** Adapters do not sleep on a 429; they throw `CrmRateLimitedError`
 *   (or return it per item) and report what the CRM's headers say through `context.onRateLimitSignal`.
 */
import type { ChatCard } from '../models/chat-card.ts';
import type { CrmCapabilities } from './crm-capabilities.ts';
import type {
  ContactFindRequest,
  ContactFindResult,
  ContactInput,
  ConversationInput,
  CrmCardRendering,
  CrmWriteResult,
  MessageRecord,
  MessageUpdate,
} from './crm-records.ts';

/** The contract version this interface describes. */
export const ADAPTER_SPECIFICATION_VERSION = 'v1' as const;

/** What a CRM response said about a rate-limit bucket (from `X-HubSpot-RateLimit-*`, `Sforce-Limit-Info`, `RateLimit`). */
export interface RateLimitSignal {
  /** The `RateLimitBucket.name` (or `daily` for a daily allocation) the values describe. */
  bucket: string;
  /** Requests left in the current window, when reported. */
  remaining?: number;
  /** The window's real limit, when reported (replaces the declared one). */
  limit?: number;
  /** Milliseconds until the window resets, when reported. */
  resetAfterMs?: number;
  /** The window's real length in milliseconds, when reported (HubSpot's `X-HubSpot-RateLimit-Interval-Milliseconds`). */
  intervalMs?: number;
  /** Milliseconds to wait before the next call to this bucket, when the CRM asked for a pause. */
  retryAfterMs?: number;
}

/** Per-call context the engine passes to every adapter operation. */
export interface OperationContext {
  /** The connection (one CRM account's credentials and limits) the call is for. */
  connectionId: string;
  /** Aborts the call (shutdown, deadline); adapters pass it to their HTTP client. */
  signal: AbortSignal;
  /** Receives rate-limit observations so the engine's limiter adapts; adapters call it after every response that has them. */
  onRateLimitSignal?: (signal: RateLimitSignal) => void;
  /**
   * Waits until the engine's rate limiter allows one more request for this call. The engine counts one request per
   * call; an adapter whose call sends several, one after another (read then update, paging), awaits this before
   * each one after the first, so every request is paced and counted. Never call it with a request still in flight.
   * `bucket` names the `RateLimitBucket` the request counts against when it is not the operation's (HubSpot: a
   * property read during a search call); by default, every bucket governing the operation.
   */
  acquireRequestSlot?: (bucket?: string) => Promise<void>;
}

/** A CRM adapter, contract v1. */
export interface CrmAdapter {
  /** The contract version the adapter implements. */
  readonly specificationVersion: 'v1';
  /** The CRM's short name, lowercase (`hubspot`, `salesforce`, `close`); used in error prefixes and logs. */
  readonly crm: string;
  /** What the adapter declares about batch sizes, limits, idempotency and cards. */
  readonly capabilities: CrmCapabilities;

  /**
   * Finds CRM contacts by E.164 phone (in every stored format), `waId` or BSUID.
   * At most `capabilities.searchBatchSize` requests per call.
   */
  findContacts(requests: readonly ContactFindRequest[], context: OperationContext): Promise<ContactFindResult[]>;

  /**
   * Creates contacts with name and owner; a replayed key must not create a second record (idempotent by `key`).
   * At most `capabilities.contactBatchSize` items per call.
   */
  createContacts(contacts: readonly ContactInput[], context: OperationContext): Promise<CrmWriteResult[]>;

  /**
   * Creates or updates contacts by `key` (or `crmId` when given); a Business App name replaces the stored name,
   * an owner is set only when the record has none. At most `capabilities.contactBatchSize` items per call.
   */
  upsertContacts(contacts: readonly ContactInput[], context: OperationContext): Promise<CrmWriteResult[]>;

  /**
   * Creates or upserts one native timeline record per message, keyed by `MessageRecord.key` (the wamid).
   * Items of one conversation arrive in chronological order and must be written in that order.
   * At most `capabilities.messageBatchSize` items per call.
   */
  writeMessages(messages: readonly MessageRecord[], context: OperationContext): Promise<CrmWriteResult[]>;

  /**
   * Applies status, edit, revoke, reaction and media changes to written messages; an unknown target is an item
   * failure (`CrmPermanentError` with `code: 'not_found'`). At most `capabilities.messageBatchSize` per call.
   */
  updateMessages(updates: readonly MessageUpdate[], context: OperationContext): Promise<CrmWriteResult[]>;

  /**
   * Optional. Creates or brings up to date the conversation records of `conversations` (upsert by conversation key,
   * so a resend never makes a second record; values only move forward) and answers each input with the
   * conversation's CRM id, which the engine then passes to `writeMessages` as `MessageRecord.conversationCrmId`.
   * Implemented together with `capabilities.conversationBatchSize`; at most that many inputs per call.
   */
  prepareConversations?(
    conversations: readonly ConversationInput[],
    context: OperationContext,
  ): Promise<CrmWriteResult[]>;

  /** Renders the chat card for the CRM's card surface; throws `UnsupportedOperationError` unless `capabilities.supportsCards`. */
  renderCard(card: ChatCard, context: OperationContext): Promise<CrmCardRendering>;
}

/** The `code` of a `CrmPermanentError` for an update whose target record does not exist. */
export const CRM_NOT_FOUND_CODE = 'not_found';
