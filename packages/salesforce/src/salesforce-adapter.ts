/**
 * `createSalesforceAdapter`: the CRM adapter contract v1 for Salesforce, on jsforce 3.10 (crm-apis.md §3).
 * Messages become `WhatsApp_Message__c` records under a `WhatsApp_Conversation__c` per thread (the package's
 * custom objects, `force-app/`), upserted by External ID through sObject Collections (200 per call) or, for large
 * backfill batches, Bulk API 2.0. Contacts are matched by phone with SOQL on our `WhatsApp_E164__c` field and one
 * SOSL search for many phones; missing ones are created as Leads or Contacts. The adapter stays inside the org's
 * rolling 24 h allocation minus a reserve and reports `Sforce-Limit-Info` to the engine.
 */
import { createHash } from 'node:crypto';
import {
  type ContactFindRequest,
  type ContactFindResult,
  type ContactInput,
  type ContactMatch,
  type ConversationInput,
  type CountryCode,
  CRM_NOT_FOUND_CODE,
  type CrmAdapter,
  type CrmCapabilities,
  type CrmError,
  CrmPermanentError,
  CrmRateLimitedError,
  CrmTransientError,
  type CrmWriteResult,
  isRecentlyNotFound,
  type MessageRecord,
  type MessageUpdate,
  normalizePhone,
  type OperationContext,
  phoneVariants,
} from '@coexist/core';
import type { Connection } from 'jsforce';
import { toConversationFields } from './map-salesforce-conversation.ts';
import { splitContactName, toSalesforcePersonFields, toSalesforcePersonUpdateFields } from './map-salesforce-lead.ts';
import { applyMessageChange, toMessageFields } from './map-salesforce-message.ts';
import {
  parseSalesforceResponse,
  type SalesforceConversationRecord,
  type SalesforceMessageRecord,
  type SalesforcePersonRecord,
  type SalesforceRecordUpdate,
  type SalesforceSaveResult,
  salesforceCompositeResponseSchema,
  salesforceConversationRecordSchema,
  salesforceLimitInfoSchema,
  salesforceMessageRecordSchema,
  salesforcePersonRecordSchema,
  salesforceQueryPageSchema,
  salesforceSaveResultsSchema,
  salesforceSearchResultSchema,
} from './salesforce-api.ts';
import { SalesforceApiBudget } from './salesforce-api-budget.ts';
import { type BulkRowOutcome, runBulkUpsert } from './salesforce-bulk-upsert.ts';
import { renderSalesforceCard } from './salesforce-card.ts';
import {
  buildCompositeUpserts,
  COMPOSITE_MAX_COLLECTIONS,
  type CompositeUpsert,
  compositeCollectionsOf,
  readCompositeUpserts,
} from './salesforce-composite-upsert.ts';
import { createSalesforceConnection, type SalesforceCredentialOptions } from './salesforce-connection.ts';
import {
  SALESFORCE_BUCKETS,
  SALESFORCE_CRM,
  toSalesforceCrmError,
  toSalesforceRecordError,
} from './salesforce-errors.ts';
import { createMemoryJobStore, type SalesforceJobStore } from './salesforce-job-store.ts';
import {
  buildE164Query,
  buildPhoneSearches,
  buildUserIdQuery,
  createPhoneMatcher,
  type PhoneMatchField,
} from './salesforce-phone-search.ts';
import { contactObjectOfId, isSalesforceId } from './salesforce-record-ids.ts';
import { writeSummaryTasks } from './salesforce-summary-tasks.ts';

/** Records per sObject Collections call (crm-apis.md §3.3). */
export const SALESFORCE_COLLECTION_SIZE = 200;
/** Values per SOQL `IN (…)` list the adapter sends (keeps the GET URL well under Salesforce's 16 KB). */
const SOQL_IN_CHUNK = 100;
/** The message fields a Bulk API 2.0 upsert sends, in CSV column order. */
const BULK_MESSAGE_COLUMNS = [
  'Message_Id__c',
  'Conversation__c',
  'Direction__c',
  'Actor__c',
  'Body__c',
  'Sent_At__c',
  'Status__c',
  'Media_Url__c',
  'Media_Type__c',
  'Edited__c',
  'Revoked__c',
  'Reactions__c',
  'OwnerId',
] as const;

/** Options of `createSalesforceAdapter`. */
export interface SalesforceAdapterOptions extends SalesforceCredentialOptions {
  /** Business phone (E.164) → Salesforce user id (`005…`) that owns the conversations and messages of that number. */
  owners?: Readonly<Record<string, string>>;
  /**
   * What a WhatsApp contact with no matching record becomes.
   * @default 'Lead'
   */
  createMissingAs?: 'Lead' | 'Contact';
  /**
   * `Company` of created Leads (required by Salesforce).
   * @default '[not provided]'
   */
  leadCompany?: string;
  /**
   * Share of the daily allocation left for the customer's other integrations: a fraction (< 1) or a count (≥ 1).
   * @default 0.1
   */
  dailyReserve?: number;
  /**
   * The org's rolling 24 h allocation, declared to the engine until Salesforce reports the real one.
   * @default 100_000 (Enterprise Edition base)
   */
  dailyAllocation?: number;
  /**
   * How long to pause once the budget is spent or Salesforce answers `REQUEST_LIMIT_EXCEEDED`, in ms; the rolling
   * window frees requests as they turn 24 h old, so a probe after this pause usually finds room.
   * @default 1_800_000 (30 minutes)
   */
  dailyLimitPauseMs?: number;
  /**
   * Requests in flight at once, for the org's limit of 25 concurrent long-running requests (5 on Developer Edition).
   * @default 25
   */
  maxConcurrency?: number;
  /**
   * Write one summary Task per conversation per day (UTC) on the contact's activity timeline.
   * @default false
   */
  summaryTasks?: boolean;
  /**
   * Batches of at least this many messages go through Bulk API 2.0 instead of Collections; with it set, the
   * adapter declares `messageBatchSize: bulkMaxBatchSize`. Unset: Collections only, 200 per batch.
   */
  bulkThreshold?: number;
  /**
   * The largest `writeMessages` batch when `bulkThreshold` is set.
   * @default 10_000 (one internal Bulk batch)
   */
  bulkMaxBatchSize?: number;
  /** Where running Bulk API 2.0 job ids are kept so polling survives a restart. @default an in-memory store */
  jobStore?: SalesforceJobStore;
  /** @default 2_000 */
  bulkPollIntervalMs?: number;
  /**
   * How long one `writeMessages` call polls a Bulk job before throwing a transient error (the job id stays saved).
   * @default 600_000
   */
  bulkPollTimeoutMs?: number;
  /** Country to read national-format phones stored without a country code in. */
  defaultCountry?: CountryCode;
  /** Receives failures of best-effort side writes (summary Tasks, `WhatsApp_E164__c` backfill on matched records). */
  onWarning?: (warning: { operation: string; error: CrmError }) => void;
  /** The clock (epoch ms). @default Date.now */
  now?: () => number;
}

interface ConversationState {
  record: SalesforceConversationRecord;
}

/** The External ID a person is keyed by in Salesforce: the E.164 phone, else the BSUID (no phone shared). */
interface PersonIdentity {
  field: 'WhatsApp_E164__c' | 'WhatsApp_User_Id__c';
  value: string;
}

/** A business-scoped user id: a country code, a dot and an opaque id (`US.13491208655302741918`). */
const BSUID_PATTERN = /^[A-Za-z]{2}\.[A-Za-z0-9]{1,90}$/;

function optionError(field: string, message: string): TypeError {
  return new TypeError(`[coexist/salesforce] createSalesforceAdapter: \`options.${field}\` ${message}`);
}

