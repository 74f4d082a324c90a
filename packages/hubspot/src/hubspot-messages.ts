/**
 * Message writes: each message one native communication, associated inline with its contact in the same
 * `batch/create` call (association type 81, communication → contact, HUBSPOT_DEFINED; crm-apis.md §2.2), and
 * every later change applied to that same record with `batch/update`.
 *
 * Idempotency (crm-apis.md §2.3):
 * - `upsert-by-external-id`: `coexist_message_id` is unique, so HubSpot refuses a second record for a wamid; a
 *   replayed row answers a CONFLICT naming the existing record, which the adapter then updates (`created: false`).
 *   `batch/upsert` itself takes no inline associations (`SimplePublicObjectBatchInputUpsert` has none), hence
 *   create-then-update-on-conflict.
 * - `lookup-before-retry`: HubSpot refused uniqueness; the adapter looks keys up in its id map, then by a search
 *   on `coexist_message_id`, and creates only what neither knows.
 */
import {
  CRM_NOT_FOUND_CODE,
  type CrmError,
  CrmPermanentError,
  CrmTransientError,
  type CrmWriteResult,
  type IdempotencyStrategy,
  type MessageRecord,
  type MessageUpdate,
  type OperationContext,
} from '@coexist/core';
import {
  type HubSpotInlineAssociation,
  type HubSpotRowError,
  type HubSpotWireRecord,
  hubSpotBatchResponseSchema,
  hubSpotSearchResponseSchema,
} from './hubspot-api.ts';
import { HUBSPOT_CRM, toRowError } from './hubspot-errors.ts';
import type { HubSpotMessageIdMap } from './hubspot-message-ids.ts';
import { MESSAGE_ID_PROPERTY } from './hubspot-setup.ts';
import type { HubSpotTransport } from './hubspot-transport.ts';
import {
  applyMessageChange,
  COMMUNICATION_READ_PROPERTIES,
  communicationStateOf,
  communicationStateProperties,
  mergeReplayedState,
  readCommunicationState,
  toHubSpotCommunicationProperties,
} from './map-hubspot-communication.ts';

/** HubSpot-defined association type communication → contact (crm-apis.md §2.2; associations v4 type list). */
export const COMMUNICATION_TO_CONTACT_ASSOCIATION_TYPE = 81;

const OBJECTS = '/crm/v3/objects/communications';

/** What the message writer needs from the adapter. */
export interface HubSpotMessageEnvironment {
  transport: HubSpotTransport;
  idempotency: () => IdempotencyStrategy;
  idMap: HubSpotMessageIdMap;
  ownerFor: (record: MessageRecord) => string | undefined;
}

const permanent = (message: string, field: string, code?: string): CrmPermanentError =>
  new CrmPermanentError({ crm: HUBSPOT_CRM, message, field, ...(code === undefined ? {} : { code }) });

/** Validates a record before any I/O; an invalid one becomes an item failure naming the field. */
function validateRecord(record: MessageRecord, index: number): CrmError | undefined {
  const field = `messages[${index}]`;
  if (typeof record.key !== 'string' || record.key === '')
    return permanent(`\`${field}.key\` is empty`, `${field}.key`);
  if (typeof record.occurredAt !== 'string' || Number.isNaN(Date.parse(record.occurredAt)))
    return permanent(`\`${field}.occurredAt\` is not an ISO time`, `${field}.occurredAt`);
  if (typeof record.contactCrmId !== 'string' || !/^\d+$/.test(record.contactCrmId)) {
    return permanent(
      `\`${field}.contactCrmId\` is not a HubSpot contact id`,
      `${field}.contactCrmId`,
      CRM_NOT_FOUND_CODE,
    );
  }
  return undefined;
}

async function batch(
  env: HubSpotMessageEnvironment,
  action: 'create' | 'read' | 'update',
  body: unknown,
  operation: string,
  context: OperationContext,
) {
  const answer = await env.transport({ operation, method: 'POST', path: `${OBJECTS}/batch/${action}`, body, context });
  return hubSpotBatchResponseSchema.parse(answer.body ?? {});
}

/** Reads communications by HubSpot id or by `coexist_message_id`; returns the found records by the id asked. */
async function readCommunications(
  env: HubSpotMessageEnvironment,
  ids: readonly string[],
  idProperty: string | undefined,
  operation: string,
  context: OperationContext,
): Promise<Map<string, HubSpotWireRecord>> {
  const found = new Map<string, HubSpotWireRecord>();
  if (ids.length === 0) return found;
  const response = await batch(
    env,
    'read',
    {
      inputs: [...new Set(ids)].map((id) => ({ id })),
      properties: [...COMMUNICATION_READ_PROPERTIES],
      ...(idProperty === undefined ? {} : { idProperty }),
    },
    operation,
    context,
  );
  for (const record of response.results) {
    const key = idProperty === undefined ? record.id : record.properties[idProperty];
    if (typeof key === 'string') found.set(key, record);
  }
  return found;
}

