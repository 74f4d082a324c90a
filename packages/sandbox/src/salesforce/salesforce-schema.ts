/**
 * The sObjects the Salesforce emulator knows, as data: describe answers from it, validation reads it, and the
 * package's SFDX metadata is checked against it. Field shapes follow the describe reference
 * (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm) and the
 * standard object reference (https://developer.salesforce.com/docs/platform/object-reference/references/standard-objects/object-task.html).
 */

/** Field types the emulator validates (a subset of Salesforce's `DescribeFieldResult.type`). */
export type SalesforceFieldType =
  | 'id'
  | 'string'
  | 'textarea'
  | 'boolean'
  | 'datetime'
  | 'date'
  | 'reference'
  | 'phone'
  | 'email'
  | 'picklist'
  | 'url'
  | 'double'
  | 'int';

/** One field of an sObject. */
export interface SalesforceFieldDefinition {
  /** API name, e.g. `Message_Id__c`. */
  name: string;
  label: string;
  type: SalesforceFieldType;
  /** Maximum length of text fields. */
  length?: number;
  /** Must have a value on create (after defaults); describe reports `nillable: false`. @default false */
  required?: boolean;
  /** Marked External ID: usable as the key of an upsert. @default false */
  externalId?: boolean;
  /** Marked Unique: a second record with the same value fails with `DUPLICATE_VALUE`. @default false */
  unique?: boolean;
  /** Objects a reference field may point at. */
  referenceTo?: readonly string[];
  /** Name of the relationship of a reference field (`Conversation__r`, `Account`). */
  relationshipName?: string;
  /** Values of a picklist; unrestricted, as Salesforce picklists are by default. */
  picklistValues?: readonly string[];
  /** Settable on create. @default true */
  createable?: boolean;
  /** Settable on update. @default true */
  updateable?: boolean;
  /** Value given on create when the caller sends none. */
  defaultValue?: string | number | boolean;
  /** An auto-number field, e.g. `WAM-{0000000}`. */
  autoNumberFormat?: string;
  /** The object's name field. @default false */
  nameField?: boolean;
}

/** One sObject. */
export interface SalesforceObjectDefinition {
  /** API name, e.g. `WhatsApp_Message__c`. */
  name: string;
  label: string;
  labelPlural: string;
  /** The three-character id prefix (`003` for Contact). */
  keyPrefix: string;
  /** Fields, system fields (`Id`, `CreatedDate`, …) included. */
  fields: readonly SalesforceFieldDefinition[];
  /** Whether SOSL searches it when a search names no object. @default false */
  searchable?: boolean;
}

const auditFields: readonly SalesforceFieldDefinition[] = [
  { name: 'IsDeleted', label: 'Deleted', type: 'boolean', createable: false, updateable: false },
  { name: 'CreatedDate', label: 'Created Date', type: 'datetime', createable: false, updateable: false },
  {
    name: 'CreatedById',
    label: 'Created By ID',
    type: 'reference',
    referenceTo: ['User'],
    relationshipName: 'CreatedBy',
    createable: false,
    updateable: false,
  },
  { name: 'LastModifiedDate', label: 'Last Modified Date', type: 'datetime', createable: false, updateable: false },
  {
    name: 'LastModifiedById',
    label: 'Last Modified By ID',
    type: 'reference',
    referenceTo: ['User'],
    relationshipName: 'LastModifiedBy',
    createable: false,
    updateable: false,
  },
  { name: 'SystemModstamp', label: 'System Modstamp', type: 'datetime', createable: false, updateable: false },
];

const idField: SalesforceFieldDefinition = {
  name: 'Id',
  label: 'Record ID',
  type: 'id',
  length: 18,
  createable: false,
  updateable: false,
};

const ownerField: SalesforceFieldDefinition = {
  name: 'OwnerId',
  label: 'Owner ID',
  type: 'reference',
  referenceTo: ['User'],
  relationshipName: 'Owner',
};

const whatsAppE164Field: SalesforceFieldDefinition = {
  name: 'WhatsApp_E164__c',
  label: 'WhatsApp E.164',
  type: 'string',
  length: 40,
  externalId: true,
};

/** The business-scoped user id (BSUID) of a WhatsApp user whose phone Meta does not share (domain.md, Identity). */
const whatsAppUserIdField: SalesforceFieldDefinition = {
  name: 'WhatsApp_User_Id__c',
  label: 'WhatsApp User ID',
  type: 'string',
  length: 100,
  externalId: true,
};

function text(name: string, label: string, length: number, extra: Partial<SalesforceFieldDefinition> = {}) {
  return { name, label, type: 'string', length, ...extra } satisfies SalesforceFieldDefinition;
}

