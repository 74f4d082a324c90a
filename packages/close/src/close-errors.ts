/**
 * Maps Close answers to the core's typed errors and rate-limit signals (crm-apis.md §4.4,
 * https://developer.close.com/api/overview/rate-limits). Close limits each endpoint group (method + path) per API key
 * and per organization, reports the group's window in a `RateLimit` header (`limit=20, remaining=19, reset=1`; a
 * third party observed `;` as the separator, so both are read) and answers a 429 with `{"error": {"rate_reset": s}}`.
 * Messages never contain keys, tokens or message bodies: Close's field errors are reduced to field names.
 */
import {
  CRM_NOT_FOUND_CODE,
  CrmAuthError,
  type CrmError,
  CrmPermanentError,
  CrmRateLimitedError,
  CrmTransientError,
  type RateLimitSignal,
} from '@coexist/core';
import { closeErrorBodySchema, closeRateLimitBodySchema } from './close-api.ts';

/** The adapter's `crm` name, the `[coexist/close]` prefix of every error. */
export const CLOSE_CRM = 'close';

/**
 * The endpoint groups the adapter calls, named `METHOD /path/` with `{id}` for ids. Each is one rate-limit bucket:
 * the bucket of a `RateLimitSignal` or a `CrmRateLimitedError` is the group the response came from.
 */
export const CLOSE_ENDPOINT_GROUPS = {
  search: 'POST /data/search/',
  createLead: 'POST /lead/',
  getLead: 'GET /lead/{id}/',
  updateLead: 'PUT /lead/{id}/',
  getContact: 'GET /contact/{id}/',
  updateContact: 'PUT /contact/{id}/',
  listActivities: 'GET /activity/whatsapp_message/',
  createActivity: 'POST /activity/whatsapp_message/',
  getActivity: 'GET /activity/whatsapp_message/{id}/',
  updateActivity: 'PUT /activity/whatsapp_message/{id}/',
  uploadFile: 'POST /files/upload/',
  me: 'GET /me/',
  listIntegrationLinks: 'GET /integration_link/',
  createIntegrationLink: 'POST /integration_link/',
  updateIntegrationLink: 'PUT /integration_link/{id}/',
} as const;

/** One endpoint group name. */
export type CloseEndpointGroup = (typeof CLOSE_ENDPOINT_GROUPS)[keyof typeof CLOSE_ENDPOINT_GROUPS];

/** The fields of a `RateLimit` header. */
export interface CloseRateLimitHeader {
  limit?: number;
  remaining?: number;
  /** Seconds until the window resets. */
  resetSeconds?: number;
}

/** Reads `RateLimit: limit=20, remaining=19, reset=1` (fields separated by `,` or `;`); `undefined` when absent or empty. */
export function parseRateLimitHeader(value: string | null | undefined): CloseRateLimitHeader | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const parsed: CloseRateLimitHeader = {};
  for (const part of value.split(/[,;]/)) {
    const match = /^\s*([a-z_-]+)\s*=\s*"?([\d.]+)"?\s*$/i.exec(part);
    if (match === null) continue;
    const number = Number(match[2]);
    if (!Number.isFinite(number) || number < 0) continue;
    const name = match[1]!.toLowerCase();
    if (name === 'limit') parsed.limit = number;
    else if (name === 'remaining') parsed.remaining = number;
    else if (name === 'reset') parsed.resetSeconds = number;
  }
  return Object.keys(parsed).length === 0 ? undefined : parsed;
}

/** The signal a `RateLimit` header gives about its endpoint group, or `undefined` when there is none. */
export function toRateLimitSignal(group: string, header: string | null | undefined): RateLimitSignal | undefined {
  const parsed = parseRateLimitHeader(header);
  if (parsed === undefined) return undefined;
  return {
    bucket: group,
    ...(parsed.limit === undefined ? {} : { limit: parsed.limit }),
    ...(parsed.remaining === undefined ? {} : { remaining: parsed.remaining }),
    ...(parsed.resetSeconds === undefined ? {} : { resetAfterMs: Math.round(parsed.resetSeconds * 1000) }),
  };
}

