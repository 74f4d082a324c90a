import type { EmulatorRequest, EmulatorResponse } from '../emulator/index.ts';
import { batchRowError, type HubSpotBatchRowError } from './hubspot-errors.ts';
import {
  applyAssociations,
  checkProperties,
  claimUnique,
  invalidAssociationType,
  isIdProperty,
  missingAssociationTarget,
  missingRequired,
  type PendingUniqueValues,
  uniqueConflict,
} from './hubspot-object-writes.ts';
import type { HubSpotObjectType } from './hubspot-properties.ts';
import {
  batchResponse,
  type HubSpotRouteContext,
  type HubSpotRouteHandler,
  objectLabel,
  objectTypeOf,
  parseBody,
  presentRecord,
  requestedProperties,
} from './hubspot-route-context.ts';
import { searchRecords } from './hubspot-search.ts';
import type { HubSpotRecord } from './hubspot-state.ts';
import {
  batchCreateBodySchema,
  batchReadBodySchema,
  batchUpdateBodySchema,
  batchUpsertBodySchema,
  createInputSchema,
  searchBodySchema,
  updateSingleInputSchema,
} from './hubspot-wire-schemas.ts';

/*
 * CRM objects v3 for contacts and communications:
 * https://developers.hubspot.com/docs/api-reference/latest/crm/objects/contacts (contacts),
 * https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/communications/guide (communications),
 * https://developers.hubspot.com/docs/api-reference/latest/crm/search-the-crm (search).
 * Status codes follow `@hubspot/api-client` 14 (`codegen/crm/contacts/apis/BatchApi.ts`): batch create 201,
 * read/update/upsert 200, 207 for partial failures; single create 201, get/patch 200.
 */

/** A route of the HubSpot emulator. */
export interface HubSpotRoute {
  method: string;
  pattern: string;
  handler: HubSpotRouteHandler;
  /** Search routes have their own limit (5/s) and no rate-limit headers. */
  search?: boolean;
  /** Records the request touches, for the latency model. */
  records?: (request: EmulatorRequest) => number;
}

const inputCount = (request: EmulatorRequest) => {
  const inputs = (request.body as { inputs?: unknown } | undefined)?.inputs;
  return Array.isArray(inputs) ? inputs.length : 0;
};

function tooManyInputs(count: number, limit: number, context: HubSpotRouteContext): EmulatorResponse | undefined {
  if (count <= limit) return undefined;
  // Wording modelled on HubSpot's verbatim propertiesWithHistory message (activepieces/activepieces#9359) [inferred].
  return context.errors.validation(
    `The maximum number of inputs supported in a batch request is ${limit}. Please reduce the number of items and try again`,
    [{ message: `inputs has ${count} items, the maximum is ${limit}`, in: 'inputs' }],
  );
}

function duplicateIds(ids: string[], context: HubSpotRouteContext): EmulatorResponse | undefined {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const id of ids) (seen.has(id) ? duplicates : seen).add(id);
  if (duplicates.size === 0) return undefined;
  return context.errors.validation(
    `Duplicate IDs found in batch input: [${[...duplicates].join(', ')}]. IDs must be unique`,
  );
}

function notUniqueIdProperty(objectType: HubSpotObjectType, idProperty: string, context: HubSpotRouteContext) {
  return context.errors.validation(
    `Property "${idProperty}" cannot be used as idProperty for ${objectType}: it is not a unique property (hasUniqueValue).`,
    [{ message: `${idProperty} is not a unique property`, in: 'idProperty' }],
  );
}

function findRecord(
  objectType: HubSpotObjectType,
  id: string,
  idProperty: string | undefined,
  context: HubSpotRouteContext,
) {
  return context.account.state.findByUniqueValue(objectType, idProperty ?? 'hs_object_id', id);
}

