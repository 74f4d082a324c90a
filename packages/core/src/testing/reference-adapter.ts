/**
 * An in-memory reference implementation of the CRM adapter contract v1: what a faithful adapter does, with the CRM
 * replaced by maps you can inspect. The engine's tests drive it; fault hooks make it fail the way real CRMs do.
 */
import type { CrmAdapter, OperationContext } from '../adapter/crm-adapter.ts';
import { CRM_NOT_FOUND_CODE } from '../adapter/crm-adapter.ts';
import type {
  CrmCapabilities,
  CrmOperationName,
  IdempotencyStrategy,
  RateLimitPolicy,
} from '../adapter/crm-capabilities.ts';
import {
  CrmAuthError,
  type CrmError,
  CrmPermanentError,
  CrmRateLimitedError,
  CrmTransientError,
  UnsupportedOperationError,
} from '../adapter/crm-errors.ts';
import {
  type ContactFindRequest,
  type ContactFindResult,
  type ContactInput,
  type CrmWriteResult,
  describeStatusError,
  type MessageRecord,
  type MessageRecordReaction,
  type MessageUpdate,
} from '../adapter/crm-records.ts';
import { type CountryCode, normalizePhone, storedPhoneMatches } from '../models/phone.ts';
import { renderChatCardHtml } from '../models/render-chat-card-html.ts';
import { isStatusUpgrade } from '../models/timeline.ts';

/** A contact record in the reference CRM. */
export interface ReferenceContactRecord {
  crmId: string;
  /** The contact key it was written with; `undefined` for seeded contacts (entered by a rep). */
  key?: string;
  /** The phone as stored: E.164 when written by the adapter, any format when seeded. */
  phone?: string;
  waId?: string;
  userId?: string;
  name?: string;
  ownerId?: string;
}

/** A message record in the reference CRM: the written record plus its CRM id and write bookkeeping. */
export interface ReferenceMessageRecord extends MessageRecord {
  crmId: string;
  /** Creation order across the whole CRM (1, 2, …). */
  sequence: number;
  /** How many writes and updates touched it. */
  writeCount: number;
  /** Why it failed (`describeStatusError`), with a `failed` status. */
  statusError?: string;
}

/** One call the reference CRM received. */
export interface ReferenceCall {
  operation: CrmOperationName;
  size: number;
  connectionId: string;
}

/** A fault to inject. `times` (default 1) counts how often it fires before it is spent. */
export type ReferenceFault =
  /** Fail one item (by index in the batch, or by key) with a typed error; the rest of the batch succeeds. */
  | {
      type: 'fail-item';
      operation: CrmOperationName;
      index?: number;
      key?: string;
      error: 'permanent' | 'transient' | 'rate-limited';
      retryAfterMs?: number;
      times?: number;
    }
  /** Throw for the whole call before anything is written. */
  | {
      type: 'throw';
      operation?: CrmOperationName;
      error: 'rate-limited' | 'transient' | 'auth' | 'permanent';
      retryAfterMs?: number;
      bucket?: string;
      times?: number;
    }
  /** Write everything, then throw a transient error: the engine cannot tell the write happened (a lost response). */
  | { type: 'lose-response'; operation: CrmOperationName; times?: number }
  /** Answer `ms` later than usual (a slow CRM), then behave normally. */
  | { type: 'delay'; operation: CrmOperationName; ms: number; times?: number };

/** The inspectable state of the reference CRM. */
export interface ReferenceCrmState {
  contacts: Map<string, ReferenceContactRecord>;
  messages: Map<string, ReferenceMessageRecord>;
  calls: ReferenceCall[];
  /** Calls running now (a call counts from its start until it answers). */
  callsInFlight: number;
  /** The most calls that ran at once. */
  maxCallsInFlight: number;
}