/** How long a 429 asks the group to pause: `error.rate_reset` seconds, else the header's `reset`. */
export function rateLimitRetryAfterMs(body: unknown, header: string | null | undefined): number | undefined {
  const parsed = closeRateLimitBodySchema.safeParse(body);
  const seconds = parsed.success ? parsed.data.error.rate_reset : undefined;
  if (seconds !== undefined) return Math.ceil(seconds * 1000);
  const reset = parseRateLimitHeader(header)?.resetSeconds;
  return reset === undefined ? undefined : Math.ceil(reset * 1000);
}

/** What a failed HTTP answer carried. */
export interface CloseHttpFailure {
  /** The endpoint group called. */
  group: string;
  status: number;
  body: unknown;
  /** The `RateLimit` header, when sent. */
  rateLimitHeader?: string | null;
  /** The input field the call wrote, for the error's `field` (e.g. `messages[0]`). */
  field?: string;
}

/** The field names of a Close validation error (`field-errors`), without their messages, which may echo values. */
export function closeFieldErrorNames(body: unknown): string[] {
  const parsed = closeErrorBodySchema.safeParse(body);
  return parsed.success ? Object.keys(parsed.data['field-errors'] ?? {}) : [];
}

/** Maps a non-2xx Close answer to the core's typed error. */
export function toCloseHttpError(failure: CloseHttpFailure): CrmError {
  const { group, status } = failure;
  const base = {
    crm: CLOSE_CRM,
    status,
    ...(failure.field === undefined ? {} : { field: failure.field }),
  };
  if (status === 429) {
    const retryAfterMs = rateLimitRetryAfterMs(failure.body, failure.rateLimitHeader);
    return new CrmRateLimitedError({
      ...base,
      message: `${group}: rate limited (HTTP 429)${retryAfterMs === undefined ? '' : `, retry in ${retryAfterMs} ms`}`,
      code: 'rate_limited',
      bucket: group,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  if (status === 401 || status === 403) {
    return new CrmAuthError({
      ...base,
      message: `${group}: ${status === 401 ? 'the API key or OAuth token was refused' : 'the credentials lack permission'} (HTTP ${status})`,
      code: status === 401 ? 'unauthorized' : 'forbidden',
    });
  }
  if (status === 404) {
    return new CrmPermanentError({ ...base, message: `${group}: not found (HTTP 404)`, code: CRM_NOT_FOUND_CODE });
  }
  if (status >= 500 || status === 408) {
    return new CrmTransientError({ ...base, message: `${group}: Close answered HTTP ${status}`, code: 'server_error' });
  }
  const fields = closeFieldErrorNames(failure.body);
  return new CloseValidationError(
    {
      ...base,
      message: `${group}: Close rejected the request (HTTP ${status})${fields.length === 0 ? '' : `; invalid fields: ${fields.join(', ')}`}`,
      code: 'validation',
    },
    fields,
  );
}

/** A request Close refused as invalid (HTTP 400): permanent, with the names of the fields Close objected to. */
export class CloseValidationError extends CrmPermanentError {
  /** The `field-errors` keys of Close's answer (names only; the messages may echo values). */
  readonly invalidFields: readonly string[];

  /** Creates the error with the invalid field names. */
  constructor(options: ConstructorParameters<typeof CrmPermanentError>[0], invalidFields: readonly string[]) {
    super(options);
    this.invalidFields = invalidFields;
  }
}

/**
 * Maps a request that got no HTTP answer (timeout, dropped connection, abort) to a transient error: it may have been
 * applied. The axios error is not kept as `cause`: its config holds the `Authorization` header.
 */
export function toCloseNetworkError(group: string, code: string | undefined): CrmTransientError {
  const timedOut = code === 'ECONNABORTED' || code === 'ETIMEDOUT';
  const aborted = code === 'ERR_CANCELED';
  return new CrmTransientError({
    crm: CLOSE_CRM,
    message: `${group}: ${aborted ? 'the request was aborted' : timedOut ? 'no answer before the timeout' : `the connection failed (${code ?? 'network error'})`}; the write may have been applied`,
    code: aborted ? 'aborted' : timedOut ? 'timeout' : 'network',
  });
}