/** Finds communications by `coexist_message_id` with a search (look-up-before-retry path). */
async function searchByMessageId(
  env: HubSpotMessageEnvironment,
  keys: readonly string[],
  operation: string,
  context: OperationContext,
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (let start = 0; start < keys.length; start += 100) {
    const values = keys.slice(start, start + 100);
    const answer = await env.transport({
      operation,
      method: 'POST',
      path: `${OBJECTS}/search`,
      search: true,
      context,
      body: {
        filterGroups: [{ filters: [{ propertyName: MESSAGE_ID_PROPERTY, operator: 'IN', values }] }],
        properties: [MESSAGE_ID_PROPERTY],
        limit: 200,
      },
    });
    for (const record of hubSpotSearchResponseSchema.parse(answer.body ?? {}).results) {
      const key = record.properties[MESSAGE_ID_PROPERTY];
      if (typeof key === 'string' && !found.has(key)) found.set(key, record.id);
    }
  }
  return found;
}

/** The input rows a 207 error row refers to (by index, message id, trace id or association target). */
function rowsOfError(
  row: HubSpotRowError,
  records: readonly { record: MessageRecord; index: number }[],
  unresolved: Set<number>,
): number[] {
  const context = row.context ?? {};
  const byIndex = (context.inputIndex ?? []).map(Number).filter((index) => Number.isInteger(index));
  if (byIndex.length > 0)
    return byIndex.map((position) => records[position]?.index ?? -1).filter((index) => index >= 0);
  const keys = new Set([...(context[MESSAGE_ID_PROPERTY] ?? []), ...(context.objectWriteTraceId ?? [])]);
  if (keys.size > 0) return records.filter(({ record }) => keys.has(record.key)).map(({ index }) => index);
  const contacts = new Set(context.toObjectId ?? []);
  if (contacts.size > 0) {
    return records
      .filter(({ record, index }) => unresolved.has(index) && contacts.has(record.contactCrmId))
      .map(({ index }) => index);
  }
  return [];
}

/** The existing record a CONFLICT on `coexist_message_id` names, when it names one. */
function existingIdOf(row: HubSpotRowError): string | undefined {
  return row.context?.existingId?.[0] ?? /Existing ID: (\d+)/i.exec(row.message)?.[1];
}

function isMessageIdConflict(row: HubSpotRowError): boolean {
  return (
    row.category === 'CONFLICT' ||
    (row.context?.[MESSAGE_ID_PROPERTY] !== undefined && /already exists/i.test(row.message))
  );
}

/** One `batch/create` of communications, each associated inline with its contact. */
function createCommunications(
  env: HubSpotMessageEnvironment,
  inputs: readonly { record: MessageRecord; index: number }[],
  operation: string,
  context: OperationContext,
) {
  return batch(
    env,
    'create',
    {
      inputs: inputs.map(({ record }) => ({
        properties: toHubSpotCommunicationProperties(record, withOwner(env.ownerFor(record))),
        associations: [
          {
            to: { id: record.contactCrmId },
            types: [
              {
                associationCategory: 'HUBSPOT_DEFINED',
                associationTypeId: COMMUNICATION_TO_CONTACT_ASSOCIATION_TYPE,
              },
            ],
          },
        ] satisfies HubSpotInlineAssociation[],
        objectWriteTraceId: record.key,
      })),
    },
    operation,
    context,
  );
}

/** Whether a whole call was refused for a unique value another record holds (HTTP 409, category CONFLICT). */
function isConflict(error: unknown): boolean {
  return error instanceof CrmPermanentError && error.status === 409 && error.code === 'CONFLICT';
}