const batchCreate: HubSpotRouteHandler = (request, context) => {
  const startedAt = context.now();
  const type = objectTypeOf(request.params.objectType, context);
  if (!type.ok) return type.response;
  const parsed = parseBody(request, batchCreateBodySchema, context);
  if (!parsed.ok) return parsed.response;
  const { inputs } = parsed.body;
  const tooMany = tooManyInputs(inputs.length, context.settings.batchSize, context);
  if (tooMany) return tooMany;
  const checked = [];
  for (const input of inputs) {
    const { values, problems } = checkProperties(type.objectType, input.properties, context);
    problems.push(...missingRequired(type.objectType, values));
    if (problems.length > 0) return context.errors.invalidProperties(problems);
    const invalidType = invalidAssociationType(type.objectType, input.associations);
    if (invalidType) return context.errors.validation(invalidType);
    checked.push({ input, values });
  }
  // A unique value that another record (or an earlier input) holds fails the whole call, naming the first conflict
  // only, and nothing is written: `{"status":"error","message":"Contact already exists. Existing ID: …","category":
  // "CONFLICT"}` (https://github.com/HubSpot/hubspot-api-python/issues/51, batch/create with existing emails;
  // https://github.com/Joystream/youtube-synch/pull/355, two inputs sharing an email) [secondary].
  const claimed: PendingUniqueValues = new Map();
  for (const [index, { values }] of checked.entries()) {
    const conflict = uniqueConflict(type.objectType, values, undefined, claimed, context);
    if (conflict) return context.errors.error(409, 'CONFLICT', conflict.message, { context: conflict.context });
    // [inferred] the wording for two inputs of one call sharing a unique value.
    claimUnique(type.objectType, values, `(inputs[${index}] of this batch)`, claimed, context);
  }
  const results: unknown[] = [];
  const errors: HubSpotBatchRowError[] = [];
  const pending: PendingUniqueValues = new Map();
  for (const [index, { input, values }] of checked.entries()) {
    const rowError = missingAssociationTarget(type.objectType, input.associations, context);
    if (rowError) {
      rowError.context.inputIndex = [String(index)];
      errors.push(rowError);
      continue;
    }
    const record = context.account.state.insert(type.objectType, values, context.now());
    claimUnique(type.objectType, values, record.id, pending, context);
    applyAssociations(record, input.associations, context);
    results.push(withTrace(presentRecord(record, 'all', context), input.objectWriteTraceId));
  }
  return batchResponse(results, errors, 201, startedAt, context.now());
};

const batchUpdate: HubSpotRouteHandler = (request, context) => {
  const startedAt = context.now();
  const type = objectTypeOf(request.params.objectType, context);
  if (!type.ok) return type.response;
  const parsed = parseBody(request, batchUpdateBodySchema, context);
  if (!parsed.ok) return parsed.response;
  const { inputs } = parsed.body;
  const refused =
    tooManyInputs(inputs.length, context.settings.batchSize, context) ??
    duplicateIds(
      inputs.map((input) => `${input.idProperty ?? ''}:${input.id}`),
      context,
    );
  if (refused) return refused;
  const checked = [];
  for (const input of inputs) {
    if (input.idProperty && !isIdProperty(type.objectType, input.idProperty, context)) {
      return notUniqueIdProperty(type.objectType, input.idProperty, context);
    }
    const { values, problems } = checkProperties(type.objectType, input.properties, context);
    if (problems.length > 0) return context.errors.invalidProperties(problems);
    checked.push({ input, values });
  }
  const results: unknown[] = [];
  const errors: HubSpotBatchRowError[] = [];
  const pending: PendingUniqueValues = new Map();
  const missing: string[] = [];
  for (const { input, values } of checked) {
    const record = findRecord(type.objectType, input.id, input.idProperty, context);
    if (!record) {
      missing.push(input.id);
      continue;
    }
    const conflict = uniqueConflict(type.objectType, values, record.id, pending, context);
    if (conflict) {
      errors.push(conflict);
      continue;
    }
    claimUnique(type.objectType, values, record.id, pending, context);
    context.account.state.update(record, values, context.now());
    results.push(withTrace(presentRecord(record, 'all', context), input.objectWriteTraceId));
  }
  if (missing.length > 0) errors.unshift(notFoundRow(type.objectType, missing));
  return batchResponse(results, errors, 200, startedAt, context.now());
};