function phone(name: string, label: string): SalesforceFieldDefinition {
  return { name, label, type: 'phone', length: 40 };
}

function reference(name: string, label: string, referenceTo: string[], relationshipName: string) {
  return { name, label, type: 'reference', referenceTo, relationshipName } satisfies SalesforceFieldDefinition;
}

function standardObject(
  definition: Omit<SalesforceObjectDefinition, 'fields'>,
  fields: SalesforceFieldDefinition[],
  ownable = true,
): SalesforceObjectDefinition {
  return { ...definition, fields: [idField, ...(ownable ? [ownerField] : []), ...fields, ...auditFields] };
}

/** The standard and package objects the emulator starts with; callers may register more. */
export const salesforceObjectDefinitions: readonly SalesforceObjectDefinition[] = [
  standardObject({ name: 'Account', label: 'Account', labelPlural: 'Accounts', keyPrefix: '001', searchable: true }, [
    text('Name', 'Account Name', 255, { required: true, nameField: true }),
    phone('Phone', 'Account Phone'),
    phone('Fax', 'Account Fax'),
    { name: 'Website', label: 'Website', type: 'url', length: 255 },
    { name: 'Description', label: 'Account Description', type: 'textarea', length: 32000 },
  ]),
  standardObject({ name: 'Contact', label: 'Contact', labelPlural: 'Contacts', keyPrefix: '003', searchable: true }, [
    text('FirstName', 'First Name', 40),
    text('LastName', 'Last Name', 80, { required: true }),
    text('Name', 'Full Name', 121, { nameField: true, createable: false, updateable: false }),
    { name: 'Email', label: 'Email', type: 'email', length: 80 },
    phone('Phone', 'Business Phone'),
    phone('MobilePhone', 'Mobile Phone'),
    phone('HomePhone', 'Home Phone'),
    phone('OtherPhone', 'Other Phone'),
    reference('AccountId', 'Account ID', ['Account'], 'Account'),
    { name: 'Description', label: 'Contact Description', type: 'textarea', length: 32000 },
    whatsAppE164Field,
    whatsAppUserIdField,
  ]),
  standardObject({ name: 'Lead', label: 'Lead', labelPlural: 'Leads', keyPrefix: '00Q', searchable: true }, [
    text('FirstName', 'First Name', 40),
    text('LastName', 'Last Name', 80, { required: true }),
    text('Name', 'Full Name', 121, { nameField: true, createable: false, updateable: false }),
    text('Company', 'Company', 255, { required: true }),
    { name: 'Email', label: 'Email', type: 'email', length: 80 },
    phone('Phone', 'Phone'),
    phone('MobilePhone', 'Mobile Phone'),
    {
      name: 'Status',
      label: 'Status',
      type: 'picklist',
      length: 255,
      required: true,
      picklistValues: ['Open - Not Contacted', 'Working - Contacted', 'Closed - Converted', 'Closed - Not Converted'],
      defaultValue: 'Open - Not Contacted',
    },
    // Createable so tests can seed converted leads (Salesforce allows it on import); never updateable.
    { name: 'IsConverted', label: 'Converted', type: 'boolean', defaultValue: false, updateable: false },
    { ...reference('ConvertedContactId', 'Converted Contact ID', ['Contact'], 'ConvertedContact'), updateable: false },
    { ...reference('ConvertedAccountId', 'Converted Account ID', ['Account'], 'ConvertedAccount'), updateable: false },
    { name: 'Description', label: 'Description', type: 'textarea', length: 32000 },
    whatsAppE164Field,
    whatsAppUserIdField,
  ]),
  standardObject({ name: 'Task', label: 'Task', labelPlural: 'Tasks', keyPrefix: '00T' }, [
    text('Subject', 'Subject', 255, { nameField: true }),
    reference('WhoId', 'Name ID', ['Contact', 'Lead'], 'Who'),
    reference('WhatId', 'Related To ID', ['Account', 'WhatsApp_Conversation__c'], 'What'),
    { name: 'ActivityDate', label: 'Due Date Only', type: 'date' },
    {
      name: 'Status',
      label: 'Status',
      type: 'picklist',
      length: 255,
      required: true,
      picklistValues: ['Not Started', 'In Progress', 'Completed', 'Waiting on someone else', 'Deferred'],
      defaultValue: 'Not Started',
    },
    {
      name: 'Priority',
      label: 'Priority',
      type: 'picklist',
      length: 40,
      required: true,
      picklistValues: ['High', 'Normal', 'Low'],
      defaultValue: 'Normal',
    },
    {
      name: 'Type',
      label: 'Type',
      type: 'picklist',
      length: 255,
      picklistValues: ['Call', 'Email', 'Meeting', 'Other'],
    },
    { name: 'Description', label: 'Description', type: 'textarea', length: 32000 },
    {
      name: 'TaskSubtype',
      label: 'Task Subtype',
      type: 'picklist',
      length: 40,
      picklistValues: ['Task', 'Email', 'Call'],
    },
  ]),
  standardObject(
    { name: 'User', label: 'User', labelPlural: 'Users', keyPrefix: '005' },
    [
      text('Username', 'Username', 80, { required: true, unique: true }),
      text('FirstName', 'First Name', 40),
      text('LastName', 'Last Name', 80, { required: true }),
      text('Name', 'Full Name', 121, { nameField: true, createable: false, updateable: false }),
      { name: 'Email', label: 'Email', type: 'email', length: 128, required: true },
      phone('Phone', 'Phone'),
      phone('MobilePhone', 'Mobile'),
      { name: 'IsActive', label: 'Active', type: 'boolean', defaultValue: true },
    ],
    false,
  ),
  standardObject(
    {
      name: 'WhatsApp_Conversation__c',
      label: 'WhatsApp Conversation',
      labelPlural: 'WhatsApp Conversations',
      keyPrefix: 'a01',
    },
    [
      text('Name', 'Conversation Number', 80, {
        nameField: true,
        autoNumberFormat: 'WAC-{0000000}',
        createable: false,
        updateable: false,
      }),
      text('Thread_Key__c', 'Thread Key', 255, { required: true, externalId: true, unique: true }),
      reference('Contact__c', 'Contact', ['Contact'], 'Contact__r'),
      reference('Lead__c', 'Lead', ['Lead'], 'Lead__r'),
      reference('Account__c', 'Account', ['Account'], 'Account__r'),
      phone('Business_Phone__c', 'Business Phone'),
      phone('Customer_Phone__c', 'Customer Phone'),
      {
        name: 'Owner_Side__c',
        label: 'Owner Side',
        type: 'picklist',
        length: 255,
        picklistValues: ['business_app', 'cloud_api'],
      },
      { name: 'Window_Expires_At__c', label: 'Window Expires At', type: 'datetime' },
      { name: 'Last_Message_At__c', label: 'Last Message At', type: 'datetime' },
    ],
  ),
  standardObject(
    { name: 'WhatsApp_Message__c', label: 'WhatsApp Message', labelPlural: 'WhatsApp Messages', keyPrefix: 'a02' },
    [
      text('Name', 'Message Number', 80, {
        nameField: true,
        autoNumberFormat: 'WAM-{0000000}',
        createable: false,
        updateable: false,
      }),
      text('Message_Id__c', 'Message ID', 255, { required: true, externalId: true, unique: true }),
      reference('Conversation__c', 'Conversation', ['WhatsApp_Conversation__c'], 'Conversation__r'),
      {
        name: 'Direction__c',
        label: 'Direction',
        type: 'picklist',
        length: 255,
        picklistValues: ['inbound', 'outbound'],
      },
      {
        name: 'Actor__c',
        label: 'Actor',
        type: 'picklist',
        length: 255,
        picklistValues: ['customer', 'business_app', 'cloud_api'],
      },
      // Long Text Area (131,072 characters), the largest Salesforce allows.
      { name: 'Body__c', label: 'Body', type: 'textarea', length: 131072 },
      { name: 'Sent_At__c', label: 'Sent At', type: 'datetime' },
      {
        name: 'Status__c',
        label: 'Status',
        type: 'picklist',
        length: 255,
        picklistValues: ['received', 'sent', 'delivered', 'read', 'played', 'failed'],
      },
      text('Status_Error__c', 'Status Error', 255),
      { name: 'Media_Url__c', label: 'Media URL', type: 'url', length: 1000 },
      text('Media_Type__c', 'Media Type', 100),
      { name: 'Edited__c', label: 'Edited', type: 'boolean', defaultValue: false },
      { name: 'Revoked__c', label: 'Revoked', type: 'boolean', defaultValue: false },
      { name: 'Reactions__c', label: 'Reactions', type: 'textarea', length: 32768 },
    ],
  ),
];

