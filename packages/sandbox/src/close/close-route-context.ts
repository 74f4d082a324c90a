import type { CountryCode } from 'libphonenumber-js';
import type { EmulatorRequest, EmulatorResponse } from '../emulator/emulator-router.ts';
import type { ClosePrincipal } from './close-auth.ts';
import { closeBadRequest } from './close-responses.ts';
import type { CloseState } from './close-state.ts';

/** A Close route handler: the request and the authenticated caller. */
export type CloseRouteHandler = (
  request: EmulatorRequest,
  principal: ClosePrincipal,
) => EmulatorResponse | Promise<EmulatorResponse>;

/** What the route files of the Close emulator share. */
export interface CloseRouteContext {
  state: CloseState;
  /** Country used to read national phone formats. */
  defaultCountry: CountryCode;
  /**
   * Registers an authenticated, rate-limited route under `/api/v1`; `template` uses `{id}` placeholders and names the
   * endpoint group (`METHOD template`).
   */
  route(method: string, template: string, handler: CloseRouteHandler): void;
  /** Registers an authenticated route outside `/api/v1` and its rate limits (router pattern syntax, `:id`). */
  unversionedRoute(method: string, pattern: string, handler: CloseRouteHandler): void;
}

/** Paging of a list endpoint. */
export interface ClosePaging {
  skip: number;
  limit: number;
}

/**
 * Reads `_skip`/`_limit` (https://developer.close.com/api/overview/pagination): a `_limit` above the resource's maximum
 * is a 400, as Close documents, not silently capped.
 */
export function readPaging(query: URLSearchParams, maxLimit: number): ClosePaging | EmulatorResponse {
  const limit = readNonNegativeInteger(query, '_limit', maxLimit);
  if (typeof limit !== 'number') return limit;
  if (limit > maxLimit) return closeBadRequest(`_limit must be at most ${maxLimit} for this resource (got ${limit})`);
  const skip = readNonNegativeInteger(query, '_skip', 0);
  if (typeof skip !== 'number') return skip;
  return { skip, limit };
}

function readNonNegativeInteger(query: URLSearchParams, name: string, fallback: number): number | EmulatorResponse {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) return closeBadRequest(`${name} must be a non-negative integer (got ${JSON.stringify(raw)})`);
  return Number(raw);
}

/** Pages a list and answers Close's `{data, has_more}`. */
export function pageOf<T>(items: T[], paging: ClosePaging, project: (item: T) => unknown): EmulatorResponse {
  const page = items.slice(paging.skip, paging.skip + paging.limit);
  return { status: 200, body: { data: page.map(project), has_more: paging.skip + page.length < items.length } };
}

/** Keeps only the `_fields` asked for (comma-separated), or everything when none are. */
export function projectFields(record: object, fields: string | null): Record<string, unknown> {
  if (fields === null || fields.trim() === '') return { ...record };
  const source = record as Record<string, unknown>;
  const projected: Record<string, unknown> = {};
  for (const field of fields.split(',').map((name) => name.trim())) {
    if (field !== '' && field in source) projected[field] = source[field];
  }
  return projected;
}

/** True for a plain JSON object. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The body as a JSON object, or a 400 naming the problem. */
export function readObjectBody(request: EmulatorRequest): Record<string, unknown> | EmulatorResponse {
  if (request.bodyError !== undefined) return closeBadRequest(`Request body is not valid JSON: ${request.bodyError}`);
  if (!isObject(request.body)) return closeBadRequest('Request body must be a JSON object');
  return request.body;
}