const batchUpsert: HubSpotRouteHandler = (request, context) => {
  const startedAt = context.now();
  const type = objectTypeOf(request.params.objectType, context);
  if (!type.ok) return type.response;
  const parsed = parseBody(request, batchUpsertBodySchema, context);
  if (!parsed.ok) return parsed.response;
  const { inputs } = parsed.body;
  const refused =
    tooManyInputs(inputs.length, context.settings.batchSize, context) ??
    duplicateIds(
      inputs.map((input) => `${input.idProperty ?? 'hs_object_id'}:${input.id}`),
      context,
    );
  if (refused) return refused;
  const checked = [];
  for (const input of inputs) {
    const idProperty = input.idProperty ?? 'hs_object_id';
    if (!isIdProperty(type.objectType, idProperty, context)) {
      return notUniqueIdProperty(type.objectType, idProperty, context);
    }
    const { values, problems } = checkProperties(type.objectType, input.properties, context);
    if (problems.length > 0) return context.errors.invalidProperties(problems);
    checked.push({ input, idProperty, values });
  }
  const results: unknown[] = [];
  const errors: HubSpotBatchRowError[] = [];
  const pending: PendingUniqueValues = new Map();
  for (const { input, idProperty, values } of checked) {
    const existing = findRecord(type.objectType, input.id, idProperty, context);
    if (!existing && idProperty === 'hs_object_id') {
      errors.push(notFoundRow(type.objectType, [input.id]));
      continue;
    }
    const writeValues = existing || idProperty === 'hs_object_id' ? values : { ...values, [idProperty]: input.id };
    if (!existing) {
      const missing = missingRequired(type.objectType, writeValues);
      if (missing.length > 0) {
        errors.push(
          batchRowError('VALIDATION_ERROR', missing.map((problem) => problem.message).join('; '), {
            id: [input.id],
            properties: missing.map((problem) => problem.name),
          }),
        );
        continue;
      }
    }
    const conflict = uniqueConflict(type.objectType, writeValues, existing?.id, pending, context);
    if (conflict) {
      errors.push(conflict);
      continue;
    }
    const record = existing
      ? context.account.state.update(existing, writeValues, context.now())
      : context.account.state.insert(type.objectType, writeValues, context.now());
    claimUnique(type.objectType, writeValues, record.id, pending, context);
    results.push({ ...withTrace(presentRecord(record, 'all', context), input.objectWriteTraceId), new: !existing });
  }
  return batchResponse(results, errors, 200, startedAt, context.now());
};

const batchRead: HubSpotRouteHandler = (request, context) => {
  const startedAt = context.now();
  const type = objectTypeOf(request.params.objectType, context);
  if (!type.ok) return type.response;
  const parsed = parseBody(request, batchReadBodySchema, context);
  if (!parsed.ok) return parsed.response;
  const { inputs, idProperty, properties = [], propertiesWithHistory } = parsed.body;
  if (propertiesWithHistory && propertiesWithHistory.length > 0 && inputs.length > 50) {
    // Verbatim HubSpot message (activepieces/activepieces#9359).
    return context.errors.validation(
      'The maximum number of inputs supported in a batch request for property histories is 50. Please reduce the number of items and try again',
    );
  }
  const tooMany = tooManyInputs(inputs.length, context.settings.batchSize, context);
  if (tooMany) return tooMany;
  if (idProperty && !isIdProperty(type.objectType, idProperty, context)) {
    return notUniqueIdProperty(type.objectType, idProperty, context);
  }
  const results: unknown[] = [];
  const missing: string[] = [];
  const seen = new Set<string>();
  for (const { id } of inputs) {
    const record = findRecord(type.objectType, id, idProperty, context);
    if (!record) missing.push(id);
    else if (!seen.has(record.id)) {
      seen.add(record.id);
      const presented = presentRecord(record, properties, context);
      if (propertiesWithHistory && propertiesWithHistory.length > 0) {
        presented.propertiesWithHistory = history(record, propertiesWithHistory);
      }
      results.push(presented);
    }
  }
  const errors = missing.length > 0 ? [notFoundRow(type.objectType, missing)] : [];
  return batchResponse(results, errors, 200, startedAt, context.now());
};