function validateOptions(options: SalesforceAdapterOptions): void {
  if (options.apiVersion !== undefined && !/^\d{2,3}\.0$/.test(options.apiVersion)) {
    throw optionError('apiVersion', `must look like "62.0", got "${options.apiVersion}"`);
  }
  if (options.apiVersion !== undefined && Number(options.apiVersion) < 46) {
    throw optionError('apiVersion', 'must be 46.0 or later (sObject Collections upserts)');
  }
  if (options.createMissingAs !== undefined && !['Lead', 'Contact'].includes(options.createMissingAs)) {
    throw optionError('createMissingAs', `must be "Lead" or "Contact", got "${String(options.createMissingAs)}"`);
  }
  const reserve = options.dailyReserve;
  if (reserve !== undefined && (!Number.isFinite(reserve) || reserve < 0)) {
    throw optionError('dailyReserve', 'must be a fraction (< 1) or a count (≥ 1) of requests');
  }
  for (const [field, value] of Object.entries({
    dailyAllocation: options.dailyAllocation,
    dailyLimitPauseMs: options.dailyLimitPauseMs,
    maxConcurrency: options.maxConcurrency,
    bulkThreshold: options.bulkThreshold,
    bulkMaxBatchSize: options.bulkMaxBatchSize,
    bulkPollIntervalMs: options.bulkPollIntervalMs,
    bulkPollTimeoutMs: options.bulkPollTimeoutMs,
  })) {
    if (value !== undefined && (!Number.isInteger(value) || value < (field.endsWith('Ms') ? 0 : 1))) {
      throw optionError(field, `must be a ${field.endsWith('Ms') ? 'non-negative' : 'positive'} integer`);
    }
  }
  if (options.bulkThreshold !== undefined && options.bulkThreshold > (options.bulkMaxBatchSize ?? 10_000)) {
    throw optionError('bulkThreshold', 'must not exceed `bulkMaxBatchSize`');
  }
  for (const [phone, userId] of Object.entries(options.owners ?? {})) {
    if (!/^\+\d{6,17}$/.test(phone)) throw optionError(`owners["${phone}"]`, 'key must be an E.164 business phone');
    if (!isSalesforceId(userId) || !userId.startsWith('005')) {
      throw optionError(`owners["${phone}"]`, `must be a Salesforce user id (005…), got "${userId}"`);
    }
  }
}

