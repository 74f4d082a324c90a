import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js';
import type { PropertyProblem } from './hubspot-errors.ts';
import type { WirePropertyValue } from './hubspot-wire-schemas.ts';

/** The CRM object types the emulator serves. */
export type HubSpotObjectType = 'contacts' | 'communications';

/** The names (and object type ids) HubSpot accepts for each object type in paths. */
const OBJECT_TYPE_NAMES: Record<string, HubSpotObjectType> = {
  contacts: 'contacts',
  contact: 'contacts',
  '0-1': 'contacts',
  communications: 'communications',
  communication: 'communications',
  // [unverified] objectTypeId of communications (crm-apis.md §2.2).
  '0-18': 'communications',
};

/** Resolves an object type as written in a path (`contacts`, `contact`, `0-1`, …), or `undefined`. */
export function resolveObjectType(name: string): HubSpotObjectType | undefined {
  return OBJECT_TYPE_NAMES[name.toLowerCase()];
}

/** A property definition, as `GET /crm/v3/properties/{objectType}` returns it. */
export interface HubSpotPropertyDefinition {
  name: string;
  label: string;
  type: 'string' | 'number' | 'date' | 'datetime' | 'enumeration' | 'bool';
  fieldType: string;
  groupName: string;
  description: string;
  options: Array<{ label: string; value: string; displayOrder: number; hidden: boolean; description?: string }>;
  displayOrder: number;
  calculated: boolean;
  externalOptions: boolean;
  hasUniqueValue: boolean;
  hidden: boolean;
  hubspotDefined: boolean;
  formField: boolean;
  modificationMetadata: {
    archivable: boolean;
    readOnlyDefinition: boolean;
    readOnlyValue: boolean;
    readOnlyOptions?: boolean;
  };
  createdAt: string;
  updatedAt: string;
  archived: boolean;
}

const EPOCH = '2019-08-06T02:43:14.491Z';

function builtIn(
  name: string,
  label: string,
  type: HubSpotPropertyDefinition['type'],
  fieldType: string,
  groupName: string,
  extra: Partial<HubSpotPropertyDefinition> = {},
): HubSpotPropertyDefinition {
  const readOnlyValue = extra.modificationMetadata?.readOnlyValue ?? extra.calculated ?? false;
  return {
    name,
    label,
    type,
    fieldType,
    groupName,
    description: '',
    options: [],
    displayOrder: -1,
    calculated: false,
    externalOptions: false,
    hasUniqueValue: false,
    hidden: false,
    hubspotDefined: true,
    formField: false,
    createdAt: EPOCH,
    updatedAt: EPOCH,
    archived: false,
    ...extra,
    modificationMetadata: { archivable: false, readOnlyDefinition: true, readOnlyValue },
  };
}

const readOnly = { modificationMetadata: { archivable: false, readOnlyDefinition: true, readOnlyValue: true } };

function options(values: string[]): HubSpotPropertyDefinition['options'] {
  return values.map((value, index) => ({ label: value, value, displayOrder: index, hidden: false }));
}

/**
 * The built-in properties the emulator knows per object type: the ones a WhatsApp→CRM adapter touches.
 * Names: https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/communications/guide (communications);
 * contact phone properties per crm-apis.md §2.4 [third-party]. Writing any other name needs the properties API first.
 */
export function builtInProperties(objectType: HubSpotObjectType): HubSpotPropertyDefinition[] {
  if (objectType === 'contacts') {
    return [
      builtIn('email', 'Email', 'string', 'text', 'contactinformation', { hasUniqueValue: true }),
      builtIn('firstname', 'First Name', 'string', 'text', 'contactinformation'),
      builtIn('lastname', 'Last Name', 'string', 'text', 'contactinformation'),
      builtIn('phone', 'Phone Number', 'string', 'phonenumber', 'contactinformation'),
      builtIn('mobilephone', 'Mobile Phone Number', 'string', 'phonenumber', 'contactinformation'),
      builtIn('hs_whatsapp_phone_number', 'WhatsApp Phone Number', 'string', 'phonenumber', 'contactinformation'),
      builtIn('company', 'Company Name', 'string', 'text', 'contactinformation'),
      builtIn('lifecyclestage', 'Lifecycle Stage', 'enumeration', 'radio', 'contactinformation', {
        options: options([
          'subscriber',
          'lead',
          'marketingqualifiedlead',
          'salesqualifiedlead',
          'opportunity',
          'customer',
          'evangelist',
          'other',
        ]),
      }),
      builtIn('hubspot_owner_id', 'Contact owner', 'enumeration', 'select', 'contactinformation'),
      builtIn('createdate', 'Create Date', 'datetime', 'text', 'contactinformation', readOnly),
      builtIn('lastmodifieddate', 'Last Modified Date', 'datetime', 'text', 'contactinformation', readOnly),
      builtIn('hs_object_id', 'Record ID', 'number', 'number', 'contactinformation', readOnly),
      // [unverified] contents: digits of the national number (crm-apis.md §2.4); computed by the emulator.
      builtIn(
        'hs_searchable_calculated_phone_number',
        'Calculated Phone Number',
        'string',
        'text',
        'contactinformation',
        {
          calculated: true,
        },
      ),
      builtIn(
        'hs_searchable_calculated_mobile_number',
        'Calculated Mobile Number',
        'string',
        'text',
        'contactinformation',
        { calculated: true },
      ),
    ];
  }
  return [
    builtIn('hs_communication_channel_type', 'Channel type', 'enumeration', 'select', 'communication', {
      options: options(COMMUNICATION_CHANNEL_TYPES),
    }),
    builtIn('hs_communication_logged_from', 'Logged from', 'enumeration', 'select', 'communication', {
      options: options(['CRM']),
    }),
    builtIn('hs_communication_body', 'Body', 'string', 'textarea', 'communication'),
    builtIn('hs_timestamp', 'Activity date', 'datetime', 'date', 'communication'),
    builtIn('hubspot_owner_id', 'Activity assigned to', 'enumeration', 'select', 'communication'),
    builtIn('hs_createdate', 'Create date', 'datetime', 'date', 'communication', readOnly),
    builtIn('hs_lastmodifieddate', 'Last modified date', 'datetime', 'date', 'communication', readOnly),
    builtIn('hs_object_id', 'Record ID', 'number', 'number', 'communication', readOnly),
  ];
}