const search: HubSpotRouteHandler = (request, context) => {
  const type = objectTypeOf(request.params.objectType, context);
  if (!type.ok) return type.response;
  const parsed = parseBody(request, searchBodySchema, context);
  if (!parsed.ok) return parsed.response;
  const state = context.account.state;
  const outcome = searchRecords(
    state.records(type.objectType).values(),
    parsed.body,
    new Set(state.properties(type.objectType).keys()),
    context.settings.search,
  );
  if (!outcome.ok) return context.errors.validation(outcome.message, [{ message: outcome.message, in: outcome.field }]);
  const body: Record<string, unknown> = {
    total: outcome.total,
    results: outcome.results.map((record) => presentRecord(record, parsed.body.properties ?? [], context)),
  };
  if (outcome.nextAfter !== undefined) {
    body.paging = {
      next: { after: outcome.nextAfter, link: `?after=${outcome.nextAfter}` },
    };
  }
  return { status: 200, body };
};

const createOne: HubSpotRouteHandler = (request, context) => {
  const type = objectTypeOf(request.params.objectType, context);
  if (!type.ok) return type.response;
  const parsed = parseBody(request, createInputSchema, context);
  if (!parsed.ok) return parsed.response;
  const { values, problems } = checkProperties(type.objectType, parsed.body.properties, context);
  problems.push(...missingRequired(type.objectType, values));
  if (problems.length > 0) return context.errors.invalidProperties(problems);
  const invalidType = invalidAssociationType(type.objectType, parsed.body.associations);
  if (invalidType) return context.errors.validation(invalidType);
  const conflict = uniqueConflict(type.objectType, values, undefined, new Map(), context);
  if (conflict) return context.errors.error(409, 'CONFLICT', conflict.message, { context: conflict.context });
  const missingTarget = missingAssociationTarget(type.objectType, parsed.body.associations, context);
  if (missingTarget) return context.errors.validation(missingTarget.message, undefined, missingTarget.context);
  const record = context.account.state.insert(type.objectType, values, context.now());
  applyAssociations(record, parsed.body.associations, context);
  return { status: 201, body: presentRecord(record, 'all', context) };
};

function lookup(request: EmulatorRequest, context: HubSpotRouteContext, objectType: HubSpotObjectType) {
  const idProperty = request.query.get('idProperty') ?? undefined;
  if (idProperty && !isIdProperty(objectType, idProperty, context)) {
    return { response: notUniqueIdProperty(objectType, idProperty, context) };
  }
  const record = findRecord(objectType, request.params.id!, idProperty, context);
  if (!record) {
    return {
      response: context.errors.notFound(
        `Object not found. objectId are usually numeric. (${objectLabel(objectType)} ${request.params.id})`,
      ),
    };
  }
  return { record };
}

const getOne: HubSpotRouteHandler = (request, context) => {
  const type = objectTypeOf(request.params.objectType, context);
  if (!type.ok) return type.response;
  const found = lookup(request, context, type.objectType);
  if (!found.record) return found.response!;
  const body = presentRecord(found.record, requestedProperties(request.query), context);
  const associationTypes = requestedProperties(request.query, 'associations');
  if (associationTypes.length > 0) body.associations = inlineAssociations(found.record, associationTypes, context);
  return { status: 200, body };
};

const updateOne: HubSpotRouteHandler = (request, context) => {
  const type = objectTypeOf(request.params.objectType, context);
  if (!type.ok) return type.response;
  const parsed = parseBody(request, updateSingleInputSchema, context);
  if (!parsed.ok) return parsed.response;
  const found = lookup(request, context, type.objectType);
  if (!found.record) return found.response!;
  const { values, problems } = checkProperties(type.objectType, parsed.body.properties, context);
  if (problems.length > 0) return context.errors.invalidProperties(problems);
  const conflict = uniqueConflict(type.objectType, values, found.record.id, new Map(), context);
  if (conflict) return context.errors.error(409, 'CONFLICT', conflict.message, { context: conflict.context });
  context.account.state.update(found.record, values, context.now());
  return { status: 200, body: presentRecord(found.record, 'all', context) };
};