/** Options of `createReferenceAdapter`. */
export interface ReferenceAdapterOptions {
  /**
   * The `crm` name.
   * @default 'reference'
   */
  crm?: string;
  /** @default 100 */
  contactBatchSize?: number;
  /** @default 100 */
  messageBatchSize?: number;
  /** @default 10 */
  searchBatchSize?: number;
  /** @default 'upsert-by-external-id' */
  idempotency?: IdempotencyStrategy;
  /** Require `previousMessageCrmId` like Close. @default false */
  threadsMessages?: boolean;
  /** @default true */
  supportsCards?: boolean;
  /**
   * The declared policy; the reference CRM enforces its first bucket (per connection) and reports it in signals.
   * @default one bucket `requests` of 100 per 10 s
   */
  rateLimits?: RateLimitPolicy;
  /** Country to read seeded national-format phones in. */
  defaultCountry?: CountryCode;
  /** Clock for the rate-limit window. @default () => Date.now() */
  now?: () => number;
}

/** A reference adapter: the contract plus its in-memory CRM and fault hooks. */
export interface ReferenceAdapter extends CrmAdapter {
  /** The CRM's records and received calls. */
  readonly state: ReferenceCrmState;
  /** Adds a contact as a rep would have typed it (any phone format); returns its CRM id. */
  seedContact(contact: Omit<ReferenceContactRecord, 'crmId'>): string;
  /** Queues a fault. */
  injectFault(fault: ReferenceFault): void;
  /** Removes queued faults. */
  clearFaults(): void;
}

type FaultState = ReferenceFault & { remaining: number };

