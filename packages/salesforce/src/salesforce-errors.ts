/**
 * Maps Salesforce failures to the core's typed errors (crm-apis.md §3.5): jsforce's `HttpApiError` (whose
 * `errorCode` is Salesforce's, e.g. `INVALID_SESSION_ID`, `REQUEST_LIMIT_EXCEEDED`), jsforce's OAuth errors (named
 * after the OAuth `error`, e.g. `invalid_grant`), network failures, and per-record `errors[]` of Collections and
 * Bulk results. Salesforce's own message text is kept only for codes that never echo field values: a
 * `STRING_TOO_LONG` message quotes the value, which may be a message body.
 */
import {
  CRM_NOT_FOUND_CODE,
  CrmAuthError,
  type CrmError,
  CrmPermanentError,
  CrmRateLimitedError,
  CrmTransientError,
  isCrmError,
} from '@coexist/core';
import { type SalesforceRecordError, SalesforceResponseShapeError } from './salesforce-api.ts';

/** The adapter's `crm` name, the `[coexist/salesforce]` prefix of every error. */
export const SALESFORCE_CRM = 'salesforce';

/** Names of the limits the adapter reports in signals and `CrmRateLimitedError.bucket`. */
export const SALESFORCE_BUCKETS = {
  /** The rolling 24 h request allocation (`Sforce-Limit-Info: api-usage=`). */
  daily: 'daily',
  /** Concurrent long-running requests (≥ 20 s), 25 per org (5 on Developer Edition). */
  concurrentRequests: 'concurrent-requests',
} as const;

/** How long the engine should pause after a concurrency refusal: the long-running threshold. */
export const CONCURRENT_LIMIT_RETRY_AFTER_MS = 20_000;

/** Record error codes that may pass on retry (row locks, a busy org, a collection rolled back for another row). */
const TRANSIENT_RECORD_CODES = new Set([
  'UNABLE_TO_LOCK_ROW',
  'SERVER_UNAVAILABLE',
  'UNKNOWN_EXCEPTION',
  'ALL_OR_NONE_OPERATION_ROLLED_BACK',
  'REQUEST_RUNNING_TOO_LONG',
  'QUERY_TIMEOUT',
]);

/** Record error codes that mean the referenced or targeted record does not exist. */
const NOT_FOUND_RECORD_CODES = new Set([
  'ENTITY_IS_DELETED',
  'INVALID_CROSS_REFERENCE_KEY',
  'MALFORMED_ID',
  'INVALID_ID_FIELD',
  'NOT_FOUND',
]);

/** Whole-call codes whose Salesforce message never contains record values. */
const SAFE_MESSAGE_CODES = new Set([
  'REQUEST_LIMIT_EXCEEDED',
  'INVALID_SESSION_ID',
  'NOT_FOUND',
  'MALFORMED_QUERY',
  'MALFORMED_SEARCH',
  'INVALID_FIELD',
  'INVALID_TYPE',
  'API_DISABLED_FOR_ORG',
  'API_CURRENTLY_DISABLED',
  'INSUFFICIENT_ACCESS',
  'UNKNOWN_EXCEPTION',
  'EXCEEDED_ID_LIMIT',
  'JSON_PARSER_ERROR',
]);

/** Whole-call codes that mean the credentials lack access (pause the connection until someone fixes them). */
const AUTH_CODES = new Set([
  'INVALID_SESSION_ID',
  'API_DISABLED_FOR_ORG',
  'API_CURRENTLY_DISABLED',
  'INSUFFICIENT_ACCESS',
]);

/** OAuth `error` values of the token endpoint (jsforce names its error after them). */
const OAUTH_ERRORS = new Set([
  'invalid_grant',
  'invalid_client',
  'invalid_client_id',
  'invalid_request',
  'unsupported_grant_type',
  'inactive_user',
  'inactive_org',
  'unauthorized_client',
]);

/** Network error codes of Node's HTTP stack. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** What `toSalesforceCrmError` needs to know besides the error. */
export interface SalesforceErrorContext {
  /** The adapter operation (`writeMessages`), named in the message. */
  operation: string;
  /** How long to pause after the daily allocation ran out. */
  dailyLimitRetryAfterMs: number;
}

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  errorCode?: unknown;
  code?: unknown;
  cause?: unknown;
}

