/**
 * The REST resources under `/services/data/vXX.X/` that jsforce calls
 * (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_list.htm): describe, sObject
 * rows and upsert by External ID, sObject Collections (create, update, upsert, retrieve, delete; ≤200 records,
 * `allOrNone`, https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-upsert.html),
 * query with `nextRecordsUrl` paging, search, limits, and Composite (`salesforce-composite.ts`).
 */
import type { EmulatorRequest, EmulatorResponse, RecordCounter } from '../emulator/emulator-router.ts';
import type { Bulk2Jobs } from './bulk2-jobs.ts';
import { CompositeSubrequests, registerCompositeRoute } from './salesforce-composite.ts';
import { SalesforceApiError, salesforceErrorResponse } from './salesforce-errors.ts';
import type { SalesforceRecordError } from './salesforce-field-values.ts';
import { createSalesforceIdGenerator } from './salesforce-ids.ts';
import type { SalesforceLimits } from './salesforce-limits.ts';
import { recordAttributes, runSoql, runSosl } from './salesforce-query-engine.ts';
import { describeSalesforceObject } from './salesforce-schema.ts';
import type { SalesforceState, SalesforceWriteResult } from './salesforce-state.ts';

/** Most records one sObject Collections request may carry. */
export const collectionsMaxRecords = 200;

/** Most ids one Collections retrieve may name. */
export const collectionsMaxRetrieveIds = 2000;

/** What REST handlers need from the emulator. */
export interface SalesforceRouteContext {
  state: SalesforceState;
  jobs: Bulk2Jobs;
  limits: SalesforceLimits;
  now: () => number;
  /** The highest API version served, e.g. `62.0`. */
  apiVersion: string;
}

/** A handler of an authenticated API route; it may throw `SalesforceApiError`. */
export type ApiHandler = (request: EmulatorRequest, version: string) => EmulatorResponse | Promise<EmulatorResponse>;

/** Registers an authenticated, limit-counted route under `/services/data/:version`. */
export type ApiRouteAdder = (
  method: string,
  pattern: string,
  handler: ApiHandler,
  options?: { records?: RecordCounter; minimumVersion?: number },
) => void;

interface QueryCursor {
  records: Record<string, unknown>[];
  totalSize: number;
  pageSize: number;
  lastAccess: number;
}

/** Query cursors expire after 15 minutes without use, as Salesforce's do. */
const cursorIdleMs = 15 * 60 * 1000;

/** Open query cursors behind `nextRecordsUrl`. */
export class QueryCursors {
  #cursors = new Map<string, QueryCursor>();
  #ids = createSalesforceIdGenerator('query-cursors');

  /** Forgets every cursor. */
  reset(): void {
    this.#cursors.clear();
    this.#ids = createSalesforceIdGenerator('query-cursors');
  }

  /** The first page of a result, opening a cursor when more remain. */
  firstPage(
    result: { totalSize: number; records: Record<string, unknown>[] },
    pageSize: number,
    version: string,
    now: number,
  ) {
    if (result.records.length <= pageSize) return { totalSize: result.totalSize, done: true, records: result.records };
    const id = this.#ids.next('01g');
    this.#cursors.set(id, { records: result.records, totalSize: result.totalSize, pageSize, lastAccess: now });
    return this.#page(id, 0, version, now);
  }

  /** The page a `query/{locator}` names. */
  next(locator: string, version: string, now: number) {
    const match = /^(01g[a-zA-Z0-9]{15})-(\d+)$/.exec(locator);
    const cursor = match ? this.#cursors.get(match[1]!) : undefined;
    if (!match || !cursor || now - cursor.lastAccess > cursorIdleMs) {
      if (match) this.#cursors.delete(match[1]!);
      throw new SalesforceApiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    }
    return this.#page(match[1]!, Number(match[2]), version, now);
  }

  #page(id: string, start: number, version: string, now: number) {
    const cursor = this.#cursors.get(id)!;
    cursor.lastAccess = now;
    const end = start + cursor.pageSize;
    const records = cursor.records.slice(start, end);
    const done = end >= cursor.records.length;
    if (done) this.#cursors.delete(id);
    return {
      totalSize: cursor.totalSize,
      done,
      ...(done ? {} : { nextRecordsUrl: `/services/data/v${version}/query/${id}-${end}` }),
      records,
    };
  }
}

