/**
 * Runs parsed SOQL and SOSL against the org state: field checks, filtering, ordering, paging limits, and records
 * shaped as the REST API returns them (`attributes` + the selected fields, relationship fields nested).
 */
import { SalesforceApiError } from './salesforce-errors.ts';
import type { SalesforceFieldDefinition } from './salesforce-schema.ts';
import type { SalesforceRecord, SalesforceState } from './salesforce-state.ts';
import {
  compareValues,
  conditionFields,
  conditionLiterals,
  evaluateCondition,
  parseSoql,
  type SoqlCondition,
  type SoqlFieldValue,
  type SoqlLiteral,
  type SoqlOrder,
  SoqlSyntaxError,
} from './soql.ts';
import { digitsOf, fieldsInScope, parseSosl, type SoslReturning, termMatchesValue } from './sosl.ts';

/** Records a query or search returns, before paging. */
export interface QueryRecordsResult {
  totalSize: number;
  records: Record<string, unknown>[];
}

interface ResolvedPath {
  /** Reference fields walked through, then the leaf field. */
  steps: SalesforceFieldDefinition[];
  leaf: SalesforceFieldDefinition;
  /** The object of each step (the first is the queried object). */
  objects: string[];
}

/** The `attributes` member of a returned record. */
export function recordAttributes(objectName: string, id: unknown, apiVersion: string): { type: string; url: string } {
  return { type: objectName, url: `/services/data/v${apiVersion}/sobjects/${objectName}/${String(id)}` };
}

/** Runs SOQL text and returns every matching record (the route pages them). */
export function runSoql(state: SalesforceState, text: string, apiVersion: string): QueryRecordsResult {
  let query: ReturnType<typeof parseSoql>;
  try {
    query = parseSoql(text);
  } catch (error) {
    if (error instanceof SoqlSyntaxError) throw new SalesforceApiError(400, 'MALFORMED_QUERY', error.message);
    throw error;
  }
  const definition = state.definition(query.object);
  if (!definition) {
    throw new SalesforceApiError(
      400,
      'INVALID_TYPE',
      `sObject type '${query.object}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name.`,
    );
  }
  const matches = selectRecords(state, definition.name, query.where, query.orderBy, 'query');
  const offset = query.offset ?? 0;
  if (offset > 2000)
    throw new SalesforceApiError(400, 'NUMBER_OUTSIDE_VALID_RANGE', 'Maximum SOQL offset allowed is 2000');
  const limited = matches.slice(offset, query.limit === undefined ? undefined : offset + query.limit);
  if (query.count) return { totalSize: limited.length, records: [] };
  const paths = query.fields.map((field) => resolveOrThrow(state, definition.name, field));
  return {
    totalSize: limited.length,
    records: limited.map((record) => project(state, definition.name, record, paths, apiVersion)),
  };
}

/** Runs SOSL text and returns the `searchRecords` of the answer. */
export function runSosl(state: SalesforceState, text: string, apiVersion: string): Record<string, unknown>[] {
  let search: ReturnType<typeof parseSosl>;
  try {
    search = parseSosl(text);
  } catch (error) {
    if (error instanceof SoqlSyntaxError) throw new SalesforceApiError(400, 'MALFORMED_SEARCH', error.message);
    throw error;
  }
  const targets: SoslReturning[] =
    search.returning.length > 0
      ? search.returning
      : state.definitions
          .filter((definition) => definition.searchable)
          .map((definition) => ({
            object: definition.name,
            fields: ['Id'],
            orderBy: [],
          }));
  const results: Record<string, unknown>[] = [];
  const overallLimit = Math.min(search.limit ?? 2000, 2000);
  for (const target of targets) {
    const definition = state.definition(target.object);
    if (!definition) {
      throw new SalesforceApiError(400, 'INVALID_TYPE', `sObject type '${target.object}' is not supported.`);
    }
    const paths = target.fields.map((field) => resolveOrThrow(state, definition.name, field));
    const scoped = fieldsInScope(definition.fields, search.scope);
    const phoneTerms = phoneTermIndex(search.terms, scoped);
    const matches = selectRecords(state, definition.name, target.where, target.orderBy, 'search').filter((record) =>
      phoneTerms !== undefined
        ? scoped.some((field) => phoneTerms(record[field.name]))
        : search.terms.some((group) =>
            group.every((term) => scoped.some((field) => termMatchesValue(term, record[field.name], field.type))),
          ),
    );
    const offset = target.offset ?? 0;
    const limited = matches.slice(offset, target.limit === undefined ? undefined : offset + target.limit);
    for (const record of limited) {
      if (results.length >= overallLimit) return results;
      results.push(project(state, definition.name, record, paths, apiVersion));
    }
  }
  return results;
}

