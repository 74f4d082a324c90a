/**
 * Contact operations: find by phone (batched `IN` searches, see `hubspot-contact-search.ts`) or BSUID, create
 * with `batch/upsert` on the unique `coexist_whatsapp_id` (a replay updates the same record, `new: false`), and
 * upsert with owner-only-when-none semantics (read, then `batch/update` / `batch/upsert`).
 */
import {
  type ContactFindRequest,
  type ContactFindResult,
  type ContactInput,
  type ContactMatch,
  type CountryCode,
  CRM_NOT_FOUND_CODE,
  CrmPermanentError,
  CrmTransientError,
  type CrmWriteResult,
  isRecentlyNotFound,
  normalizePhone,
  type OperationContext,
  storedPhoneMatches,
} from '@coexist/core';
import { type HubSpotWireRecord, hubSpotBatchResponseSchema, hubSpotSearchResponseSchema } from './hubspot-api.ts';
import {
  buildPhoneSearchRequest,
  chunkPhoneSearch,
  type PhoneSearchItem,
  phoneSearchValues,
} from './hubspot-contact-search.ts';
import { HUBSPOT_CRM, toRowError } from './hubspot-errors.ts';
import { CONTACT_IDENTITY_PROPERTY } from './hubspot-setup.ts';
import type { HubSpotTransport } from './hubspot-transport.ts';
import { CONTACT_READ_PROPERTIES, fromHubSpotContact, toHubSpotContactProperties } from './map-hubspot-contact.ts';

const OBJECTS = '/crm/v3/objects/contacts';
/** Pages of 200 results read per search chunk at most (a phone list matching more is a data problem). */
const MAX_SEARCH_PAGES = 5;

/** What the contact operations need from the adapter. */
export interface HubSpotContactEnvironment {
  transport: HubSpotTransport;
  defaultCountry?: CountryCode;
  /** Current `IN` value cap; halved on a 400. */
  inValues: { current: number };
}

const E164 = /^\+\d{6,17}$/;

const permanent = (message: string, field: string, code?: string): CrmPermanentError =>
  new CrmPermanentError({ crm: HUBSPOT_CRM, message, field, ...(code === undefined ? {} : { code }) });

/** Searches one chunk, following pages. */
async function searchChunk(
  env: HubSpotContactEnvironment,
  chunk: readonly PhoneSearchItem[],
  context: OperationContext,
): Promise<HubSpotWireRecord[]> {
  const records: HubSpotWireRecord[] = [];
  let after: string | undefined;
  for (let page = 0; page < MAX_SEARCH_PAGES; page++) {
    const answer = await env.transport({
      operation: 'findContacts',
      method: 'POST',
      path: `${OBJECTS}/search`,
      search: true,
      context,
      body: buildPhoneSearchRequest(chunk, after),
    });
    const parsed = hubSpotSearchResponseSchema.parse(answer.body ?? {});
    records.push(...parsed.results);
    after = parsed.paging?.next?.after;
    if (after === undefined) break;
  }
  return records;
}

function toMatch(record: HubSpotWireRecord, matchedOn: ContactMatch['matchedOn']): ContactMatch {
  const view = fromHubSpotContact(record);
  return {
    crmId: view.crmId,
    matchedOn,
    objectType: 'contact',
    ...(view.name === undefined ? {} : { name: view.name }),
    ...(view.ownerId === undefined ? {} : { ownerId: view.ownerId }),
  };
}

/** Best first: the record carrying this key as its identity, then the oldest (lowest id). */
function rank(records: HubSpotWireRecord[], key: string): HubSpotWireRecord[] {
  return [...records].sort((left, right) => {
    const leftOwn = left.properties[CONTACT_IDENTITY_PROPERTY] === key ? 0 : 1;
    const rightOwn = right.properties[CONTACT_IDENTITY_PROPERTY] === key ? 0 : 1;
    return leftOwn - rightOwn || Number(left.id) - Number(right.id);
  });
}

