/**
 * The Close adapter (contract v1): contacts as leads with an inline contact, messages as native WhatsApp message
 * activities (crm-apis.md §4), over axios.
 *
 * Close has no batch writes, no upsert and no server-side dedupe of `external_whatsapp_message_id`, so:
 * - **Exactly once** is a split duty (`idempotency: 'lookup-before-retry'`). The engine keeps the durable
 *   wamid → activity id map from the `crmId` of each result and never resends what it recorded. The adapter looks
 *   every message up (`GET …?external_whatsapp_message_id=`) before it POSTs, so a write whose outcome the engine never
 *   learned (timeout, dropped connection, crash before bookkeeping) is found and reused instead of duplicated.
 * - **Pacing** is per endpoint group: each group is a declared, dynamic bucket; every `RateLimit` header is reported
 *   through `onRateLimitSignal`, and a 429 throws `CrmRateLimitedError` with `rate_reset` for that group.
 * - **Threads**: `threadsMessages: true`; the engine writes each conversation oldest first and passes the previous
 *   activity id, sent as `response_to_id`. Conversations run in parallel; the adapter keeps no shared mutable state
 *   beyond caches, so concurrent calls are safe.
 * - **Batches are logical**: one `findContacts` call is one search request for up to 25 numbers; contacts and
 *   messages go one per call, because Close takes one record per POST and the engine's limiter counts calls.
 */
import {
  type ChatCard,
  type ContactFindRequest,
  type ContactFindResult,
  type ContactInput,
  type CountryCode,
  CRM_NOT_FOUND_CODE,
  type CrmAdapter,
  type CrmCapabilities,
  type CrmCardRendering,
  CrmPermanentError,
  CrmTransientError,
  type CrmWriteResult,
  type CrmWriteSuccess,
  isCrmError,
  isRecentlyNotFound,
  type MessageRecord,
  type MessageRecordContent,
  type MessageUpdate,
  normalizeOwnerMap,
  normalizePhone,
  type OperationContext,
  type RateLimitBucket,
  renderChatCardHtml,
} from '@coexist/core';
import axios, { type AxiosInstance } from 'axios';
import { z } from 'zod';
import {
  CLOSE_DEFAULT_BASE_URL,
  type CloseAttachmentInput,
  type CloseWireContact,
  type CloseWireWhatsAppActivity,
  closeContactSchema,
  closeLeadSchema,
  closeListSchema,
  closeMeSchema,
  closeSearchResponseSchema,
  closeWhatsAppActivitySchema,
} from './close-api.ts';
import { signCloseCardLink } from './close-card.ts';
import { CLOSE_CRM, CLOSE_ENDPOINT_GROUPS, CloseValidationError } from './close-errors.ts';
import { type CloseMediaFetcher, createDefaultMediaFetcher, uploadCloseAttachment } from './close-media.ts';
import { type CloseSetupReport, setupCloseIntegrationLink } from './close-setup.ts';
import { type CloseCredentialOptions, type CloseTransport, createCloseTransport } from './close-transport.ts';
import {
  type ClosePhoneSearchValues,
  closeSearchValues,
  matchClosePhoneSearch,
  requestPhone,
  toCloseLeadCreate,
  toClosePhoneSearch,
} from './map-close-lead.ts';
import {
  applyCloseMessageChange,
  type CloseMarkdownOptions,
  type CloseUserTextFormatting,
  closeStateOfRecord,
  composeCloseMarkdown,
  mergeReplayedState,
  parseCloseMarkdown,
  renderCloseMessageBody,
  toCloseWhatsAppActivityCreate,
} from './map-close-whatsapp-activity.ts';