/** Registers every REST resource of the emulator. */
export function registerSalesforceRestRoutes(
  add: ApiRouteAdder,
  context: SalesforceRouteContext,
  cursors: QueryCursors,
): void {
  const { state } = context;
  // Every route is also a Composite subrequest target when Composite supports its resource.
  const subrequests = new CompositeSubrequests();
  const api = add;
  add = (method, pattern, handler, options) => {
    api(method, pattern, handler, options);
    subrequests.add(method, pattern, handler, options);
  };

  add('GET', '', (_request, version) => ({
    status: 200,
    body: Object.fromEntries(
      ['sobjects', 'query', 'queryAll', 'search', 'limits', 'composite', 'jobs'].map((name) => [
        name,
        `/services/data/v${version}/${name}`,
      ]),
    ),
  }));

  add('GET', 'limits', () => {
    const now = context.now();
    const allocation = context.limits.dailyAllocation;
    return {
      status: 200,
      body: {
        DailyApiRequests: { Max: allocation, Remaining: Math.max(0, allocation - context.limits.used(now)) },
        DailyBulkApiBatches: { Max: 15_000, Remaining: Math.max(0, 15_000 - context.jobs.batchesUsed()) },
        DailyBulkV2QueryJobs: { Max: 10_000, Remaining: 10_000 },
        DailyBulkV2QueryFileStorageMB: { Max: 976_562, Remaining: 976_562 },
      },
    };
  });

  add('GET', 'sobjects', (_request, version) => ({
    status: 200,
    body: {
      encoding: 'UTF-8',
      maxBatchSize: collectionsMaxRecords,
      sobjects: state.definitions.map((definition) => {
        const {
          fields: _fields,
          childRelationships: _children,
          recordTypeInfos: _types,
          ...summary
        } = describeSalesforceObject(definition, version);
        return summary;
      }),
    },
  }));

  add('GET', 'sobjects/:type/describe', (request, version) => ({
    status: 200,
    body: describeSalesforceObject(objectOrThrow(state, request.params.type!), version),
  }));

  add('GET', 'sobjects/:type', (request, version) => {
    const definition = objectOrThrow(state, request.params.type!);
    const { fields: _fields, ...objectDescribe } = describeSalesforceObject(definition, version);
    return { status: 200, body: { objectDescribe, recentItems: [] } };
  });

  add(
    'POST',
    'sobjects/:type',
    (request) => {
      const definition = objectOrThrow(state, request.params.type!);
      const result = state.create(definition.name, jsonObject(request));
      return saveResponse(result, 201);
    },
    { records: () => 1 },
  );

  add('GET', 'sobjects/:type/:id', (request, version) => {
    const definition = objectOrThrow(state, request.params.type!);
    const record = state.get(definition.name, request.params.id!);
    if (!record) return notFound();
    return { status: 200, body: shapeRecord(state, definition.name, record, request.query.get('fields'), version) };
  });

  add(
    'PATCH',
    'sobjects/:type/:id',
    (request) => {
      const definition = objectOrThrow(state, request.params.type!);
      if (!state.get(definition.name, request.params.id!)) return notFound();
      const result = state.update(definition.name, request.params.id!, jsonObject(request));
      return result.success ? { status: 204 } : errorArray(result.errors);
    },
    { records: () => 1 },
  );

  add(
    'DELETE',
    'sobjects/:type/:id',
    (request) => {
      const definition = objectOrThrow(state, request.params.type!);
      if (!state.get(definition.name, request.params.id!)) return notFound();
      state.delete(definition.name, request.params.id!);
      return { status: 204 };
    },
    { records: () => 1 },
  );

  add('GET', 'sobjects/:type/:field/:value', (request, version) => {
    const definition = objectOrThrow(state, request.params.type!);
    const ids = state.findByField(
      definition.name,
      externalIdFieldOrThrow(state, definition.name, request.params.field!),
      request.params.value!,
    );
    if (ids.length === 0) return notFound();
    if (ids.length > 1) return multipleChoices(definition.name, ids, version);
    const record = state.get(definition.name, ids[0]!)!;
    return { status: 200, body: shapeRecord(state, definition.name, record, request.query.get('fields'), version) };
  });

  add(
    'PATCH',
    'sobjects/:type/:field/:value',
    (request, version) => {
      const definition = objectOrThrow(state, request.params.type!);
      const field = externalIdFieldOrThrow(state, definition.name, request.params.field!);
      const ids = state.findByField(definition.name, field, request.params.value!);
      if (ids.length > 1) return multipleChoices(definition.name, ids, version);
      const result = state.upsert(definition.name, field, request.params.value!, jsonObject(request));
      if (!result.success) return errorArray(result.errors);
      // Since API 46.0 an update by External ID answers 200 with a body instead of 204.
      return {
        status: result.created ? 201 : 200,
        body: { id: result.id, success: true, errors: [], created: result.created },
      };
    },
    { records: () => 1 },
  );

  const runQuery = (request: EmulatorRequest, version: string) => {
    const text = request.query.get('q');
    if (!text)
      throw new SalesforceApiError(400, 'MALFORMED_QUERY', 'A query string has to be specified in the q parameter');
    const result = runSoql(state, text, version);
    const options = String(request.headers['sforce-query-options'] ?? '');
    const batchSize = /batchSize=(\d+)/i.exec(options);
    // Salesforce pages at 2,000 by default; batchSize may ask for 200–2,000 (a hint, not a guarantee).
    const pageSize = batchSize ? Math.min(2000, Math.max(200, Number(batchSize[1]))) : 2000;
    return { status: 200, body: cursors.firstPage(result, pageSize, version, context.now()) };
  };
  add('GET', 'query', runQuery);
  add('GET', 'queryAll', runQuery);
  const nextPage = (request: EmulatorRequest, version: string) => ({
    status: 200,
    body: cursors.next(request.params.locator!, version, context.now()),
  });
  add('GET', 'query/:locator', nextPage);
  add('GET', 'queryAll/:locator', nextPage);

  add('GET', 'search', (request, version) => {
    const text = request.query.get('q');
    if (!text)
      throw new SalesforceApiError(400, 'MALFORMED_SEARCH', 'A search string has to be specified in the q parameter');
    return { status: 200, body: { searchRecords: runSosl(state, text, version) } };
  });

  registerCollectionRoutes(add, context);
  registerCompositeRoute(api, subrequests, state, context.apiVersion);
}

