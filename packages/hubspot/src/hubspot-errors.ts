/**
 * Maps HubSpot answers to the core's typed errors and rate-limit signals. Sources: crm-apis.md §2.1 (error body),
 * §2.5 (`X-HubSpot-RateLimit-*` headers, 429 bodies with `policyName` `TEN_SECONDLY_ROLLING` | `DAILY`, search's
 * "secondly" limit). Messages never contain tokens or message bodies: HubSpot's own message is kept only for
 * errors that do not echo property values (rate limits, auth, not-found).
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
import { type HubSpotErrorBody, type HubSpotRowError, hubSpotErrorBodySchema } from './hubspot-api.ts';

/** The adapter's `crm` name, the `[coexist/hubspot]` prefix of every error. */
export const HUBSPOT_CRM = 'hubspot';

/** Bucket names the adapter declares and reports. */
export const HUBSPOT_BUCKETS = { tenSecondly: 'ten-secondly', search: 'search', daily: 'daily' } as const;

/** The ten-secondly window, when HubSpot sends no interval header. */
const DEFAULT_INTERVAL_MS = 10_000;
/** Search's secondly limit: wait one second (crm-apis.md §2.1, RetryDecorator's 1 s). */
const SEARCH_RETRY_MS = 1_000;

/** Reads a response header case-insensitively. */
function header(headers: Headers, name: string): number | undefined {
  const value = headers.get(name);
  if (value === null || value.trim() === '') return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}

/** The rate-limit observations in a response's `X-HubSpot-RateLimit-*` headers (none for search, which sends none). */
export function readRateLimitSignals(headers: Headers): RateLimitSignal[] {
  const signals: RateLimitSignal[] = [];
  const max = header(headers, 'x-hubspot-ratelimit-max');
  const remaining = header(headers, 'x-hubspot-ratelimit-remaining');
  const interval = header(headers, 'x-hubspot-ratelimit-interval-milliseconds');
  if (max !== undefined || remaining !== undefined || interval !== undefined) {
    signals.push({
      bucket: HUBSPOT_BUCKETS.tenSecondly,
      ...(remaining === undefined ? {} : { remaining }),
      ...(max === undefined ? {} : { limit: max }),
      ...(interval === undefined || interval <= 0 ? {} : { intervalMs: interval }),
    });
  }
  const daily = header(headers, 'x-hubspot-ratelimit-daily');
  const dailyRemaining = header(headers, 'x-hubspot-ratelimit-daily-remaining');
  if (daily !== undefined || dailyRemaining !== undefined) {
    signals.push({
      bucket: HUBSPOT_BUCKETS.daily,
      ...(dailyRemaining === undefined ? {} : { remaining: dailyRemaining }),
      ...(daily === undefined ? {} : { limit: daily }),
    });
  }
  return signals;
}

/** Milliseconds until the next UTC midnight; HubSpot resets daily limits at the account time zone's midnight. */
export function msUntilMidnight(now: number, timeZoneOffsetMinutes = 0): number {
  const day = 86_400_000;
  const local = now + timeZoneOffsetMinutes * 60_000;
  return (Math.floor(local / day) + 1) * day - local;
}

/** What a failed HTTP answer looked like. */
export interface HubSpotFailure {
  operation: string;
  status: number;
  headers: Headers;
  body: unknown;
  /** Whether the request went to the search endpoint (its own 5/s bucket). */
  search: boolean;
  now: number;
  timeZoneOffsetMinutes?: number;
}

/** Parses an error body leniently (non-JSON bodies become empty). */
export function parseErrorBody(body: unknown): HubSpotErrorBody {
  const parsed = hubSpotErrorBodySchema.safeParse(body);
  return parsed.success ? parsed.data : {};
}

