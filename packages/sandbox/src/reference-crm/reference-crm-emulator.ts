/**
 * The reference CRM: a minimal HTTP CRM for adapter authors and for crash tests that need a CRM living outside
 * the process under test. Batch upsert of contacts and messages by external key, per-record state, counts of
 * writes and duplicates (a write whose key already existed), a rolling-window rate limit with `Retry-After`,
 * bearer auth, and the shared emulator knobs (faults, latency, `/__admin/*`).
 *
 * Wire format (JSON): `POST /v1/contacts/search {requests}`, `POST /v1/contacts/upsert {contacts, mode}`,
 * `POST /v1/messages/upsert {messages}`, `POST /v1/messages/update {updates}`; each answers `{results}` with one
 * result per item, in order. Limits: `X-RateLimit-Limit`, `-Remaining`, `-Reset` (ms) on every answer; a 429
 * carries `Retry-After` (seconds) unless `sendRetryAfter` is false.
 */

import { type EmulatorRequest, type EmulatorResponse, EmulatorRouter } from '../emulator/emulator-router.ts';
import type { RunningEmulator } from '../emulator/emulator-server.ts';
import { startEmulatorServer } from '../emulator/emulator-server.ts';
import type { FaultOptions } from '../emulator/fault-injector.ts';
import type { LatencyOptions } from '../emulator/latency-model.ts';
import { RollingWindow } from '../emulator/rolling-window.ts';

/** The default bearer token of the reference CRM. */
export const REFERENCE_CRM_DEFAULT_TOKEN = 'reference-crm-token';

/** Options of `startReferenceCrm`. */
export interface ReferenceCrmOptions {
  /** Port; 0 picks a free one. @default 0 */
  port?: number;
  /** Bearer token every `/v1` request must carry. @default REFERENCE_CRM_DEFAULT_TOKEN */
  token?: string;
  /** Most items per batch request; more is a 400. @default 100 */
  maxBatchSize?: number;
  /** Requests allowed per window, all `/v1` endpoints together. @default 1000 */
  rateLimit?: number;
  /** Window of the rate limit, in milliseconds. @default 1000 */
  rateLimitIntervalMs?: number;
  /** Send `Retry-After` on 429s. @default true */
  sendRetryAfter?: boolean;
  faults?: FaultOptions;
  latency?: LatencyOptions;
  /** @default 1 */
  seed?: number;
}

/** A contact in the reference CRM. */
export interface ReferenceCrmContact {
  id: string;
  key: string;
  phone?: string;
  waId?: string;
  userId?: string;
  name?: string;
  ownerId?: string;
}

/** A message record in the reference CRM. */
export interface ReferenceCrmMessage {
  id: string;
  /** The external key (wamid). */
  key: string;
  /** Creation order across the CRM, from 1. */
  sequence: number;
  /** Writes of this key (1 = written once; more = replays, which never create a second record). */
  writes: number;
  contactId: string;
  conversationKey: string;
  occurredAt: string;
  direction: string;
  status?: string;
  revoked?: boolean;
  /** The record as last written (content included). */
  record: Record<string, unknown>;
}

/** Counters of what the CRM received. */
export interface ReferenceCrmCounts {
  contacts: number;
  messages: number;
  /** Message items written (created or replayed). */
  messageWrites: number;
  /** Message items whose key already existed (a replay, answered `created: false`). */
  duplicateMessageWrites: number;
  contactWrites: number;
  duplicateContactWrites: number;
  updates: number;
  rateLimited: number;
}

/** A running reference CRM. */
export interface ReferenceCrmEmulator extends RunningEmulator {
  /** The bearer token it expects. */
  readonly token: string;
  /** Contacts by id. */
  readonly contacts: ReadonlyMap<string, ReferenceCrmContact>;
  /** Messages by external key. */
  readonly messages: ReadonlyMap<string, ReferenceCrmMessage>;
  /** What it received so far. */
  counts(): ReferenceCrmCounts;
}

interface ItemError {
  code: string;
  message: string;
}

