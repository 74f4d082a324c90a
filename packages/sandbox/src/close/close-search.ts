import type { CountryCode } from 'libphonenumber-js';
import type { ClosePrincipal } from './close-auth.ts';
import { normalizeClosePhone } from './close-phone.ts';
import { closeBadRequest, closeFieldErrors, closeOk } from './close-responses.ts';
import { type CloseRouteContext, isObject, readObjectBody } from './close-route-context.ts';
import type { CloseContact, CloseContactPhone, CloseLead, CloseState } from './close-state.ts';

/** Object types the emulator's advanced-filtering evaluator knows. */
export type CloseSearchObjectType = 'lead' | 'contact' | 'contact_phone' | 'contact_email';

/** A compiled search predicate over one object of a known type. */
type Predicate = (object: SearchObject, state: CloseState) => boolean;

type SearchObject =
  | { type: 'lead'; value: CloseLead }
  | { type: 'contact'; value: CloseContact }
  | { type: 'contact_phone'; value: CloseContactPhone }
  | { type: 'contact_email'; value: { email: string; type: string } };

/** Text fields a `regular_field` may name, per object type. */
const TEXT_FIELDS: Record<CloseSearchObjectType, readonly string[]> = {
  lead: ['id', 'name', 'description', 'status_label'],
  contact: ['id', 'lead_id', 'name', 'title'],
  contact_phone: ['phone'],
  contact_email: ['email'],
};

/** `has_related` pairs the emulator can follow (this → related). */
const RELATIONS: Record<string, readonly CloseSearchObjectType[]> = {
  lead: ['contact'],
  contact: ['contact_phone', 'contact_email', 'lead'],
};

const TEXT_MODES = new Set(['exact_value', 'phrase', 'full_words']);
/** Maximum `_limit` of a search page (assumption: Close documents cursor paging but no maximum we could verify). */
export const MAX_SEARCH_LIMIT = 200;
const DEFAULT_SEARCH_LIMIT = 100;

/** A parsed `/data/search/` request. */
export interface CloseSearchQuery {
  objectType: 'lead' | 'contact';
  predicate: Predicate;
}

/** A grammar error with the JSON path of the offending node. */
export class CloseSearchError extends Error {
  /** JSON path of the node, e.g. `query.queries[1].related_query`. */
  readonly path: string;

  /** Creates an error naming the node at `path`. */
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.path = path;
  }
}

/**
 * Parses the subset of Close's advanced-filtering grammar the emulator evaluates
 * (https://developer.close.com/api/resources/advanced-filtering). Throws `CloseSearchError` for any node outside it:
 *
 * ```
 * top          := object_type | {"type":"and","queries":[object_type, node…]}       (exactly one object_type, lead|contact)
 * node         := and | or | not | has_related | field_condition
 * and | or     := {"type":"and"|"or","queries":[node…]}                              (non-empty)
 * not          := {"type":"not","query":node}
 * has_related  := {"type":"has_related","this_object_type":T,"related_object_type":R,"related_query":node over R}
 *                 with T→R one of lead→contact, contact→contact_phone|contact_email|lead
 * field_condition := {"type":"field_condition",
 *                     "field":{"type":"regular_field","object_type":T,"field_name":F},
 *                     "condition":{"type":"text","mode":"exact_value"|"phrase"|"full_words","value":string}}
 * ```
 */
export function parseCloseSearchQuery(query: unknown, defaultCountry: CountryCode): CloseSearchQuery {
  if (!isObject(query)) throw new CloseSearchError('query', 'must be an object');
  if (query.type === 'object_type') return { objectType: readObjectType(query, 'query'), predicate: () => true };
  if (query.type !== 'and' || !Array.isArray(query.queries)) {
    throw new CloseSearchError(
      'query',
      'must be an object_type query or an "and" whose queries include one object_type',
    );
  }
  const objectTypes = query.queries.flatMap((node, index) =>
    isObject(node) && node.type === 'object_type' ? [readObjectType(node, `query.queries[${index}]`)] : [],
  );
  if (objectTypes.length !== 1) {
    throw new CloseSearchError(
      'query.queries',
      `must contain exactly one object_type query (found ${objectTypes.length})`,
    );
  }
  const objectType = objectTypes[0]!;
  const predicates = query.queries.flatMap((node, index) =>
    isObject(node) && node.type === 'object_type'
      ? []
      : [compile(node, objectType, `query.queries[${index}]`, defaultCountry)],
  );
  return { objectType, predicate: (object, state) => predicates.every((predicate) => predicate(object, state)) };
}

function readObjectType(node: Record<string, unknown>, path: string): 'lead' | 'contact' {
  if (node.object_type !== 'lead' && node.object_type !== 'contact') {
    throw new CloseSearchError(
      `${path}.object_type`,
      `must be "lead" or "contact" (got ${JSON.stringify(node.object_type)})`,
    );
  }
  return node.object_type;
}

