import type { EmulatorResponse } from '../emulator/index.ts';
import { batchRowError, type HubSpotBatchRowError } from './hubspot-errors.ts';
import type { HubSpotRoute } from './hubspot-object-routes.ts';
import type { HubSpotObjectType } from './hubspot-properties.ts';
import {
  batchResponse,
  type HubSpotRouteContext,
  type HubSpotRouteHandler,
  objectLabel,
  objectTypeOf,
  parseBody,
} from './hubspot-route-context.ts';
import { defaultAssociationType, type HubSpotAssociation } from './hubspot-state.ts';
import { associationsBatchReadBodySchema } from './hubspot-wire-schemas.ts';

/*
 * Associations v4 (https://developers.hubspot.com/docs/api-reference/latest/crm/associations/associations-v4/guide).
 * Shapes per `@hubspot/api-client` 14 (`codegen/crm/associations/v4/models`). `toObjectId` is sent as a number, as
 * HubSpot's v4 examples show [inferred]; the client's model types it as string but passes the number through.
 */

function groupByTarget(entries: HubSpotAssociation[]) {
  const byTarget = new Map<string, HubSpotAssociation[]>();
  for (const entry of entries) {
    const list = byTarget.get(entry.toObjectId) ?? [];
    list.push(entry);
    byTarget.set(entry.toObjectId, list);
  }
  return [...byTarget.entries()].map(([toObjectId, types]) => ({
    toObjectId: Number(toObjectId),
    associationTypes: types.map((type) => ({
      category: type.associationCategory,
      typeId: type.associationTypeId,
      label: null,
    })),
  }));
}

function pairOf(
  fromName: string | undefined,
  toName: string | undefined,
  context: HubSpotRouteContext,
): { ok: true; from: HubSpotObjectType; to: HubSpotObjectType } | { ok: false; response: EmulatorResponse } {
  const from = objectTypeOf(fromName, context);
  if (!from.ok) return from;
  const to = objectTypeOf(toName, context);
  if (!to.ok) return to;
  return { ok: true, from: from.objectType, to: to.objectType };
}

const createDefault: HubSpotRouteHandler = (request, context) => {
  const startedAt = context.now();
  const pair = pairOf(request.params.fromObjectType, request.params.toObjectType, context);
  if (!pair.ok) return pair.response;
  const type = defaultAssociationType(pair.from, pair.to);
  if (!type) {
    return context.errors.validation(`No default association type exists between ${pair.from} and ${pair.to}.`);
  }
  const { fromObjectId, toObjectId } = request.params as { fromObjectId: string; toObjectId: string };
  const state = context.account.state;
  for (const [objectType, id] of [
    [pair.from, fromObjectId],
    [pair.to, toObjectId],
  ] as const) {
    if (!state.records(objectType).has(id)) {
      return context.errors.notFound(`${objectLabel(objectType)} ${id} does not exist; cannot associate it.`);
    }
  }
  state.associate(pair.from, fromObjectId, pair.to, toObjectId, type.typeId);
  const spec = (typeId: number) => ({ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: typeId });
  return batchResponse(
    [
      { from: { id: fromObjectId }, to: { id: toObjectId }, associationSpec: spec(type.typeId) },
      { from: { id: toObjectId }, to: { id: fromObjectId }, associationSpec: spec(type.inverseTypeId) },
    ],
    [],
    200,
    startedAt,
    context.now(),
  );
};

const listAssociations: HubSpotRouteHandler = (request, context) => {
  const pair = pairOf(request.params.objectType, request.params.toObjectType, context);
  if (!pair.ok) return pair.response;
  const limit = Number(request.query.get('limit') ?? 500);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
    return context.errors.validation(`limit must be an integer from 1 to 500, got ${request.query.get('limit')}`);
  }
  const grouped = groupByTarget(context.account.state.associationsOf(pair.from, request.params.objectId!, pair.to));
  const offset = Number(request.query.get('after') ?? 0) || 0;
  const body: Record<string, unknown> = { results: grouped.slice(offset, offset + limit) };
  if (offset + limit < grouped.length) {
    body.paging = { next: { after: String(offset + limit), link: `?after=${offset + limit}` } };
  }
  return { status: 200, body };
};

const batchRead: HubSpotRouteHandler = (request, context) => {
  const startedAt = context.now();
  const pair = pairOf(request.params.fromObjectType, request.params.toObjectType, context);
  if (!pair.ok) return pair.response;
  const parsed = parseBody(request, associationsBatchReadBodySchema, context);
  if (!parsed.ok) return parsed.response;
  const { inputs } = parsed.body;
  const limit = context.settings.associationBatchSize;
  if (inputs.length > limit) {
    return context.errors.validation(
      `The maximum number of inputs supported in a batch request is ${limit}. Please reduce the number of items and try again`,
    );
  }
  const results: unknown[] = [];
  const errors: HubSpotBatchRowError[] = [];
  for (const { id } of inputs) {
    const grouped = groupByTarget(context.account.state.associationsOf(pair.from, id, pair.to));
    if (grouped.length === 0) {
      // [inferred] HubSpot reports ids without associations as per-row errors of a 207.
      errors.push(
        batchRowError(
          'OBJECT_NOT_FOUND',
          `No ${pair.to} is associated with ${objectLabel(pair.from).toLowerCase()} ${id}.`,
          { fromObjectId: [id] },
          'crm.associations.NO_ASSOCIATIONS_FOUND',
        ),
      );
      continue;
    }
    results.push({ from: { id }, to: grouped });
  }
  return batchResponse(results, errors, 200, startedAt, context.now());
};

/** The associations v4 routes. */
export const hubSpotAssociationRoutes: HubSpotRoute[] = [
  {
    method: 'PUT',
    pattern: '/crm/v4/objects/:fromObjectType/:fromObjectId/associations/default/:toObjectType/:toObjectId',
    handler: createDefault,
  },
  {
    method: 'GET',
    pattern: '/crm/v4/objects/:objectType/:objectId/associations/:toObjectType',
    handler: listAssociations,
  },
  {
    method: 'POST',
    pattern: '/crm/v4/associations/:fromObjectType/:toObjectType/batch/read',
    handler: batchRead,
    records: (request) => {
      const inputs = (request.body as { inputs?: unknown } | undefined)?.inputs;
      return Array.isArray(inputs) ? inputs.length : 0;
    },
  },
];
