import { parseHubSpotTime } from './hubspot-properties.ts';
import type { HubSpotRecord } from './hubspot-state.ts';
import type { SearchBody, SearchFilter } from './hubspot-wire-schemas.ts';

/*
 * CRM search semantics (https://developers.hubspot.com/docs/api-reference/latest/crm/search-the-crm; crm-apis.md §2.4):
 * filter groups are ORed, the filters of a group ANDed; caps 5 groups / 6 filters per group / 18 filters in all
 * (current docs [secondary]; a 2024 changelog says 5/10/25 — we enforce the stricter); `limit` ≤ 200; at most
 * 10,000 results can be paged; `query` ≤ 3,000 characters. String comparisons are case-insensitive [inferred];
 * phone properties compare on the stored string exactly as HubSpot stores it (no normalization).
 */

/** Caps of the search endpoint. */
export interface HubSpotSearchLimits {
  /** @default 5 */
  maxFilterGroups: number;
  /** @default 6 */
  maxFiltersPerGroup: number;
  /** @default 18 */
  maxFilters: number;
  /** Largest `limit`. @default 200 */
  maxLimit: number;
  /** Most values in one `IN`/`NOT_IN` filter. HubSpot documents none; 100 is a community figure [unverified]. @default 100 */
  maxInValues: number;
  /** Results reachable by paging (`after` + `limit`). @default 10000 */
  maxResults: number;
  /** Longest `query`. @default 3000 */
  maxQueryLength: number;
}

/** The documented search caps. */
export const DEFAULT_SEARCH_LIMITS: HubSpotSearchLimits = {
  maxFilterGroups: 5,
  maxFiltersPerGroup: 6,
  maxFilters: 18,
  maxLimit: 200,
  maxInValues: 100,
  maxResults: 10_000,
  maxQueryLength: 3_000,
};

/** The outcome of a search: a page of records, or why HubSpot would answer 400. */
export type SearchOutcome =
  | { ok: true; total: number; results: HubSpotRecord[]; nextAfter: string | undefined }
  | { ok: false; message: string; field: string };

const QUERY_PROPERTIES = ['firstname', 'lastname', 'email', 'phone', 'mobilephone', 'company', 'hs_communication_body'];

/** Runs a search over `records` as HubSpot's CRM search does, or explains the 400. */
export function searchRecords(
  records: Iterable<HubSpotRecord>,
  body: SearchBody,
  knownProperties: Set<string>,
  limits: HubSpotSearchLimits = DEFAULT_SEARCH_LIMITS,
): SearchOutcome {
  const groups = body.filterGroups ?? [];
  if (groups.length > limits.maxFilterGroups) {
    return fail(
      `Too many filter groups: ${groups.length} were given, the maximum is ${limits.maxFilterGroups}.`,
      'filterGroups',
    );
  }
  let filterCount = 0;
  for (const [index, group] of groups.entries()) {
    if (group.filters.length > limits.maxFiltersPerGroup) {
      return fail(
        `Too many filters in filter group ${index}: ${group.filters.length} were given, the maximum is ${limits.maxFiltersPerGroup}.`,
        `filterGroups.${index}.filters`,
      );
    }
    filterCount += group.filters.length;
    for (const [filterIndex, filter] of group.filters.entries()) {
      const problem = checkFilter(filter, knownProperties, limits);
      if (problem) return fail(problem, `filterGroups.${index}.filters.${filterIndex}`);
    }
  }
  if (filterCount > limits.maxFilters) {
    return fail(`Too many filters: ${filterCount} were given, the maximum is ${limits.maxFilters}.`, 'filterGroups');
  }
  const limit = body.limit ?? 10;
  if (limit > limits.maxLimit) return fail(`limit must be at most ${limits.maxLimit}, got ${limit}.`, 'limit');
  const offset = body.after === undefined || body.after === '' ? 0 : Number(body.after);
  if (!Number.isInteger(offset) || offset < 0)
    return fail(`after must be a paging cursor, got ${body.after}.`, 'after');
  if (offset + limit > limits.maxResults && offset > 0) {
    return fail(`Paging beyond ${limits.maxResults} results is not supported.`, 'after');
  }
  if (body.query !== undefined && body.query.length > limits.maxQueryLength) {
    return fail(`query must be at most ${limits.maxQueryLength} characters.`, 'query');
  }
  const sorts = (body.sorts ?? []).map(parseSort);
  for (const sort of sorts) {
    if (!knownProperties.has(sort.propertyName)) {
      return fail(`Unable to sort by property "${sort.propertyName}": it does not exist.`, 'sorts');
    }
  }

  const query = body.query?.trim().toLowerCase();
  const matches = [...records].filter(
    (record) =>
      !record.archived &&
      (groups.length === 0 || groups.some((group) => group.filters.every((filter) => matchFilter(record, filter)))) &&
      (!query || QUERY_PROPERTIES.some((name) => record.properties[name]?.toLowerCase().includes(query))),
  );
  matches.sort((left, right) => compareRecords(left, right, sorts));
  const page = matches.slice(offset, offset + limit);
  const next = offset + limit;
  return {
    ok: true,
    total: matches.length,
    results: page,
    nextAfter: next < matches.length && next < limits.maxResults ? String(next) : undefined,
  };
}

function fail(message: string, field: string): SearchOutcome {
  return { ok: false, message, field };
}