/** Options of `createCloseAdapter`. */
export interface CloseAdapterOptions extends CloseCredentialOptions {
  /**
   * The API base URL.
   * @default 'https://api.close.com/api/v1'
   */
  baseUrl?: string;
  /** The axios instance to send with (no retry interceptors: the engine retries). @default axios.create() */
  axios?: AxiosInstance;
  /**
   * Per-request timeout in milliseconds.
   * @default 30_000
   */
  timeoutMs?: number;
  /**
   * Business numbers (E.164) → Close user ids. Contacts take the owner the engine resolves (`ContactInput.ownerId`);
   * this map is the fallback when there is exactly one number, since a contact input does not name its number.
   */
  owners?: Readonly<Record<string, string>>;
  /** The lead custom field (type user) that holds the lead owner; Close has no built-in owner. Without it, no owner is written. */
  ownerCustomFieldId?: string;
  /** Country that phones stored in national format are read in (the Close organization's country). */
  defaultCountry?: CountryCode;
  /** Where `coexist serve` answers Close card requests (the card URL builder), e.g. `https://app.example.com/close/card`. */
  integrationLinkBaseUrl?: string;
  /** Secret that signs card links (at least 32 characters); required with `integrationLinkBaseUrl`. */
  cardSigningSecret?: string;
  /** The Close organization id (`orga_…`); read from `GET /me/` once when omitted. */
  organizationId?: string;
  /**
   * Name of the lead-page Integration Link `setup()` registers.
   * @default 'WhatsApp conversation'
   */
  integrationLinkName?: string;
  /**
   * Lifetime of the Integration Link's signature; `setup()` renews it after half.
   * @default 90 days
   */
  integrationLinkTtlMs?: number;
  /**
   * Lifetime of the signed card link stored on each activity.
   * @default 365 days
   */
  activityLinkTtlMs?: number;
  /**
   * How user text goes into `message_markdown`: `whatsapp` keeps the sender's formatting, `escaped` shows it literally.
   * @default 'whatsapp'
   */
  userTextFormatting?: CloseUserTextFormatting;
  /**
   * Whether media with a URL is downloaded and attached through the Files API (else the message shows a label).
   * @default true
   */
  attachMedia?: boolean;
  /** Downloads a message's media; the default GETs `media.url` without credentials. */
  fetchMedia?: CloseMediaFetcher;
  /**
   * Whether live incoming messages are also posted to the Close inbox (`?send_to_inbox=true`); never for history.
   * @default false
   */
  sendLiveInboundToInbox?: boolean;
  /**
   * How long after a POST whose answer was lost (timeout, dropped connection) the adapter refuses to POST the same
   * message again while the lookup still finds nothing: the first request may still be running in Close.
   * @default twice `timeoutMs`
   */
  inFlightGraceMs?: number;
  /**
   * Most calls in flight at once for one connection.
   * @default 8
   */
  maxConcurrency?: number;
  /** The clock, epoch milliseconds. @default Date.now */
  now?: () => number;
}

/** The Close adapter: the CRM adapter contract plus the one-time Integration Link setup. */
export interface CloseAdapter extends CrmAdapter {
  /** Registers (or refreshes) the chat card's Integration Link on lead pages; idempotent, needs admin credentials. */
  setup(context?: Partial<OperationContext>): Promise<CloseSetupReport>;
}

/** Leads remembered as created by this adapter (see `created` in `createCloseAdapter`). */
const CREATED_MEMORY = 50_000;

/** Most numbers one `findContacts` call searches for (one request, an `or` of their formats). */
export const CLOSE_SEARCH_BATCH_SIZE = 25;
const DAY_MS = 86_400_000;
/** Close's documented example limit (20 per second) and the search limit a third party observed (16 per second). */
const DEFAULT_GROUP_LIMIT = 20;
const SEARCH_GROUP_LIMIT = 16;

/**
 * The buckets the adapter declares: one per endpoint group. The engine's limiter charges every call of an operation
 * one token in each bucket that governs it, so a group governs only the operations whose usual call reaches it (a
 * `writeMessages` call looks up, then POSTs; creating a contact searches, then POSTs a lead). Binding a group a call
 * seldom reaches would pace the operation to that group's declared limit, which Close never corrects while the group
 * goes unused: the declared 20/s would cap message writes even where Close allows more. Groups reached only now and
 * then (media uploads, a contact's lead, replays, the known-contact path of an upsert) govern nothing: they follow a
 * paced request of the same call or are paced by the search group (the tightest), and a 429 there still pauses the
 * item for `rate_reset`.
 */