function chunk<Item>(items: readonly Item[], size: number): Item[][] {
  const chunks: Item[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

function soqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Creates the Salesforce adapter; no I/O until the first operation, which builds the jsforce connection. */
export function createSalesforceAdapter(options: SalesforceAdapterOptions): CrmAdapter {
  validateOptions(options);
  const crm = SALESFORCE_CRM;
  const now = options.now ?? Date.now;
  const createMissingAs = options.createMissingAs ?? 'Lead';
  const leadCompany = options.leadCompany ?? '[not provided]';
  const owners = options.owners ?? {};
  const jobStore = options.jobStore ?? createMemoryJobStore();
  const pauseMs = options.dailyLimitPauseMs ?? 30 * 60 * 1000;
  const budget = new SalesforceApiBudget({ reserve: options.dailyReserve ?? 0.1, pauseMs, now });
  const allocation = options.dailyAllocation ?? 100_000;
  const bulkEnabled = options.bulkThreshold !== undefined;
  const capabilities: CrmCapabilities = {
    contactBatchSize: SALESFORCE_COLLECTION_SIZE,
    messageBatchSize: bulkEnabled ? (options.bulkMaxBatchSize ?? 10_000) : SALESFORCE_COLLECTION_SIZE,
    searchBatchSize: SALESFORCE_COLLECTION_SIZE,
    rateLimits: {
      buckets: [],
      maxConcurrency: options.maxConcurrency ?? 25,
      dailyAllocation: { limit: allocation - budget.reserveOf(allocation), reset: 'rolling-24h' },
    },
    idempotency: 'upsert-by-external-id',
    threadsMessages: false,
    supportsCards: true,
    // Collections writes send a batch's conversations with its messages in one Composite request (`writeMessages`),
    // so the engine need not prepare them ahead; Bulk jobs (thousands of messages, hundreds of conversations) have
    // them prepared in pooled calls while the job is assembled.
    ...(bulkEnabled ? { conversationBatchSize: SALESFORCE_COLLECTION_SIZE } : {}),
  };
  /** Conversations this process wrote or read, by thread key: saves the lookup before each batch. */
  const conversations = new Map<string, ConversationState>();
  const CONVERSATION_CACHE_LIMIT = 10_000;
  let connection: Connection | undefined;

  const permanent = (message: string, field: string, code?: string) =>
    new CrmPermanentError({ crm, message, field, ...(code === undefined ? {} : { code }) });

  function admit(operation: string, size: number, limit: number, field: string, context: OperationContext): void {
    if (size > limit) {
      throw permanent(
        `${operation}: \`${field}\` has ${size} items, more than the declared batch size ${limit}`,
        field,
        'batch_too_large',
      );
    }
    if (context.signal.aborted)
      throw toSalesforceCrmError(context.signal.reason, { operation, dailyLimitRetryAfterMs: pauseMs });
  }

  function report(conn: Connection, context: OperationContext): void {
    const parsed = salesforceLimitInfoSchema.safeParse(conn.limitInfo);
    const signal = parsed.success ? budget.observe(parsed.data.apiUsage) : undefined;
    if (signal !== undefined) context.onRateLimitSignal?.(signal);
  }

  /** The jsforce connection, built on first use (throws `CrmAuthError` naming a missing credential). */
  function ensureConnection(): Connection {
    connection ??= createSalesforceConnection(options);
    return connection;
  }

  /** Runs one Salesforce request: abort check, limit bookkeeping, error mapping. */
  async function request<Result>(
    operation: string,
    context: OperationContext,
    run: (conn: Connection) => Promise<Result>,
  ): Promise<Result> {
    const conn = ensureConnection();
    try {
      context.signal.throwIfAborted();
      const result = await run(conn);
      report(conn, context);
      return result;
    } catch (error) {
      report(conn, context);
      const mapped = toSalesforceCrmError(error, { operation, dailyLimitRetryAfterMs: pauseMs });
      if (mapped instanceof CrmRateLimitedError && mapped.bucket === SALESFORCE_BUCKETS.daily) budget.exhausted();
      throw mapped;
    }
  }

  async function query(operation: string, context: OperationContext, soql: string) {
    return followPages(
      operation,
      context,
      parseSalesforceResponse(
        salesforceQueryPageSchema,
        await request(operation, context, async (conn) => conn.query(soql)),
        'SOQL result',
      ),
    );
  }

  /**
   * Runs SOQL queries side by side in one Composite request (up to 5 queries each; crm-apis.md §3 and
   * https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-composite-post.html): one
   * request instead of one per query. Answers each query's records, every page followed.
   */
  async function queryTogether(
    operation: string,
    context: OperationContext,
    soqls: readonly string[],
  ): Promise<Record<string, unknown>[][]> {
    if (soqls.length === 1) return [await query(operation, context, soqls[0]!)];
    const version = ensureConnection().version;
    const groups = await Promise.all(
      chunk(soqls, COMPOSITE_MAX_COLLECTIONS).map(async (group) => {
        const body = {
          allOrNone: false,
          compositeRequest: group.map((soql, index) => ({
            method: 'GET',
            url: `/services/data/v${version}/query?q=${encodeURIComponent(soql)}`,
            referenceId: `query${index}`,
          })),
        };
        const answer = await request(operation, context, async (conn) => conn.requestPost('/composite', body));
        const { compositeResponse } = parseSalesforceResponse(
          salesforceCompositeResponseSchema,
          answer,
          'Composite result',
        );
        if (compositeResponse.length !== group.length)
          throw new CrmTransientError({
            crm,
            message: `${operation}: Composite answered ${compositeResponse.length} results for ${group.length} queries`,
          });
        return Promise.all(
          compositeResponse.map(async (result) => {
            if (result.httpStatusCode >= 400) {
              // The subrequest's error, as the query alone would have thrown it.
              const [first] = Array.isArray(result.body)
                ? (result.body as { errorCode?: unknown; message?: unknown }[])
                : [];
              const errorCode =
                typeof first?.errorCode === 'string' ? first.errorCode : `ERROR_HTTP_${result.httpStatusCode}`;
              throw toSalesforceCrmError(
                Object.assign(new Error(typeof first?.message === 'string' ? first.message : errorCode), {
                  name: errorCode,
                  errorCode,
                }),
                { operation, dailyLimitRetryAfterMs: pauseMs },
              );
            }
            return followPages(
              operation,
              context,
              parseSalesforceResponse(salesforceQueryPageSchema, result.body, 'SOQL result'),
            );
          }),
        );
      }),
    );
    return groups.flat();
  }

  /** A query's records from its first page on, reading the next pages (`queryMore`). */
  async function followPages(
    operation: string,
    context: OperationContext,
    first: ReturnType<typeof salesforceQueryPageSchema.parse>,
  ): Promise<Record<string, unknown>[]> {
    let page = first;
    const records: Record<string, unknown>[] = [...page.records];
    while (!page.done && page.nextRecordsUrl !== undefined) {
      const locator = page.nextRecordsUrl;
      page = parseSalesforceResponse(
        salesforceQueryPageSchema,
        await request(operation, context, async (conn) => conn.queryMore(locator)),
        'SOQL result',
      );
      records.push(...page.records);
    }
    return records;
  }

  async function upsertCollection(
    operation: string,
    context: OperationContext,
    type: string,
    externalIdField: string,
    records: readonly Record<string, unknown>[],
  ): Promise<SalesforceSaveResult[]> {
    const results: SalesforceSaveResult[] = [];
    for (const part of chunk(records, SALESFORCE_COLLECTION_SIZE)) {
      const answer = await request(operation, context, async (conn) =>
        conn.sobject(type).upsert(part as Record<string, string>[], externalIdField, { allOrNone: false }),
      );
      results.push(...parseSalesforceResponse(salesforceSaveResultsSchema, answer, 'sObject Collections result'));
    }
    return results;
  }

  /**
   * Updates records by Id through sObject Collections, 200 a call, answering each record's result in input order.
   * The records may be of different objects (Contacts and Leads together): Salesforce processes a call's records in
   * chunks of one object each, at most 10 chunks a call
   * (https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-update.html),
   * so they go grouped by object — one call where one object at a time took one call each.
   */
  async function updateCollection(
    operation: string,
    context: OperationContext,
    records: readonly SalesforceRecordUpdate[],
  ): Promise<SalesforceSaveResult[]> {
    const byObject = records
      .map((_, index) => index)
      .sort((left, right) => records[left]!.type.localeCompare(records[right]!.type) || left - right);
    const results = new Array<SalesforceSaveResult>(records.length);
    for (const part of chunk(byObject, SALESFORCE_COLLECTION_SIZE)) {
      const body = {
        allOrNone: false,
        records: part.map((index) => {
          const { type, Id, fields } = records[index]!;
          return { attributes: { type }, Id, ...fields };
        }),
      };
      const answer = await request(operation, context, async (conn) => conn.requestPatch('/composite/sobjects', body));
      const saved = parseSalesforceResponse(salesforceSaveResultsSchema, answer, 'sObject Collections result');
      part.forEach((index, position) => {
        results[index] = saved[position]!;
      });
    }
    return results;
  }

  /** Sends Collections upserts together in one Composite request; answers each upsert's per-record results. */
  async function upsertComposite(
    operation: string,
    context: OperationContext,
    upserts: readonly CompositeUpsert[],
  ): Promise<SalesforceSaveResult[][]> {
    const { body, plan } = buildCompositeUpserts(ensureConnection().version, upserts);
    const answer = await request(operation, context, async (conn) => conn.requestPost('/composite', body as object));
    return readCompositeUpserts(answer, plan, upserts.length);
  }

  /** Upserts in one Composite request when they fit one (at most five Collections subrequests), else one by one. */
  async function upsertTogether(
    operation: string,
    context: OperationContext,
    upserts: readonly CompositeUpsert[],
  ): Promise<SalesforceSaveResult[][]> {
    if (upserts.length > 1 && compositeCollectionsOf(upserts) <= COMPOSITE_MAX_COLLECTIONS)
      return upsertComposite(operation, context, upserts);
    const results: SalesforceSaveResult[][] = [];
    for (const { object, externalIdField, records } of upserts)
      results.push(await upsertCollection(operation, context, object, externalIdField, records));
    return results;
  }

  /** The phone of a find or write item: the E.164 `phone`, else the `waId` read as international digits. */
  function phoneOf(item: { phone?: string; waId?: string }): string | undefined {
    if (item.phone !== undefined) return item.phone;
    return item.waId === undefined ? undefined : normalizePhone(`+${item.waId.replace(/\D/g, '')}`);
  }

  /**
   * The Contacts and unconverted Leads whose `WhatsApp_E164__c` is one of `phones` or whose `WhatsApp_User_Id__c`
   * is one of `userIds`. The queries are independent: sent together in one Composite request (5 per request), the
   * look-up costs one round trip, not one per object and key field.
   */
  async function findByIdentity(
    operation: string,
    context: OperationContext,
    phones: readonly string[],
    userIds: readonly string[],
  ): Promise<SalesforcePersonRecord[]> {
    const queries = (['Contact', 'Lead'] as const).flatMap((objectType) => [
      ...chunk(phones, SALESFORCE_COLLECTION_SIZE).map((part) => ({
        objectType,
        soql: buildE164Query(objectType, part),
      })),
      ...chunk(userIds, SOQL_IN_CHUNK).map((part) => ({ objectType, soql: buildUserIdQuery(objectType, part) })),
    ]);
    if (queries.length === 0) return [];
    const pages = await queryTogether(
      operation,
      context,
      queries.map((entry) => entry.soql),
    );
    return pages.flatMap((records, index) =>
      records.map((record) =>
        parseSalesforceResponse(salesforcePersonRecordSchema, record, `${queries[index]!.objectType} record`),
      ),
    );
  }

  function warn(operation: string, error: unknown): void {
    options.onWarning?.({
      operation,
      error: toSalesforceCrmError(error, { operation, dailyLimitRetryAfterMs: pauseMs }),
    });
  }

  async function findContacts(
    requests: readonly ContactFindRequest[],
    context: OperationContext,
  ): Promise<ContactFindResult[]> {
    const operation = 'findContacts';
    admit(operation, requests.length, capabilities.searchBatchSize, 'requests', context);
    const results: ContactFindResult[] = [];
    const phones = new Set<string>();
    const requestPhones: (string | undefined)[] = [];
    // People whose phone WhatsApp does not share are found by their BSUID on `WhatsApp_User_Id__c`.
    const userIds = new Set<string>();
    const requestUserIds: (string | undefined)[] = [];
    for (const [index, item] of requests.entries()) {
      const phone = phoneOf(item);
      const userId = phone === undefined ? item.userId : undefined;
      requestUserIds.push(userId);
      if (userId !== undefined && !BSUID_PATTERN.test(userId)) {
        results[index] = {
          key: item.key,
          ok: false,
          error: permanent(
            `${operation}: \`requests[${index}].userId\` must be a BSUID (like US.13491208655302741918)`,
            `requests[${index}].userId`,
          ),
        };
        requestPhones.push(undefined);
        continue;
      }
      if (userId !== undefined) userIds.add(userId);
      if (item.phone !== undefined && !/^\+\d{6,17}$/.test(item.phone)) {
        results[index] = {
          key: item.key,
          ok: false,
          error: permanent(
            `${operation}: \`requests[${index}].phone\` must be E.164 (like +16505551234)`,
            `requests[${index}].phone`,
          ),
        };
        requestPhones.push(undefined);
        continue;
      }
      requestPhones.push(phone);
      if (phone !== undefined) phones.add(phone);
    }
    // The engine sends each phone's formats (`phoneVariants`): the searches use them rather than computing them
    // again. Hits are still confirmed against formats computed here (`createPhoneMatcher`), never the caller's.
    const sentVariants = new Map<string, readonly string[]>();
    for (const item of requests) {
      if (item.phone !== undefined && item.phoneVariants?.includes(item.phone))
        sentVariants.set(item.phone, item.phoneVariants);
    }
    const variantsOf = (phone: string): readonly string[] => sentVariants.get(phone) ?? phoneVariants(phone);
    const matchesByPhone = new Map<string, { record: SalesforcePersonRecord; field: PhoneMatchField }[]>();
    const add = (phone: string, record: SalesforcePersonRecord, field: PhoneMatchField) => {
      const list = matchesByPhone.get(phone) ?? [];
      if (!list.some((entry) => entry.record.Id === record.Id)) list.push({ record, field });
      matchesByPhone.set(phone, list);
    };
    const matchesByUserId = new Map<string, SalesforcePersonRecord[]>();
    // One Composite request looks both identities up (BSUIDs exactly; phones exactly by our E.164 field first).
    const searches = phones.size === 0 ? [] : buildPhoneSearches([...phones], undefined, variantsOf);
    const lookups = Math.ceil(
      (2 * (Math.ceil(phones.size / SALESFORCE_COLLECTION_SIZE) + Math.ceil(userIds.size / SOQL_IN_CHUNK))) /
        COMPOSITE_MAX_COLLECTIONS,
    );
    // The look-ups, the searches, and the E.164 marks on matched Contacts and Leads.
    if (lookups > 0) budget.ensure(lookups + searches.length + 2, operation);
    for (const record of await findByIdentity(operation, context, [...phones], [...userIds])) {
      const userId = record.WhatsApp_User_Id__c;
      if (userId && userIds.has(userId)) matchesByUserId.set(userId, [...(matchesByUserId.get(userId) ?? []), record]);
      if (record.WhatsApp_E164__c && phones.has(record.WhatsApp_E164__c))
        add(record.WhatsApp_E164__c, record, 'WhatsApp_E164__c');
    }
    if (phones.size > 0) {
      const remaining = [...phones].filter((phone) => !matchesByPhone.has(phone));
      const backfill = new Map<string, { type: string; Id: string; WhatsApp_E164__c: string }>();
      const answers = await Promise.all(
        (remaining.length === 0 ? [] : buildPhoneSearches(remaining, undefined, variantsOf)).map(async (search) =>
          parseSalesforceResponse(
            salesforceSearchResultSchema,
            await request(operation, context, async (conn) => conn.search(search)),
            'SOSL result',
          ),
        ),
      );
      const match = createPhoneMatcher(remaining, options.defaultCountry);
      for (const answer of answers) {
        for (const raw of answer.searchRecords) {
          const record = parseSalesforceResponse(salesforcePersonRecordSchema, raw, 'SOSL record');
          for (const [phone, field] of match(record)) {
            add(phone, record, field);
            if (!record.WhatsApp_E164__c && !backfill.has(record.Id)) {
              backfill.set(record.Id, { type: record.attributes.type, Id: record.Id, WhatsApp_E164__c: phone });
            }
          }
        }
      }
      // Mark matched records with our E.164 field, so the next lookup is an exact, indexed SOQL query (Contacts and
      // Leads in one update).
      const marks = [...backfill.values()].map(({ type, Id, WhatsApp_E164__c }) => ({
        type,
        Id,
        fields: { WhatsApp_E164__c },
      }));
      if (marks.length > 0) {
        try {
          const saved = await updateCollection(operation, context, marks);
          saved.forEach((result, index) => {
            const { type, Id } = marks[index]!;
            if (!result.success) warn(operation, toSalesforceRecordError(result.errors, `${type}[${Id}]`));
          });
        } catch (error) {
          warn(operation, error);
        }
      }
    }
    const rank: Record<PhoneMatchField, number> = { WhatsApp_E164__c: 0, MobilePhone: 1, Phone: 2 };
    for (const [index, item] of requests.entries()) {
      if (results[index] !== undefined) continue;
      const phone = requestPhones[index];
      const userId = requestUserIds[index];
      const found =
        phone !== undefined
          ? (matchesByPhone.get(phone) ?? [])
          : userId !== undefined
            ? (matchesByUserId.get(userId) ?? []).map((record) => ({ record, field: 'WhatsApp_E164__c' as const }))
            : [];
      const sorted = [...found].sort(
        (left, right) =>
          rank[left.field] - rank[right.field] ||
          Number(left.record.attributes.type !== 'Contact') - Number(right.record.attributes.type !== 'Contact'),
      );
      const matchedOn =
        phone === undefined && userId !== undefined ? 'userId' : item.phone === undefined ? 'waId' : 'phone';
      results[index] = {
        key: item.key,
        ok: true,
        matches: sorted.map(
          ({ record }): ContactMatch => ({
            crmId: record.Id,
            matchedOn,
            objectType: record.attributes.type,
            ...(record.Name ? { name: record.Name } : {}),
            ...(record.OwnerId ? { ownerId: record.OwnerId } : {}),
            ...(record.AccountId ? { parentId: record.AccountId } : {}),
          }),
        ),
      };
    }
    return results;
  }

  /** Validates a contact input's identity; answers the failure, or the E.164 phone (else the BSUID) to key it by. */
  function contactIdentity(contact: ContactInput, index: number, operation: string): PersonIdentity | CrmWriteResult {
    const fail = (field: string, message: string): CrmWriteResult => ({
      key: contact.key,
      ok: false,
      error: permanent(`${operation}: \`contacts[${index}].${field}\` ${message}`, `contacts[${index}].${field}`),
    });
    const phone = phoneOf(contact);
    if (phone !== undefined) {
      return /^\+\d{6,17}$/.test(phone)
        ? { field: 'WhatsApp_E164__c', value: phone }
        : fail('phone', 'must be an E.164 phone (like +16505551234)');
    }
    if (contact.userId !== undefined) {
      return BSUID_PATTERN.test(contact.userId)
        ? { field: 'WhatsApp_User_Id__c', value: contact.userId }
        : fail('userId', 'must be a BSUID (like US.13491208655302741918)');
    }
    return fail('phone', 'is missing: a contact needs an E.164 phone or a userId (BSUID)');
  }

  /** The people of one `createByIdentity` keyed by one identity field: each value's contact indexes. */
  interface PersonGroup {
    field: PersonIdentity['field'];
    byValue: Map<string, number[]>;
  }

  /**
   * Creates (upserts by `WhatsApp_E164__c`, else `WhatsApp_User_Id__c`) the contacts, one record per identity. The
   * people keyed by a phone and those keyed by a BSUID go in one request (two Collections subrequests of a Composite):
   * an address book's batch holds both, and two upserts one after the other cost each batch a second round trip.
   */
  async function createByIdentity(
    operation: string,
    context: OperationContext,
    contacts: readonly ContactInput[],
    entries: readonly { index: number; identity: PersonIdentity }[],
    results: CrmWriteResult[],
    replaceName = false,
  ): Promise<void> {
    const groups: PersonGroup[] = [];
    for (const field of ['WhatsApp_E164__c', 'WhatsApp_User_Id__c'] as const) {
      const byValue = new Map<string, number[]>();
      for (const { index, identity } of entries) {
        if (identity.field === field) byValue.set(identity.value, [...(byValue.get(identity.value) ?? []), index]);
      }
      if (byValue.size > 0) groups.push({ field, byValue });
    }
    if (groups.length > 0) await createGroups(operation, context, contacts, groups, results, replaceName);
  }

  /**
   * Person upserts in flight, by identity (`field` + NUL + value): the record id each will answer, or `undefined`
   * if it fails. A creation (`createContacts`) of a person another call is writing right now — typically the
   * address-book sync (`upsertContacts`) of the customer whose history is arriving — takes that call's record
   * instead of upserting the same External ID again at the same time.
   */
  const personWrites = new Map<string, Promise<string | undefined>>();

  /** Upserts one record per value of each group, answering every contact index that shares it. */
  async function createGroups(
    operation: string,
    context: OperationContext,
    contacts: readonly ContactInput[],
    groups: readonly PersonGroup[],
    results: CrmWriteResult[],
    replaceName: boolean,
  ): Promise<void> {
    const identityOf = (group: PersonGroup, value: string) => `${group.field}\u0000${value}`;
    const answer = (
      group: PersonGroup,
      value: string,
      result: SalesforceSaveResult | undefined,
      createdHere: boolean,
    ) => {
      group.byValue.get(value)!.forEach((index, occurrence) => {
        const key = contacts[index]!.key;
        if (result === undefined || !result.success || !result.id) {
          results[index] = {
            key,
            ok: false,
            error: toSalesforceRecordError(result?.errors ?? [], `contacts[${index}]`),
          };
        } else {
          results[index] = {
            key,
            ok: true,
            crmId: result.id,
            created: createdHere && occurrence === 0 && result.created === true,
          };
        }
      });
    };
    const recordOf = (group: PersonGroup, value: string) => {
      const contact = contacts[group.byValue.get(value)![0]!]!;
      const fields = toSalesforcePersonFields(
        { ...contact, ...(group.field === 'WhatsApp_E164__c' ? { phone: value } : { userId: value }) },
        { objectType: createMissingAs, leadCompany, includeOwner: true },
      );
      // The upsert may land on a record created since the engine's search: a new name replaces the old one whole.
      if (replaceName && fields.FirstName === undefined && splitContactName(contact).lastName !== undefined)
        fields.FirstName = '';
      return fields;
    };
    const upsert = async (parts: readonly { group: PersonGroup; values: readonly string[] }[], register: boolean) => {
      const writes = parts.filter((part) => part.values.length > 0);
      if (writes.length === 0) return;
      const saving = upsertTogether(
        operation,
        context,
        writes.map(({ group, values }) => ({
          object: createMissingAs,
          externalIdField: group.field,
          records: values.map((value) => recordOf(group, value)),
        })),
      );
      if (register) {
        writes.forEach(({ group, values }, write) => {
          const ids = saving.then(
            (saved) => (saved[write] ?? []).map((result) => (result.success && result.id ? result.id : undefined)),
            () => [] as (string | undefined)[],
          );
          values.forEach((value, position) => {
            const identity = identityOf(group, value);
            const id = ids.then((list) => list[position]);
            personWrites.set(identity, id);
            void id.then(() => {
              if (personWrites.get(identity) === id) personWrites.delete(identity);
            });
          });
        });
      }
      const saved = await saving;
      writes.forEach(({ group, values }, write) => {
        values.forEach((value, position) => {
          answer(group, value, saved[write]?.[position], true);
        });
      });
    };
    // A creation reuses a write of the same person in flight; an update of the person (`replaceName`) writes.
    const shared = groups.map((group) => ({
      group,
      values: replaceName
        ? []
        : [...group.byValue.keys()].filter((value) => personWrites.has(identityOf(group, value))),
    }));
    const own = groups.map((group, position) => {
      const elsewhere = new Set(shared[position]!.values);
      return { group, values: [...group.byValue.keys()].filter((value) => !elsewhere.has(value)) };
    });
    await Promise.all([
      upsert(own, true),
      (async () => {
        const failed = await Promise.all(
          shared.map(async ({ group, values }) => {
            const lost: string[] = [];
            await Promise.all(
              values.map(async (value) => {
                const id = await personWrites.get(identityOf(group, value));
                if (id === undefined) lost.push(value);
                else answer(group, value, { id, success: true, errors: [], created: false }, false);
              }),
            );
            return { group, values: lost };
          }),
        );
        // The other write failed: this call writes those people itself.
        await upsert(failed, false);
      })(),
    ]);
  }

  async function createContacts(
    contacts: readonly ContactInput[],
    context: OperationContext,
  ): Promise<CrmWriteResult[]> {
    const operation = 'createContacts';
    admit(operation, contacts.length, capabilities.contactBatchSize, 'contacts', context);
    const results: CrmWriteResult[] = [];
    const toCreate: { index: number; identity: PersonIdentity }[] = [];
    for (const [index, contact] of contacts.entries()) {
      if (contact.crmId !== undefined) {
        results[index] = isSalesforceId(contact.crmId)
          ? { key: contact.key, ok: true, crmId: contact.crmId, created: false }
          : {
              key: contact.key,
              ok: false,
              error: permanent(
                `${operation}: \`contacts[${index}].crmId\` is not a Salesforce id`,
                `contacts[${index}].crmId`,
              ),
            };
        continue;
      }
      const identity = contactIdentity(contact, index, operation);
      if ('field' in identity) toCreate.push({ index, identity });
      else results[index] = identity;
    }
    if (toCreate.length > 0) {
      budget.ensure(1 + Math.ceil(toCreate.length / SALESFORCE_COLLECTION_SIZE), operation);
      await createByIdentity(operation, context, contacts, toCreate, results);
    }
    return results;
  }

  async function upsertContacts(
    contacts: readonly ContactInput[],
    context: OperationContext,
  ): Promise<CrmWriteResult[]> {
    const operation = 'upsertContacts';
    admit(operation, contacts.length, capabilities.contactBatchSize, 'contacts', context);
    const results: CrmWriteResult[] = [];
    const existing: { index: number; id: string; type: string }[] = [];
    const lookups: { index: number; identity: PersonIdentity }[] = [];
    const toCreate: { index: number; identity: PersonIdentity }[] = [];
    for (const [index, contact] of contacts.entries()) {
      if (contact.crmId !== undefined) {
        const type = contactObjectOfId(contact.crmId);
        if (type === undefined || type === 'Account') {
          results[index] = {
            key: contact.key,
            ok: false,
            error: permanent(
              `${operation}: \`contacts[${index}].crmId\` is not a Contact or Lead id`,
              `contacts[${index}].crmId`,
              CRM_NOT_FOUND_CODE,
            ),
          };
        } else existing.push({ index, id: contact.crmId, type });
        continue;
      }
      const identity = contactIdentity(contact, index, operation);
      if (!('field' in identity)) results[index] = identity;
      // The engine searched just before and found no record (`notFoundAt`): one that exists now was created since,
      // by this adapter's own upsert on the same External ID, so the upsert below finds it without a read.
      else if (isRecentlyNotFound(contact, { now: now() })) toCreate.push({ index, identity });
      else lookups.push({ index, identity });
    }
    budget.ensure(6 + 2 * Math.ceil(contacts.length / SALESFORCE_COLLECTION_SIZE), operation);
    if (lookups.length > 0) {
      const valuesOf = (field: PersonIdentity['field']) => [
        ...new Set(lookups.filter((entry) => entry.identity.field === field).map((entry) => entry.identity.value)),
      ];
      const phones = valuesOf('WhatsApp_E164__c');
      const userIds = valuesOf('WhatsApp_User_Id__c');
      const found = await findByIdentity(operation, context, phones, userIds);
      for (const lookup of lookups) {
        const { field, value } = lookup.identity;
        const record =
          found.find((entry) => entry[field] === value && entry.attributes.type === createMissingAs) ??
          found.find((entry) => entry[field] === value);
        if (record === undefined) toCreate.push(lookup);
        else existing.push({ index: lookup.index, id: record.Id, type: record.attributes.type });
      }
    }
    // Existing Contacts and Leads brought up to date in one update (two calls of one object each before).
    const entries = existing.map((entry) => ({
      ...entry,
      fields: toSalesforcePersonUpdateFields(contacts[entry.index]!),
    }));
    for (const entry of entries.filter((candidate) => Object.keys(candidate.fields).length === 0)) {
      results[entry.index] = { key: contacts[entry.index]!.key, ok: true, crmId: entry.id, created: false };
    }
    const writes = entries.filter((entry) => Object.keys(entry.fields).length > 0);
    if (writes.length > 0) {
      const saved = await updateCollection(
        operation,
        context,
        writes.map((entry) => ({ type: entry.type, Id: entry.id, fields: entry.fields })),
      );
      writes.forEach((entry, position) => {
        const result = saved[position];
        const key = contacts[entry.index]!.key;
        results[entry.index] =
          result?.success === true
            ? { key, ok: true, crmId: entry.id, created: false }
            : {
                key,
                ok: false,
                error: toSalesforceRecordError(result?.errors ?? [], `contacts[${entry.index}].crmId`),
              };
      });
    }
    await createByIdentity(operation, context, contacts, toCreate, results, true);
    return results;
  }

  /** Reads stored conversations not in the cache. */
  async function loadConversations(operation: string, context: OperationContext, keys: readonly string[]) {
    const missing = keys.filter((key) => !conversations.has(key));
    if (missing.length === 0) return;
    const pages = await queryTogether(
      operation,
      context,
      chunk(missing, SOQL_IN_CHUNK).map(
        (part) =>
          `SELECT Id, Thread_Key__c, Owner_Side__c, Window_Expires_At__c, Last_Message_At__c FROM WhatsApp_Conversation__c WHERE Thread_Key__c IN (${part.map(soqlString).join(', ')})`,
      ),
    );
    for (const raw of pages.flat()) {
      const record = parseSalesforceResponse(salesforceConversationRecordSchema, raw, 'WhatsApp_Conversation__c');
      remember(record);
    }
  }

  function remember(record: SalesforceConversationRecord): void {
    if (conversations.size >= CONVERSATION_CACHE_LIMIT && !conversations.has(record.Thread_Key__c)) {
      const oldest = conversations.keys().next().value;
      if (oldest !== undefined) conversations.delete(oldest);
    }
    conversations.delete(record.Thread_Key__c);
    conversations.set(record.Thread_Key__c, { record });
  }

  function ownerOf(message: MessageRecord): string | undefined {
    return message.ownerId ?? (message.businessPhone === undefined ? undefined : owners[message.businessPhone]);
  }

  /** Conversation keys with a read-and-upsert running, so two calls never write one conversation at once. */
  const conversationLocks = new Map<string, Promise<void>>();

  /**
   * Runs `work` once no earlier call is reading or upserting any of these conversations: values only move forward
   * in Salesforce too, even when a live batch and a backfill batch of one conversation are written at the same time.
   */
  async function withConversationsLocked<Result>(keys: readonly string[], work: () => Promise<Result>) {
    let release = () => {};
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    const earlier: Promise<void>[] = [];
    for (const key of keys) {
      const running = conversationLocks.get(key);
      if (running !== undefined) earlier.push(running);
      conversationLocks.set(key, done);
    }
    try {
      await Promise.all(earlier);
      return await work();
    } finally {
      release();
      for (const key of keys) if (conversationLocks.get(key) === done) conversationLocks.delete(key);
    }
  }

  /**
   * Upserts the `WhatsApp_Conversation__c` records of these conversations (key → their messages, valid and
   * non-empty) by `Thread_Key__c`: reads those neither cached nor new, then writes the fields that move forward.
   * Answers each key with the record id (and whether this call created it) or the record's error.
   */
  async function upsertConversations(
    operation: string,
    context: OperationContext,
    byConversation: ReadonlyMap<string, readonly MessageRecord[]>,
    // Writes the records (a Collections upsert by `Thread_Key__c` unless the caller sends them with more).
    write: (records: Record<string, string>[]) => Promise<SalesforceSaveResult[]> = (records) =>
      upsertCollection(operation, context, 'WhatsApp_Conversation__c', 'Thread_Key__c', records),
  ): Promise<Map<string, { id: string; created: boolean } | CrmError>> {
    return withConversationsLocked([...byConversation.keys()], async () => {
      // A conversation the engine has written no message of yet is new: its record is created by the upsert below
      // without reading it first (a resend after a crash upserts the same fields again).
      const toRead = [...byConversation]
        .filter(([key, batch]) => !conversations.has(key) && !batch.every((message) => message.firstInConversation))
        .map(([key]) => key);
      await loadConversations(operation, context, toRead);
      const answers = new Map<string, { id: string; created: boolean } | CrmError>();
      const pending: { key: string; fields: Record<string, string> }[] = [];
      for (const [key, batch] of byConversation) {
        const stored = conversations.get(key)?.record;
        const owner = ownerOf(batch[0]!);
        const fields = toConversationFields(batch, stored, owner === undefined ? {} : { ownerId: owner });
        if (fields !== undefined) pending.push({ key, fields });
        else answers.set(key, { id: stored!.Id, created: false });
      }
      const saved = await write(pending.map((entry) => entry.fields));
      pending.forEach((entry, position) => {
        const result = saved[position];
        if (result?.success === true && result.id) {
          const previous = conversations.get(entry.key)?.record;
          remember({
            Id: result.id,
            Thread_Key__c: entry.key,
            Owner_Side__c: entry.fields.Owner_Side__c ?? previous?.Owner_Side__c ?? null,
            Window_Expires_At__c: entry.fields.Window_Expires_At__c ?? previous?.Window_Expires_At__c ?? null,
            Last_Message_At__c: entry.fields.Last_Message_At__c ?? previous?.Last_Message_At__c ?? null,
          });
          answers.set(entry.key, { id: result.id, created: result.created === true });
        } else {
          answers.set(entry.key, toSalesforceRecordError(result?.errors ?? [], 'conversationKey'));
        }
      });
      return answers;
    });
  }

  /** A message's problem that keeps it from being written (the field named), or `undefined`. */
  function invalidMessage(message: MessageRecord, field: string, operation: string): CrmError | undefined {
    if (message.key === '') return permanent(`${operation}: \`${field}.key\` is empty`, `${field}.key`);
    if (Number.isNaN(Date.parse(message.occurredAt)))
      return permanent(`${operation}: \`${field}.occurredAt\` is not an ISO time`, `${field}.occurredAt`);
    if (contactObjectOfId(message.contactCrmId) === undefined)
      return permanent(
        `${operation}: \`${field}.contactCrmId\` is not a Salesforce Contact, Lead or Account id`,
        `${field}.contactCrmId`,
        CRM_NOT_FOUND_CODE,
      );
    if (message.conversationKey === '')
      return permanent(`${operation}: \`${field}.conversationKey\` is empty`, `${field}.conversationKey`);
    if (message.conversationCrmId !== undefined && !isSalesforceId(message.conversationCrmId))
      return permanent(
        `${operation}: \`${field}.conversationCrmId\` is not a Salesforce record id`,
        `${field}.conversationCrmId`,
      );
    return undefined;
  }

  async function prepareConversations(
    inputs: readonly ConversationInput[],
    context: OperationContext,
  ): Promise<CrmWriteResult[]> {
    const operation = 'prepareConversations';
    admit(operation, inputs.length, SALESFORCE_COLLECTION_SIZE, 'conversations', context);
    const results: CrmWriteResult[] = [];
    // Inputs of one conversation (its live and backfill batches) become one record write.
    const byConversation = new Map<string, MessageRecord[]>();
    const inputsOf = new Map<string, number[]>();
    for (const [index, input] of inputs.entries()) {
      const field = `conversations[${index}]`;
      let error: CrmError | undefined;
      if (input.conversationKey === '')
        error = permanent(`${operation}: \`${field}.conversationKey\` is empty`, `${field}.conversationKey`);
      else if (input.messages.length === 0)
        error = permanent(`${operation}: \`${field}.messages\` is empty`, `${field}.messages`);
      for (const [position, message] of input.messages.entries()) {
        if (error !== undefined) break;
        error =
          message.conversationKey !== input.conversationKey
            ? permanent(
                `${operation}: \`${field}.messages[${position}].conversationKey\` is not the input's conversation`,
                `${field}.messages[${position}].conversationKey`,
              )
            : invalidMessage(message, `${field}.messages[${position}]`, operation);
      }
      if (error !== undefined) {
        results[index] = { key: input.key, ok: false, error };
        continue;
      }
      byConversation.set(input.conversationKey, [
        ...(byConversation.get(input.conversationKey) ?? []),
        ...input.messages,
      ]);
      inputsOf.set(input.conversationKey, [...(inputsOf.get(input.conversationKey) ?? []), index]);
    }
    if (byConversation.size === 0) return results;
    const unread = [...byConversation].filter(
      ([key, batch]) => !conversations.has(key) && !batch.every((message) => message.firstInConversation),
    ).length;
    budget.ensure(
      Math.ceil(unread / SOQL_IN_CHUNK) + Math.ceil(byConversation.size / SALESFORCE_COLLECTION_SIZE),
      operation,
    );
    const answers = await upsertConversations(operation, context, byConversation);
    for (const [conversationKey, indices] of inputsOf) {
      const answer = answers.get(conversationKey)!;
      indices.forEach((index, position) => {
        const key = inputs[index]!.key;
        results[index] =
          'id' in answer
            ? // A conversation two inputs share is created once: the second answers like a replay.
              { key, ok: true, crmId: answer.id, created: answer.created && position === 0 }
            : { key, ok: false, error: answer };
      });
    }
    return results;
  }

  async function writeMessages(
    messages: readonly MessageRecord[],
    context: OperationContext,
  ): Promise<CrmWriteResult[]> {
    const operation = 'writeMessages';
    admit(operation, messages.length, capabilities.messageBatchSize, 'messages', context);
    const results: CrmWriteResult[] = [];
    const fail = (index: number, error: CrmError) => {
      results[index] = { key: messages[index]!.key, ok: false, error };
    };
    // The last occurrence of a key carries the newest state; earlier duplicates share its result.
    const lastIndexOfKey = new Map<string, number>();
    for (const [index, message] of messages.entries()) {
      const error = invalidMessage(message, `messages[${index}]`, operation);
      if (error !== undefined) fail(index, error);
      else lastIndexOfKey.set(message.key, index);
    }
    const writeIndices = [...lastIndexOfKey.values()].sort((left, right) => left - right);
    if (writeIndices.length === 0) return results;
    // Conversations the engine prepared (`prepareConversations`) come with their record id; the others are written here.
    const conversationIds = new Map<string, string>();
    const byConversation = new Map<string, MessageRecord[]>();
    for (const index of writeIndices) {
      const message = messages[index]!;
      if (message.conversationCrmId !== undefined) {
        conversationIds.set(message.conversationKey, message.conversationCrmId);
        continue;
      }
      byConversation.set(message.conversationKey, [...(byConversation.get(message.conversationKey) ?? []), message]);
    }
    for (const key of conversationIds.keys()) byConversation.delete(key);
    const useBulk = options.bulkThreshold !== undefined && writeIndices.length >= options.bulkThreshold;
    const unread = [...byConversation].filter(
      ([key, batch]) => !conversations.has(key) && !batch.every((message) => message.firstInConversation),
    ).length;
    budget.ensure(
      Math.ceil(unread / SOQL_IN_CHUNK) +
        Math.ceil(byConversation.size / SALESFORCE_COLLECTION_SIZE) +
        (useBulk ? 8 : Math.ceil(writeIndices.length / SALESFORCE_COLLECTION_SIZE)) +
        (options.summaryTasks ? 3 : 0),
      operation,
    );

    const rowOf = (index: number, conversation: { Conversation__c: string } | { Conversation__r: object }) => {
      const message = messages[index]!;
      const owner = ownerOf(message);
      const { Conversation__c: _id, ...fields } = toMessageFields(message, {
        conversationId: '',
        ...(owner === undefined ? {} : { ownerId: owner }),
      });
      return { index, fields: { ...fields, ...conversation } as Record<string, unknown> };
    };
    /** A message whose conversation record failed: the conversation's error, naming the message's contact. */
    const failWithConversation = (index: number, error: CrmError) =>
      fail(
        index,
        error instanceof CrmPermanentError
          ? new CrmPermanentError({
              crm,
              message: `${operation}: \`messages[${index}].conversationKey\`: the conversation record was rejected (${error.code ?? 'unknown'}); check \`messages[${index}].contactCrmId\``,
              field: `messages[${index}].contactCrmId`,
              ...(error.code === undefined ? {} : { code: error.code }),
            })
          : error,
      );

    // 1. Conversations not prepared: read what is neither cached nor new, upsert those whose fields move forward.
    //    Through Collections (not Bulk), the conversations and the messages go in one Composite request: the
    //    messages name their conversation by its External ID (`Conversation__r.Thread_Key__c`), so they need not
    //    wait for its record id, and the batch costs one round trip, not two.
    const conversationErrors = new Map<string, CrmError>();
    let composed:
      | { rows: { index: number; fields: Record<string, unknown> }[]; saved: SalesforceSaveResult[] }
      | undefined;
    if (byConversation.size > 0) {
      const writeTogether = async (records: Record<string, string>[]): Promise<SalesforceSaveResult[]> => {
        const rows = writeIndices.map((index) => {
          const key = messages[index]!.conversationKey;
          const id = conversationIds.get(key);
          return rowOf(index, id !== undefined ? { Conversation__c: id } : { Conversation__r: { Thread_Key__c: key } });
        });
        const upserts: CompositeUpsert[] = [
          { object: 'WhatsApp_Conversation__c', externalIdField: 'Thread_Key__c', records },
          { object: 'WhatsApp_Message__c', externalIdField: 'Message_Id__c', records: rows.map((row) => row.fields) },
        ];
        if (compositeCollectionsOf(upserts) > COMPOSITE_MAX_COLLECTIONS)
          return upsertCollection(operation, context, 'WhatsApp_Conversation__c', 'Thread_Key__c', records);
        const [conversationResults, messageResults] = await upsertComposite(operation, context, upserts);
        composed = { rows, saved: messageResults! };
        return conversationResults!;
      };
      for (const [key, answer] of await upsertConversations(
        operation,
        context,
        byConversation,
        useBulk ? undefined : writeTogether,
      )) {
        if ('id' in answer) conversationIds.set(key, answer.id);
        else conversationErrors.set(key, answer);
      }
    }

    // 2. Messages, in input order (already written when they went with their conversations).
    const rows: { index: number; fields: Record<string, unknown> }[] = [];
    if (composed === undefined) {
      for (const index of writeIndices) {
        const message = messages[index]!;
        const conversationError = conversationErrors.get(message.conversationKey);
        const conversationId = conversationIds.get(message.conversationKey);
        if (conversationError !== undefined || conversationId === undefined) {
          failWithConversation(
            index,
            conversationError ?? new CrmTransientError({ crm, message: 'conversation missing' }),
          );
          continue;
        }
        rows.push(rowOf(index, { Conversation__c: conversationId }));
      }
    }
    const outcome = (index: number, saved: SalesforceSaveResult | BulkRowOutcome | undefined) => {
      const message = messages[index]!;
      if (saved !== undefined && (('success' in saved && saved.success) || ('ok' in saved && saved.ok))) {
        const id = 'success' in saved ? saved.id : (saved as { id: string }).id;
        if (id) {
          results[index] = { key: message.key, ok: true, crmId: id, created: saved.created === true };
          return;
        }
      }
      const errors = saved === undefined ? [] : 'errors' in saved ? saved.errors : [];
      const error =
        saved === undefined
          ? new CrmTransientError({
              crm,
              message: `${operation}: Salesforce returned no result for \`messages[${index}]\``,
              field: `messages[${index}]`,
            })
          : toSalesforceRecordError(errors, `messages[${index}]`);
      if (errors.some((entry) => entry.fields?.includes('Conversation__c'))) {
        // A cached conversation was deleted in Salesforce: forget it so the retry recreates it.
        conversations.delete(message.conversationKey);
        fail(
          index,
          new CrmTransientError({
            crm,
            message: error.message.replace(/^\[coexist\/salesforce\] /, ''),
            field: `messages[${index}]`,
          }),
        );
        return;
      }
      fail(index, error);
    };
    if (composed !== undefined) {
      const { saved } = composed;
      composed.rows.forEach((row, position) => {
        // The conversation failed: its messages answer with its error (a retry upserts them again, by Message_Id__c).
        const conversationError = conversationErrors.get(messages[row.index]!.conversationKey);
        if (conversationError !== undefined) failWithConversation(row.index, conversationError);
        else outcome(row.index, saved[position]);
      });
    } else if (useBulk) {
      const keys = rows.map((row) => messages[row.index]!.key).sort();
      const jobKey = `${context.connectionId}:WhatsApp_Message__c:${createHash('sha256').update(keys.join('\n')).digest('hex')}`;
      const outcomes = await runBulkUpsert({
        connection: ensureConnection(),
        object: 'WhatsApp_Message__c',
        externalIdField: 'Message_Id__c',
        columns: BULK_MESSAGE_COLUMNS,
        // Rows written by id: string and boolean fields only (no relationship objects).
        rows: rows.map((row) => row.fields as Record<string, string | boolean>),
        jobStore,
        jobKey,
        pollIntervalMs: options.bulkPollIntervalMs ?? 2_000,
        pollTimeoutMs: options.bulkPollTimeoutMs ?? 600_000,
        signal: context.signal,
        call: (run) => request(operation, context, () => run()),
        now,
      });
      for (const row of rows) {
        const saved = outcomes.get(messages[row.index]!.key);
        if (saved !== undefined && !saved.ok && saved.transient) {
          fail(
            row.index,
            toSalesforceRecordError([{ statusCode: 'UNABLE_TO_LOCK_ROW', message: '' }], `messages[${row.index}]`),
          );
        } else outcome(row.index, saved);
      }
    } else {
      const saved = await upsertCollection(
        operation,
        context,
        'WhatsApp_Message__c',
        'Message_Id__c',
        rows.map((row) => row.fields),
      );
      rows.forEach((row, position) => {
        outcome(row.index, saved[position]);
      });
    }
    // Earlier duplicates of a key answer like the write that carried it.
    for (const [index, message] of messages.entries()) {
      if (results[index] !== undefined) continue;
      const written = results[lastIndexOfKey.get(message.key)!];
      results[index] = written?.ok === true ? { ...written, key: message.key, created: false } : written!;
    }

    if (options.summaryTasks) {
      try {
        const written = writeIndices.filter((index) => results[index]?.ok === true).map((index) => messages[index]!);
        // One call at a time per conversation, from its look-up to its creation: a live batch and a backfill batch of
        // one conversation written together would each find no Task for the day and each create one.
        const taskKeys = [...new Set(written.map((message) => `summary-task\u0000${message.conversationKey}`))];
        await withConversationsLocked(taskKeys, () =>
          writeSummaryTasks({
            messages: written,
            conversationIdOf: (key) => conversationIds.get(key) ?? conversations.get(key)?.record.Id,
            ownerOf,
            query: (soql) => query('summaryTasks', context, soql),
            create: (records) => createTasks(context, records),
          }),
        );
      } catch (error) {
        warn('summaryTasks', error);
      }
    }
    return results;
  }

  async function createTasks(context: OperationContext, records: readonly Record<string, unknown>[]): Promise<void> {
    for (const part of chunk(records, SALESFORCE_COLLECTION_SIZE)) {
      const answer = await request('summaryTasks', context, async (conn) =>
        conn.sobject('Task').create(part as Record<string, string>[], { allOrNone: false }),
      );
      for (const result of parseSalesforceResponse(salesforceSaveResultsSchema, answer, 'Task result')) {
        if (!result.success) warn('summaryTasks', toSalesforceRecordError(result.errors, 'summaryTask'));
      }
    }
  }

  async function updateMessages(
    updates: readonly MessageUpdate[],
    context: OperationContext,
  ): Promise<CrmWriteResult[]> {
    const operation = 'updateMessages';
    admit(operation, updates.length, capabilities.messageBatchSize, 'updates', context);
    const results: CrmWriteResult[] = [];
    const keys = new Set<string>();
    for (const [index, update] of updates.entries()) {
      if (update.messageKey === '') {
        results[index] = {
          key: update.key,
          ok: false,
          error: permanent(`${operation}: \`updates[${index}].messageKey\` is empty`, `updates[${index}].messageKey`),
        };
      } else keys.add(update.messageKey);
    }
    if (keys.size === 0) return results;
    budget.ensure(Math.ceil(keys.size / SOQL_IN_CHUNK) + Math.ceil(keys.size / SALESFORCE_COLLECTION_SIZE), operation);
    const stored = new Map<string, SalesforceMessageRecord>();
    // The reads of a full batch (two IN lists of 100) go together in one Composite request: one round trip.
    const pages = await queryTogether(
      operation,
      context,
      chunk([...keys], SOQL_IN_CHUNK).map(
        (part) =>
          `SELECT Id, Message_Id__c, Status__c, Reactions__c, Revoked__c, Media_Url__c FROM WhatsApp_Message__c WHERE Message_Id__c IN (${part.map(soqlString).join(', ')})`,
      ),
    );
    for (const raw of pages.flat()) {
      const record = parseSalesforceResponse(salesforceMessageRecordSchema, raw, 'WhatsApp_Message__c');
      stored.set(record.Message_Id__c, record);
    }
    // Fold the changes of each message in order, then write each message once.
    const pending = new Map<string, Record<string, string | boolean>>();
    for (const [index, update] of updates.entries()) {
      if (results[index] !== undefined) continue;
      const record = stored.get(update.messageKey);
      if (record === undefined) {
        results[index] = {
          key: update.key,
          ok: false,
          error: permanent(
            `${operation}: \`updates[${index}].messageKey\`: no WhatsApp_Message__c with Message_Id__c ${update.messageKey}`,
            `updates[${index}].messageKey`,
            CRM_NOT_FOUND_CODE,
          ),
        };
        continue;
      }
      const applied = applyMessageChange(record, update.change);
      stored.set(update.messageKey, applied.record);
      if (Object.keys(applied.fields).length > 0) {
        pending.set(update.messageKey, { ...(pending.get(update.messageKey) ?? {}), ...applied.fields });
      }
    }
    const writes = [...pending.entries()];
    const saved = await updateCollection(
      operation,
      context,
      writes.map(([key, fields]) => ({ type: 'WhatsApp_Message__c', Id: stored.get(key)!.Id, fields })),
    );
    const writeErrors = new Map<string, CrmError>();
    writes.forEach(([key], position) => {
      const result = saved[position];
      if (result?.success !== true) writeErrors.set(key, toSalesforceRecordError(result?.errors ?? [], 'updates'));
    });
    for (const [index, update] of updates.entries()) {
      if (results[index] !== undefined) continue;
      const error = writeErrors.get(update.messageKey);
      results[index] =
        error === undefined
          ? { key: update.key, ok: true, crmId: stored.get(update.messageKey)!.Id, created: false }
          : { key: update.key, ok: false, error };
    }
    return results;
  }

  return {
    specificationVersion: 'v1',
    crm,
    capabilities,
    findContacts,
    createContacts,
    upsertContacts,
    writeMessages,
    updateMessages,
    // Declared with `conversationBatchSize` (see `capabilities`): only when Bulk API 2.0 is enabled.
    ...(bulkEnabled ? { prepareConversations } : {}),
    async renderCard(card, context) {
      admit('renderCard', 1, 1, 'card', context);
      return renderSalesforceCard(card);
    },
  };
}