function registerCollectionRoutes(add: ApiRouteAdder, context: SalesforceRouteContext): void {
  const { state } = context;
  const countRecords: RecordCounter = (request) => {
    const records = (request.body as { records?: unknown } | undefined)?.records;
    return Array.isArray(records) ? records.length : 0;
  };

  add(
    'POST',
    'composite/sobjects',
    (request) => {
      const { allOrNone, records } = collectionBody(request);
      return runCollection(
        state,
        allOrNone,
        records,
        (record) => {
          const type = recordType(record);
          if (!type) return missingType();
          const { attributes: _attributes, ...fields } = record;
          return state.create(type, fields);
        },
        false,
      );
    },
    { records: countRecords, minimumVersion: 42 },
  );

  add(
    'PATCH',
    'composite/sobjects',
    (request) => {
      const { allOrNone, records } = collectionBody(request);
      return runCollection(
        state,
        allOrNone,
        records,
        (record) => {
          const type = recordType(record);
          if (!type) return missingType();
          const { attributes: _attributes, id, Id, ...fields } = record;
          const recordId = (id ?? Id) as unknown;
          if (typeof recordId !== 'string' || recordId === '') {
            return {
              success: false,
              errors: [
                { statusCode: 'MISSING_ARGUMENT', message: 'Id not specified in an update call', fields: ['Id'] },
              ],
            };
          }
          return state.update(type, recordId, fields);
        },
        false,
      );
    },
    { records: countRecords, minimumVersion: 42 },
  );

  add(
    'PATCH',
    'composite/sobjects/:type/:field',
    (request) => {
      const definition = objectOrThrow(state, request.params.type!);
      const field = externalIdFieldOrThrow(state, definition.name, request.params.field!);
      const { allOrNone, records } = collectionBody(request);
      const externalValueOf = (record: Record<string, unknown>) => {
        const key = Object.keys(record).find((name) => name.toLowerCase() === field.toLowerCase());
        return key === undefined ? undefined : record[key];
      };
      // [inferred] Two records with the same External ID in one request both fail, as in Bulk API upserts.
      const occurrences = new Map<string, number>();
      for (const record of records) {
        const value = externalValueOf(record);
        if (value !== undefined && value !== null && value !== '') {
          const key = String(value).toLowerCase();
          occurrences.set(key, (occurrences.get(key) ?? 0) + 1);
        }
      }
      return runCollection(
        state,
        allOrNone,
        records,
        (record) => {
          // "Each object in the request body must contain an attributes map. The map must contain a value for type."
          // (https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-upsert.html)
          const type = recordType(record);
          if (!type) return missingType();
          if (type.toLowerCase() !== definition.name.toLowerCase()) {
            return {
              success: false,
              errors: [
                {
                  statusCode: 'INVALID_TYPE',
                  message: `Record type ${type} does not match ${definition.name}`,
                  fields: [],
                },
              ],
            };
          }
          const value = externalValueOf(record);
          if (value !== undefined && value !== null && (occurrences.get(String(value).toLowerCase()) ?? 0) > 1) {
            return {
              success: false,
              errors: [
                {
                  statusCode: 'DUPLICATE_EXTERNAL_ID',
                  message: `Duplicate external id specified: ${String(value)}`,
                  fields: [field],
                },
              ],
            };
          }
          const { attributes: _attributes, ...fields } = record;
          return state.upsert(definition.name, field, value, fields);
        },
        true,
      );
    },
    { records: countRecords, minimumVersion: 46 },
  );

  const retrieve = (type: string, ids: string[], fields: string[], version: string): EmulatorResponse => {
    const definition = objectOrThrow(state, type);
    if (ids.length > collectionsMaxRetrieveIds) {
      throw new SalesforceApiError(
        400,
        'EXCEEDED_ID_LIMIT',
        `Maximum number of ids allowed is ${collectionsMaxRetrieveIds}`,
      );
    }
    if (fields.length === 0) throw new SalesforceApiError(400, 'MISSING_ARGUMENT', 'fields must be specified');
    for (const field of fields) {
      if (!state.field(definition.name, field)) {
        throw new SalesforceApiError(400, 'INVALID_FIELD', `No such column '${field}' on entity '${definition.name}'`);
      }
    }
    return {
      status: 200,
      body: ids.map((id) => {
        const record = state.get(definition.name, id);
        return record ? shapeRecord(state, definition.name, record, fields.join(','), version) : null;
      }),
    };
  };
  const split = (value: string | null) =>
    (value ?? '')
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean);
  add('GET', 'composite/sobjects/:type', (request, version) =>
    retrieve(request.params.type!, split(request.query.get('ids')), split(request.query.get('fields')), version),
  );
  add('POST', 'composite/sobjects/:type', (request, version) => {
    const body = jsonObject(request) as { ids?: unknown; fields?: unknown };
    if (!Array.isArray(body.ids) || !Array.isArray(body.fields)) {
      throw new SalesforceApiError(400, 'JSON_PARSER_ERROR', 'The request body must have ids and fields arrays');
    }
    return retrieve(request.params.type!, body.ids.map(String), body.fields.map(String), version);
  });

  add(
    'DELETE',
    'composite/sobjects',
    (request) => {
      const ids = split(request.query.get('ids'));
      if (ids.length > collectionsMaxRecords) throw tooManyRecords();
      const allOrNone = request.query.get('allOrNone') === 'true';
      const records = ids.map((id) => ({ id }));
      return runCollection(
        state,
        allOrNone,
        records,
        (record) => {
          const id = record.id as string;
          const definition = state.objectOfId(id);
          if (!definition)
            return {
              success: false,
              errors: [{ statusCode: 'MALFORMED_ID', message: `malformed id ${id}`, fields: [] }],
            };
          return state.delete(definition.name, id);
        },
        false,
      );
    },
    { records: (request) => split(request.query.get('ids')).length, minimumVersion: 42 },
  );
}