export const CLOSE_RATE_LIMIT_BUCKETS: readonly RateLimitBucket[] = (
  [
    {
      name: CLOSE_ENDPOINT_GROUPS.search,
      limit: SEARCH_GROUP_LIMIT,
      intervalMs: 1_000,
      operations: ['findContacts', 'createContacts', 'upsertContacts'],
    },
    { name: CLOSE_ENDPOINT_GROUPS.createLead, operations: ['createContacts', 'upsertContacts'] },
    { name: CLOSE_ENDPOINT_GROUPS.getLead, operations: [] },
    { name: CLOSE_ENDPOINT_GROUPS.updateLead, operations: [] },
    { name: CLOSE_ENDPOINT_GROUPS.updateContact, operations: [] },
    { name: CLOSE_ENDPOINT_GROUPS.getContact, operations: [] },
    { name: CLOSE_ENDPOINT_GROUPS.listActivities, operations: ['writeMessages'] },
    { name: CLOSE_ENDPOINT_GROUPS.createActivity, operations: ['writeMessages'] },
    { name: CLOSE_ENDPOINT_GROUPS.getActivity, operations: ['updateMessages'] },
    { name: CLOSE_ENDPOINT_GROUPS.updateActivity, operations: ['updateMessages'] },
    { name: CLOSE_ENDPOINT_GROUPS.uploadFile, operations: [] },
  ] satisfies Array<Partial<RateLimitBucket> & Pick<RateLimitBucket, 'name' | 'operations'>>
).map((bucket): RateLimitBucket => ({ limit: DEFAULT_GROUP_LIMIT, intervalMs: 1_000, ...bucket, dynamic: true }));

const activityPageSchema = closeListSchema(closeWhatsAppActivitySchema);
const ACTIVITY_FIELDS =
  'id,lead_id,contact_id,direction,external_whatsapp_message_id,message_markdown,response_to_id,attachments';

