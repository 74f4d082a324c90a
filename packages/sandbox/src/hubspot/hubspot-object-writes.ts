import { batchRowError, type HubSpotBatchRowError, type PropertyProblem } from './hubspot-errors.ts';
import {
  type HubSpotObjectType,
  REQUIRED_COMMUNICATION_PROPERTIES,
  validatePropertyValues,
} from './hubspot-properties.ts';
import type { HubSpotRouteContext } from './hubspot-route-context.ts';
import { HUBSPOT_ASSOCIATION_TYPES, type HubSpotRecord } from './hubspot-state.ts';
import type { InlineAssociation, WirePropertyValue } from './hubspot-wire-schemas.ts';

/*
 * The checks every write runs, shared by single and batch routes. Whole-request failures (unknown property,
 * bad value, unknown association type) answer 400 as HubSpot does; per-row failures (a unique value taken, a
 * missing association target, a missing record) become `errors[]` of a 207.
 */

/** Validates and normalizes a write's property values against the account's definitions and owners. */
export function checkProperties(
  objectType: HubSpotObjectType,
  properties: Record<string, WirePropertyValue>,
  context: HubSpotRouteContext,
): { values: Record<string, string>; problems: PropertyProblem[] } {
  return validatePropertyValues(properties, {
    definitions: context.account.state.properties(objectType),
    ownerIds: new Set(context.settings.owners.filter((owner) => !owner.archived).map((owner) => String(owner.id))),
  });
}

/** Properties a new record lacks (communications need channel type, `logged_from` and timestamp). */
export function missingRequired(objectType: HubSpotObjectType, values: Record<string, string>): PropertyProblem[] {
  if (objectType !== 'communications') return [];
  return REQUIRED_COMMUNICATION_PROPERTIES.filter((name) => !values[name]).map((name) => ({
    name,
    error: 'REQUIRED_PROPERTY',
    message: `Property "${name}" is required to create a communication`,
  }));
}

/** Unique values claimed earlier in the same batch: property → value → row marker. */
export type PendingUniqueValues = Map<string, Map<string, string>>;

/** The row error if a write would give a unique property a value another record (or an earlier row) holds. */
export function uniqueConflict(
  objectType: HubSpotObjectType,
  values: Record<string, string>,
  selfId: string | undefined,
  pending: PendingUniqueValues,
  context: HubSpotRouteContext,
): HubSpotBatchRowError | undefined {
  const state = context.account.state;
  for (const name of state.uniquePropertyNames(objectType)) {
    const value = values[name];
    if (!value) continue;
    const folded = name === 'email' ? value.toLowerCase() : value;
    const holder = state.findByUniqueValue(objectType, name, value);
    const claimed = pending.get(name)?.get(folded);
    const existingId = holder && holder.id !== selfId ? holder.id : claimed;
    if (existingId !== undefined) {
      const message =
        name === 'email' && objectType === 'contacts'
          ? `Contact already exists. Existing ID: ${existingId}`
          : `A ${objectType === 'contacts' ? 'contact' : 'communication'} with ${name} "${value}" already exists. Existing ID: ${existingId}`;
      return batchRowError('CONFLICT', message, { [name]: [value], existingId: [existingId] });
    }
  }
  return undefined;
}

/** Records the unique values of a row that passed, so later rows of the batch cannot reuse them. */
export function claimUnique(
  objectType: HubSpotObjectType,
  values: Record<string, string>,
  id: string,
  pending: PendingUniqueValues,
  context: HubSpotRouteContext,
): void {
  for (const name of context.account.state.uniquePropertyNames(objectType)) {
    const value = values[name];
    if (!value) continue;
    let claimed = pending.get(name);
    if (!claimed) {
      claimed = new Map();
      pending.set(name, claimed);
    }
    claimed.set(name === 'email' ? value.toLowerCase() : value, id);
  }
}

/** The first association spec HubSpot would refuse outright (wrong category or a type id not defined for the pair). */
export function invalidAssociationType(
  objectType: HubSpotObjectType,
  associations: InlineAssociation[] | undefined,
): string | undefined {
  for (const association of associations ?? []) {
    for (const type of association.types) {
      const known = HUBSPOT_ASSOCIATION_TYPES.find(
        (entry) => entry.from === objectType && entry.typeId === type.associationTypeId,
      );
      if (!known || type.associationCategory !== 'HUBSPOT_DEFINED') {
        return `${type.associationCategory} association type ${type.associationTypeId} is not valid from ${objectType}; the emulator knows ${HUBSPOT_ASSOCIATION_TYPES.filter(
          (entry) => entry.from === objectType,
        )
          .map((entry) => `HUBSPOT_DEFINED ${entry.typeId} (${entry.from} → ${entry.to})`)
          .join(', ')}`;
      }
    }
  }
  return undefined;
}

/** The row error if an inline association points at a record that does not exist. */
export function missingAssociationTarget(
  objectType: HubSpotObjectType,
  associations: InlineAssociation[] | undefined,
  context: HubSpotRouteContext,
): HubSpotBatchRowError | undefined {
  for (const association of associations ?? []) {
    for (const type of association.types) {
      const known = HUBSPOT_ASSOCIATION_TYPES.find(
        (entry) => entry.from === objectType && entry.typeId === type.associationTypeId,
      )!;
      if (!context.account.state.records(known.to).has(association.to.id)) {
        return batchRowError(
          'VALIDATION_ERROR',
          `One or more associations are invalid: ${known.to} ${association.to.id} does not exist.`,
          { toObjectId: [association.to.id], associationTypeId: [String(type.associationTypeId)] },
          'crm.associations.INVALID_OBJECT_IDS',
        );
      }
    }
  }
  return undefined;
}

/** Stores the inline associations of a created record. */
export function applyAssociations(
  record: HubSpotRecord,
  associations: InlineAssociation[] | undefined,
  context: HubSpotRouteContext,
): void {
  for (const association of associations ?? []) {
    for (const type of association.types) {
      const known = HUBSPOT_ASSOCIATION_TYPES.find(
        (entry) => entry.from === record.objectType && entry.typeId === type.associationTypeId,
      )!;
      context.account.state.associate(record.objectType, record.id, known.to, association.to.id, known.typeId);
    }
  }
}

/** Whether `idProperty` may identify records of the type (`hs_object_id`, or a unique property). */
export function isIdProperty(objectType: HubSpotObjectType, idProperty: string, context: HubSpotRouteContext): boolean {
  return idProperty === 'hs_object_id' || context.account.state.uniquePropertyNames(objectType).includes(idProperty);
}