/** Finds contacts by phone (many per search request) and BSUID-only requests by identity. */
export async function findHubSpotContacts(
  env: HubSpotContactEnvironment,
  requests: readonly ContactFindRequest[],
  context: OperationContext,
  readIdentities: (keys: string[]) => Promise<Map<string, HubSpotWireRecord>>,
): Promise<ContactFindResult[]> {
  const results: (ContactFindResult | undefined)[] = requests.map(() => undefined);
  const items: PhoneSearchItem[] = [];
  const identityOnly: number[] = [];
  requests.forEach((request, index) => {
    const phone = request.phone ?? (request.waId === undefined ? undefined : normalizePhone(`+${request.waId}`));
    if (phone !== undefined && E164.test(phone)) {
      items.push({ index, request, phone, values: phoneSearchValues(phone) });
    } else if (request.phone !== undefined) {
      const field = `requests[${index}].phone`;
      results[index] = { key: request.key, ok: false, error: permanent(`\`${field}\` is not E.164`, field) };
    } else identityOnly.push(index);
  });

  const found = new Map<number, HubSpotWireRecord[]>();
  let remaining = items;
  while (remaining.length > 0) {
    const chunks = chunkPhoneSearch(remaining, env.inValues.current);
    const chunk = chunks[0]!;
    try {
      const records = await searchChunk(env, chunk, context);
      for (const item of chunk) {
        const matching = records.filter((record) =>
          fromHubSpotContact(record).phones.some((stored) =>
            storedPhoneMatches(stored, item.phone, env.defaultCountry),
          ),
        );
        found.set(item.index, rank(matching, item.request.key));
      }
      remaining = remaining.slice(chunk.length);
    } catch (error) {
      // HubSpot refused the filter size: halve the IN lists and retry, down to one phone per request.
      if (error instanceof CrmPermanentError && error.status === 400 && chunk.length > 1) {
        env.inValues.current = Math.max(1, Math.floor(env.inValues.current / 2));
        continue;
      }
      throw error;
    }
  }
  for (const item of items) {
    results[item.index] = {
      key: item.request.key,
      ok: true,
      matches: (found.get(item.index) ?? []).map((record) => toMatch(record, 'phone')),
    };
  }

  if (identityOnly.length > 0) {
    const byKey = await readIdentities(identityOnly.map((index) => requests[index]!.key));
    for (const index of identityOnly) {
      const request = requests[index]!;
      const record = byKey.get(request.key);
      results[index] = { key: request.key, ok: true, matches: record === undefined ? [] : [toMatch(record, 'userId')] };
    }
  }
  return results.map((result, index) => result ?? { key: requests[index]!.key, ok: true, matches: [] });
}

/** Reads contacts by HubSpot id or by identity (`coexist_whatsapp_id`). */
export async function readHubSpotContacts(
  transport: HubSpotTransport,
  ids: readonly string[],
  idProperty: string | undefined,
  operation: string,
  context: OperationContext,
): Promise<Map<string, HubSpotWireRecord>> {
  const found = new Map<string, HubSpotWireRecord>();
  if (ids.length === 0) return found;
  const answer = await transport({
    operation,
    method: 'POST',
    path: `${OBJECTS}/batch/read`,
    context,
    body: {
      inputs: [...new Set(ids)].map((id) => ({ id })),
      properties: [...CONTACT_READ_PROPERTIES],
      ...(idProperty === undefined ? {} : { idProperty }),
    },
  });
  for (const record of hubSpotBatchResponseSchema.parse(answer.body ?? {}).results) {
    const key = idProperty === undefined ? record.id : record.properties[idProperty];
    if (typeof key === 'string') found.set(key, record);
  }
  return found;
}

function validateContact(contact: ContactInput, index: number, field: string): CrmPermanentError | undefined {
  if (typeof contact.key !== 'string' || contact.key === '')
    return permanent(`\`${field}[${index}].key\` is empty`, `${field}[${index}].key`);
  if (contact.phone !== undefined && !E164.test(contact.phone))
    return permanent(`\`${field}[${index}].phone\` is not E.164`, `${field}[${index}].phone`);
  if (contact.crmId !== undefined && !/^\d+$/.test(contact.crmId))
    return permanent(
      `\`${field}[${index}].crmId\` is not a HubSpot id`,
      `${field}[${index}].crmId`,
      CRM_NOT_FOUND_CODE,
    );
  return undefined;
}

/**
 * Writes contacts. `update: false` (createContacts): upsert by identity, replays answer `created: false`.
 * `update: true` (upsertContacts): existing records (by `crmId` or identity) get the name, an owner only when
 * they have none, the phone only when they have none and the identity when they have none; others are created.
 */