/** Creates the Close adapter; does no I/O (credentials and options are checked on first use). */
export function createCloseAdapter(options: CloseAdapterOptions): CloseAdapter {
  const http = options.axios ?? axios.create();
  const transport: CloseTransport = createCloseTransport({
    baseUrl: options.baseUrl ?? CLOSE_DEFAULT_BASE_URL,
    axios: http,
    timeoutMs: options.timeoutMs ?? 30_000,
    ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
    ...(options.getAccessToken === undefined ? {} : { getAccessToken: options.getAccessToken }),
  });
  const now = options.now ?? Date.now;
  const fetchMedia = options.fetchMedia ?? createDefaultMediaFetcher(http);
  const markdown: CloseMarkdownOptions = { userTextFormatting: options.userTextFormatting ?? 'whatsapp' };
  const capabilities: CrmCapabilities = {
    contactBatchSize: 1,
    messageBatchSize: 1,
    searchBatchSize: CLOSE_SEARCH_BATCH_SIZE,
    rateLimits: { buckets: CLOSE_RATE_LIMIT_BUCKETS, maxConcurrency: options.maxConcurrency ?? 8 },
    idempotency: 'lookup-before-retry',
    threadsMessages: true,
    supportsCards: true,
  };
  /** Contact id → lead id (a contact's lead does not change short of a merge). */
  const leadOfContact = new Map<string, string>();
  /** One lead creation per number at a time, so concurrent conversations with one customer share a lead. */
  const creating = new Map<string, Promise<CrmWriteResult>>();
  /**
   * Leads this adapter created, by E.164 (the newest `CREATED_MEMORY`): a create that skips its search because the
   * engine's search just found nothing (`notFoundAt`) may come after another create of the same customer finished
   * (a contact sync and a message batch resolve one person side by side), and must reuse that lead.
   */
  const created = new Map<string, CrmWriteSuccess>();
  /** wamid → when a POST of it ended without an answer (in this process); cleared once the outcome is known. */
  const uncertain = new Map<string, number>();
  const inFlightGraceMs = options.inFlightGraceMs ?? 2 * (options.timeoutMs ?? 30_000);
  const markUncertain = (id: string, error: unknown): void => {
    if (!(isCrmError(error) && error.kind === 'transient' && error.status === undefined)) return;
    const at = now();
    if (uncertain.size > 10_000)
      for (const [key, lostAt] of uncertain) if (at - lostAt >= inFlightGraceMs) uncertain.delete(key);
    uncertain.set(id, at);
  };
  /** Throws while a lost write of `id` may still be running in Close; forgets it once the grace period is over. */
  const checkNotInFlight = (id: string, field: string): void => {
    const lostAt = uncertain.get(id);
    if (lostAt === undefined) return;
    if (now() - lostAt < inFlightGraceMs) {
      // Not found yet, but the lost request may still be running in Close: writing now could make a second record.
      throw new CrmTransientError({
        crm: CLOSE_CRM,
        message: `${field}: an earlier write whose answer was lost may still be in flight; retry after ${inFlightGraceMs} ms`,
        field,
        code: 'outcome_pending',
      });
    }
    uncertain.delete(id);
  };
  let organization: Promise<string> | undefined;
  let owners: Map<string, string> | undefined;

  const fail = (field: string, message: string, code = 'invalid_input'): CrmPermanentError =>
    new CrmPermanentError({ crm: CLOSE_CRM, message: `${field}: ${message}`, field, code });

  const checkBatch = (size: number, limit: number, operation: string): void => {
    if (size > limit) {
      throw new CrmPermanentError({
        crm: CLOSE_CRM,
        message: `${operation}: ${size} items exceed the declared batch size ${limit}`,
        code: 'batch_too_large',
      });
    }
  };

  const organizationId = (context: OperationContext): Promise<string> => {
    if (options.organizationId !== undefined) return Promise.resolve(options.organizationId);
    organization ??= transport
      .request({
        method: 'GET',
        path: '/me/',
        group: CLOSE_ENDPOINT_GROUPS.me,
        query: { _fields: 'id,organizations' },
        schema: closeMeSchema,
        context,
      })
      .then((me) => {
        const id = me.organizations?.[0]?.id;
        if (id === undefined)
          throw fail('options.organizationId', 'GET /me/ named no organization; pass `organizationId`');
        return id;
      });
    organization.catch(() => {
      organization = undefined;
    });
    return organization;
  };

  const fallbackOwner = (): string | undefined => {
    owners ??= normalizeOwnerMap(options.owners ?? {});
    return owners.size === 1 ? [...owners.values()][0] : undefined;
  };

  async function searchContacts(
    values: ClosePhoneSearchValues,
    context: OperationContext,
  ): Promise<CloseWireContact[]> {
    const contacts: CloseWireContact[] = [];
    let cursor: string | null | undefined;
    // Ten pages of 200 bound a search for 25 numbers generously; more would be a data problem, not a match.
    for (let page = 0; page < 10; page++) {
      const body = toClosePhoneSearch(values, cursor);
      if (body === undefined) break;
      const answer = await transport.request({
        method: 'POST',
        path: '/data/search/',
        group: CLOSE_ENDPOINT_GROUPS.search,
        body,
        schema: closeSearchResponseSchema,
        context,
      });
      for (const item of answer.data) {
        contacts.push(item);
        if (item.lead_id !== undefined) leadOfContact.set(item.id, item.lead_id);
      }
      cursor = answer.cursor;
      if (!cursor) break;
    }
    return contacts;
  }

  async function findContacts(
    requests: readonly ContactFindRequest[],
    context: OperationContext,
  ): Promise<ContactFindResult[]> {
    checkBatch(requests.length, capabilities.searchBatchSize, 'findContacts');
    const contacts = await searchContacts(closeSearchValues(requests), context);
    return matchClosePhoneSearch(requests, contacts, options.defaultCountry);
  }

  async function createOne(input: ContactInput, index: number, context: OperationContext): Promise<CrmWriteResult> {
    const field = `contacts[${index}].phone`;
    const e164 = requestPhone(input);
    if (e164 === undefined) {
      return {
        key: input.key,
        ok: false,
        error: fail(field, 'Close contacts are found and created by phone; this contact has no valid phone'),
      };
    }
    const pending = creating.get(e164);
    if (pending !== undefined) {
      const shared = await pending;
      return shared.ok ? { ...shared, key: input.key, created: false } : { ...shared, key: input.key };
    }
    const work = (async (): Promise<CrmWriteResult> => {
      // The engine searched this phone just before and found nothing (`notFoundAt`): searching again would spend a
      // search-group request per new customer for the same answer. An earlier POST still in doubt is caught below.
      const searchedRecently = isRecentlyNotFound(input);
      const ours = searchedRecently ? created.get(e164) : undefined;
      if (ours !== undefined) return { ...ours, key: input.key, created: false };
      const [found] = searchedRecently
        ? [undefined]
        : matchClosePhoneSearch(
            [input],
            await searchContacts(closeSearchValues([{ key: input.key, phone: e164 }]), context),
            options.defaultCountry,
          );
      const match = found?.ok ? found.matches[0] : undefined;
      if (match !== undefined) uncertain.delete(`lead:${e164}`);
      else checkNotInFlight(`lead:${e164}`, `contacts[${index}]`);
      if (match !== undefined) {
        return {
          key: input.key,
          ok: true,
          crmId: match.crmId,
          created: false,
          ...(match.parentId === undefined ? {} : { parentId: match.parentId }),
        };
      }
      const owner = fallbackOwner();
      const lead = await transport
        .request({
          method: 'POST',
          path: '/lead/',
          group: CLOSE_ENDPOINT_GROUPS.createLead,
          body: toCloseLeadCreate(input, e164, {
            ...(options.ownerCustomFieldId === undefined ? {} : { ownerCustomFieldId: options.ownerCustomFieldId }),
            ...(owner === undefined ? {} : { fallbackOwnerId: owner }),
          }),
          schema: closeLeadSchema,
          context,
          field: `contacts[${index}]`,
        })
        .catch((error: unknown) => {
          markUncertain(`lead:${e164}`, error);
          throw error;
        });
      const contact = lead.contacts?.[0];
      if (contact === undefined)
        throw fail(`contacts[${index}]`, 'Close created the lead without its contact', 'unexpected_response');
      leadOfContact.set(contact.id, lead.id);
      const result: CrmWriteSuccess = { key: input.key, ok: true, crmId: contact.id, created: true, parentId: lead.id };
      created.delete(e164);
      created.set(e164, result);
      if (created.size > CREATED_MEMORY) created.delete(created.keys().next().value!);
      return result;
    })();
    creating.set(e164, work);
    try {
      return await work;
    } finally {
      creating.delete(e164);
    }
  }

  async function updateContact(
    input: ContactInput & { crmId: string },
    index: number,
    context: OperationContext,
  ): Promise<CrmWriteResult> {
    const contact = await transport.request({
      method: 'GET',
      path: `/contact/${encodeURIComponent(input.crmId)}/`,
      group: CLOSE_ENDPOINT_GROUPS.getContact,
      query: { _fields: 'id,lead_id,name' },
      schema: closeContactSchema,
      context,
      field: `contacts[${index}].crmId`,
    });
    const name = input.name?.trim() || input.firstName?.trim();
    if (name && name !== contact.name) {
      // A Business App name is the best name we get: it replaces the stored one.
      await transport.request({
        method: 'PUT',
        path: `/contact/${encodeURIComponent(contact.id)}/`,
        group: CLOSE_ENDPOINT_GROUPS.updateContact,
        body: { name },
        schema: closeContactSchema,
        context,
        field: `contacts[${index}].name`,
      });
    }
    const leadId = contact.lead_id;
    const ownerId = input.ownerId ?? fallbackOwner();
    if (leadId !== undefined && options.ownerCustomFieldId !== undefined && ownerId !== undefined) {
      const ownerField = `custom.${options.ownerCustomFieldId}`;
      const lead = await transport.request({
        method: 'GET',
        path: `/lead/${encodeURIComponent(leadId)}/`,
        group: CLOSE_ENDPOINT_GROUPS.getLead,
        query: { _fields: `id,${ownerField}` },
        schema: z.looseObject({ id: z.string() }),
        context,
      });
      // An owner is set only when the lead has none: a rep's assignment in Close wins over ours.
      if ((lead as Record<string, unknown>)[ownerField] == null) {
        await transport.request({
          method: 'PUT',
          path: `/lead/${encodeURIComponent(leadId)}/`,
          group: CLOSE_ENDPOINT_GROUPS.updateLead,
          body: { [ownerField]: ownerId },
          schema: z.looseObject({ id: z.string() }),
          context,
        });
      }
    }
    return {
      key: input.key,
      ok: true,
      crmId: contact.id,
      created: false,
      ...(leadId === undefined ? {} : { parentId: leadId }),
    };
  }

  async function leadOf(record: MessageRecord, index: number, context: OperationContext): Promise<string> {
    if (record.contactParentCrmId !== undefined && record.contactParentCrmId !== '') return record.contactParentCrmId;
    const cached = leadOfContact.get(record.contactCrmId);
    if (cached !== undefined) return cached;
    const contact = await transport.request({
      method: 'GET',
      path: `/contact/${encodeURIComponent(record.contactCrmId)}/`,
      group: CLOSE_ENDPOINT_GROUPS.getContact,
      query: { _fields: 'id,lead_id' },
      schema: closeContactSchema,
      context,
      field: `messages[${index}].contactCrmId`,
    });
    if (contact.lead_id === undefined) throw fail(`messages[${index}].contactCrmId`, 'the contact has no lead');
    leadOfContact.set(contact.id, contact.lead_id);
    return contact.lead_id;
  }

  /** The activity already written for a wamid, if any (the lookup that makes retries safe). */
  async function lookupActivity(
    key: string,
    field: string,
    context: OperationContext,
  ): Promise<CloseWireWhatsAppActivity | undefined> {
    const page = await transport.request({
      method: 'GET',
      path: '/activity/whatsapp_message/',
      group: CLOSE_ENDPOINT_GROUPS.listActivities,
      query: { external_whatsapp_message_id: key, _fields: ACTIVITY_FIELDS, _limit: '1' },
      schema: activityPageSchema,
      context,
      field,
    });
    return page.data[0];
  }

  async function attachments(
    content: MessageRecordContent,
    context: OperationContext,
  ): Promise<{ attachments: CloseAttachmentInput[]; mediaLink?: string }> {
    const media = content.media;
    if (media?.url === undefined || content.placeholder) return { attachments: [] };
    if (options.attachMedia === false) return { attachments: [], mediaLink: media.url };
    const file = await fetchMedia(media, context.signal);
    if (file === undefined) return { attachments: [] };
    return { attachments: [await uploadCloseAttachment(transport, http, content.kind, media, file, context)] };
  }

  async function activityLink(
    record: MessageRecord,
    leadId: string,
    context: OperationContext,
  ): Promise<string | undefined> {
    if (options.integrationLinkBaseUrl === undefined) return undefined;
    if (options.cardSigningSecret === undefined) {
      throw fail(
        'options.cardSigningSecret',
        'required with `integrationLinkBaseUrl`: card links are signed',
        'configuration',
      );
    }
    const contactPhone = record.contactPhone === undefined ? undefined : normalizePhone(record.contactPhone);
    return signCloseCardLink({
      baseUrl: options.integrationLinkBaseUrl,
      secret: options.cardSigningSecret,
      organizationId: await organizationId(context),
      leadId,
      ...(contactPhone === undefined ? {} : { contactPhone }),
      expiresAt: now() + (options.activityLinkTtlMs ?? 365 * DAY_MS),
    });
  }

  async function putActivity(
    id: string,
    body: Record<string, unknown>,
    field: string,
    context: OperationContext,
  ): Promise<void> {
    await transport.request({
      method: 'PUT',
      path: `/activity/whatsapp_message/${encodeURIComponent(id)}/`,
      group: CLOSE_ENDPOINT_GROUPS.updateActivity,
      body,
      schema: closeWhatsAppActivitySchema,
      context,
      field,
    });
  }

  async function writeOne(record: MessageRecord, index: number, context: OperationContext): Promise<CrmWriteSuccess> {
    const field = `messages[${index}]`;
    if (record.contactCrmId === undefined || record.contactCrmId === '')
      throw fail(`${field}.contactCrmId`, 'is required');
    for (const name of ['businessPhone', 'contactPhone'] as const) {
      if (record[name] === undefined || record[name] === '')
        throw fail(`${field}.${name}`, 'is required by Close (local_phone/remote_phone)');
    }
    if (Number.isNaN(Date.parse(record.occurredAt))) throw fail(`${field}.occurredAt`, 'is not an ISO date-time');
    const leadId = await leadOf(record, index, context);

    // Exactly once: an earlier attempt may have been applied without the engine learning its id.
    const existing = await lookupActivity(record.key, field, context);
    if (existing !== undefined) uncertain.delete(`message:${record.key}`);
    else checkNotInFlight(`message:${record.key}`, field);
    if (existing !== undefined) {
      const stored = parseCloseMarkdown(existing.message_markdown ?? '', record.actor);
      const state = mergeReplayedState(stored.state, closeStateOfRecord(record));
      const body = renderCloseMessageBody(record.content, markdown);
      const wanted = composeCloseMarkdown(state.revoked ? stored.body : body, state);
      const changes: Record<string, unknown> = {};
      // The replay carries the current state; bring the stored activity up to it (never backwards).
      if (wanted !== existing.message_markdown) changes.message_markdown = wanted;
      // An activity applied before a crash replies to the thread's head of that moment; another message of the
      // conversation may have been written after it since (a live one goes ahead of the backfill), replying to the
      // same head. Re-pointing it to the head the engine passes now keeps one chain instead of a fork
      // (crm-apis.md §4: "or patch in a second PUT pass").
      // (Only to another parent: a link is never cleared, so a retry cannot make a second head.)
      const previous = record.previousMessageCrmId;
      if (typeof previous === 'string' && previous !== existing.id && existing.response_to_id !== previous)
        changes.response_to_id = previous;
      if (Object.keys(changes).length > 0) {
        try {
          await putActivity(existing.id, changes, field, context);
        } catch (error) {
          // A parent Close refuses is left out here too (as when posting): the activity keeps the link it has.
          if (!refusesParentOnly(error) || changes.response_to_id === undefined) throw error;
          delete changes.response_to_id;
          if (Object.keys(changes).length > 0) await putActivity(existing.id, changes, field, context);
        }
      }
      return { key: record.key, ok: true, crmId: existing.id, created: false };
    }

    const media = await attachments(record.content, context);
    const link = await activityLink(record, leadId, context);
    const payload = toCloseWhatsAppActivityCreate(record, {
      ...markdown,
      leadId,
      attachments: media.attachments,
      ...(media.mediaLink === undefined ? {} : { mediaLink: media.mediaLink }),
      ...(link === undefined ? {} : { integrationLink: link }),
    });
    const query =
      options.sendLiveInboundToInbox === true && record.direction === 'inbound' && record.source === 'live'
        ? { send_to_inbox: 'true' }
        : undefined;
    // Each post, the first or the one without a refused parent, leaves its wamid in doubt when its answer is lost.
    const post = (body: typeof payload) =>
      transport
        .request({
          method: 'POST',
          path: '/activity/whatsapp_message/',
          group: CLOSE_ENDPOINT_GROUPS.createActivity,
          body,
          ...(query === undefined ? {} : { query }),
          schema: closeWhatsAppActivitySchema,
          context,
          field,
        })
        .catch((error: unknown) => {
          markUncertain(`message:${record.key}`, error);
          throw error;
        });
    try {
      const created = await post(payload);
      return { key: record.key, ok: true, crmId: created.id, created: true };
    } catch (error) {
      // A 400 was not applied, so posting again is safe: a thread parent Close refuses (deleted, moved to another
      // lead by a merge) must not block the message itself.
      if (payload.response_to_id !== null && refusesParentOnly(error)) {
        const created = await post({ ...payload, response_to_id: null });
        return { key: record.key, ok: true, crmId: created.id, created: true };
      }
      throw error;
    }
  }

  async function updateMessage(
    update: MessageUpdate,
    index: number,
    context: OperationContext,
  ): Promise<CrmWriteResult> {
    const field = `updates[${index}]`;
    let activity: CloseWireWhatsAppActivity | undefined;
    if (update.crmId !== undefined && update.crmId !== '') {
      try {
        activity = await transport.request({
          method: 'GET',
          path: `/activity/whatsapp_message/${encodeURIComponent(update.crmId)}/`,
          group: CLOSE_ENDPOINT_GROUPS.getActivity,
          query: { _fields: ACTIVITY_FIELDS },
          schema: closeWhatsAppActivitySchema,
          context,
          field: `${field}.crmId`,
        });
      } catch (error) {
        if (!(isCrmError(error) && error.code === CRM_NOT_FOUND_CODE)) throw error;
      }
    }
    activity ??= await lookupActivity(update.messageKey, `${field}.messageKey`, context);
    if (activity === undefined) {
      return {
        key: update.key,
        ok: false,
        error: fail(`${field}.messageKey`, 'no Close activity has this WhatsApp message id', CRM_NOT_FOUND_CODE),
      };
    }
    const stored = parseCloseMarkdown(
      activity.message_markdown ?? '',
      activity.direction === 'incoming' ? 'customer' : 'business_app',
    );
    const change = update.change;
    const applied = applyCloseMessageChange(stored, change, markdown);
    const body: Record<string, unknown> = {};
    if (change.kind === 'revoke') body.attachments = [];
    if (change.kind === 'media' && !applied.state.revoked) {
      const media = await attachments(change.content, context);
      if (media.attachments.length > 0) body.attachments = media.attachments;
      if (media.mediaLink !== undefined)
        applied.body = renderCloseMessageBody(change.content, { ...markdown, mediaLink: media.mediaLink });
    }
    const wanted = composeCloseMarkdown(applied.body, applied.state);
    if (wanted !== activity.message_markdown) body.message_markdown = wanted;
    if (change.kind === 'revoke' && (activity.attachments ?? []).length === 0) delete body.attachments;
    // Nothing to change (a status that would move backwards, a repeated update): no request.
    if (Object.keys(body).length > 0) await putActivity(activity.id, body, field, context);
    return { key: update.key, ok: true, crmId: activity.id, created: false };
  }

  return {
    specificationVersion: 'v1',
    crm: CLOSE_CRM,
    capabilities,
    findContacts,

    async createContacts(contacts, context) {
      checkBatch(contacts.length, capabilities.contactBatchSize, 'createContacts');
      return settle(contacts, (input, index) => createOne(input, index, context));
    },

    async upsertContacts(contacts, context) {
      checkBatch(contacts.length, capabilities.contactBatchSize, 'upsertContacts');
      return settle(contacts, async (input, index) => {
        if (input.crmId !== undefined && input.crmId !== '')
          return updateContact({ ...input, crmId: input.crmId }, index, context);
        const created = await createOne(input, index, context);
        if (!created.ok || created.created) return created;
        return updateContact({ ...input, crmId: created.crmId }, index, context);
      });
    },

    async writeMessages(messages, context) {
      checkBatch(messages.length, capabilities.messageBatchSize, 'writeMessages');
      return settle(messages, (record, index) => writeOne(record, index, context));
    },

    async updateMessages(updates, context) {
      checkBatch(updates.length, capabilities.messageBatchSize, 'updateMessages');
      return settle(updates, (update, index) => updateMessage(update, index, context));
    },

    async renderCard(card: ChatCard): Promise<CrmCardRendering> {
      return { contentType: 'text/html', body: renderChatCardHtml(card) };
    },

    async setup(partial = {}) {
      const context: OperationContext = {
        connectionId: partial.connectionId ?? 'setup',
        signal: partial.signal ?? new AbortController().signal,
        ...(partial.onRateLimitSignal === undefined ? {} : { onRateLimitSignal: partial.onRateLimitSignal }),
      };
      if (options.integrationLinkBaseUrl === undefined || options.cardSigningSecret === undefined) {
        throw fail(
          'options.integrationLinkBaseUrl',
          'setup() needs `integrationLinkBaseUrl` and `cardSigningSecret`',
          'configuration',
        );
      }
      return setupCloseIntegrationLink(
        transport,
        {
          baseUrl: options.integrationLinkBaseUrl,
          secret: options.cardSigningSecret,
          organizationId: await organizationId(context),
          name: options.integrationLinkName ?? 'WhatsApp conversation',
          ttlMs: options.integrationLinkTtlMs ?? 90 * DAY_MS,
          now: now(),
        },
        context,
      );
    },
  };
}

/**
 * Runs each item and answers one result per item, in order. A failure of one item is its result; a refusal of the
 * whole connection (auth, rate limit) before any item succeeded is thrown, as the contract asks.
 */
async function settle<T extends { key: string }>(
  items: readonly T[],
  run: (item: T, index: number) => Promise<CrmWriteResult>,
): Promise<CrmWriteResult[]> {
  const results: CrmWriteResult[] = [];
  for (const [index, item] of items.entries()) {
    try {
      results.push(await run(item, index));
    } catch (error) {
      if (!isCrmError(error)) throw error;
      if ((error.kind === 'auth' || error.kind === 'rate-limited') && !results.some((result) => result.ok)) throw error;
      results.push({ key: item.key, ok: false, error });
    }
  }
  return results;
}

/** Whether Close refused a write for its thread parent (`response_to_id`) alone: the write without it is safe. */
function refusesParentOnly(error: unknown): boolean {
  return (
    error instanceof CloseValidationError &&
    error.invalidFields.length === 1 &&
    error.invalidFields[0] === 'response_to_id'
  );
}