/** `hs_communication_channel_type` values HubSpot accepts. */
export const COMMUNICATION_CHANNEL_TYPES = ['WHATS_APP', 'LINKEDIN_MESSAGE', 'SMS'];

/** Properties a new communication must carry (communications guide: channel, `logged_from = CRM`, timestamp). */
export const REQUIRED_COMMUNICATION_PROPERTIES = [
  'hs_communication_channel_type',
  'hs_communication_logged_from',
  'hs_timestamp',
];

/** The properties returned when a read names none. */
export function defaultReadProperties(objectType: HubSpotObjectType): string[] {
  return objectType === 'contacts'
    ? ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname']
    : ['hs_createdate', 'hs_lastmodifieddate', 'hs_object_id'];
}

/** What a write may carry and how values are checked. */
export interface PropertyValidationContext {
  definitions: Map<string, HubSpotPropertyDefinition>;
  ownerIds: Set<string>;
}

/** The outcome of checking a write's properties: normalized string values, or HubSpot's problems. */
export interface PropertyValidationResult {
  values: Record<string, string>;
  problems: PropertyProblem[];
}

/** Checks and normalizes property values as HubSpot does on create/update (unknown, read-only, type, options, owner). */
export function validatePropertyValues(
  properties: Record<string, WirePropertyValue>,
  context: PropertyValidationContext,
): PropertyValidationResult {
  const values: Record<string, string> = {};
  const problems: PropertyProblem[] = [];
  for (const [name, raw] of Object.entries(properties)) {
    const definition = context.definitions.get(name);
    if (!definition || definition.archived) {
      problems.push({ name, error: 'PROPERTY_DOESNT_EXIST', message: `Property "${name}" does not exist` });
      continue;
    }
    if (definition.calculated || definition.modificationMetadata.readOnlyValue) {
      problems.push({
        name,
        error: 'READ_ONLY_VALUE',
        message: `"${name}" is a read only property; its value cannot be set.`,
      });
      continue;
    }
    // null or "" clears a property.
    if (raw === null || raw === '') {
      values[name] = '';
      continue;
    }
    const value = String(raw);
    const problem = checkValue(definition, value, context);
    if (typeof problem === 'object') problems.push(problem);
    else values[name] = problem;
  }
  return { values, problems };
}

function checkValue(
  definition: HubSpotPropertyDefinition,
  value: string,
  context: PropertyValidationContext,
): string | PropertyProblem {
  const name = definition.name;
  if (name === 'hubspot_owner_id') {
    if (!context.ownerIds.has(value)) {
      return { name, error: 'INVALID_OWNER_ID', message: `${value} is not a valid owner id` };
    }
    return value;
  }
  if (name === 'email' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) {
    return { name, error: 'INVALID_EMAIL', message: `Email address ${value} is invalid` };
  }
  switch (definition.type) {
    case 'number':
      return Number.isFinite(Number(value))
        ? value
        : { name, error: 'INVALID_FLOAT', message: `${value} is not a valid number for property "${name}"` };
    case 'bool':
      return value === 'true' || value === 'false'
        ? value
        : { name, error: 'INVALID_BOOLEAN', message: `${value} is not a valid boolean (true/false)` };
    case 'date':
    case 'datetime': {
      const time = parseHubSpotTime(value);
      if (time === undefined) {
        return {
          name,
          error: 'INVALID_DATE',
          message: `${value} is not a valid date for property "${name}" (Unix ms or ISO 8601 UTC expected)`,
        };
      }
      return new Date(time).toISOString();
    }
    case 'enumeration': {
      if (definition.options.length === 0) return value;
      const allowed = definition.options.map((option) => option.value);
      const chosen = definition.fieldType === 'checkbox' ? value.split(';') : [value];
      const wrong = chosen.find((entry) => !allowed.includes(entry));
      return wrong === undefined
        ? value
        : {
            name,
            error: 'INVALID_OPTION',
            message: `${wrong} was not one of the allowed options: [${allowed.join(', ')}]`,
          };
    }
    default:
      return value;
  }
}

/** Parses a HubSpot date/time value: Unix milliseconds or an ISO 8601 string. */
export function parseHubSpotTime(value: string): number | undefined {
  if (/^-?\d+$/.test(value)) return Number(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : time;
}

/**
 * The calculated searchable number HubSpot derives from a phone property. [unverified] Assumed to be the digits of
 * the national significant number (no country code, no punctuation); numbers without a `+` are read in
 * `defaultRegion`, and an unparseable string falls back to its digits.
 */
export function searchablePhoneDigits(phone: string, defaultRegion: CountryCode): string {
  const parsed = parsePhoneNumberFromString(phone, defaultRegion);
  if (parsed) return String(parsed.nationalNumber);
  return phone.replace(/\D+/g, '');
}