/**
 * For a search of single phone terms (`FIND {…} OR {…} IN PHONE FIELDS`, what a CRM integration sends with hundreds
 * of numbers), a matcher that answers `termMatchesValue` for all terms at once: terms indexed by their last 7 digits
 * (a suffix match needs the shorter side to have at least 7), so a record costs a look-up instead of a pass over
 * every term. `undefined` when the search is anything else.
 */
function phoneTermIndex(
  groups: readonly (readonly string[])[],
  fields: readonly SalesforceFieldDefinition[],
): ((value: unknown) => boolean) | undefined {
  if (fields.length === 0 || !fields.every((field) => field.type === 'phone')) return undefined;
  if (!groups.every((group) => group.length === 1)) return undefined;
  const exact = new Set<string>();
  const bySuffix = new Map<string, string[]>();
  for (const [term] of groups) {
    const digits = digitsOf(term!);
    if (digits.length === 0) continue;
    exact.add(digits);
    if (digits.length >= 7) {
      const suffix = digits.slice(-7);
      bySuffix.set(suffix, [...(bySuffix.get(suffix) ?? []), digits]);
    }
  }
  return (value) => {
    if (typeof value !== 'string' || value.length === 0) return false;
    const digits = digitsOf(value);
    if (digits.length === 0) return false;
    if (exact.has(digits)) return true;
    if (digits.length < 7) return false;
    return (bySuffix.get(digits.slice(-7)) ?? []).some((term) =>
      term.length < digits.length ? digits.endsWith(term) : term.endsWith(digits),
    );
  };
}

function selectRecords(
  state: SalesforceState,
  objectName: string,
  where: SoqlCondition | undefined,
  orderBy: SoqlOrder[],
  kind: 'query' | 'search',
): SalesforceRecord[] {
  const errorCode = kind === 'query' ? 'INVALID_FIELD' : 'INVALID_FIELD';
  if (where) {
    for (const field of conditionFields(where)) {
      const path = resolveOrThrow(state, objectName, field);
      if (path.leaf.type === 'textarea' && (path.leaf.length ?? 255) > 255) {
        throw new SalesforceApiError(400, errorCode, `field '${path.leaf.name}' can not be filtered in a query call`);
      }
    }
    for (const { field, literal } of conditionLiterals(where)) {
      const leaf = resolveOrThrow(state, objectName, field).leaf;
      const expected =
        leaf.type === 'boolean'
          ? 'boolean'
          : leaf.type === 'datetime'
            ? 'datetime'
            : leaf.type === 'date'
              ? 'date'
              : leaf.type === 'double' || leaf.type === 'int'
                ? 'number'
                : 'string';
      if (literal.type !== 'null' && literal.type !== expected) {
        const typeName = expected === 'datetime' ? 'dateTime' : expected;
        throw new SalesforceApiError(
          400,
          errorCode,
          `value of filter criterion for field '${leaf.name}' must be of type ${typeName}${expected === 'string' ? '' : ' and should not be enclosed in quotes'}`,
        );
      }
    }
  }
  const orderPaths = orderBy.map((order) => ({ order, path: resolveOrThrow(state, objectName, order.field) }));
  const matches: SalesforceRecord[] = [];
  const candidates = (where && indexedCandidates(state, objectName, where)) ?? state.scan(objectName);
  for (const record of candidates) {
    if (!where || evaluateCondition(where, (field) => readPath(state, objectName, record, field))) matches.push(record);
  }
  if (orderPaths.length > 0) {
    const keyed = matches.map((record, index) => ({
      record,
      index,
      keys: orderPaths.map(({ path }) => readResolved(state, record, path)),
    }));
    keyed.sort((left, right) => {
      for (const [position, { order, path }] of orderPaths.entries()) {
        const a = left.keys[position];
        const b = right.keys[position];
        const aNull = a === null || a === undefined;
        const bNull = b === null || b === undefined;
        if (aNull || bNull) {
          if (aNull && bNull) continue;
          return aNull === order.nullsLast ? 1 : -1;
        }
        const comparison = compareValues(a, b, path.leaf.type) ?? 0;
        if (comparison !== 0) return order.descending ? -comparison : comparison;
      }
      return left.index - right.index;
    });
    return keyed.map((entry) => entry.record);
  }
  return matches;
}