function checkFilter(filter: SearchFilter, knownProperties: Set<string>, limits: HubSpotSearchLimits) {
  if (!knownProperties.has(filter.propertyName)) return `Property "${filter.propertyName}" does not exist.`;
  switch (filter.operator) {
    case 'IN':
    case 'NOT_IN':
      if (!filter.values || filter.values.length === 0) {
        return `Operator ${filter.operator} requires "values" (a non-empty list).`;
      }
      if (filter.values.length > limits.maxInValues) {
        return `Operator ${filter.operator} takes at most ${limits.maxInValues} values, got ${filter.values.length}.`;
      }
      return undefined;
    case 'HAS_PROPERTY':
    case 'NOT_HAS_PROPERTY':
      return filter.value === undefined ? undefined : `Operator ${filter.operator} does not take a "value".`;
    case 'BETWEEN':
      return filter.value === undefined || filter.highValue === undefined
        ? 'Operator BETWEEN requires "value" and "highValue".'
        : undefined;
    default:
      return filter.value === undefined ? `Operator ${filter.operator} requires a "value".` : undefined;
  }
}

/** Whether one record passes one filter. */
export function matchFilter(record: HubSpotRecord, filter: SearchFilter): boolean {
  const stored = record.properties[filter.propertyName];
  const present = stored !== undefined && stored !== '';
  const value = filter.value ?? '';
  switch (filter.operator) {
    case 'HAS_PROPERTY':
      return present;
    case 'NOT_HAS_PROPERTY':
      return !present;
    case 'EQ':
      return present && equal(stored, value);
    case 'NEQ':
      return !present || !equal(stored, value);
    case 'IN':
      return present && inValues(stored, filter);
    case 'NOT_IN':
      return !present || !inValues(stored, filter);
    case 'CONTAINS_TOKEN':
      return present && containsToken(stored, value);
    case 'NOT_CONTAINS_TOKEN':
      return !present || !containsToken(stored, value);
    case 'LT':
      return present && compareValues(stored, value) < 0;
    case 'LTE':
      return present && compareValues(stored, value) <= 0;
    case 'GT':
      return present && compareValues(stored, value) > 0;
    case 'GTE':
      return present && compareValues(stored, value) >= 0;
    case 'BETWEEN':
      return present && compareValues(stored, value) >= 0 && compareValues(stored, filter.highValue ?? '') <= 0;
  }
}

/** Lower-cased `IN` lists, built once per filter: a search tests every record against up to 100 values. */
const inValueSets = new WeakMap<SearchFilter, Set<string>>();

/** Whether a stored value equals one of the filter's values (as `equal` decides, without a pass per value). */
function inValues(stored: string, filter: SearchFilter): boolean {
  let values = inValueSets.get(filter);
  if (values === undefined) {
    values = new Set((filter.values ?? []).map((value) => value.toLowerCase()));
    inValueSets.set(filter, values);
  }
  if (values.has(stored.toLowerCase())) return true;
  // Only dates compare by another form than their text (ISO stored, Unix ms filtered).
  return /^\d{4}-/.test(stored) && (filter.values ?? []).some((candidate) => equal(stored, candidate));
}

function equal(stored: string, value: string): boolean {
  if (stored.toLowerCase() === value.toLowerCase()) return true;
  // Dates are stored as ISO strings but may be filtered by Unix ms.
  const left = parseHubSpotTime(stored);
  const right = parseHubSpotTime(value);
  return /^\d{4}-/.test(stored) && left !== undefined && left === right;
}

function compareValues(stored: string, value: string): number {
  const left = sortableNumber(stored);
  const right = sortableNumber(value);
  if (left !== undefined && right !== undefined) return left - right;
  return stored.toLowerCase().localeCompare(value.toLowerCase());
}

function sortableNumber(value: string): number | undefined {
  if (value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) return parseHubSpotTime(value);
  return undefined;
}

function tokens(value: string): string[] {
  return value
    .toLowerCase()
    .split(/[^\p{L}\p{N}*]+/u)
    .filter(Boolean);
}

function containsToken(stored: string, value: string): boolean {
  const storedTokens = tokens(stored.replaceAll('*', ''));
  return tokens(value).every((wanted) => {
    const pattern = new RegExp(`^${wanted.split('*').map(escapeRegExp).join('.*')}$`, 'u');
    return storedTokens.some((token) => pattern.test(token));
  });
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

interface Sort {
  propertyName: string;
  descending: boolean;
}

function parseSort(sort: SearchBody['sorts'] extends Array<infer T> | undefined ? T : never): Sort {
  if (typeof sort === 'string') {
    return sort.startsWith('-')
      ? { propertyName: sort.slice(1), descending: true }
      : { propertyName: sort, descending: false };
  }
  return { propertyName: sort.propertyName, descending: sort.direction === 'DESCENDING' };
}

function compareRecords(left: HubSpotRecord, right: HubSpotRecord, sorts: Sort[]): number {
  for (const sort of sorts) {
    const a = left.properties[sort.propertyName];
    const b = right.properties[sort.propertyName];
    if (a === b) continue;
    // Records without the property sort last, whatever the direction [inferred].
    if (a === undefined) return 1;
    if (b === undefined) return -1;
    const order = compareValues(a, b);
    if (order !== 0) return sort.descending ? -order : order;
  }
  // Default order: creation order (ids increase with creation).
  return Number(left.id) - Number(right.id);
}
