import type { EmulatorResponse } from '../emulator/index.ts';
import { createSeededRandom } from '../emulator/index.ts';

/*
 * HubSpot's error body (https://developers.hubspot.com/changelog/upcoming-changes-to-error-responses):
 * `{ status: 'error', message, correlationId, category, errors?: [{ message, in }], context?, subCategory? }`.
 */

/** One entry of `errors[]` in a HubSpot error body. */
export interface HubSpotErrorDetail {
  message: string;
  in?: string;
  code?: string;
  context?: Record<string, string[]>;
}

/** HubSpot's error body. */
export interface HubSpotErrorBody {
  status: 'error';
  message: string;
  correlationId: string;
  category: string;
  subCategory?: string;
  errors?: HubSpotErrorDetail[];
  context?: Record<string, string[]>;
}

/** One failed row of a batch (`StandardError` in the client's models). */
export interface HubSpotBatchRowError {
  status: 'error';
  category: string;
  message: string;
  subCategory?: string;
  context: Record<string, string[]>;
  errors: HubSpotErrorDetail[];
  links: Record<string, string>;
}

/** Makes UUID-shaped correlation ids from a seed, so runs are reproducible. */
export function createCorrelationIds(seed: number | string): () => string {
  const random = createSeededRandom(`hubspot-correlation:${seed}`);
  const hex = (length: number) =>
    Array.from({ length }, () =>
      Math.floor(random.next() * 16)
        .toString(16)
        .toLowerCase(),
    ).join('');
  return () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
}

/** Builds HubSpot-shaped error responses with fresh correlation ids. */
export class HubSpotErrorFactory {
  readonly #nextCorrelationId: () => string;

  /** Creates a factory drawing correlation ids from `nextCorrelationId`. */
  constructor(nextCorrelationId: () => string) {
    this.#nextCorrelationId = nextCorrelationId;
  }

  /** A fresh correlation id. */
  correlationId(): string {
    return this.#nextCorrelationId();
  }

  /** Any HubSpot error response. */
  error(
    status: number,
    category: string,
    message: string,
    extra: Partial<Omit<HubSpotErrorBody, 'status' | 'message' | 'category' | 'correlationId'>> = {},
    tags: string[] = [],
  ): EmulatorResponse {
    const body: HubSpotErrorBody = { status: 'error', message, correlationId: this.#nextCorrelationId(), category };
    Object.assign(body, extra);
    return { status, body, tags };
  }

  /** 400 VALIDATION_ERROR. */
  validation(message: string, errors?: HubSpotErrorDetail[], context?: Record<string, string[]>): EmulatorResponse {
    const extra: Partial<HubSpotErrorBody> = {};
    if (errors && errors.length > 0) extra.errors = errors;
    if (context) extra.context = context;
    return this.error(400, 'VALIDATION_ERROR', message, extra, ['validation-error']);
  }

  /**
   * 400 for property values HubSpot refuses (unknown property, bad option, read-only value). The message embeds a
   * JSON list, as HubSpot's does ("Property values were not valid: [{…,"error":"PROPERTY_DOESNT_EXIST",…}]").
   */
  invalidProperties(problems: PropertyProblem[]): EmulatorResponse {
    const list = problems.map((problem) => ({
      isValid: false,
      message: problem.message,
      error: problem.error,
      name: problem.name,
      localizedErrorMessage: problem.message,
    }));
    return this.error(
      400,
      'VALIDATION_ERROR',
      `Property values were not valid: ${JSON.stringify(list)}`,
      { errors: problems.map((problem) => ({ message: problem.message, in: problem.name, code: problem.error })) },
      ['validation-error'],
    );
  }

  /** 404 OBJECT_NOT_FOUND. */
  notFound(message: string): EmulatorResponse {
    return this.error(404, 'OBJECT_NOT_FOUND', message);
  }

  /** 401 INVALID_AUTHENTICATION, HubSpot's wording for a missing or unknown token. */
  unauthorized(): EmulatorResponse {
    return this.error(
      401,
      'INVALID_AUTHENTICATION',
      'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
      {},
      ['unauthorized'],
    );
  }
}

/** A property value HubSpot refuses. */
export interface PropertyProblem {
  /** The property name. */
  name: string;
  /** HubSpot's error code, e.g. `PROPERTY_DOESNT_EXIST`, `INVALID_OPTION`, `READ_ONLY_VALUE`. */
  error: string;
  message: string;
}

/** A failed batch row. */
export function batchRowError(
  category: string,
  message: string,
  context: Record<string, string[]>,
  subCategory?: string,
): HubSpotBatchRowError {
  const row: HubSpotBatchRowError = { status: 'error', category, message, context, errors: [], links: {} };
  if (subCategory) row.subCategory = subCategory;
  return row;
}