function compile(node: unknown, objectType: CloseSearchObjectType, path: string, country: CountryCode): Predicate {
  if (!isObject(node)) throw new CloseSearchError(path, 'must be an object');
  switch (node.type) {
    case 'and':
    case 'or': {
      if (!Array.isArray(node.queries) || node.queries.length === 0) {
        throw new CloseSearchError(`${path}.queries`, 'must be a non-empty list');
      }
      const children = node.queries.map((child, index) =>
        compile(child, objectType, `${path}.queries[${index}]`, country),
      );
      return node.type === 'and'
        ? (object, state) => children.every((child) => child(object, state))
        : (object, state) => children.some((child) => child(object, state));
    }
    case 'not': {
      const child = compile(node.query, objectType, `${path}.query`, country);
      return (object, state) => !child(object, state);
    }
    case 'has_related':
      return compileHasRelated(node, objectType, path, country);
    case 'field_condition':
      return compileFieldCondition(node, objectType, path, country);
    case 'object_type':
      throw new CloseSearchError(path, 'object_type is only allowed at the top level of the query');
    default:
      throw new CloseSearchError(`${path}.type`, `unsupported query type ${JSON.stringify(node.type)}`);
  }
}

function compileHasRelated(
  node: Record<string, unknown>,
  objectType: CloseSearchObjectType,
  path: string,
  country: CountryCode,
): Predicate {
  if (node.this_object_type !== objectType) {
    throw new CloseSearchError(
      `${path}.this_object_type`,
      `must be "${objectType}" here (got ${JSON.stringify(node.this_object_type)})`,
    );
  }
  const related = node.related_object_type as CloseSearchObjectType;
  if (!(RELATIONS[objectType] ?? []).includes(related)) {
    throw new CloseSearchError(
      `${path}.related_object_type`,
      `unsupported relation ${objectType} → ${JSON.stringify(node.related_object_type)}`,
    );
  }
  const inner = compile(node.related_query, related, `${path}.related_query`, country);
  return (object, state) => relatedObjects(object, related, state).some((item) => inner(item, state));
}

function relatedObjects(object: SearchObject, related: CloseSearchObjectType, state: CloseState): SearchObject[] {
  if (object.type === 'contact') {
    if (related === 'contact_phone') return object.value.phones.map((value) => ({ type: 'contact_phone', value }));
    if (related === 'contact_email') return object.value.emails.map((value) => ({ type: 'contact_email', value }));
    const lead = state.leads.get(object.value.lead_id);
    return lead === undefined ? [] : [{ type: 'lead', value: lead }];
  }
  if (object.type === 'lead') {
    return [...state.contacts.values()]
      .filter((contact) => contact.lead_id === object.value.id)
      .map((value) => ({ type: 'contact', value }));
  }
  return [];
}

function compileFieldCondition(
  node: Record<string, unknown>,
  objectType: CloseSearchObjectType,
  path: string,
  country: CountryCode,
): Predicate {
  const field = node.field;
  if (!isObject(field) || field.type !== 'regular_field') {
    throw new CloseSearchError(`${path}.field.type`, 'only "regular_field" fields are supported');
  }
  if (field.object_type !== objectType) {
    throw new CloseSearchError(
      `${path}.field.object_type`,
      `must be "${objectType}" here (got ${JSON.stringify(field.object_type)})`,
    );
  }
  const fieldName = field.field_name;
  if (typeof fieldName !== 'string' || !TEXT_FIELDS[objectType].includes(fieldName)) {
    throw new CloseSearchError(
      `${path}.field.field_name`,
      `unsupported field ${JSON.stringify(fieldName)} on ${objectType} (supported: ${TEXT_FIELDS[objectType].join(', ')})`,
    );
  }
  const condition = node.condition;
  if (!isObject(condition) || condition.type !== 'text') {
    throw new CloseSearchError(`${path}.condition.type`, 'only "text" conditions are supported');
  }
  if (typeof condition.mode !== 'string' || !TEXT_MODES.has(condition.mode)) {
    throw new CloseSearchError(
      `${path}.condition.mode`,
      `must be exact_value, phrase or full_words (got ${JSON.stringify(condition.mode)})`,
    );
  }
  if (typeof condition.value !== 'string' || condition.value.trim() === '') {
    throw new CloseSearchError(`${path}.condition.value`, 'must be a non-empty string');
  }
  const mode = condition.mode as 'exact_value' | 'phrase' | 'full_words';
  const value = condition.value;
  if (objectType === 'contact_phone') return phoneMatcher(mode, value, country);
  return (object) =>
    textMatches(mode, String((object.value as unknown as Record<string, unknown>)[fieldName] ?? ''), value);
}

/**
 * Phone conditions (the emulator's reading; Close does not document phone semantics per mode):
 * `exact_value` normalizes the value to E.164 in the org's country and compares with the stored E.164;
 * `phrase` matches when the value's digits occur contiguously in the stored E.164 digits;
 * `full_words` matches when the value's digits equal the whole number, with or without country code.
 */