/** Starts the reference CRM on loopback. */
export async function startReferenceCrm(options: ReferenceCrmOptions = {}): Promise<ReferenceCrmEmulator> {
  const token = options.token ?? REFERENCE_CRM_DEFAULT_TOKEN;
  const maxBatchSize = options.maxBatchSize ?? 100;
  let window = new RollingWindow(options.rateLimit ?? 1000, options.rateLimitIntervalMs ?? 1000);
  const contacts = new Map<string, ReferenceCrmContact>();
  const contactsByKey = new Map<string, string>();
  const messages = new Map<string, ReferenceCrmMessage>();
  const messageIds = new Map<string, ReferenceCrmMessage>();
  const counts = emptyCounts();
  let nextId = 1;
  let sequence = 0;

  /** Auth, batch size and rate limit; `undefined` when the request may proceed. */
  function admit(
    request: EmulatorRequest,
    field: string,
  ): { response?: EmulatorResponse; headers: Record<string, string> } {
    if (request.headers.authorization !== `Bearer ${token}`) {
      return {
        response: { status: 401, body: { error: { code: 'unauthorized', message: 'missing or wrong bearer token' } } },
        headers: {},
      };
    }
    const decision = window.take(Date.now());
    const headers = {
      'x-ratelimit-limit': String(decision.limit),
      'x-ratelimit-remaining': String(decision.remaining),
      'x-ratelimit-reset': String(decision.resetMs),
    };
    if (!decision.allowed) {
      counts.rateLimited++;
      const retryHeaders: Record<string, string> =
        options.sendRetryAfter === false
          ? headers
          : { ...headers, 'retry-after': String(Math.max(1, Math.ceil(decision.resetMs / 1000))) };
      return {
        response: {
          status: 429,
          headers: retryHeaders,
          body: { error: { code: 'rate_limited', message: 'too many requests' } },
          tags: ['rate-limited'],
        },
        headers,
      };
    }
    const items = (request.body as Record<string, unknown> | undefined)?.[field];
    if (!Array.isArray(items)) {
      return {
        response: {
          status: 400,
          headers,
          body: { error: { code: 'invalid_body', message: `\`${field}\` must be an array` } },
        },
        headers,
      };
    }
    if (items.length > maxBatchSize) {
      return {
        response: {
          status: 400,
          headers,
          body: {
            error: {
              code: 'batch_too_large',
              message: `\`${field}\` has ${items.length} items; at most ${maxBatchSize}`,
            },
          },
        },
        headers,
      };
    }
    return { headers };
  }

  function answer(
    request: EmulatorRequest,
    field: string,
    handle: (item: Record<string, unknown>, index: number) => unknown,
  ): EmulatorResponse {
    const admitted = admit(request, field);
    if (admitted.response !== undefined) return admitted.response;
    const items = (request.body as Record<string, unknown[]>)[field]!;
    return {
      status: 200,
      headers: admitted.headers,
      body: { results: items.map((item, index) => handle(item as Record<string, unknown>, index)) },
    };
  }

  const failure = (key: unknown, error: ItemError) => ({ key, ok: false, error });

  const router = new EmulatorRouter()
    .add('POST', '/v1/contacts/search', (request) =>
      answer(request, 'requests', (item) => {
        const matches: { crmId: string; matchedOn: string; name?: string }[] = [];
        for (const contact of contacts.values()) {
          let matchedOn: string | undefined;
          if (item.userId !== undefined && contact.userId === item.userId) matchedOn = 'userId';
          else if (item.waId !== undefined && contact.waId === item.waId) matchedOn = 'waId';
          else if (item.phone !== undefined && contact.phone === item.phone) matchedOn = 'phone';
          if (matchedOn !== undefined)
            matches.push({
              crmId: contact.id,
              matchedOn,
              ...(contact.name === undefined ? {} : { name: contact.name }),
            });
        }
        return { key: item.key, ok: true, matches };
      }),
    )
    .add('POST', '/v1/contacts/upsert', (request) =>
      answer(request, 'contacts', (item, index) => {
        if (typeof item.key !== 'string' || item.key === '') {
          return failure(item.key, { code: 'invalid', message: `contacts[${index}].key: required` });
        }
        counts.contactWrites++;
        const update = (request.body as { mode?: string }).mode !== 'create';
        const existingId = (typeof item.crmId === 'string' ? item.crmId : undefined) ?? contactsByKey.get(item.key);
        const existing = existingId === undefined ? undefined : contacts.get(existingId);
        if (existing !== undefined) {
          counts.duplicateContactWrites++;
          if (update && typeof item.name === 'string') existing.name = item.name;
          contactsByKey.set(item.key, existing.id);
          return { key: item.key, ok: true, crmId: existing.id, created: false };
        }
        const contact: ReferenceCrmContact = { id: `contact-${nextId++}`, key: item.key };
        for (const field of ['phone', 'waId', 'userId', 'name', 'ownerId'] as const) {
          if (typeof item[field] === 'string') contact[field] = item[field] as string;
        }
        contacts.set(contact.id, contact);
        contactsByKey.set(item.key, contact.id);
        return { key: item.key, ok: true, crmId: contact.id, created: true };
      }),
    )
    .add('POST', '/v1/messages/upsert', (request) =>
      answer(request, 'messages', (item, index) => {
        const key = item.key;
        if (typeof key !== 'string' || key === '')
          return failure(key, { code: 'invalid', message: `messages[${index}].key: required` });
        if (typeof item.contactCrmId !== 'string' || !contacts.has(item.contactCrmId)) {
          return failure(key, { code: 'not_found', message: `messages[${index}].contactCrmId: no such contact` });
        }
        counts.messageWrites++;
        const existing = messages.get(key);
        if (existing !== undefined) {
          counts.duplicateMessageWrites++;
          existing.writes++;
          existing.record = item;
          return { key, ok: true, crmId: existing.id, created: false };
        }
        const message: ReferenceCrmMessage = {
          id: `message-${nextId++}`,
          key,
          sequence: ++sequence,
          writes: 1,
          contactId: item.contactCrmId,
          conversationKey: String(item.conversationKey ?? ''),
          occurredAt: String(item.occurredAt ?? ''),
          direction: String(item.direction ?? ''),
          ...(typeof item.status === 'string' ? { status: item.status } : {}),
          record: item,
        };
        messages.set(key, message);
        messageIds.set(message.id, message);
        return { key, ok: true, crmId: message.id, created: true };
      }),
    )
    .add('POST', '/v1/messages/update', (request) =>
      answer(request, 'updates', (item, index) => {
        const message =
          (typeof item.crmId === 'string' ? messageIds.get(item.crmId) : undefined) ??
          (typeof item.messageKey === 'string' ? messages.get(item.messageKey) : undefined);
        if (message === undefined)
          return failure(item.key, { code: 'not_found', message: `updates[${index}]: no such message` });
        counts.updates++;
        const change = item.change as { kind?: string; status?: string } | undefined;
        if (change?.kind === 'status' && typeof change.status === 'string') message.status = change.status;
        if (change?.kind === 'revoke') message.revoked = true;
        return { key: item.key, ok: true, crmId: message.id, created: false };
      }),
    );

  const running = await startEmulatorServer({
    name: 'reference-crm',
    router,
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.faults === undefined ? {} : { faults: options.faults }),
    ...(options.latency === undefined ? {} : { latency: options.latency }),
    seed: options.seed ?? 1,
    serverErrorResponse: () => ({
      status: 503,
      body: { error: { code: 'unavailable', message: 'injected server error' } },
    }),
    inspectState: () => ({
      counts: snapshot(),
      contacts: [...contacts.values()],
      messages: [...messages.values()].map(({ record: _record, ...message }) => message),
    }),
    resetState: () => {
      contacts.clear();
      contactsByKey.clear();
      messages.clear();
      messageIds.clear();
      Object.assign(counts, emptyCounts());
      window = new RollingWindow(options.rateLimit ?? 1000, options.rateLimitIntervalMs ?? 1000);
      nextId = 1;
      sequence = 0;
    },
  });

  function snapshot(): ReferenceCrmCounts {
    return { ...counts, contacts: contacts.size, messages: messages.size };
  }

  return Object.assign(running, {
    token,
    contacts,
    messages,
    counts: snapshot,
  });
}

function emptyCounts(): ReferenceCrmCounts {
  return {
    contacts: 0,
    messages: 0,
    messageWrites: 0,
    duplicateMessageWrites: 0,
    contactWrites: 0,
    duplicateContactWrites: 0,
    updates: 0,
    rateLimited: 0,
  };
}
