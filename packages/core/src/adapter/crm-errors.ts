/**
 * The typed errors the sync engine acts on. Adapters map every CRM failure to one of these, either thrown
 * (the whole call failed) or returned in a per-item result (one item failed). Messages are prefixed with
 * `[coexist/<crm>] ` and name the field at fault; they never contain message bodies or secrets.
 */

const CRM_ERROR_MARKER = Symbol.for('coexist.crm-error');

/** What the engine does with an error: wait, retry, park the item, or pause the connection. */
export type CrmErrorKind = 'rate-limited' | 'transient' | 'permanent' | 'auth' | 'unsupported';

/** Options every CRM error takes. */
export interface CrmErrorOptions {
  /** The adapter's `crm` name (e.g. `hubspot`); becomes the `[coexist/<crm>]` prefix. */
  crm: string;
  /** What went wrong, naming the field at fault; without the prefix. */
  message: string;
  /** The input field at fault (e.g. `messages[3].contact.crmId`), when one is. */
  field?: string;
  /** The CRM's own error code (e.g. `REQUEST_LIMIT_EXCEEDED`, `VALIDATION_ERROR`). */
  code?: string;
  /** The HTTP status the CRM answered with, when there was one. */
  status?: number;
  /** The underlying error. */
  cause?: unknown;
}

/** Base class of every CRM error; check `retryable` and `kind`, or use `instanceof` on a subclass. */
export abstract class CrmError extends Error {
  /** The CRM that failed (the adapter's `crm`). */
  readonly crm: string;
  /** Whether retrying the same request later may succeed. */
  abstract readonly retryable: boolean;
  /** The error's class as a serializable string. */
  abstract readonly kind: CrmErrorKind;
  /** The input field at fault, when one is. */
  readonly field: string | undefined;
  /** The CRM's own error code, when it sent one. */
  readonly code: string | undefined;
  /** The HTTP status, when there was one. */
  readonly status: number | undefined;

  /** Creates the error with a `[coexist/<crm>] ` prefixed message. */
  constructor(options: CrmErrorOptions) {
    super(
      `[coexist/${options.crm}] ${options.message}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.crm = options.crm;
    this.field = options.field;
    this.code = options.code;
    this.status = options.status;
    Object.defineProperty(this, CRM_ERROR_MARKER, { value: true });
  }
}

/** Options of a rate-limited error. */
export interface CrmRateLimitedErrorOptions extends CrmErrorOptions {
  /** How long to wait before calling the bucket again, when the CRM said (`Retry-After`, `rate_reset`). */
  retryAfterMs?: number;
  /** The `RateLimitBucket.name` that ran out, when known (`daily` for a daily allocation). */
  bucket?: string;
}

/** The CRM refused the call for rate limiting; the engine waits (`retryAfterMs`, else the bucket's interval) and retries. */
export class CrmRateLimitedError extends CrmError {
  override readonly name = 'CrmRateLimitedError';
  readonly retryable = true;
  readonly kind = 'rate-limited';
  /** How long to wait, when the CRM said. */
  readonly retryAfterMs: number | undefined;
  /** The bucket that ran out, when known. */
  readonly bucket: string | undefined;

  /** Creates a rate-limited error. */
  constructor(options: CrmRateLimitedErrorOptions) {
    super(options);
    this.retryAfterMs = options.retryAfterMs;
    this.bucket = options.bucket;
  }
}

/** A failure that may pass on retry (5xx, timeout, network, lock contention); the engine retries with back-off. */
export class CrmTransientError extends CrmError {
  override readonly name = 'CrmTransientError';
  readonly retryable = true;
  readonly kind = 'transient';
}

/** A failure that will fail again (validation, missing record, bad input); the engine parks the item and reports it. */
export class CrmPermanentError extends CrmError {
  override readonly name = 'CrmPermanentError';
  readonly retryable = false;
  readonly kind = 'permanent';
}

/** Credentials are missing, expired or lack a scope; the engine pauses the connection until they are fixed. */
export class CrmAuthError extends CrmError {
  override readonly name = 'CrmAuthError';
  readonly retryable = false;
  readonly kind = 'auth';
}

/** Options of an unsupported-operation error. */
export interface UnsupportedOperationErrorOptions {
  /** The adapter's `crm` name. */
  crm: string;
  /** The operation called (e.g. `renderCard`). */
  operation: string;
  /** Which capability says so (e.g. `capabilities.supportsCards`). */
  capability?: string;
}

/** Thrown for an optional operation the adapter's capabilities declare unsupported. */
export class UnsupportedOperationError extends CrmError {
  override readonly name = 'UnsupportedOperationError';
  readonly retryable = false;
  readonly kind = 'unsupported';
  /** The operation called. */
  readonly operation: string;

  /** Creates the error naming the operation and the capability that rules it out. */
  constructor(options: UnsupportedOperationErrorOptions) {
    const capability = options.capability === undefined ? '' : ` (${options.capability} is false)`;
    super({ crm: options.crm, message: `${options.operation} is not supported by this adapter${capability}` });
    this.operation = options.operation;
  }
}

/** Whether a value is a `CrmError`, also across duplicate copies of `@coexist/core` (source and dist). */
export function isCrmError(value: unknown): value is CrmError {
  return typeof value === 'object' && value !== null && CRM_ERROR_MARKER in value;
}