/** Runs a collection's records one by one, all or none when asked, and shapes the per-record results. */
function runCollection(
  state: SalesforceState,
  allOrNone: boolean,
  records: Record<string, unknown>[],
  write: (record: Record<string, unknown>) => SalesforceWriteResult,
  withCreated: boolean,
): EmulatorResponse {
  const results = state.atomically(() => {
    const outcomes = records.map((record) => write(record));
    const failed = outcomes.some((outcome) => !outcome.success);
    return { commit: !(allOrNone && failed), value: { outcomes, rolledBack: allOrNone && failed } };
  });
  const body = results.outcomes.map((outcome) => {
    if (results.rolledBack && outcome.success) {
      return {
        success: false,
        errors: [
          {
            statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
            message: 'Record rolled back because not all records were valid and the request was using AllOrNone header',
            fields: [],
          },
        ],
      };
    }
    if (!outcome.success) return { success: false, errors: outcome.errors };
    return withCreated
      ? { id: outcome.id, success: true, errors: [], created: outcome.created }
      : { id: outcome.id, success: true, errors: [] };
  });
  return { status: 200, body };
}

function collectionBody(request: EmulatorRequest): { allOrNone: boolean; records: Record<string, unknown>[] } {
  const body = jsonObject(request) as { allOrNone?: unknown; records?: unknown };
  if (!Array.isArray(body.records))
    throw new SalesforceApiError(400, 'JSON_PARSER_ERROR', 'The request body must have a records array');
  if (body.records.length > collectionsMaxRecords) throw tooManyRecords();
  if (body.allOrNone !== undefined && typeof body.allOrNone !== 'boolean') {
    throw new SalesforceApiError(400, 'JSON_PARSER_ERROR', 'allOrNone must be a boolean');
  }
  for (const [index, record] of body.records.entries()) {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw new SalesforceApiError(400, 'JSON_PARSER_ERROR', `records[${index}] must be an object`);
    }
  }
  return { allOrNone: body.allOrNone === true, records: body.records as Record<string, unknown>[] };
}