export async function writeHubSpotContacts(
  transport: HubSpotTransport,
  contacts: readonly ContactInput[],
  update: boolean,
  context: OperationContext,
): Promise<CrmWriteResult[]> {
  const operation = update ? 'upsertContacts' : 'createContacts';
  const field = update ? 'contacts' : 'contacts';
  const results: (CrmWriteResult | undefined)[] = contacts.map((contact, index) => {
    const error = validateContact(contact, index, field);
    return error === undefined ? undefined : { key: contact?.key ?? '', ok: false, error };
  });
  const valid = contacts
    .map((contact, index) => ({ contact, index }))
    .filter(({ index }) => results[index] === undefined);

  const existing = new Map<number, HubSpotWireRecord>();
  // An upsert reads the records it may update first; a contact the engine searched for just before and did not
  // find (`notFoundAt`) is created by the upsert on its identity, which a replay cannot duplicate.
  const needsRead = update
    ? valid.filter(({ contact }) => contact.crmId !== undefined || !isRecentlyNotFound(contact))
    : valid.filter(({ contact }) => contact.crmId !== undefined);
  if (needsRead.length > 0) {
    const byId = await readHubSpotContacts(
      transport,
      needsRead.filter(({ contact }) => contact.crmId !== undefined).map(({ contact }) => contact.crmId!),
      undefined,
      operation,
      context,
    );
    const byKey = await readHubSpotContacts(
      transport,
      needsRead.filter(({ contact }) => contact.crmId === undefined).map(({ contact }) => contact.key),
      CONTACT_IDENTITY_PROPERTY,
      operation,
      context,
    );
    for (const { contact, index } of needsRead) {
      const record = contact.crmId === undefined ? byKey.get(contact.key) : byId.get(contact.crmId);
      if (record !== undefined) existing.set(index, record);
      else if (contact.crmId !== undefined) {
        const at = `${field}[${index}].crmId`;
        results[index] = {
          key: contact.key,
          ok: false,
          error: permanent(`${operation}: no HubSpot contact \`${at}\``, at, CRM_NOT_FOUND_CODE),
        };
      }
    }
  }

  // Updates of existing records, one input per record.
  const updates = new Map<string, { properties: Record<string, string>; indexes: number[] }>();
  for (const [index, record] of existing) {
    const contact = contacts[index]!;
    const view = fromHubSpotContact(record);
    const properties = toHubSpotContactProperties(contact, {
      includeOwner: view.ownerId === undefined,
      includeIdentity: view.identity === undefined,
    });
    if (record.properties.phone) delete properties.phone;
    const entry = updates.get(record.id) ?? { properties: {}, indexes: [] };
    Object.assign(entry.properties, properties);
    entry.indexes.push(index);
    updates.set(record.id, entry);
  }
  if (updates.size > 0) {
    const answer = await transport({
      operation,
      method: 'POST',
      path: `${OBJECTS}/batch/update`,
      context,
      body: { inputs: [...updates].map(([id, entry]) => ({ id, properties: entry.properties })) },
    });
    const parsed = hubSpotBatchResponseSchema.parse(answer.body ?? {});
    for (const record of parsed.results) {
      for (const index of updates.get(record.id)?.indexes ?? []) {
        results[index] = { key: contacts[index]!.key, ok: true, crmId: record.id, created: false };
      }
    }
    for (const row of parsed.errors) {
      for (const [id, entry] of updates) {
        if (
          !(row.context?.ids ?? []).includes(id) &&
          !Object.values(row.context ?? {})
            .flat()
            .includes(id)
        )
          continue;
        for (const index of entry.indexes) {
          results[index] = {
            key: contacts[index]!.key,
            ok: false,
            error: toRowError(row, operation, `${field}[${index}]`),
          };
        }
      }
    }
  }

  // Creates (or replays) by identity, one input per key.
  const creates = new Map<string, number[]>();
  for (const { contact, index } of valid) {
    if (results[index] !== undefined || existing.has(index)) continue;
    creates.set(contact.key, [...(creates.get(contact.key) ?? []), index]);
  }
  if (creates.size > 0) {
    const answer = await transport({
      operation,
      method: 'POST',
      path: `${OBJECTS}/batch/upsert`,
      context,
      body: {
        inputs: [...creates].map(([key, indexes]) => ({
          id: key,
          idProperty: CONTACT_IDENTITY_PROPERTY,
          properties: toHubSpotContactProperties(contacts[indexes[0]!]!),
        })),
      },
    });
    const parsed = hubSpotBatchResponseSchema.parse(answer.body ?? {});
    for (const record of parsed.results) {
      const key = record.properties[CONTACT_IDENTITY_PROPERTY];
      for (const [position, index] of (creates.get(key ?? '') ?? []).entries()) {
        // Only the first input of a key can have created the record.
        results[index] = {
          key: contacts[index]!.key,
          ok: true,
          crmId: record.id,
          created: record.new === true && position === 0,
        };
      }
    }
    for (const row of parsed.errors) {
      const keys = [...(row.context?.id ?? []), ...(row.context?.[CONTACT_IDENTITY_PROPERTY] ?? [])];
      for (const key of keys) {
        for (const index of creates.get(key) ?? []) {
          results[index] ??= { key, ok: false, error: toRowError(row, operation, `${field}[${index}]`) };
        }
      }
    }
  }

  return contacts.map(
    (contact, index) =>
      results[index] ?? {
        key: contact.key,
        ok: false,
        error: new CrmTransientError({
          crm: HUBSPOT_CRM,
          field: `${field}[${index}]`,
          message: `${operation}: HubSpot answered no result for \`${field}[${index}]\``,
        }),
      },
  );
}