/** Builds a custom object definition with the system fields (`Id`, `OwnerId`, audit fields) and an auto-number name. */
export function defineCustomObject(options: {
  name: string;
  label: string;
  labelPlural?: string;
  keyPrefix: string;
  fields: readonly SalesforceFieldDefinition[];
}): SalesforceObjectDefinition {
  if (!options.name.endsWith('__c')) {
    throw new Error(`[coexist/sandbox] defineCustomObject: name "${options.name}" must end with "__c"`);
  }
  if (!/^[a-zA-Z0-9]{3}$/.test(options.keyPrefix)) {
    throw new Error(
      `[coexist/sandbox] defineCustomObject: keyPrefix "${options.keyPrefix}" must be 3 letters or digits`,
    );
  }
  const hasName = options.fields.some((field) => field.name === 'Name');
  const nameField: SalesforceFieldDefinition[] = hasName
    ? []
    : [
        {
          name: 'Name',
          label: `${options.label} Name`,
          type: 'string',
          length: 80,
          nameField: true,
          autoNumberFormat: `${options.keyPrefix.toUpperCase()}-{0000000}`,
          createable: false,
          updateable: false,
        },
      ];
  return standardObject(
    {
      name: options.name,
      label: options.label,
      labelPlural: options.labelPlural ?? `${options.label}s`,
      keyPrefix: options.keyPrefix,
    },
    [...nameField, ...options.fields],
  );
}

