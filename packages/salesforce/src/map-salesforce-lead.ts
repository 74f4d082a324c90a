/**
 * Maps a WhatsApp contact to the fields of a Salesforce Lead or Contact: `LastName` (required on both), `FirstName`,
 * `Company` (required on Lead), `MobilePhone`, our External IDs `WhatsApp_E164__c` and `WhatsApp_User_Id__c` (the
 * BSUID, for people whose phone WhatsApp does not share), and `OwnerId`. Pure.
 */
import type { ContactInput } from '@coexist/core';

/** The person objects the adapter matches and creates. */
export type SalesforcePersonObject = 'Lead' | 'Contact';

/** Options of `toSalesforcePersonFields`. */
export interface SalesforcePersonFieldOptions {
  /** Lead or Contact. */
  objectType: SalesforcePersonObject;
  /** `Company` of created Leads (required by Salesforce); Web-to-Lead's convention is `[not provided]`. */
  leadCompany: string;
  /** Whether to set `OwnerId` (on create, never on an update of someone's record). */
  includeOwner: boolean;
}

const FIRST_NAME_MAX = 40;
const LAST_NAME_MAX = 80;
const COMPANY_MAX = 255;

/** Splits a display name into `FirstName`/`LastName`, using the Business App's first name when it is known. */
export function splitContactName(input: { name?: string; firstName?: string }): {
  firstName?: string;
  lastName?: string;
} {
  const name = input.name?.trim().replace(/\s+/g, ' ');
  const firstName = input.firstName?.trim();
  if (name === undefined || name === '') {
    return firstName === undefined || firstName === '' ? {} : { lastName: firstName };
  }
  if (firstName !== undefined && firstName !== '' && name.startsWith(`${firstName} `)) {
    return { firstName, lastName: name.slice(firstName.length + 1) };
  }
  const space = name.lastIndexOf(' ');
  if (space <= 0) return { lastName: name };
  return { firstName: name.slice(0, space), lastName: name.slice(space + 1) };
}

/**
 * The Lead or Contact fields of a WhatsApp contact. Without any name, `LastName` becomes the phone so a rep can
 * recognize the record; a later Business App name replaces it (`upsertContacts`).
 */
export function toSalesforcePersonFields(
  contact: ContactInput,
  options: SalesforcePersonFieldOptions,
): Record<string, string> {
  const split = splitContactName(contact);
  const fields: Record<string, string> = {};
  if (split.firstName !== undefined) fields.FirstName = split.firstName.slice(0, FIRST_NAME_MAX);
  fields.LastName = (split.lastName ?? contact.phone ?? contact.waId ?? contact.userId ?? 'WhatsApp contact').slice(
    0,
    LAST_NAME_MAX,
  );
  if (options.objectType === 'Lead') fields.Company = options.leadCompany.slice(0, COMPANY_MAX);
  if (contact.phone !== undefined) {
    fields.MobilePhone = contact.phone;
    fields.WhatsApp_E164__c = contact.phone;
  }
  if (contact.userId !== undefined) fields.WhatsApp_User_Id__c = contact.userId;
  if (options.includeOwner && contact.ownerId !== undefined) fields.OwnerId = contact.ownerId;
  return fields;
}

/** The fields an update of an existing Lead or Contact writes: the name (when known) and our identity fields. */
export function toSalesforcePersonUpdateFields(contact: ContactInput): Record<string, string> {
  const split = splitContactName(contact);
  const fields: Record<string, string> = {};
  if (split.lastName !== undefined) {
    fields.LastName = split.lastName.slice(0, LAST_NAME_MAX);
    // A new name replaces the old one whole: a stale first name must not survive a single-word name.
    fields.FirstName = (split.firstName ?? '').slice(0, FIRST_NAME_MAX);
  }
  if (contact.phone !== undefined) fields.WhatsApp_E164__c = contact.phone;
  if (contact.userId !== undefined) fields.WhatsApp_User_Id__c = contact.userId;
  return fields;
}