/** Writes records (already validated against the batch size); one result per record, in order. */
export async function writeHubSpotMessages(
  env: HubSpotMessageEnvironment,
  records: readonly MessageRecord[],
  context: OperationContext,
): Promise<CrmWriteResult[]> {
  const operation = 'writeMessages';
  const results: (CrmWriteResult | undefined)[] = records.map((record, index) => {
    const error = validateRecord(record, index);
    return error === undefined ? undefined : { key: record?.key ?? '', ok: false, error };
  });
  const pending = records
    .map((record, index) => ({ record, index }))
    .filter(({ index }) => results[index] === undefined);
  /** Existing records to bring up to the replayed state: index → HubSpot id (or undefined: look up by key). */
  const replays = new Map<number, string | undefined>();

  let toCreate = pending;
  if (env.idempotency() === 'lookup-before-retry' && pending.length > 0) {
    const keys = pending.map(({ record }) => record.key);
    const known = new Map(await env.idMap.get(keys));
    const unknown = keys.filter((key) => !known.has(key));
    for (const [key, id] of await searchByMessageId(env, unknown, operation, context)) known.set(key, id);
    for (const { record, index } of pending) {
      const id = known.get(record.key);
      if (id !== undefined) replays.set(index, id);
    }
    toCreate = pending.filter(({ index }) => !replays.has(index));
  }

  if (toCreate.length > 0) {
    let response: Awaited<ReturnType<typeof batch>>;
    try {
      response = await createCommunications(env, toCreate, operation, context);
    } catch (error) {
      // HubSpot refuses a whole `batch/create` when one input's unique `coexist_message_id` exists (a batch resent
      // after a crash), naming the first conflict only: every key of the batch is read back, those found are
      // brought up to date as replays, and the rest created.
      if (!isConflict(error)) throw error;
      const stored = await readCommunications(
        env,
        toCreate.map(({ record }) => record.key),
        MESSAGE_ID_PROPERTY,
        operation,
        context,
      );
      for (const { record, index } of toCreate) {
        const found = stored.get(record.key);
        if (found !== undefined) replays.set(index, found.id);
      }
      toCreate = toCreate.filter(({ index }) => !replays.has(index));
      response =
        toCreate.length === 0
          ? { results: [], errors: [] }
          : await createCommunications(env, toCreate, operation, context).catch((again: unknown) => {
              // Another writer created one of them meanwhile: the engine retries the batch.
              throw isConflict(again)
                ? new CrmTransientError({
                    crm: HUBSPOT_CRM,
                    message: `${operation}: a message of the batch was created concurrently; retry`,
                    cause: again,
                  })
                : again;
            });
    }
    const indexByKey = new Map(toCreate.map(({ record, index }) => [record.key, index]));
    const written: [string, string][] = [];
    for (const created of response.results) {
      const key = created.properties[MESSAGE_ID_PROPERTY] ?? created.objectWriteTraceId;
      const index = key === null || key === undefined ? undefined : indexByKey.get(key);
      if (index === undefined || results[index] !== undefined) continue;
      results[index] = { key: records[index]!.key, ok: true, crmId: created.id, created: true };
      written.push([records[index]!.key, created.id]);
    }
    const unresolved = new Set(toCreate.map(({ index }) => index).filter((index) => results[index] === undefined));
    for (const row of response.errors) {
      for (const index of rowsOfError(row, toCreate, unresolved)) {
        if (results[index] !== undefined || replays.has(index)) continue;
        if (isMessageIdConflict(row)) replays.set(index, existingIdOf(row));
        else {
          const field =
            row.context?.toObjectId === undefined ? `messages[${index}]` : `messages[${index}].contactCrmId`;
          results[index] = { key: records[index]!.key, ok: false, error: toRowError(row, operation, field) };
        }
        unresolved.delete(index);
      }
    }
    if (written.length > 0) await env.idMap.set(written);
  }

  if (replays.size > 0) await updateReplays(env, records, replays, results, context);

  return records.map(
    (record, index) =>
      results[index] ?? {
        key: record.key,
        ok: false,
        error: new CrmTransientError({
          crm: HUBSPOT_CRM,
          field: `messages[${index}]`,
          message: `${operation}: HubSpot answered no result for \`messages[${index}]\``,
        }),
      },
  );
}

const withOwner = (ownerId: string | undefined) => (ownerId === undefined ? {} : { ownerId });

