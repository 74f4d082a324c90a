import type { CountryCode } from 'libphonenumber-js';
import { createSeededRandom, type SeededRandom } from '../emulator/index.ts';
import {
  builtInProperties,
  type HubSpotObjectType,
  type HubSpotPropertyDefinition,
  searchablePhoneDigits,
} from './hubspot-properties.ts';

/** A stored CRM record. Values are strings, as HubSpot returns them. */
export interface HubSpotRecord {
  id: string;
  objectType: HubSpotObjectType;
  properties: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
}

/** One direction of an association between two records. */
export interface HubSpotAssociation {
  fromObjectType: HubSpotObjectType;
  fromObjectId: string;
  toObjectType: HubSpotObjectType;
  toObjectId: string;
  associationCategory: 'HUBSPOT_DEFINED' | 'USER_DEFINED' | 'INTEGRATOR_DEFINED';
  associationTypeId: number;
}

/**
 * HUBSPOT_DEFINED association types the emulator knows, both directions
 * (https://developers.hubspot.com/docs/api-reference/latest/crm/associations/associations-v4/guide):
 * communication→contact 81, contact→communication 82.
 */
export const HUBSPOT_ASSOCIATION_TYPES: ReadonlyArray<{
  from: HubSpotObjectType;
  to: HubSpotObjectType;
  typeId: number;
  inverseTypeId: number;
}> = [
  { from: 'communications', to: 'contacts', typeId: 81, inverseTypeId: 82 },
  { from: 'contacts', to: 'communications', typeId: 82, inverseTypeId: 81 },
];

/** The default (unlabeled) HUBSPOT_DEFINED association type between two object types, if any. */
export function defaultAssociationType(from: HubSpotObjectType, to: HubSpotObjectType) {
  return HUBSPOT_ASSOCIATION_TYPES.find((type) => type.from === from && type.to === to);
}

/** The data of one HubSpot account (portal): records, property definitions and associations. */
export class HubSpotAccountState {
  /** The account (portal) id. */
  readonly accountId: string;
  /** Contacts by id. */
  readonly contacts = new Map<string, HubSpotRecord>();
  /** Communications by id. */
  readonly communications = new Map<string, HubSpotRecord>();
  readonly #associations = new Map<string, HubSpotAssociation[]>();
  /** Unique-value index: object type → property → folded value → record id. */
  readonly #unique = new Map<HubSpotObjectType, Map<string, Map<string, string>>>();
  readonly #properties = new Map<HubSpotObjectType, Map<string, HubSpotPropertyDefinition>>();
  readonly #seed: string;
  readonly #defaultRegion: CountryCode;
  #random: SeededRandom;
  #lastId = 0;

  /** Creates an empty account whose ids are drawn from `seed`. */
  constructor(accountId: string, seed: number | string, defaultRegion: CountryCode) {
    this.accountId = accountId;
    this.#seed = `${seed}:${accountId}`;
    this.#defaultRegion = defaultRegion;
    this.#random = createSeededRandom(`hubspot-ids:${this.#seed}`);
    this.reset();
  }

  /** The records of an object type. */
  records(objectType: HubSpotObjectType): Map<string, HubSpotRecord> {
    return objectType === 'contacts' ? this.contacts : this.communications;
  }

  /** The property definitions of an object type, built-in and created. */
  properties(objectType: HubSpotObjectType): Map<string, HubSpotPropertyDefinition> {
    return this.#properties.get(objectType)!;
  }

  /** The names of the properties whose values must be unique (`hasUniqueValue`), built-in `email` included. */
  uniquePropertyNames(objectType: HubSpotObjectType): string[] {
    return [...this.properties(objectType).values()]
      .filter((definition) => definition.hasUniqueValue && !definition.archived)
      .map((definition) => definition.name);
  }

  /** The record holding `value` in the unique property `name`, if any (`email` compares case-insensitively). */
  findByUniqueValue(objectType: HubSpotObjectType, name: string, value: string): HubSpotRecord | undefined {
    if (name === 'hs_object_id') return this.records(objectType).get(value);
    const id = this.#uniqueIndex(objectType, name).get(foldUnique(name, value));
    return id === undefined ? undefined : this.records(objectType).get(id);
  }

  /** Adds a property definition (the properties API has validated it). */
  defineProperty(objectType: HubSpotObjectType, definition: HubSpotPropertyDefinition): void {
    this.properties(objectType).set(definition.name, definition);
  }