/** Maps anything a jsforce call threw to a `CrmError` (a `CrmError` passes through unchanged). */
export function toSalesforceCrmError(error: unknown, context: SalesforceErrorContext): CrmError {
  if (isCrmError(error)) return error;
  const crm = SALESFORCE_CRM;
  const { operation } = context;
  if (error instanceof SalesforceResponseShapeError) {
    return new CrmTransientError({
      crm,
      message: `${operation}: ${error.message.replace(/^\[coexist\/salesforce\] /, '')}`,
      code: 'unexpected_response',
      cause: error,
    });
  }
  const like = (typeof error === 'object' && error !== null ? error : {}) as ErrorLike;
  const errorCode = typeof like.errorCode === 'string' ? like.errorCode : undefined;
  const name = typeof like.name === 'string' ? like.name : '';
  const rawMessage = typeof like.message === 'string' ? like.message : String(error);

  if (errorCode === 'REQUEST_LIMIT_EXCEEDED') return requestLimitError(rawMessage, context, error);
  if (errorCode !== undefined && AUTH_CODES.has(errorCode)) {
    return new CrmAuthError({
      crm,
      message: `${operation}: Salesforce refused the credentials (${errorCode}: ${rawMessage})`,
      code: errorCode,
      status: errorCode === 'INVALID_SESSION_ID' ? 401 : 403,
      cause: error,
    });
  }
  // jsforce's session refresh wraps the token endpoint's answer: "Unable to refresh session due to: …".
  if (OAUTH_ERRORS.has(name) || /no refresh token found|unable to refresh session/i.test(rawMessage)) {
    return new CrmAuthError({
      crm,
      message: `${operation}: the OAuth token refresh failed (${OAUTH_ERRORS.has(name) ? name : 'refresh refused'}); reconnect the org`,
      code: OAUTH_ERRORS.has(name) ? name : 'refresh_failed',
      status: 400,
      cause: error,
    });
  }
  const httpStatus = errorCode === undefined ? undefined : /^ERROR_HTTP_(\d{3})$/.exec(errorCode)?.[1];
  if (
    (httpStatus !== undefined && Number(httpStatus) >= 500) ||
    errorCode === 'UNKNOWN_EXCEPTION' ||
    errorCode === 'SERVER_UNAVAILABLE' ||
    errorCode === 'UNABLE_TO_LOCK_ROW'
  ) {
    return new CrmTransientError({
      crm,
      message: `${operation}: Salesforce failed (${errorCode})`,
      code: errorCode,
      ...(httpStatus === undefined ? {} : { status: Number(httpStatus) }),
      cause: error,
    });
  }
  if (httpStatus === '401') {
    return new CrmAuthError({ crm, message: `${operation}: Salesforce answered 401`, status: 401, cause: error });
  }
  if (errorCode !== undefined && errorCode !== 'MULTIPLE_API_ERRORS') {
    const detail = SAFE_MESSAGE_CODES.has(errorCode) ? `: ${rawMessage}` : '';
    return new CrmPermanentError({
      crm,
      message: `${operation}: Salesforce rejected the request (${errorCode}${detail})`,
      code: errorCode,
      ...(httpStatus === undefined ? {} : { status: Number(httpStatus) }),
      cause: error,
    });
  }
  if (isNetworkError(like) || name === 'AbortError' || name === 'TimeoutError') {
    return new CrmTransientError({
      crm,
      message: `${operation}: the request to Salesforce failed before an answer (${networkCode(like) ?? name})`,
      code: networkCode(like) ?? 'network',
      cause: error,
    });
  }
  // An error we cannot classify: retrying is the safer guess, since every write is an idempotent upsert.
  return new CrmTransientError({
    crm,
    message: `${operation}: unexpected failure (${name || 'Error'})`,
    code: 'unknown',
    cause: error,
  });
}

/** The rate-limited error of a 403 `REQUEST_LIMIT_EXCEEDED`: daily allocation or concurrent requests. */
function requestLimitError(message: string, context: SalesforceErrorContext, cause: unknown): CrmRateLimitedError {
  const concurrent = /concurrent/i.test(message);
  return new CrmRateLimitedError({
    crm: SALESFORCE_CRM,
    message: concurrent
      ? `${context.operation}: too many concurrent long-running requests (REQUEST_LIMIT_EXCEEDED: ${message})`
      : `${context.operation}: the org's rolling 24 h API allocation is used up (REQUEST_LIMIT_EXCEEDED: ${message}); checkpoint and resume when the window frees`,
    code: 'REQUEST_LIMIT_EXCEEDED',
    status: 403,
    bucket: concurrent ? SALESFORCE_BUCKETS.concurrentRequests : SALESFORCE_BUCKETS.daily,
    retryAfterMs: concurrent ? CONCURRENT_LIMIT_RETRY_AFTER_MS : context.dailyLimitRetryAfterMs,
    cause,
  });
}

function networkCode(error: ErrorLike): string | undefined {
  if (typeof error.code === 'string' && NETWORK_CODES.has(error.code)) return error.code;
  const cause = error.cause as ErrorLike | undefined;
  if (cause !== undefined && typeof cause === 'object' && typeof cause.code === 'string') return cause.code;
  return undefined;
}

function isNetworkError(error: ErrorLike): boolean {
  if (networkCode(error) !== undefined) return true;
  return typeof error.message === 'string' && /fetch failed|socket hang up|network/i.test(error.message);
}

/** Maps a failed record's `errors[]` (Collections or Bulk) to the item's typed error, naming the input field. */
export function toSalesforceRecordError(errors: readonly SalesforceRecordError[], field: string): CrmError {
  const first = errors[0];
  const code = first?.statusCode ?? first?.errorCode ?? 'UNKNOWN';
  const fields = first?.fields !== undefined && first.fields.length > 0 ? ` on ${first.fields.join(', ')}` : '';
  const message = `\`${field}\`: Salesforce rejected the record (${code}${fields})`;
  if (TRANSIENT_RECORD_CODES.has(code)) return new CrmTransientError({ crm: SALESFORCE_CRM, message, field, code });
  return new CrmPermanentError({
    crm: SALESFORCE_CRM,
    message,
    field,
    code: NOT_FOUND_RECORD_CODES.has(code) ? CRM_NOT_FOUND_CODE : code,
  });
}

/** Reads a Bulk API 2.0 `sf__Error` cell (`CODE:message--fields`) into a record error. */
export function parseBulkRecordError(cell: string): SalesforceRecordError {
  const match = /^([A-Z_]+):(.*?)(?:--(.*))?$/s.exec(cell.trim());
  if (match === null) return { statusCode: 'UNKNOWN', message: '' };
  const fields = match[3]
    ?.split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  return { statusCode: match[1]!, message: '', ...(fields === undefined ? {} : { fields }) };
}
