/**
 * The records of the emulated org and the write rules Salesforce applies to them: unknown fields, read-only fields,
 * required fields, unique and External ID fields, lookups (by id or by a parent's External ID), defaults,
 * auto-numbers and audit fields. Every write answers like a Salesforce `SaveResult`; `atomically` rolls a group
 * of writes back, as an `allOrNone` request does.
 */
import { coerceFieldValue, formatSalesforceDateTime, type SalesforceRecordError } from './salesforce-field-values.ts';
import { createSalesforceIdGenerator, isSalesforceIdShape, type SalesforceIdGenerator } from './salesforce-ids.ts';
import {
  type SalesforceFieldDefinition,
  type SalesforceObjectDefinition,
  salesforceObjectDefinitions,
} from './salesforce-schema.ts';

export type { SalesforceRecordError } from './salesforce-field-values.ts';

/** A stored record: canonical field names to values, `Id` included. */
export type SalesforceRecord = Record<string, unknown>;

/** The outcome of one write, shaped like Salesforce's `SaveResult` / `UpsertResult`. */
export type SalesforceWriteResult =
  | { success: true; id: string; created: boolean; errors: [] }
  | { success: false; errors: SalesforceRecordError[] };

/** A user the org starts with. */
export interface SalesforceUserSeed {
  Username: string;
  LastName: string;
  Email: string;
  FirstName?: string;
  Phone?: string;
  MobilePhone?: string;
  /** A fixed id; a seeded one otherwise. */
  Id?: string;
}

/** Options of the org state. */
export interface SalesforceStateOptions {
  /** Seed of the generated ids. @default 1 */
  seed?: number | string;
  /** The clock (epoch ms) used for audit fields. @default Date.now */
  now?: () => number;
  /** Users the org starts with; the first one owns and creates records. @default one admin user */
  users?: readonly SalesforceUserSeed[];
  /** Extra object definitions, added to (or replacing by name) the built-in ones. */
  objects?: readonly SalesforceObjectDefinition[];
}

/** A unique value held by more than one record. */
export interface SalesforceDuplicate {
  value: string;
  ids: string[];
}

interface ObjectStore {
  definition: SalesforceObjectDefinition;
  fields: Map<string, SalesforceFieldDefinition>;
  relationships: Map<string, SalesforceFieldDefinition>;
  records: Map<string, SalesforceRecord>;
  /** Per indexed field (External ID or Unique): normalized value → ids. */
  indexes: Map<string, Map<string, Set<string>>>;
  /** Creation order of every id ever stored, so index look-ups answer in the order a scan would. */
  positions: Map<string, number>;
  autoNumber: number;
}

const defaultUser: SalesforceUserSeed = {
  Username: 'admin@coexist.emulator',
  FirstName: 'Emulator',
  LastName: 'Admin',
  Email: 'admin@coexist.emulator',
};

/** Writes that fail with one error. */
function failure(statusCode: string, message: string, fields: string[] = []): SalesforceWriteResult {
  return { success: false, errors: [{ statusCode, message, fields }] };
}

/** The in-memory org: object definitions and records, with Salesforce's write rules. */
export class SalesforceState {
  readonly #options: SalesforceStateOptions;
  readonly #now: () => number;
  #objects = new Map<string, ObjectStore>();
  #ids: SalesforceIdGenerator;
  #undo: Array<() => void> | undefined;
  #extraDefinitions: SalesforceObjectDefinition[] = [];
  #defaultUserId = '';