  /** Every association, one entry per direction. */
  get associations(): HubSpotAssociation[] {
    return [...this.#associations.values()].flat();
  }

  /** A new record id: numeric, increasing, and the same for the same seed and call sequence. */
  nextId(): string {
    this.#lastId += this.#random.int(1, 97);
    return String(this.#lastId);
  }

  /** Stores a new record with the given (already validated) values. */
  insert(objectType: HubSpotObjectType, values: Record<string, string>, now: number): HubSpotRecord {
    const id = this.nextId();
    const timestamp = new Date(now).toISOString();
    const properties: Record<string, string> = {};
    for (const [name, value] of Object.entries(values)) if (value !== '') properties[name] = value;
    properties.hs_object_id = id;
    if (objectType === 'contacts') {
      properties.createdate = timestamp;
      properties.lastmodifieddate = timestamp;
    } else {
      properties.hs_createdate = timestamp;
      properties.hs_lastmodifieddate = timestamp;
    }
    const record: HubSpotRecord = {
      id,
      objectType,
      properties,
      createdAt: timestamp,
      updatedAt: timestamp,
      archived: false,
    };
    this.#calculate(record);
    this.records(objectType).set(id, record);
    this.#index(record, {});
    return record;
  }

  /** Applies (already validated) values to a record; `''` clears a property. */
  update(record: HubSpotRecord, values: Record<string, string>, now: number): HubSpotRecord {
    const timestamp = new Date(now).toISOString();
    const before = { ...record.properties };
    for (const [name, value] of Object.entries(values)) {
      if (value === '') delete record.properties[name];
      else record.properties[name] = value;
    }
    record.updatedAt = timestamp;
    record.properties[record.objectType === 'contacts' ? 'lastmodifieddate' : 'hs_lastmodifieddate'] = timestamp;
    this.#calculate(record);
    this.#index(record, before);
    return record;
  }

  /** Adds an association in both directions, unless it exists. */
  associate(from: HubSpotObjectType, fromId: string, to: HubSpotObjectType, toId: string, typeId: number): void {
    const type = HUBSPOT_ASSOCIATION_TYPES.find((entry) => entry.typeId === typeId);
    const inverseTypeId = type?.inverseTypeId ?? typeId;
    this.#addDirection({
      fromObjectType: from,
      fromObjectId: fromId,
      toObjectType: to,
      toObjectId: toId,
      associationCategory: 'HUBSPOT_DEFINED',
      associationTypeId: typeId,
    });
    this.#addDirection({
      fromObjectType: to,
      fromObjectId: toId,
      toObjectType: from,
      toObjectId: fromId,
      associationCategory: 'HUBSPOT_DEFINED',
      associationTypeId: inverseTypeId,
    });
  }

  /** The associations from one record to records of `to`, ordered by target id. */
  associationsOf(from: HubSpotObjectType, fromId: string, to: HubSpotObjectType): HubSpotAssociation[] {
    return (this.#associations.get(`${from}:${fromId}`) ?? [])
      .filter((entry) => entry.toObjectType === to)
      .sort((left, right) => Number(left.toObjectId) - Number(right.toObjectId));
  }

  /** Empties the account: records, associations, created properties; ids restart from the seed. */
  reset(): void {
    this.contacts.clear();
    this.communications.clear();
    this.#associations.clear();
    this.#unique.clear();
    for (const objectType of ['contacts', 'communications'] as const) {
      this.#properties.set(
        objectType,
        new Map(builtInProperties(objectType).map((definition) => [definition.name, definition])),
      );
    }
    this.#random = createSeededRandom(`hubspot-ids:${this.#seed}`);
    this.#lastId = 10_000_000 + this.#random.int(0, 9_999_999);
  }

  /** A JSON-safe copy of the account's data. */
  snapshot(): HubSpotAccountSnapshot {
    const custom = (objectType: HubSpotObjectType) =>
      [...this.properties(objectType).values()].filter((definition) => !definition.hubspotDefined);
    return {
      accountId: this.accountId,
      contacts: [...this.contacts.values()],
      communications: [...this.communications.values()],
      associations: this.associations,
      customProperties: { contacts: custom('contacts'), communications: custom('communications') },
    };
  }

  #addDirection(association: HubSpotAssociation): void {
    const key = `${association.fromObjectType}:${association.fromObjectId}`;
    let list = this.#associations.get(key);
    if (!list) {
      list = [];
      this.#associations.set(key, list);
    }
    const exists = list.some(
      (entry) =>
        entry.toObjectType === association.toObjectType &&
        entry.toObjectId === association.toObjectId &&
        entry.associationTypeId === association.associationTypeId,
    );
    if (!exists) list.push(association);
  }

  #uniqueIndex(objectType: HubSpotObjectType, name: string): Map<string, string> {
    let byProperty = this.#unique.get(objectType);
    if (!byProperty) {
      byProperty = new Map();
      this.#unique.set(objectType, byProperty);
    }
    let index = byProperty.get(name);
    if (!index) {
      index = new Map();
      byProperty.set(name, index);
    }
    return index;
  }

  #index(record: HubSpotRecord, before: Record<string, string>): void {
    for (const name of this.uniquePropertyNames(record.objectType)) {
      const index = this.#uniqueIndex(record.objectType, name);
      const previous = before[name];
      const current = record.properties[name];
      if (previous === current) continue;
      if (previous) index.delete(foldUnique(name, previous));
      if (current) index.set(foldUnique(name, current), record.id);
    }
  }

  #calculate(record: HubSpotRecord): void {
    if (record.objectType !== 'contacts') return;
    const pairs = [
      ['phone', 'hs_searchable_calculated_phone_number'],
      ['mobilephone', 'hs_searchable_calculated_mobile_number'],
    ] as const;
    for (const [source, target] of pairs) {
      const phone = record.properties[source];
      if (phone) record.properties[target] = searchablePhoneDigits(phone, this.#defaultRegion);
      else delete record.properties[target];
    }
  }
}

/** What `/__admin/state` shows of one account. */
export interface HubSpotAccountSnapshot {
  accountId: string;
  contacts: HubSpotRecord[];
  communications: HubSpotRecord[];
  associations: HubSpotAssociation[];
  customProperties: Record<HubSpotObjectType, HubSpotPropertyDefinition[]>;
}

function foldUnique(name: string, value: string): string {
  return name === 'email' ? value.toLowerCase() : value;
}