/** Creates an in-memory reference `CrmAdapter` whose replays never duplicate and whose faults are injectable. */
export function createReferenceAdapter(options: ReferenceAdapterOptions = {}): ReferenceAdapter {
  const crm = options.crm ?? 'reference';
  const now = options.now ?? (() => Date.now());
  const capabilities: CrmCapabilities = {
    contactBatchSize: options.contactBatchSize ?? 100,
    messageBatchSize: options.messageBatchSize ?? 100,
    searchBatchSize: options.searchBatchSize ?? 10,
    rateLimits: options.rateLimits ?? { buckets: [{ name: 'requests', limit: 100, intervalMs: 10_000 }] },
    idempotency: options.idempotency ?? 'upsert-by-external-id',
    threadsMessages: options.threadsMessages ?? false,
    supportsCards: options.supportsCards ?? true,
  };
  const state: ReferenceCrmState = {
    contacts: new Map(),
    messages: new Map(),
    calls: [],
    callsInFlight: 0,
    maxCallsInFlight: 0,
  };
  const contactsByKey = new Map<string, string>();
  const messagesByKey = new Map<string, string>();
  const windows = new Map<string, number[]>();
  let faults: FaultState[] = [];
  const normalizedPhones = new Map<string, string | undefined>();
  let nextId = 1;
  let sequence = 0;

  const permanent = (message: string, field?: string, code?: string): CrmPermanentError =>
    new CrmPermanentError({
      crm,
      message,
      ...(field === undefined ? {} : { field }),
      ...(code === undefined ? {} : { code }),
    });

  /** Admits one call: abort, batch size, injected throw, rate limit; records it and reports the bucket. */
  function admit(
    operation: CrmOperationName,
    size: number,
    limit: number,
    field: string,
    context: OperationContext,
  ): void {
    context.signal.throwIfAborted();
    if (size > limit) {
      throw permanent(
        `${operation}: \`${field}\` has ${size} items, more than the declared batch size ${limit}`,
        field,
        'batch_too_large',
      );
    }
    const fault = takeFault(
      (candidate) => candidate.type === 'throw' && (candidate.operation ?? operation) === operation,
    );
    if (fault?.type === 'throw') throw faultError(fault.error, operation, fault.retryAfterMs, fault.bucket);
    const bucket = capabilities.rateLimits.buckets[0];
    if (bucket !== undefined) {
      const at = now();
      const recent = (windows.get(context.connectionId) ?? []).filter((time) => time > at - bucket.intervalMs);
      if (recent.length >= bucket.limit) {
        const retryAfterMs = recent[0]! + bucket.intervalMs - at;
        context.onRateLimitSignal?.({ bucket: bucket.name, remaining: 0, limit: bucket.limit, retryAfterMs });
        throw new CrmRateLimitedError({
          crm,
          message: `${operation}: rate limit of bucket ${bucket.name} reached`,
          retryAfterMs,
          bucket: bucket.name,
        });
      }
      recent.push(at);
      windows.set(context.connectionId, recent);
      context.onRateLimitSignal?.({
        bucket: bucket.name,
        remaining: bucket.limit - recent.length,
        limit: bucket.limit,
        resetAfterMs: recent[0]! + bucket.intervalMs - at,
      });
    }
    state.calls.push({ operation, size, connectionId: context.connectionId });
  }

  /** Runs one call: counted in flight, slowed by a `delay` fault when one is queued for the operation. */
  async function running<T>(
    operation: CrmOperationName,
    context: OperationContext,
    call: () => T | Promise<T>,
  ): Promise<T> {
    state.callsInFlight++;
    state.maxCallsInFlight = Math.max(state.maxCallsInFlight, state.callsInFlight);
    try {
      const fault = takeFault((candidate) => candidate.type === 'delay' && candidate.operation === operation);
      if (fault?.type === 'delay') {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, fault.ms);
          context.signal.addEventListener(
            'abort',
            () => {
              clearTimeout(timer);
              reject(context.signal.reason);
            },
            { once: true },
          );
        });
      }
      return await call();
    } finally {
      state.callsInFlight--;
    }
  }

  function takeFault(matches: (fault: FaultState) => boolean): FaultState | undefined {
    if (faults.length === 0) return undefined;
    const fault = faults.find(matches);
    if (fault === undefined) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) faults = faults.filter((candidate) => candidate !== fault);
    return fault;
  }

  function faultError(kind: string, operation: string, retryAfterMs?: number, bucket?: string): CrmError {
    const message = `${operation}: injected ${kind} fault`;
    if (kind === 'rate-limited') {
      return new CrmRateLimitedError({
        crm,
        message,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        ...(bucket === undefined ? {} : { bucket }),
      });
    }
    if (kind === 'transient') return new CrmTransientError({ crm, message });
    if (kind === 'auth') return new CrmAuthError({ crm, message, status: 401 });
    return permanent(message);
  }

  /** Runs a batch item by item, applying item faults and lost-response faults. */
  function runItems<Item extends { key: string }>(
    operation: CrmOperationName,
    items: readonly Item[],
    write: (item: Item, index: number) => CrmWriteResult,
  ): CrmWriteResult[] {
    // Without faults queued (every call of a benchmark) no closure is made per item.
    if (faults.length === 0) return items.map(write);
    const results = items.map((item, index): CrmWriteResult => {
      const fault = takeFault(
        (candidate) =>
          candidate.type === 'fail-item' &&
          candidate.operation === operation &&
          (candidate.key === undefined ? candidate.index === index : candidate.key === item.key),
      );
      if (fault?.type === 'fail-item')
        return {
          key: item.key,
          ok: false,
          error: faultError(fault.error, `${operation}[${index}]`, fault.retryAfterMs),
        };
      return write(item, index);
    });
    if (
      takeFault((candidate) => candidate.type === 'lose-response' && candidate.operation === operation) !== undefined
    ) {
      throw new CrmTransientError({ crm, message: `${operation}: injected lost response (the writes were applied)` });
    }
    return results;
  }

  function writeContact(contact: ContactInput, index: number, field: string, update: boolean): CrmWriteResult {
    if (contact.key === '')
      return {
        key: contact.key,
        ok: false,
        error: permanent(`\`${field}[${index}].key\` is empty`, `${field}[${index}].key`),
      };
    const existingId = contact.crmId ?? contactsByKey.get(contact.key);
    const existing = existingId === undefined ? undefined : state.contacts.get(existingId);
    if (contact.crmId !== undefined && existing === undefined) {
      return {
        key: contact.key,
        ok: false,
        error: permanent(
          `\`${field}[${index}].crmId\` ${contact.crmId} does not exist`,
          `${field}[${index}].crmId`,
          CRM_NOT_FOUND_CODE,
        ),
      };
    }
    if (existing !== undefined) {
      if (update) {
        if (contact.name !== undefined) existing.name = contact.name;
        if (existing.ownerId === undefined && contact.ownerId !== undefined) existing.ownerId = contact.ownerId;
        existing.phone ??= contact.phone;
        existing.waId ??= contact.waId;
        existing.userId ??= contact.userId;
        indexContact(existing);
      }
      contactsByKey.set(contact.key, existing.crmId);
      return { key: contact.key, ok: true, crmId: existing.crmId, created: false };
    }
    const crmId = `contact-${nextId++}`;
    ensureIndexed();
    state.contacts.set(crmId, {
      crmId,
      key: contact.key,
      ...(contact.phone === undefined ? {} : { phone: contact.phone }),
      ...(contact.waId === undefined ? {} : { waId: contact.waId }),
      ...(contact.userId === undefined ? {} : { userId: contact.userId }),
      ...(contact.name === undefined ? {} : { name: contact.name }),
      ...(contact.ownerId === undefined ? {} : { ownerId: contact.ownerId }),
    });
    indexContact(state.contacts.get(crmId)!);
    contactsByKey.set(contact.key, crmId);
    return { key: contact.key, ok: true, crmId, created: true };
  }

  /** The stored phone of a record, normalized (cached per stored string). */
  function storedPhone(phone: string): string | undefined {
    // A real CRM searches the stored strings; the adapter then confirms by normalizing, as here.
    // Cached per stored string: normalizing every record on every search made large backfills quadratic in libphonenumber calls.
    let stored = normalizedPhones.get(phone);
    if (stored === undefined && !normalizedPhones.has(phone)) {
      stored = normalizePhone(
        phone,
        options.defaultCountry === undefined ? {} : { defaultCountry: options.defaultCountry },
      );
      normalizedPhones.set(phone, stored);
    }
    return stored;
  }

  // Search indexes: user id, wa_id and normalized stored phone → crm ids, plus each record's position, so a search
  // costs what it finds. A linear pass over every record per search made a large backfill quadratic. Records only
  // enter `state.contacts` here (seedContact, writeContact); if a test adds one behind the adapter's back, the
  // size check below rebuilds the indexes, so answers never depend on them being current.
  const contactsByUserId = new Map<string, string[]>();
  const contactsByWaId = new Map<string, string[]>();
  const contactsByPhone = new Map<string, string[]>();
  const contactPosition = new Map<string, number>();
  const indexedFields = new Map<string, { userId?: string; waId?: string; phone?: string }>();

  function addTo(index: Map<string, string[]>, key: string | undefined, crmId: string): void {
    if (key === undefined) return;
    const ids = index.get(key);
    if (ids === undefined) index.set(key, [crmId]);
    else if (!ids.includes(crmId)) ids.push(crmId);
  }

  /** (Re)indexes one record's searchable fields; fields only ever go from unset to set. */
  function indexContact(record: ReferenceContactRecord): void {
    if (!contactPosition.has(record.crmId)) contactPosition.set(record.crmId, contactPosition.size);
    let indexed = indexedFields.get(record.crmId);
    if (indexed === undefined) {
      indexed = {};
      indexedFields.set(record.crmId, indexed);
    }
    if (record.userId !== indexed.userId) {
      indexed.userId = record.userId;
      addTo(contactsByUserId, record.userId, record.crmId);
    }
    if (record.waId !== indexed.waId) {
      indexed.waId = record.waId;
      addTo(contactsByWaId, record.waId, record.crmId);
    }
    if (record.phone !== indexed.phone) {
      indexed.phone = record.phone;
      addTo(contactsByPhone, record.phone === undefined ? undefined : storedPhone(record.phone), record.crmId);
    }
  }

  function ensureIndexed(): void {
    if (indexedFields.size === state.contacts.size) return;
    for (const record of state.contacts.values()) indexContact(record);
  }

  /**
   * Answers a batch of searches from the indexes, with the same precedence as a scan (user id, then wa_id, then
   * phone, each confirmed against the record) and matches in the records' order.
   */
  function findContactsIn(requests: readonly ContactFindRequest[]): ContactFindResult[] {
    ensureIndexed();
    return requests.map((request) => {
      const candidates = new Set<string>([
        ...(request.userId === undefined ? [] : (contactsByUserId.get(request.userId) ?? [])),
        ...(request.waId === undefined ? [] : (contactsByWaId.get(request.waId) ?? [])),
        ...(request.phone === undefined ? [] : (contactsByPhone.get(request.phone) ?? [])),
        // A retired form of the number a rep saved (an Argentine mobile without its 9), as a CRM search finds it.
        ...(request.phoneVariants ?? [])
          .filter((variant) => variant.startsWith('+') && variant !== request.phone)
          .flatMap((variant) => contactsByPhone.get(variant) ?? []),
      ]);
      const ordered = [...candidates].sort(
        (left, right) => (contactPosition.get(left) ?? 0) - (contactPosition.get(right) ?? 0),
      );
      const matches: { crmId: string; matchedOn: 'phone' | 'waId' | 'userId'; name?: string; ownerId?: string }[] = [];
      for (const crmId of ordered) {
        const record = state.contacts.get(crmId);
        if (record === undefined) continue;
        let matchedOn: 'phone' | 'waId' | 'userId' | undefined;
        if (request.userId !== undefined && record.userId === request.userId) matchedOn = 'userId';
        else if (request.waId !== undefined && record.waId === request.waId) matchedOn = 'waId';
        else if (
          request.phone !== undefined &&
          record.phone !== undefined &&
          (storedPhone(record.phone) === request.phone ||
            storedPhoneMatches(record.phone, request.phone, options.defaultCountry))
        )
          matchedOn = 'phone';
        if (matchedOn !== undefined) {
          matches.push({
            crmId: record.crmId,
            matchedOn,
            ...(record.name === undefined ? {} : { name: record.name }),
            ...(record.ownerId === undefined ? {} : { ownerId: record.ownerId }),
          });
        }
      }
      return { key: request.key, ok: true, matches };
    });
  }

  /** Why the reference CRM rejects a message record, or `undefined` when it accepts it (the common case: no strings built). */
  function messageProblem(
    message: MessageRecord,
    index: number,
  ): { text: string; at: string; code?: string } | undefined {
    const at = (name: string): string => `messages[${index}].${name}`;
    if (message.key === '') return { text: `\`${at('key')}\` is empty`, at: at('key') };
    if (Number.isNaN(Date.parse(message.occurredAt)))
      return { text: `\`${at('occurredAt')}\` is not an ISO time`, at: at('occurredAt') };
    if (!state.contacts.has(message.contactCrmId)) {
      return {
        text: `\`${at('contactCrmId')}\` ${message.contactCrmId} does not exist`,
        at: at('contactCrmId'),
        code: CRM_NOT_FOUND_CODE,
      };
    }
    if (!capabilities.threadsMessages) return undefined;
    const previous = message.previousMessageCrmId;
    if (previous === undefined) {
      return {
        text: `\`${at('previousMessageCrmId')}\` is required (threadsMessages)`,
        at: at('previousMessageCrmId'),
      };
    }
    if (previous !== null && !state.messages.has(previous)) {
      return {
        text: `\`${at('previousMessageCrmId')}\` ${previous} does not exist`,
        at: at('previousMessageCrmId'),
        code: CRM_NOT_FOUND_CODE,
      };
    }
    return undefined;
  }

  function writeMessage(message: MessageRecord, index: number): CrmWriteResult {
    const problem = messageProblem(message, index);
    if (problem !== undefined) {
      return { key: message.key, ok: false, error: permanent(problem.text, problem.at, problem.code) };
    }
    const existingId = messagesByKey.get(message.key);
    const existing = existingId === undefined ? undefined : state.messages.get(existingId);
    if (existing !== undefined) {
      // A replay carries the same or newer state; statuses still never move backwards.
      const status =
        message.status !== undefined && isStatusUpgrade(existing.status, message.status)
          ? message.status
          : existing.status;
      const previousMessageCrmId = existing.previousMessageCrmId;
      Object.assign(existing, clonePlain(message), {
        status,
        previousMessageCrmId,
        writeCount: existing.writeCount + 1,
      });
      if (status === undefined) delete existing.status;
      return { key: message.key, ok: true, crmId: existing.crmId, created: false };
    }
    const crmId = `message-${nextId++}`;
    sequence += 1;
    // The copy itself becomes the stored record (no second copy to add the CRM's fields).
    const stored = clonePlain(message) as ReferenceMessageRecord;
    stored.crmId = crmId;
    stored.sequence = sequence;
    stored.writeCount = 1;
    state.messages.set(crmId, stored);
    messagesByKey.set(message.key, crmId);
    return { key: message.key, ok: true, crmId, created: true };
  }

  function updateMessage(update: MessageUpdate, index: number): CrmWriteResult {
    const crmId = update.crmId ?? messagesByKey.get(update.messageKey);
    const record = crmId === undefined ? undefined : state.messages.get(crmId);
    if (record === undefined) {
      const field = `updates[${index}].${update.crmId === undefined ? 'messageKey' : 'crmId'}`;
      return {
        key: update.key,
        ok: false,
        error: permanent(
          `\`${field}\`: no message record ${update.crmId ?? update.messageKey}`,
          field,
          CRM_NOT_FOUND_CODE,
        ),
      };
    }
    const change = update.change;
    if (change.kind === 'status') {
      if (isStatusUpgrade(record.status, change.status)) {
        record.status = change.status;
        const reason = change.status === 'failed' ? describeStatusError(change) : undefined;
        if (reason !== undefined) record.statusError = reason;
      }
    } else if (change.kind === 'edit') {
      if (!record.revoked) {
        record.content = clonePlain(change.content);
        record.editedAt = change.at;
      }
    } else if (change.kind === 'revoke') {
      record.revoked = true;
    } else if (change.kind === 'reaction') {
      const others: MessageRecordReaction[] = (record.reactions ?? []).filter(
        (reaction) => reaction.actor !== change.actor,
      );
      record.reactions = change.emoji === null ? others : [...others, { actor: change.actor, emoji: change.emoji }];
    } else if (record.content.placeholder) {
      record.content = clonePlain(change.content);
    }
    record.writeCount += 1;
    return { key: update.key, ok: true, crmId: record.crmId, created: false };
  }

  return {
    specificationVersion: 'v1',
    crm,
    capabilities,
    state,
    seedContact(contact) {
      const crmId = `contact-${nextId++}`;
      ensureIndexed();
      state.contacts.set(crmId, { ...contact, crmId });
      indexContact(state.contacts.get(crmId)!);
      if (contact.key !== undefined) contactsByKey.set(contact.key, crmId);
      return crmId;
    },
    injectFault(fault) {
      faults.push({ ...fault, remaining: fault.times ?? 1 });
    },
    clearFaults() {
      faults = [];
    },
    async findContacts(requests, context) {
      return running('findContacts', context, () => {
        admit('findContacts', requests.length, capabilities.searchBatchSize, 'requests', context);
        return findContactsIn(requests);
      });
    },
    async createContacts(contacts, context) {
      return running('createContacts', context, () => {
        admit('createContacts', contacts.length, capabilities.contactBatchSize, 'contacts', context);
        return runItems('createContacts', contacts, (contact, index) =>
          writeContact(contact, index, 'contacts', false),
        );
      });
    },
    async upsertContacts(contacts, context) {
      return running('upsertContacts', context, () => {
        admit('upsertContacts', contacts.length, capabilities.contactBatchSize, 'contacts', context);
        return runItems('upsertContacts', contacts, (contact, index) => writeContact(contact, index, 'contacts', true));
      });
    },
    async writeMessages(messages, context) {
      return running('writeMessages', context, () => {
        admit('writeMessages', messages.length, capabilities.messageBatchSize, 'messages', context);
        return runItems('writeMessages', messages, writeMessage);
      });
    },
    async updateMessages(updates, context) {
      return running('updateMessages', context, () => {
        admit('updateMessages', updates.length, capabilities.messageBatchSize, 'updates', context);
        return runItems('updateMessages', updates, updateMessage);
      });
    },
    async renderCard(card, context) {
      if (!capabilities.supportsCards)
        throw new UnsupportedOperationError({ crm, operation: 'renderCard', capability: 'capabilities.supportsCards' });
      admit('renderCard', 1, 1, 'card', context);
      return { contentType: 'text/html', body: renderChatCardHtml(card) };
    },
  };
}

/**
 * A deep copy of plain record data (objects, arrays, primitives), what `structuredClone` would return for it at a
 * fraction of the cost; the adapter keeps copies so a caller mutating its records later cannot change the CRM.
 */
function clonePlain<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(clonePlain) as T;
  if (Object.getPrototypeOf(value) !== Object.prototype) return structuredClone(value);
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) copy[key] = clonePlain((value as Record<string, unknown>)[key]);
  return copy as T;
}