/** Whether a field or object API name is custom (ends with `__c`). */
export function isCustomName(name: string): boolean {
  return name.endsWith('__c');
}

/** The `soapType` describe reports for a field type. */
function soapType(type: SalesforceFieldType): string {
  switch (type) {
    case 'id':
    case 'reference':
      return 'tns:ID';
    case 'boolean':
      return 'xsd:boolean';
    case 'datetime':
      return 'xsd:dateTime';
    case 'date':
      return 'xsd:date';
    case 'double':
      return 'xsd:double';
    case 'int':
      return 'xsd:int';
    default:
      return 'xsd:string';
  }
}

/** The `GET sobjects/{Type}/describe` body of an object, in Salesforce's `DescribeSObjectResult` shape. */
export function describeSalesforceObject(
  definition: SalesforceObjectDefinition,
  apiVersion: string,
): Record<string, unknown> {
  const base = `/services/data/v${apiVersion}/sobjects/${definition.name}`;
  return {
    name: definition.name,
    label: definition.label,
    labelPlural: definition.labelPlural,
    keyPrefix: definition.keyPrefix,
    custom: isCustomName(definition.name),
    createable: true,
    updateable: true,
    deletable: true,
    queryable: true,
    retrieveable: true,
    searchable: true,
    layoutable: true,
    triggerable: true,
    undeletable: true,
    mergeable: false,
    replicateable: true,
    activateable: false,
    feedEnabled: false,
    urls: { sobject: base, describe: `${base}/describe`, rowTemplate: `${base}/{ID}` },
    childRelationships: [],
    recordTypeInfos: [],
    fields: definition.fields.map((field) => describeField(field)),
  };
}

function describeField(field: SalesforceFieldDefinition): Record<string, unknown> {
  const createable = field.createable ?? true;
  const isText = ['string', 'textarea', 'phone', 'email', 'picklist', 'url', 'id'].includes(field.type);
  const defaulted = field.defaultValue !== undefined || field.autoNumberFormat !== undefined;
  return {
    name: field.name,
    label: field.label,
    type: field.type,
    soapType: soapType(field.type),
    length: isText ? (field.length ?? 255) : 0,
    byteLength: isText ? (field.length ?? 255) * 3 : 0,
    precision: 0,
    scale: 0,
    digits: 0,
    custom: isCustomName(field.name),
    nillable: !(field.required ?? false) && field.type !== 'boolean' && field.type !== 'id',
    createable,
    updateable: field.updateable ?? true,
    defaultedOnCreate: defaulted || field.type === 'boolean' || (!createable && field.type !== 'id'),
    defaultValue: field.defaultValue ?? null,
    externalId: field.externalId ?? false,
    unique: field.unique ?? false,
    caseSensitive: false,
    idLookup: field.type === 'id' || (field.externalId ?? false) || (field.unique ?? false),
    nameField: field.nameField ?? false,
    autoNumber: field.autoNumberFormat !== undefined,
    calculated: false,
    filterable: field.type !== 'textarea' || (field.length ?? 255) <= 255,
    sortable: field.type !== 'textarea' || (field.length ?? 255) <= 255,
    groupable: field.type !== 'textarea' && field.type !== 'datetime',
    htmlFormatted: false,
    referenceTo: field.referenceTo ? [...field.referenceTo] : [],
    relationshipName: field.relationshipName ?? null,
    restrictedPicklist: false,
    picklistValues: (field.picklistValues ?? []).map((value) => ({
      active: true,
      defaultValue: value === field.defaultValue,
      label: value,
      validFor: null,
      value,
    })),
  };
}
