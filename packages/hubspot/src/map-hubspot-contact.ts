/**
 * Pure mapping between the contract's contacts and HubSpot contact properties. Names: the Business App name
 * arrives resolved in `ContactInput.name`/`firstName` (the engine prefers it over the WhatsApp profile name);
 * HubSpot stores `firstname`/`lastname`. Phones are written as E.164 to `phone`. The contact key goes to the
 * unique `coexist_whatsapp_id` so a replayed create upserts the same record.
 */
import type { ContactInput } from '@coexist/core';
import { CONTACT_IDENTITY_PROPERTY } from './hubspot-setup.ts';

/** HubSpot contact properties the adapter reads back. */
export const CONTACT_READ_PROPERTIES = [
  'firstname',
  'lastname',
  'phone',
  'mobilephone',
  'hs_whatsapp_phone_number',
  'hubspot_owner_id',
  CONTACT_IDENTITY_PROPERTY,
] as const;

/** Phone properties a rep may have typed a number into (any format); confirmed client-side after a search. */
export const CONTACT_PHONE_PROPERTIES = ['phone', 'mobilephone', 'hs_whatsapp_phone_number'] as const;

/** Splits a display name into HubSpot's `firstname`/`lastname`, honouring a known first name. */
export function splitContactName(name?: string, firstName?: string): { firstname?: string; lastname?: string } {
  const full = name?.trim() ?? '';
  const first = firstName?.trim() ?? '';
  if (first !== '') {
    const rest = full.startsWith(first) ? full.slice(first.length).trim() : '';
    return rest === '' ? { firstname: first } : { firstname: first, lastname: rest };
  }
  if (full === '') return {};
  const space = full.indexOf(' ');
  return space === -1
    ? { firstname: full }
    : { firstname: full.slice(0, space), lastname: full.slice(space + 1).trim() };
}

/** Options of `toHubSpotContactProperties`. */
export interface ContactPropertiesOptions {
  /** Write `hubspot_owner_id` (false when the record already has an owner: an owner is set only when it has none). */
  includeOwner: boolean;
  /** Write the identity property (false when updating a record that already carries another identity). */
  includeIdentity: boolean;
}

/** The properties to create or update a contact with. */
export function toHubSpotContactProperties(
  contact: ContactInput,
  options: ContactPropertiesOptions = { includeOwner: true, includeIdentity: true },
): Record<string, string> {
  const properties: Record<string, string> = {};
  if (options.includeIdentity) properties[CONTACT_IDENTITY_PROPERTY] = contact.key;
  if (contact.phone !== undefined) properties.phone = contact.phone;
  const { firstname, lastname } = splitContactName(contact.name, contact.firstName);
  if (firstname !== undefined) properties.firstname = firstname;
  if (lastname !== undefined) properties.lastname = lastname;
  if (options.includeOwner && contact.ownerId !== undefined) properties.hubspot_owner_id = contact.ownerId;
  return properties;
}

/** A HubSpot contact as the adapter sees it. */
export interface HubSpotContactView {
  crmId: string;
  name?: string;
  ownerId?: string;
  identity?: string;
  /** The stored phone strings, as typed. */
  phones: string[];
}

/** Reads a HubSpot contact record's properties. */
export function fromHubSpotContact(record: {
  id: string;
  properties: Record<string, string | null | undefined>;
}): HubSpotContactView {
  const value = (name: string): string | undefined => {
    const raw = record.properties[name];
    return raw === null || raw === undefined || raw === '' ? undefined : raw;
  };
  const name = [value('firstname'), value('lastname')].filter((part) => part !== undefined).join(' ');
  const ownerId = value('hubspot_owner_id');
  const identity = value(CONTACT_IDENTITY_PROPERTY);
  return {
    crmId: record.id,
    ...(name === '' ? {} : { name }),
    ...(ownerId === undefined ? {} : { ownerId }),
    ...(identity === undefined ? {} : { identity }),
    phones: CONTACT_PHONE_PROPERTIES.map(value).filter((phone): phone is string => phone !== undefined),
  };
}