/**
 * The records an equality or `IN` filter on `Id` or an indexed field (External ID or Unique) can match, read from
 * the index; `undefined` when the condition has no such filter (then every record is scanned). The whole condition
 * is still evaluated on each candidate, so the index only narrows the scan.
 */
function indexedCandidates(
  state: SalesforceState,
  objectName: string,
  where: SoqlCondition,
): SalesforceRecord[] | undefined {
  const filters = where.kind === 'and' ? where.conditions : [where];
  for (const filter of filters) {
    // Equality (`=`) and `IN` on a plain field narrow through an index; anything else scans.
    let field: string;
    let values: SoqlLiteral[];
    if (filter.kind === 'in' && !filter.negated) [field, values] = [filter.field, filter.values];
    else if (filter.kind === 'compare' && filter.operator === '=') [field, values] = [filter.field, [filter.value]];
    else continue;
    if (field.includes('.') || !values.every((literal) => literal.type === 'string')) continue;
    const records = state.indexedRecords(
      objectName,
      field,
      values.map((literal) => literal.value),
    );
    if (records !== undefined) return records;
  }
  return undefined;
}

function resolveOrThrow(state: SalesforceState, objectName: string, path: string): ResolvedPath {
  const resolved = resolvePath(state, objectName, path);
  if (!resolved) {
    throw new SalesforceApiError(
      400,
      'INVALID_FIELD',
      `No such column '${path}' on entity '${objectName}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name.`,
    );
  }
  return resolved;
}

/** Resolves `Field`, or `Relationship__r.Field` through reference fields, to field definitions. */
function resolvePath(state: SalesforceState, objectName: string, path: string): ResolvedPath | undefined {
  const parts = path.split('.');
  const steps: SalesforceFieldDefinition[] = [];
  const objects = [objectName];
  let current = objectName;
  for (const part of parts.slice(0, -1)) {
    const reference = state.relationship(current, part);
    if (!reference?.referenceTo?.[0]) return undefined;
    steps.push(reference);
    current = state.definition(reference.referenceTo[0])!.name;
    objects.push(current);
  }
  const leaf = state.field(current, parts.at(-1)!);
  return leaf ? { steps, leaf, objects } : undefined;
}

function readResolved(state: SalesforceState, record: SalesforceRecord, path: ResolvedPath): unknown {
  let current: SalesforceRecord | undefined = record;
  for (const step of path.steps) {
    const id: unknown = current[step.name];
    current = typeof id === 'string' ? state.lookup(id) : undefined;
    if (!current) return null;
  }
  return current[path.leaf.name] ?? null;
}

function readPath(state: SalesforceState, objectName: string, record: SalesforceRecord, field: string): SoqlFieldValue {
  const path = resolvePath(state, objectName, field)!;
  return { value: readResolved(state, record, path), type: path.leaf.type };
}

/** Shapes a record as the REST API returns it: `attributes`, then the selected fields, relationships nested. */
function project(
  state: SalesforceState,
  objectName: string,
  record: SalesforceRecord,
  paths: ResolvedPath[],
  apiVersion: string,
): Record<string, unknown> {
  const output: Record<string, unknown> = { attributes: recordAttributes(objectName, record.Id, apiVersion) };
  for (const path of paths) {
    let target = output;
    let current: SalesforceRecord | undefined = record;
    let broken = false;
    for (const step of path.steps) {
      const id: unknown = current?.[step.name];
      current = typeof id === 'string' ? state.lookup(id) : undefined;
      const name = step.relationshipName!;
      if (!current) {
        if (!(name in target)) target[name] = null;
        broken = true;
        break;
      }
      const parentObject = state.objectOfId(current.Id as string)?.name ?? '';
      const nested = (target[name] as Record<string, unknown> | null | undefined) ?? {
        attributes: recordAttributes(parentObject, current.Id, apiVersion),
      };
      target[name] = nested;
      target = nested;
    }
    if (!broken) target[path.leaf.name] = current?.[path.leaf.name] ?? null;
  }
  return output;
}