/** Brings existing records up to the replayed state (status never backwards) and answers `created: false`. */
async function updateReplays(
  env: HubSpotMessageEnvironment,
  records: readonly MessageRecord[],
  replays: Map<number, string | undefined>,
  results: (CrmWriteResult | undefined)[],
  context: OperationContext,
): Promise<void> {
  const operation = 'writeMessages';
  const byId = [...replays.values()].filter((id): id is string => id !== undefined);
  const byKey = [...replays.entries()].filter(([, id]) => id === undefined).map(([index]) => records[index]!.key);
  const storedById = await readCommunications(env, byId, undefined, operation, context);
  const storedByKey = await readCommunications(env, byKey, MESSAGE_ID_PROPERTY, operation, context);
  const inputs: { id: string; properties: Record<string, string> }[] = [];
  const indexesById = new Map<string, number[]>();
  for (const [index, id] of replays) {
    const record = records[index]!;
    const stored = id === undefined ? storedByKey.get(record.key) : storedById.get(id);
    if (stored === undefined) {
      results[index] = {
        key: record.key,
        ok: false,
        error: new CrmTransientError({
          crm: HUBSPOT_CRM,
          field: `messages[${index}]`,
          message: `${operation}: \`messages[${index}]\` exists in HubSpot but could not be read back`,
        }),
      };
      continue;
    }
    const merged = mergeReplayedState(readCommunicationState(stored.properties), communicationStateOf(record));
    const list = indexesById.get(stored.id) ?? [];
    list.push(index);
    if (list.length === 1) {
      inputs.push({
        id: stored.id,
        properties: { hs_timestamp: record.occurredAt, ...communicationStateProperties(merged) },
      });
    }
    indexesById.set(stored.id, list);
  }
  if (inputs.length === 0) return;
  const response = await batch(env, 'update', { inputs }, operation, context);
  for (const updated of response.results) {
    for (const index of indexesById.get(updated.id) ?? []) {
      results[index] = { key: records[index]!.key, ok: true, crmId: updated.id, created: false };
    }
  }
  for (const row of response.errors) {
    for (const id of row.context?.ids ?? []) {
      for (const index of indexesById.get(id) ?? []) {
        results[index] = {
          key: records[index]!.key,
          ok: false,
          error: toRowError(row, operation, `messages[${index}]`),
        };
      }
    }
  }
  await env.idMap.set(
    [...indexesById.entries()].flatMap(([id, indexes]) => indexes.map((index) => [records[index]!.key, id] as const)),
  );
}

/** Applies updates to written messages; an unknown target is a `not_found` item failure. */
export async function updateHubSpotMessages(
  env: HubSpotMessageEnvironment,
  updates: readonly MessageUpdate[],
  context: OperationContext,
): Promise<CrmWriteResult[]> {
  const operation = 'updateMessages';
  const results: (CrmWriteResult | undefined)[] = updates.map(() => undefined);
  const withId = updates.filter((update) => update.crmId !== undefined).map((update) => update.crmId!);
  let withoutId = updates.filter((update) => update.crmId === undefined).map((update) => update.messageKey);
  const idsByKey = new Map<string, string>();
  if (env.idempotency() === 'lookup-before-retry' && withoutId.length > 0) {
    for (const [key, id] of await env.idMap.get(withoutId)) idsByKey.set(key, id);
    const unknown = withoutId.filter((key) => !idsByKey.has(key));
    for (const [key, id] of await searchByMessageId(env, unknown, operation, context)) idsByKey.set(key, id);
    withoutId = [];
  }
  const storedById = await readCommunications(env, [...withId, ...idsByKey.values()], undefined, operation, context);
  const storedByKey = await readCommunications(env, withoutId, MESSAGE_ID_PROPERTY, operation, context);

  // Fold every change of one record, in order, into one update input.
  const states = new Map<string, ReturnType<typeof readCommunicationState>>();
  const indexesById = new Map<string, number[]>();
  updates.forEach((update, index) => {
    const id = update.crmId ?? idsByKey.get(update.messageKey);
    const stored = id === undefined ? storedByKey.get(update.messageKey) : storedById.get(id);
    if (stored === undefined) {
      const field = `updates[${index}].${update.crmId === undefined ? 'messageKey' : 'crmId'}`;
      results[index] = {
        key: update.key,
        ok: false,
        error: permanent(`${operation}: no communication for \`${field}\``, field, CRM_NOT_FOUND_CODE),
      };
      return;
    }
    const state = states.get(stored.id) ?? readCommunicationState(stored.properties);
    states.set(stored.id, applyMessageChange(state, update.change));
    indexesById.set(stored.id, [...(indexesById.get(stored.id) ?? []), index]);
  });
  if (states.size > 0) {
    const response = await batch(
      env,
      'update',
      { inputs: [...states].map(([id, state]) => ({ id, properties: communicationStateProperties(state) })) },
      operation,
      context,
    );
    for (const updated of response.results) {
      for (const index of indexesById.get(updated.id) ?? []) {
        results[index] = { key: updates[index]!.key, ok: true, crmId: updated.id, created: false };
      }
    }
    for (const row of response.errors) {
      for (const id of row.context?.ids ?? []) {
        for (const index of indexesById.get(id) ?? []) {
          results[index] = {
            key: updates[index]!.key,
            ok: false,
            error: toRowError(row, operation, `updates[${index}]`),
          };
        }
      }
    }
  }
  return updates.map(
    (update, index) =>
      results[index] ?? {
        key: update.key,
        ok: false,
        error: new CrmTransientError({
          crm: HUBSPOT_CRM,
          field: `updates[${index}]`,
          message: `${operation}: HubSpot answered no result for \`updates[${index}]\``,
        }),
      },
  );
}