  /** Creates the org with the built-in objects and its users. */
  constructor(options: SalesforceStateOptions = {}) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#ids = createSalesforceIdGenerator(options.seed ?? 1);
    this.#extraDefinitions = [...(options.objects ?? [])];
    this.reset();
  }

  /** The id of the user that owns and creates records written through the API. */
  get defaultUserId(): string {
    return this.#defaultUserId;
  }

  /** Empties the org back to its initial objects and users (ids repeat, as the generator is reseeded). */
  reset(): void {
    this.#objects = new Map();
    this.#ids = createSalesforceIdGenerator(this.#options.seed ?? 1);
    for (const definition of salesforceObjectDefinitions) this.#addObject(definition);
    for (const definition of this.#extraDefinitions) this.#addObject(definition);
    const users = this.#options.users && this.#options.users.length > 0 ? this.#options.users : [defaultUser];
    this.#defaultUserId = '';
    for (const [index, user] of users.entries()) {
      const { Id, ...fields } = user;
      const result = this.create('User', fields, { id: Id });
      if (!result.success) {
        throw new Error(`[coexist/sandbox] Salesforce users[${index}] is invalid: ${result.errors[0]!.message}`);
      }
      if (index === 0) this.#defaultUserId = result.id;
    }
  }

  /** Adds a custom object (or replaces one of the same name); it survives `reset()`. */
  registerObject(definition: SalesforceObjectDefinition): void {
    const prefixTaken = [...this.#objects.values()].find(
      (store) => store.definition.keyPrefix === definition.keyPrefix && store.definition.name !== definition.name,
    );
    if (prefixTaken) {
      throw new Error(
        `[coexist/sandbox] registerObject: keyPrefix "${definition.keyPrefix}" is already used by ${prefixTaken.definition.name}`,
      );
    }
    this.#extraDefinitions = [
      ...this.#extraDefinitions.filter((existing) => existing.name !== definition.name),
      definition,
    ];
    this.#addObject(definition);
  }

  /** Adds a field to an existing object (a custom field on a standard object, say); it survives `reset()`. */
  registerField(objectName: string, field: SalesforceFieldDefinition): void {
    const store = this.#store(objectName);
    if (!store) throw new Error(`[coexist/sandbox] registerField: unknown object "${objectName}"`);
    if (store.fields.has(field.name.toLowerCase())) {
      throw new Error(`[coexist/sandbox] registerField: ${store.definition.name}.${field.name} already exists`);
    }
    const definition = { ...store.definition, fields: [...store.definition.fields, field] };
    this.#extraDefinitions = [
      ...this.#extraDefinitions.filter((existing) => existing.name !== definition.name),
      definition,
    ];
    const records = store.records;
    this.#addObject(definition);
    const replaced = this.#store(objectName)!;
    for (const [id, record] of records) {
      replaced.records.set(id, record);
      replaced.positions.set(id, replaced.positions.size);
      this.#index(replaced, record, true);
    }
    replaced.autoNumber = store.autoNumber;
  }

  /** The definitions of every object, in registration order. */
  get definitions(): SalesforceObjectDefinition[] {
    return [...this.#objects.values()].map((store) => store.definition);
  }

  /** An object's definition by API name (case-insensitive), or `undefined`. */
  definition(objectName: string): SalesforceObjectDefinition | undefined {
    return this.#store(objectName)?.definition;
  }

  /** A field's definition by API name (case-insensitive), or `undefined`. */
  field(objectName: string, fieldName: string): SalesforceFieldDefinition | undefined {
    return this.#store(objectName)?.fields.get(fieldName.toLowerCase());
  }

  /** The reference field whose relationship name (`Conversation__r`, `Account`) is given, or `undefined`. */
  relationship(objectName: string, relationshipName: string): SalesforceFieldDefinition | undefined {
    return this.#store(objectName)?.relationships.get(relationshipName.toLowerCase());
  }

  /** The object an id belongs to, by its key prefix. */
  objectOfId(id: string): SalesforceObjectDefinition | undefined {
    const prefix = id.slice(0, 3);
    return [...this.#objects.values()].find((store) => store.definition.keyPrefix === prefix)?.definition;
  }

  /** Copies of an object's records, in creation order. */
  records(objectName: string): SalesforceRecord[] {
    const store = this.#store(objectName);
    if (!store) throw new Error(`[coexist/sandbox] records: unknown object "${objectName}"`);
    return [...store.records.values()].map((record) => ({ ...record }));
  }

  /** The live records of an object, in creation order (read-only use: queries). */
  *scan(objectName: string): Iterable<SalesforceRecord> {
    const store = this.#store(objectName);
    if (store) yield* store.records.values();
  }

  /** How many records an object holds. */
  count(objectName: string): number {
    return this.#store(objectName)?.records.size ?? 0;
  }

  /** A copy of one record by 15- or 18-character id, or `undefined`. */
  get(objectName: string, id: string): SalesforceRecord | undefined {
    const store = this.#store(objectName);
    const key = store ? this.#resolveId(store, id) : undefined;
    return key ? { ...store!.records.get(key)! } : undefined;
  }

  /** The live record of an id of any object (read-only use), or `undefined`. */
  lookup(id: string): SalesforceRecord | undefined {
    const definition = this.objectOfId(id);
    const store = definition ? this.#store(definition.name) : undefined;
    const key = store ? this.#resolveId(store, id) : undefined;
    return key ? store!.records.get(key) : undefined;
  }

  /** Ids of the records whose External ID or Unique field holds the value (case-insensitive). */
  findByField(objectName: string, fieldName: string, value: unknown): string[] {
    const store = this.#store(objectName);
    const field = store?.fields.get(fieldName.toLowerCase());
    if (!store || !field) return [];
    if (field.name === 'Id') {
      const id = typeof value === 'string' ? this.#resolveId(store, value) : undefined;
      return id ? [id] : [];
    }
    const index = store.indexes.get(field.name);
    if (index) return [...(index.get(indexKey(value)) ?? [])];
    return [...store.records.values()]
      .filter((record) => indexKey(record[field.name]) === indexKey(value))
      .map((record) => record.Id as string);
  }

  /**
   * The live records whose `Id` or indexed field (External ID or Unique) equals one of `values`
   * (case-insensitive), in creation order; `undefined` when the field has no index. Read-only use: queries, which
   * real Salesforce also serves from these fields' indexes instead of a scan.
   */
  indexedRecords(objectName: string, fieldName: string, values: readonly unknown[]): SalesforceRecord[] | undefined {
    const store = this.#store(objectName);
    const field = store?.fields.get(fieldName.toLowerCase());
    if (!store || !field) return undefined;
    const ids = new Set<string>();
    if (field.name === 'Id') {
      for (const value of values) {
        const id = typeof value === 'string' ? this.#resolveId(store, value) : undefined;
        if (id !== undefined) ids.add(id);
      }
    } else {
      const index = store.indexes.get(field.name);
      if (!index) return undefined;
      for (const value of values) for (const id of index.get(indexKey(value)) ?? []) ids.add(id);
    }
    return [...ids]
      .sort((left, right) => store.positions.get(left)! - store.positions.get(right)!)
      .map((id) => store.records.get(id)!);
  }

  /** Values of a field held by more than one record (e.g. duplicated `Message_Id__c`), with their ids. */
  duplicates(objectName: string, fieldName: string): SalesforceDuplicate[] {
    const store = this.#store(objectName);
    const field = store?.fields.get(fieldName.toLowerCase());
    if (!store || !field) throw new Error(`[coexist/sandbox] duplicates: unknown field ${objectName}.${fieldName}`);
    const groups = new Map<string, { value: string; ids: string[] }>();
    for (const record of store.records.values()) {
      const value = record[field.name];
      if (value === null || value === undefined) continue;
      const key = indexKey(value);
      const group = groups.get(key) ?? { value: String(value), ids: [] };
      group.ids.push(record.Id as string);
      groups.set(key, group);
    }
    return [...groups.values()].filter((group) => group.ids.length > 1);
  }

  /** Counts per object, for `/__admin/state`. */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.#objects.values()].map((store) => [store.definition.name, store.records.size]));
  }

  /**
   * Runs writes as one transaction: when `run` returns false (or throws) every write it made is undone. Nested calls
   * (an sObject Collections subrequest inside a Composite request) undo only their own writes; the outer one may
   * still undo everything.
   */
  atomically<T>(run: () => { commit: boolean; value: T }): T {
    const outer = this.#undo;
    const undo: Array<() => void> = [];
    this.#undo = undo;
    let committed = false;
    try {
      const { commit, value } = run();
      committed = commit;
      return value;
    } finally {
      this.#undo = outer;
      if (!committed) for (let index = undo.length - 1; index >= 0; index--) undo[index]!();
      else outer?.push(...undo);
    }
  }

  /** Creates a record, answering like `POST sobjects/{Type}`. */
  create(objectName: string, input: Record<string, unknown>, options: { id?: string } = {}): SalesforceWriteResult {
    const store = this.#store(objectName);
    if (!store) return failure('INVALID_TYPE', `sObject type '${objectName}' is not supported.`);
    if (Object.keys(input).some((key) => key.toLowerCase() === 'id')) {
      return failure('INVALID_FIELD_FOR_INSERT_UPDATE', 'cannot specify Id in an insert call', ['Id']);
    }
    const prepared = this.#prepare(store, input, 'create');
    if (prepared.errors.length > 0) return { success: false, errors: prepared.errors };
    const values = prepared.values;
    for (const field of store.definition.fields) {
      if (values[field.name] !== undefined) continue;
      if (field.defaultValue !== undefined) values[field.name] = field.defaultValue;
      else if (field.type === 'boolean' && (field.createable ?? true)) values[field.name] = false;
    }
    if (
      store.fields.has('ownerid') &&
      (values.OwnerId === undefined || values.OwnerId === null) &&
      this.#defaultUserId
    ) {
      values.OwnerId = this.#defaultUserId;
    }
    const missing = store.definition.fields.filter(
      (field) =>
        field.required &&
        (field.createable ?? true) &&
        (values[field.name] === undefined || values[field.name] === null),
    );
    if (missing.length > 0) {
      const names = missing.map((field) => field.name);
      return failure('REQUIRED_FIELD_MISSING', `Required fields are missing: [${names.join(', ')}]`, names);
    }
    const duplicate = this.#findUniqueConflict(store, values, undefined);
    if (duplicate) return { success: false, errors: [duplicate] };
    const id = options.id ?? this.#ids.next(store.definition.keyPrefix);
    const timestamp = formatSalesforceDateTime(this.#now());
    const record: SalesforceRecord = { Id: id, ...values };
    const nameField = store.fields.get('name');
    if (nameField?.autoNumberFormat) {
      store.autoNumber++;
      record.Name = formatAutoNumber(nameField.autoNumberFormat, store.autoNumber);
    } else if (nameField && !(nameField.createable ?? true)) {
      record.Name = [record.FirstName, record.LastName].filter((part) => typeof part === 'string' && part).join(' ');
    }
    record.IsDeleted = false;
    record.CreatedDate = timestamp;
    record.LastModifiedDate = timestamp;
    record.SystemModstamp = timestamp;
    record.CreatedById = this.#defaultUserId || id;
    record.LastModifiedById = this.#defaultUserId || id;
    this.#put(store, id, record);
    return { success: true, id, created: true, errors: [] };
  }

  /** Updates a record, answering like `PATCH sobjects/{Type}/{id}`. */
  update(objectName: string, id: string, input: Record<string, unknown>): SalesforceWriteResult {
    const store = this.#store(objectName);
    if (!store) return failure('INVALID_TYPE', `sObject type '${objectName}' is not supported.`);
    const key = isSalesforceIdShape(id) ? this.#resolveId(store, id) : undefined;
    if (!key) {
      return isSalesforceIdShape(id) && id.startsWith(store.definition.keyPrefix)
        ? failure('ENTITY_IS_DELETED', 'entity is deleted', [])
        : failure('MALFORMED_ID', `${store.definition.label} ID: id value of incorrect type: ${id}`, ['Id']);
    }
    const withoutId = Object.fromEntries(Object.entries(input).filter(([name]) => name.toLowerCase() !== 'id'));
    const prepared = this.#prepare(store, withoutId, 'update');
    if (prepared.errors.length > 0) return { success: false, errors: prepared.errors };
    const previous = store.records.get(key)!;
    const record: SalesforceRecord = { ...previous, ...prepared.values };
    const cleared = store.definition.fields.filter(
      (field) => field.required && prepared.values[field.name] === null && field.name in prepared.values,
    );
    if (cleared.length > 0) {
      const names = cleared.map((field) => field.name);
      return failure('REQUIRED_FIELD_MISSING', `Required fields are missing: [${names.join(', ')}]`, names);
    }
    const duplicate = this.#findUniqueConflict(store, prepared.values, key);
    if (duplicate) return { success: false, errors: [duplicate] };
    const nameField = store.fields.get('name');
    if (nameField && !nameField.autoNumberFormat && !(nameField.createable ?? true)) {
      record.Name = [record.FirstName, record.LastName].filter((part) => typeof part === 'string' && part).join(' ');
    }
    const timestamp = formatSalesforceDateTime(this.#now());
    record.LastModifiedDate = timestamp;
    record.SystemModstamp = timestamp;
    record.LastModifiedById = this.#defaultUserId || key;
    this.#put(store, key, record);
    return { success: true, id: key, created: false, errors: [] };
  }

  /**
   * Creates or updates by an External ID field, answering like `PATCH sobjects/{Type}/{field}/{value}`:
   * no match creates, one match updates, several fail with `DUPLICATE_EXTERNAL_ID`.
   */
  upsert(
    objectName: string,
    externalIdField: string,
    value: unknown,
    input: Record<string, unknown>,
  ): SalesforceWriteResult {
    const store = this.#store(objectName);
    if (!store) return failure('INVALID_TYPE', `sObject type '${objectName}' is not supported.`);
    const field = store.fields.get(externalIdField.toLowerCase());
    if (!field || !(field.externalId || field.name === 'Id')) {
      return failure(
        'INVALID_FIELD',
        `Field name provided, ${externalIdField} is not an External ID or indexed field for ${store.definition.name}`,
        [externalIdField],
      );
    }
    if (value === undefined || value === null || value === '') {
      return failure('MISSING_ARGUMENT', `${field.name} not specified`, [field.name]);
    }
    const matches = this.findByField(store.definition.name, field.name, value);
    const rest = Object.fromEntries(
      Object.entries(input).filter(([name]) => name.toLowerCase() !== field.name.toLowerCase()),
    );
    if (matches.length > 1) {
      return failure(
        'DUPLICATE_EXTERNAL_ID',
        `${field.name}: more than one record found for external id field: [${matches.join(', ')}]`,
        [field.name],
      );
    }
    if (matches.length === 1) return this.update(store.definition.name, matches[0]!, rest);
    if (field.name === 'Id')
      return failure('NOT_FOUND', 'Provided external ID field does not exist or is not accessible: Id', ['Id']);
    return this.create(store.definition.name, { ...rest, [field.name]: value });
  }

  /** Deletes a record, answering like `DELETE sobjects/{Type}/{id}`. */
  delete(objectName: string, id: string): SalesforceWriteResult {
    const store = this.#store(objectName);
    if (!store) return failure('INVALID_TYPE', `sObject type '${objectName}' is not supported.`);
    const key = isSalesforceIdShape(id) ? this.#resolveId(store, id) : undefined;
    if (!key) return failure('ENTITY_IS_DELETED', 'entity is deleted', []);
    this.#put(store, key, undefined);
    return { success: true, id: key, created: false, errors: [] };
  }

  /** Creates a record for test set-up and returns it; throws with the Salesforce error when it is invalid. */
  insert(objectName: string, fields: Record<string, unknown>): SalesforceRecord {
    const result = this.create(objectName, fields);
    if (!result.success) {
      const error = result.errors[0]!;
      throw new Error(`[coexist/sandbox] insert ${objectName}: ${error.statusCode}: ${error.message}`);
    }
    return this.get(objectName, result.id)!;
  }

  #store(objectName: string): ObjectStore | undefined {
    return this.#objects.get(objectName.toLowerCase());
  }

  #addObject(definition: SalesforceObjectDefinition): void {
    const fields = new Map(definition.fields.map((field) => [field.name.toLowerCase(), field]));
    const relationships = new Map(
      definition.fields
        .filter((field) => field.type === 'reference' && field.relationshipName)
        .map((field) => [field.relationshipName!.toLowerCase(), field]),
    );
    const indexes = new Map(
      definition.fields
        .filter((field) => field.externalId || field.unique)
        .map((field) => [field.name, new Map<string, Set<string>>()]),
    );
    this.#objects.set(definition.name.toLowerCase(), {
      definition,
      fields,
      relationships,
      records: new Map(),
      indexes,
      positions: new Map(),
      autoNumber: 0,
    });
  }

  #resolveId(store: ObjectStore, id: string): string | undefined {
    if (store.records.has(id)) return id;
    if (id.length === 15) {
      for (const key of store.records.keys()) if (key.startsWith(id)) return key;
    }
    if (id.length === 18) {
      // An 18-character id is case-insensitive.
      const lower = id.toLowerCase();
      for (const key of store.records.keys()) if (key.toLowerCase() === lower) return key;
    }
    return undefined;
  }

  /** Stores (or with `undefined`, removes) a record, keeping indexes and the undo log. */
  #put(store: ObjectStore, id: string, record: SalesforceRecord | undefined): void {
    const previous = store.records.get(id);
    if (previous) this.#index(store, previous, false);
    if (record) {
      if (!store.positions.has(id)) store.positions.set(id, store.positions.size);
      store.records.set(id, record);
      this.#index(store, record, true);
    } else store.records.delete(id);
    this.#undo?.push(() => {
      const current = store.records.get(id);
      if (current) this.#index(store, current, false);
      if (previous) {
        store.records.set(id, previous);
        this.#index(store, previous, true);
      } else store.records.delete(id);
    });
  }

  #index(store: ObjectStore, record: SalesforceRecord, add: boolean): void {
    for (const [fieldName, index] of store.indexes) {
      const value = record[fieldName];
      if (value === null || value === undefined) continue;
      const key = indexKey(value);
      const ids = index.get(key) ?? new Set<string>();
      if (add) ids.add(record.Id as string);
      else ids.delete(record.Id as string);
      if (ids.size > 0) index.set(key, ids);
      else index.delete(key);
    }
  }

  #findUniqueConflict(
    store: ObjectStore,
    values: SalesforceRecord,
    selfId: string | undefined,
  ): SalesforceRecordError | undefined {
    for (const field of store.definition.fields) {
      if (!field.unique) continue;
      const value = values[field.name];
      if (value === null || value === undefined) continue;
      const holders = [...(store.indexes.get(field.name)?.get(indexKey(value)) ?? [])].filter((id) => id !== selfId);
      if (holders.length > 0) {
        return {
          statusCode: 'DUPLICATE_VALUE',
          message: `duplicate value found: ${field.name} duplicates value on record with id: ${holders[0]}`,
          fields: [field.name],
        };
      }
    }
    return undefined;
  }

  /** Maps input names to fields and coerces values, collecting every error of the record. */
  #prepare(
    store: ObjectStore,
    input: Record<string, unknown>,
    mode: 'create' | 'update',
  ): { values: SalesforceRecord; errors: SalesforceRecordError[] } {
    const values: SalesforceRecord = {};
    const errors: SalesforceRecordError[] = [];
    const readOnly: string[] = [];
    for (const [name, raw] of Object.entries(input)) {
      if (name === 'attributes') continue;
      const relationship = store.relationships.get(name.toLowerCase());
      if (relationship && raw !== null && typeof raw === 'object') {
        const resolved = this.#resolveRelationship(relationship, raw as Record<string, unknown>);
        if ('error' in resolved) errors.push(resolved.error);
        else values[relationship.name] = resolved.id;
        continue;
      }
      const field = store.fields.get(name.toLowerCase());
      if (!field) {
        errors.push({
          statusCode: 'INVALID_FIELD',
          message: `No such column '${name}' on sobject of type ${store.definition.name}`,
          fields: [name],
        });
        continue;
      }
      const writable = mode === 'create' ? (field.createable ?? true) : (field.updateable ?? true);
      if (!writable) {
        readOnly.push(field.name);
        continue;
      }
      if (field.type === 'reference') {
        const resolved = this.#resolveReference(field, raw);
        if ('error' in resolved) errors.push(resolved.error);
        else values[field.name] = resolved.id;
        continue;
      }
      const coerced = coerceFieldValue(field, raw);
      if (coerced.ok) values[field.name] = coerced.value;
      else errors.push(coerced.error);
    }
    if (readOnly.length > 0) {
      errors.push({
        statusCode: 'INVALID_FIELD_FOR_INSERT_UPDATE',
        message: `Unable to ${mode} fields: ${readOnly.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
        fields: readOnly,
      });
    }
    return { values, errors };
  }

  #resolveReference(
    field: SalesforceFieldDefinition,
    raw: unknown,
  ): { id: string | null } | { error: SalesforceRecordError } {
    if (raw === null || raw === '') return { id: null };
    const invalid = (message: string) => ({
      error: { statusCode: 'INVALID_CROSS_REFERENCE_KEY', message, fields: [field.name] },
    });
    if (!isSalesforceIdShape(raw)) return invalid(`${field.label}: id value of incorrect type: ${String(raw)}`);
    const target = this.objectOfId(raw);
    if (!target || !(field.referenceTo ?? []).some((name) => name.toLowerCase() === target.name.toLowerCase())) {
      return invalid(`${field.label}: id value of incorrect type: ${raw}`);
    }
    const key = this.#resolveId(this.#store(target.name)!, raw);
    if (!key) return invalid('invalid cross reference id');
    return { id: key };
  }

  /** Resolves `Conversation__r: { Thread_Key__c: 'x' }` to the parent's id. */
  #resolveRelationship(
    field: SalesforceFieldDefinition,
    reference: Record<string, unknown>,
  ): { id: string } | { error: SalesforceRecordError } {
    const attributes = reference.attributes as { type?: string } | undefined;
    const targetName = attributes?.type ?? field.referenceTo?.[0] ?? '';
    const keys = Object.keys(reference).filter((key) => key !== 'attributes');
    const invalid = (message: string) => ({ error: { statusCode: 'INVALID_FIELD', message, fields: [field.name] } });
    const target = this.#store(targetName);
    if (!target || keys.length !== 1) {
      return invalid(`${field.relationshipName}: a relationship reference must name exactly one External ID field`);
    }
    const keyField = target.fields.get(keys[0]!.toLowerCase());
    if (!keyField || !(keyField.externalId || keyField.name === 'Id')) {
      return invalid(`Field ${keys[0]} is not an External ID field of ${target.definition.name}`);
    }
    const value = reference[keys[0]!];
    const ids = this.findByField(target.definition.name, keyField.name, value);
    if (ids.length === 0) {
      return invalid(
        `Foreign key external ID: ${String(value)} not found for field ${keyField.name} in entity ${target.definition.name}`,
      );
    }
    if (ids.length > 1) {
      return invalid(
        `More than 1 record found for external ID field ${keyField.name}: ${String(value)} in entity ${target.definition.name}`,
      );
    }
    return { id: ids[0]! };
  }
}

/** The key of a value in a unique index: text compares case-insensitively, as Salesforce's External IDs do by default. */
function indexKey(value: unknown): string {
  return typeof value === 'string' ? value.toLowerCase() : String(value);
}

function formatAutoNumber(format: string, value: number): string {
  return format.replace(/\{(0+)\}/, (_, zeros: string) => String(value).padStart(zeros.length, '0'));
}
