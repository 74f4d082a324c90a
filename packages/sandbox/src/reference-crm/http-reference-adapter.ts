/**
 * The reference CRM adapter over HTTP: a complete, minimal `CrmAdapter` v1 for the reference CRM emulator,
 * written the way a real adapter is (fetch with the engine's abort signal, typed errors from statuses, rate-limit
 * signals from headers). A template for adapter authors, and the CRM of the engine's crash test.
 */
import {
  type ContactFindResult,
  type CrmAdapter,
  CrmAuthError,
  type CrmCapabilities,
  type CrmError,
  CrmPermanentError,
  CrmRateLimitedError,
  CrmTransientError,
  type CrmWriteResult,
  type OperationContext,
  UnsupportedOperationError,
} from '@coexist/core';
import { REFERENCE_CRM_DEFAULT_TOKEN } from './reference-crm-emulator.ts';

/** Options of `createHttpReferenceAdapter`. */
export interface HttpReferenceAdapterOptions {
  /** Base URL of the reference CRM, e.g. `http://127.0.0.1:40123`. */
  baseUrl: string;
  /** Bearer token. @default REFERENCE_CRM_DEFAULT_TOKEN */
  token?: string;
  /** Items per batch call (the CRM's own limit is 100). @default 100 */
  batchSize?: number;
  /** Requests per window the limiter should keep to. @default 1000 */
  rateLimit?: number;
  /** @default 1000 */
  rateLimitIntervalMs?: number;
  /** Most calls in flight. @default 4 */
  maxConcurrency?: number;
  /** The fetch implementation. @default globalThis.fetch */
  fetch?: typeof fetch;
}

const CRM = 'reference-http';

/** Creates the HTTP reference adapter (no I/O until the first call). */
export function createHttpReferenceAdapter(options: HttpReferenceAdapterOptions): CrmAdapter {
  if (typeof options?.baseUrl !== 'string' || options.baseUrl === '') {
    throw new TypeError(`[coexist/${CRM}] options.baseUrl: expected the reference CRM's base URL`);
  }
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const token = options.token ?? REFERENCE_CRM_DEFAULT_TOKEN;
  const batchSize = options.batchSize ?? 100;
  const fetcher = options.fetch ?? globalThis.fetch;
  const capabilities: CrmCapabilities = {
    contactBatchSize: batchSize,
    messageBatchSize: batchSize,
    searchBatchSize: batchSize,
    rateLimits: {
      buckets: [
        {
          name: 'requests',
          limit: options.rateLimit ?? 1000,
          intervalMs: options.rateLimitIntervalMs ?? 1000,
          dynamic: true,
        },
      ],
      maxConcurrency: options.maxConcurrency ?? 4,
    },
    idempotency: 'upsert-by-external-id',
    threadsMessages: false,
    supportsCards: false,
  };

  async function post<T>(path: string, body: unknown, context: OperationContext): Promise<T[]> {
    let response: Response;
    try {
      response = await fetcher(`${baseUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: context.signal,
      });
    } catch (error) {
      if (context.signal.aborted) throw context.signal.reason;
      throw new CrmTransientError({
        crm: CRM,
        message: `${path}: network error (${(error as Error).message})`,
        cause: error,
      });
    }
    const remaining = Number(response.headers.get('x-ratelimit-remaining'));
    const limit = Number(response.headers.get('x-ratelimit-limit'));
    const reset = Number(response.headers.get('x-ratelimit-reset'));
    const retryAfter = response.headers.get('retry-after');
    const retryAfterMs = retryAfter === null ? undefined : Number(retryAfter) * 1000;
    if (response.headers.has('x-ratelimit-remaining')) {
      context.onRateLimitSignal?.({
        bucket: 'requests',
        remaining,
        ...(Number.isFinite(limit) && limit > 0 ? { limit } : {}),
        ...(Number.isFinite(reset) ? { resetAfterMs: reset } : {}),
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
    const text = await response.text();
    const parsed =
      text === '' ? undefined : (JSON.parse(text) as { results?: T[]; error?: { code?: string; message?: string } });
    const detail = `${path}: ${response.status} ${parsed?.error?.code ?? ''} ${parsed?.error?.message ?? ''}`.trim();
    if (response.status === 429) {
      throw new CrmRateLimitedError({
        crm: CRM,
        message: detail,
        status: 429,
        bucket: 'requests',
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
    if (response.status === 401 || response.status === 403)
      throw new CrmAuthError({ crm: CRM, message: detail, status: response.status });
    if (response.status >= 500) throw new CrmTransientError({ crm: CRM, message: detail, status: response.status });
    if (response.status >= 400 || !Array.isArray(parsed?.results)) {
      throw new CrmPermanentError({
        crm: CRM,
        message: detail,
        status: response.status,
        ...(parsed?.error?.code ? { code: parsed.error.code } : {}),
      });
    }
    return parsed.results;
  }

  type WireWrite = {
    key: string;
    ok: boolean;
    crmId?: string;
    created?: boolean;
    error?: { code: string; message: string };
  };
  const toWriteResult = (item: WireWrite): CrmWriteResult =>
    item.ok
      ? { key: item.key, ok: true, crmId: item.crmId!, created: item.created === true }
      : { key: item.key, ok: false, error: itemError(item.error) };

  function itemError(error: { code: string; message: string } | undefined): CrmError {
    return new CrmPermanentError({
      crm: CRM,
      message: error?.message ?? 'item failed',
      ...(error?.code ? { code: error.code } : {}),
    });
  }

  async function writeContacts(contacts: readonly unknown[], mode: 'create' | 'upsert', context: OperationContext) {
    return (await post<WireWrite>('/v1/contacts/upsert', { contacts, mode }, context)).map(toWriteResult);
  }

  return {
    specificationVersion: 'v1',
    crm: CRM,
    capabilities,
    async findContacts(requests, context): Promise<ContactFindResult[]> {
      const results = await post<{
        key: string;
        ok: boolean;
        matches: { crmId: string; matchedOn: 'phone' | 'waId' | 'userId'; name?: string }[];
      }>(
        '/v1/contacts/search',
        { requests: requests.map(({ key, phone, waId, userId }) => ({ key, phone, waId, userId })) },
        context,
      );
      return results.map((result) => ({ key: result.key, ok: true, matches: result.matches }));
    },
    createContacts: (contacts, context) => writeContacts(contacts, 'create', context),
    upsertContacts: (contacts, context) => writeContacts(contacts, 'upsert', context),
    async writeMessages(messages, context) {
      return (await post<WireWrite>('/v1/messages/upsert', { messages }, context)).map(toWriteResult);
    },
    async updateMessages(updates, context) {
      return (await post<WireWrite>('/v1/messages/update', { updates }, context)).map(toWriteResult);
    },
    async renderCard() {
      throw new UnsupportedOperationError({
        crm: CRM,
        operation: 'renderCard',
        capability: 'capabilities.supportsCards',
      });
    },
  };
}