function phoneMatcher(mode: 'exact_value' | 'phrase' | 'full_words', value: string, country: CountryCode): Predicate {
  const digits = value.replace(/\D/g, '');
  if (mode === 'exact_value') {
    const e164 = normalizeClosePhone(value, country)?.phone;
    return (object) => e164 !== undefined && (object.value as CloseContactPhone).phone === e164;
  }
  if (digits === '') return () => false;
  if (mode === 'phrase')
    return (object) => (object.value as CloseContactPhone).phone.replace(/\D/g, '').includes(digits);
  return (object) => {
    const phone = object.value as CloseContactPhone;
    const e164Digits = phone.phone.replace(/\D/g, '');
    const countryCode = phone.phone_formatted.split(' ')[0]!.replace(/\D/g, '');
    return digits === e164Digits || digits === e164Digits.slice(countryCode.length);
  };
}

function textMatches(mode: 'exact_value' | 'phrase' | 'full_words', fieldValue: string, value: string): boolean {
  if (mode === 'exact_value') return fieldValue.trim().toLowerCase() === value.trim().toLowerCase();
  const words = tokenize(fieldValue);
  const wanted = tokenize(value);
  if (mode === 'full_words') return wanted.every((word) => words.includes(word));
  for (let start = 0; start + wanted.length <= words.length; start++) {
    if (wanted.every((word, offset) => words[start + offset] === word)) return true;
  }
  return false;
}

function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

/** Runs a parsed query over the caller's organization, in creation order. */
export function runCloseSearch(
  state: CloseState,
  principal: ClosePrincipal,
  query: CloseSearchQuery,
): Array<{ type: 'lead' | 'contact'; value: CloseLead | CloseContact }> {
  const source: SearchObject[] =
    query.objectType === 'lead'
      ? [...state.leads.values()].map((value) => ({ type: 'lead', value }))
      : [...state.contacts.values()].map((value) => ({ type: 'contact', value }));
  return source
    .filter((object) => (object.value as CloseLead | CloseContact).organization_id === principal.organizationId)
    .filter((object) => query.predicate(object, state)) as Array<{
    type: 'lead' | 'contact';
    value: CloseLead | CloseContact;
  }>;
}

const SEARCH_KEYS = new Set(['query', '_fields', '_limit', 'cursor', 'sort', 'results_limit']);

/** `POST /data/search/` with cursor paging: `{data: [{__object_type, id, …_fields}], cursor}`. */
export function registerCloseSearchRoute(context: CloseRouteContext): void {
  context.route('POST', '/data/search/', (request, principal) => {
    const body = readObjectBody(request);
    if (!isObject(body)) return body;
    const unknown = Object.keys(body).filter((key) => !SEARCH_KEYS.has(key));
    if (unknown.length > 0) return closeFieldErrors(Object.fromEntries(unknown.map((key) => [key, 'Unknown field.'])));
    let query: CloseSearchQuery;
    try {
      query = parseCloseSearchQuery(body.query, context.defaultCountry);
    } catch (error) {
      if (error instanceof CloseSearchError) return closeFieldErrors({ [error.path]: error.message });
      throw error;
    }
    const limit = body._limit ?? DEFAULT_SEARCH_LIMIT;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_SEARCH_LIMIT) {
      return closeFieldErrors({ _limit: `Must be an integer from 1 to ${MAX_SEARCH_LIMIT}.` });
    }
    if (body.sort !== undefined && !(Array.isArray(body.sort) && body.sort.length === 0)) {
      return closeFieldErrors({ sort: 'The emulator returns results in creation order and does not support sort.' });
    }
    const resultsLimit = body.results_limit;
    if (
      resultsLimit !== undefined &&
      resultsLimit !== null &&
      (!Number.isInteger(resultsLimit) || (resultsLimit as number) < 1)
    ) {
      return closeFieldErrors({ results_limit: 'Must be a positive integer or null.' });
    }
    const offset = readCursor(body.cursor);
    if (offset === undefined) return closeBadRequest('cursor is not a cursor this search returned');
    const fields = body._fields;
    if (fields !== undefined && !isFieldsMap(fields)) {
      return closeFieldErrors({ _fields: 'Must map object types to lists of field names.' });
    }
    const allMatches = runCloseSearch(context.state, principal, query);
    const matches = typeof resultsLimit === 'number' ? allMatches.slice(0, resultsLimit) : allMatches;
    const page = matches.slice(offset, offset + limit);
    const next = offset + page.length < matches.length ? writeCursor(offset + page.length) : null;
    const data = page.map((match) => {
      const record = match.value as unknown as Record<string, unknown>;
      const item: Record<string, unknown> = { __object_type: match.type, id: record.id };
      for (const field of fields?.[match.type] ?? []) if (field in record) item[field] = record[field];
      return item;
    });
    return closeOk({ data, cursor: next });
  });
}

function isFieldsMap(value: unknown): value is Record<string, string[]> {
  return (
    isObject(value) &&
    Object.values(value).every((list) => Array.isArray(list) && list.every((f) => typeof f === 'string'))
  );
}

function writeCursor(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64url');
}

function readCursor(cursor: unknown): number | undefined {
  if (cursor === undefined || cursor === null) return 0;
  if (typeof cursor !== 'string') return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { offset?: unknown };
    return typeof parsed.offset === 'number' && Number.isInteger(parsed.offset) && parsed.offset >= 0
      ? parsed.offset
      : undefined;
  } catch {
    return undefined;
  }
}