/** Maps a whole-call HubSpot failure (non-2xx) to the core error the engine acts on. */
export function toHubSpotError(failure: HubSpotFailure): CrmError {
  const body = parseErrorBody(failure.body);
  const { status, operation } = failure;
  const base = { crm: HUBSPOT_CRM, status, ...(body.category === undefined ? {} : { code: body.category }) };
  if (status === 429) return rateLimitError(failure, body);
  if (status === 401)
    return new CrmAuthError({ ...base, message: `${operation}: HubSpot refused the access token (401)` });
  if (status === 403) {
    return new CrmAuthError({
      ...base,
      message: `${operation}: HubSpot refused the call (403): the token lacks a scope or the portal lacks access`,
    });
  }
  if (status >= 500 || status === 408 || status === 423)
    return new CrmTransientError({ ...base, message: `${operation}: HubSpot answered ${status}` });
  if (status === 404)
    return new CrmPermanentError({ ...base, code: CRM_NOT_FOUND_CODE, message: `${operation}: not found (404)` });
  const field = body.errors?.find((error) => error.in !== undefined)?.in;
  return new CrmPermanentError({
    ...base,
    ...(field === undefined ? {} : { field }),
    message: `${operation}: HubSpot refused the request (${status} ${body.category ?? 'error'}${field === undefined ? '' : `, field \`${field}\``})`,
  });
}

function rateLimitError(failure: HubSpotFailure, body: HubSpotErrorBody): CrmRateLimitedError {
  const retryAfterSeconds = header(failure.headers, 'retry-after');
  const retryAfterHeaderMs = retryAfterSeconds === undefined ? undefined : retryAfterSeconds * 1000;
  const policy = body.policyName ?? '';
  let bucket: string;
  let retryAfterMs: number;
  if (policy === 'DAILY') {
    bucket = HUBSPOT_BUCKETS.daily;
    retryAfterMs = retryAfterHeaderMs ?? msUntilMidnight(failure.now, failure.timeZoneOffsetMinutes);
  } else if (failure.search || policy === 'SECONDLY' || /secondly limit/i.test(body.message ?? '')) {
    bucket = HUBSPOT_BUCKETS.search;
    retryAfterMs = retryAfterHeaderMs ?? SEARCH_RETRY_MS;
  } else {
    bucket = HUBSPOT_BUCKETS.tenSecondly;
    retryAfterMs =
      retryAfterHeaderMs ?? header(failure.headers, 'x-hubspot-ratelimit-interval-milliseconds') ?? DEFAULT_INTERVAL_MS;
  }
  return new CrmRateLimitedError({
    crm: HUBSPOT_CRM,
    status: 429,
    code: policy === '' ? 'RATE_LIMIT' : policy,
    bucket,
    retryAfterMs,
    message: `${failure.operation}: HubSpot rate limit ${policy === '' ? bucket : policy} reached; retry in ${retryAfterMs} ms`,
  });
}

/** Maps one failed batch row to the item error: conflicts and validation are permanent, others transient. */
export function toRowError(row: HubSpotRowError, operation: string, field: string): CrmError {
  const base = { crm: HUBSPOT_CRM, code: row.category, field };
  if (row.category === 'OBJECT_NOT_FOUND') {
    return new CrmPermanentError({
      ...base,
      code: CRM_NOT_FOUND_CODE,
      message: `${operation}: \`${field}\` not found`,
    });
  }
  if (row.subCategory === 'crm.associations.INVALID_OBJECT_IDS') {
    return new CrmPermanentError({
      ...base,
      code: CRM_NOT_FOUND_CODE,
      message: `${operation}: \`${field}\` names a contact that does not exist`,
    });
  }
  if (row.category === 'RATE_LIMITS') {
    return new CrmRateLimitedError({
      ...base,
      bucket: HUBSPOT_BUCKETS.tenSecondly,
      message: `${operation}: row rate limited`,
    });
  }
  if (['VALIDATION_ERROR', 'CONFLICT', 'INVALID_PARAMS', 'OBJECT_ALREADY_EXISTS'].includes(row.category)) {
    return new CrmPermanentError({ ...base, message: `${operation}: HubSpot refused \`${field}\` (${row.category})` });
  }
  return new CrmTransientError({ ...base, message: `${operation}: HubSpot failed \`${field}\` (${row.category})` });
}