const listPage: HubSpotRouteHandler = (request, context) => {
  const type = objectTypeOf(request.params.objectType, context);
  if (!type.ok) return type.response;
  const limit = Number(request.query.get('limit') ?? 10);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    return context.errors.validation(`limit must be an integer from 1 to 100, got ${request.query.get('limit')}`);
  }
  const after = request.query.get('after');
  const records = [...context.account.state.records(type.objectType).values()]
    .filter((record) => after === null || Number(record.id) > Number(after))
    .sort((left, right) => Number(left.id) - Number(right.id));
  const page = records.slice(0, limit);
  const body: Record<string, unknown> = {
    results: page.map((record) => presentRecord(record, requestedProperties(request.query), context)),
  };
  if (records.length > limit) {
    const next = page[page.length - 1]!.id;
    body.paging = { next: { after: next, link: `?after=${next}` } };
  }
  return { status: 200, body };
};

const archiveOne: HubSpotRouteHandler = (request, context) => {
  const type = objectTypeOf(request.params.objectType, context);
  if (!type.ok) return type.response;
  context.account.state.records(type.objectType).delete(request.params.id!);
  return { status: 204 };
};

function notFoundRow(objectType: HubSpotObjectType, ids: string[]): HubSpotBatchRowError {
  return batchRowError(
    'OBJECT_NOT_FOUND',
    `Could not get some ${objectLabel(objectType)} objects, they may be deleted or not exist. Check that ids are valid.`,
    { ids },
  );
}

function withTrace(presented: Record<string, unknown>, objectWriteTraceId: string | undefined) {
  if (objectWriteTraceId !== undefined) presented.objectWriteTraceId = objectWriteTraceId;
  return presented;
}

function history(record: HubSpotRecord, names: string[]) {
  const result: Record<string, Array<{ value: string; timestamp: string; sourceType: string }>> = {};
  // The emulator keeps no history: the current value is the only entry.
  for (const name of names) {
    const value = record.properties[name];
    result[name] = value === undefined ? [] : [{ value, timestamp: record.updatedAt, sourceType: 'API' }];
  }
  return result;
}

function inlineAssociations(record: HubSpotRecord, names: string[], context: HubSpotRouteContext) {
  const result: Record<string, { results: Array<{ id: string; type: string }> }> = {};
  for (const name of names) {
    const to = objectTypeOf(name, context);
    if (!to.ok) continue;
    const entries = context.account.state.associationsOf(record.objectType, record.id, to.objectType);
    if (entries.length === 0) continue;
    result[to.objectType] = {
      results: entries.map((entry) => ({
        id: entry.toObjectId,
        type: `${singular(record.objectType)}_to_${singular(to.objectType)}`,
      })),
    };
  }
  return result;
}

function singular(objectType: HubSpotObjectType): string {
  return objectType === 'contacts' ? 'contact' : 'communication';
}

/** The CRM object routes (contacts and communications). */
export const hubSpotObjectRoutes: HubSpotRoute[] = [
  { method: 'POST', pattern: '/crm/v3/objects/:objectType/search', handler: search, search: true },
  { method: 'POST', pattern: '/crm/v3/objects/:objectType/batch/create', handler: batchCreate, records: inputCount },
  { method: 'POST', pattern: '/crm/v3/objects/:objectType/batch/update', handler: batchUpdate, records: inputCount },
  { method: 'POST', pattern: '/crm/v3/objects/:objectType/batch/upsert', handler: batchUpsert, records: inputCount },
  { method: 'POST', pattern: '/crm/v3/objects/:objectType/batch/read', handler: batchRead, records: inputCount },
  { method: 'POST', pattern: '/crm/v3/objects/:objectType', handler: createOne, records: () => 1 },
  { method: 'GET', pattern: '/crm/v3/objects/:objectType', handler: listPage },
  { method: 'GET', pattern: '/crm/v3/objects/:objectType/:id', handler: getOne },
  { method: 'PATCH', pattern: '/crm/v3/objects/:objectType/:id', handler: updateOne, records: () => 1 },
  { method: 'DELETE', pattern: '/crm/v3/objects/:objectType/:id', handler: archiveOne },
];