function tooManyRecords(): SalesforceApiError {
  // [inferred] The message Salesforce gives when a Collections request carries more than 200 records.
  return new SalesforceApiError(
    400,
    'EXCEEDED_ID_LIMIT',
    `record limit reached. cannot submit more than ${collectionsMaxRecords} records into this call`,
  );
}

function recordType(record: Record<string, unknown>): string | undefined {
  const type = (record.attributes as { type?: unknown } | undefined)?.type;
  return typeof type === 'string' && type ? type : undefined;
}

function missingType(): SalesforceWriteResult {
  return {
    success: false,
    errors: [
      {
        statusCode: 'INVALID_TYPE',
        message: 'Must send a concrete entity type: attributes.type is missing',
        fields: [],
      },
    ],
  };
}

function jsonObject(request: EmulatorRequest): Record<string, unknown> {
  if (request.bodyError)
    throw new SalesforceApiError(
      400,
      'JSON_PARSER_ERROR',
      `Unexpected character in the JSON body: ${request.bodyError}`,
    );
  const body = request.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new SalesforceApiError(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

function objectOrThrow(state: SalesforceState, type: string) {
  const definition = state.definition(type);
  if (!definition) throw new SalesforceApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
  return definition;
}

function externalIdFieldOrThrow(state: SalesforceState, objectName: string, fieldName: string): string {
  const field = state.field(objectName, fieldName);
  if (!field || !(field.externalId || field.name === 'Id')) {
    throw new SalesforceApiError(
      400,
      'INVALID_FIELD',
      `Field name provided, ${fieldName} is not an External ID or indexed field for ${objectName}`,
      [fieldName],
    );
  }
  return field.name;
}

function saveResponse(result: SalesforceWriteResult, status: number): EmulatorResponse {
  return result.success ? { status, body: { id: result.id, success: true, errors: [] } } : errorArray(result.errors);
}

function errorArray(errors: SalesforceRecordError[]): EmulatorResponse {
  return {
    status: 400,
    body: errors.map((error) => ({ message: error.message, errorCode: error.statusCode, fields: error.fields })),
  };
}

function notFound(): EmulatorResponse {
  return salesforceErrorResponse(404, 'NOT_FOUND', 'The requested resource does not exist');
}

function multipleChoices(objectName: string, ids: string[], version: string): EmulatorResponse {
  return { status: 300, body: ids.map((id) => `/services/data/v${version}/sobjects/${objectName}/${id}`) };
}

/** A stored record as `GET sobjects/{Type}/{id}` returns it: every field (null when unset) or the `fields` asked. */
function shapeRecord(
  state: SalesforceState,
  objectName: string,
  record: Record<string, unknown>,
  fieldList: string | null,
  version: string,
): Record<string, unknown> {
  const definition = state.definition(objectName)!;
  const names = fieldList
    ? fieldList.split(',').map((name) => {
        const field = state.field(objectName, name.trim());
        if (!field)
          throw new SalesforceApiError(
            400,
            'INVALID_FIELD',
            `No such column '${name.trim()}' on entity '${objectName}'`,
          );
        return field.name;
      })
    : definition.fields.map((field) => field.name);
  const output: Record<string, unknown> = { attributes: recordAttributes(definition.name, record.Id, version) };
  for (const name of names) output[name] = record[name] ?? null;
  return output;
}
