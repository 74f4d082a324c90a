/**
 * ContactRef from the places Meta identifies a WhatsApp user: a message's `from`/`to`, `value.contacts[]`,
 * history threads, statuses and Business App contacts. Phones become E.164; Meta's empty strings are dropped.
 */
import type { ContactRef } from '../events/coexistence-event.ts';
import type { MetaContactProfile, MetaHistoryThread, MetaStateSyncItem, MetaStatus } from './meta-webhook-schema.ts';
import { digitsOf, type ProfileIndex } from './normalize-context.ts';

/** Raw identifiers of a user before normalization; empty strings are allowed and ignored. */
export interface ContactIdentifiers {
  phone?: string;
  userId?: string;
  parentUserId?: string;
  username?: string;
  name?: string;
  firstName?: string;
  countryCode?: string;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** A ContactRef with only the non-empty fields, phone in E.164 and `waId` as digits. */
export function buildContactRef(identifiers: ContactIdentifiers): ContactRef {
  const contact: ContactRef = {};
  const digits = digitsOf(identifiers.phone);
  if (digits !== undefined) {
    contact.phone = `+${digits}`;
    contact.waId = digits;
  }
  const userId = nonEmpty(identifiers.userId);
  if (userId !== undefined) contact.userId = userId;
  const parentUserId = nonEmpty(identifiers.parentUserId);
  if (parentUserId !== undefined) contact.parentUserId = parentUserId;
  const username = nonEmpty(identifiers.username);
  if (username !== undefined) contact.username = username;
  const name = nonEmpty(identifiers.name);
  if (name !== undefined) contact.name = name;
  const firstName = nonEmpty(identifiers.firstName);
  if (firstName !== undefined) contact.firstName = firstName;
  const countryCode = nonEmpty(identifiers.countryCode);
  if (countryCode !== undefined) contact.countryCode = countryCode;
  return contact;
}

/**
 * The `value.contacts[]` profile of a user, matched by `wa_id` or `user_id`. With `allowSingleFallback`, a payload
 * naming no identifier at all falls back to its only profile (echoes list exactly the customer).
 */
export function findProfile(
  profiles: ProfileIndex,
  phone: string | undefined,
  userId: string | undefined,
  allowSingleFallback = false,
): MetaContactProfile | undefined {
  const digits = digitsOf(phone);
  const byPhone = digits !== undefined ? profiles.byWaId.get(digits) : undefined;
  if (byPhone !== undefined) return byPhone;
  const byUserId = userId ? profiles.byUserId.get(userId) : undefined;
  if (byUserId !== undefined) return byUserId;
  if (allowSingleFallback && digits === undefined && !userId) return profiles.single;
  return undefined;
}

/** Merges a message's own identifiers with the matching `value.contacts[]` profile. */
export function contactFromProfile(
  identifiers: ContactIdentifiers,
  profile: MetaContactProfile | undefined,
): ContactRef {
  if (profile === undefined) return buildContactRef(identifiers);
  return buildContactRef({
    phone: nonEmpty(identifiers.phone) ?? profile.wa_id,
    userId: nonEmpty(identifiers.userId) ?? profile.user_id,
    parentUserId: nonEmpty(identifiers.parentUserId) ?? profile.parent_user_id,
    username: nonEmpty(identifiers.username) ?? nonEmpty(profile.profile?.username) ?? profile.username,
    name: nonEmpty(identifiers.name) ?? profile.profile?.name,
    firstName: identifiers.firstName,
    countryCode: nonEmpty(identifiers.countryCode) ?? nonEmpty(profile.profile?.country_code) ?? profile.country_code,
  });
}

/** The customer a history thread is with: `thread.id` and the BSUID `thread.context`. */
export function threadContactIdentifiers(thread: MetaHistoryThread): ContactIdentifiers {
  const context = thread.context;
  return {
    phone: nonEmpty(thread.id) ?? context?.wa_id,
    userId: context?.user_id,
    parentUserId: context?.parent_user_id,
    username: context?.username,
    countryCode: context?.country_code,
  };
}

/** The recipient of a status: `recipient_id` and `recipient_user_id`, named from `value.contacts[]` when present. */
export function statusRecipient(status: MetaStatus, profiles: ProfileIndex): ContactRef {
  const identifiers: ContactIdentifiers = {
    phone: status.recipient_id,
    userId: status.recipient_user_id,
    parentUserId: status.recipient_parent_user_id,
  };
  return contactFromProfile(identifiers, findProfile(profiles, status.recipient_id, status.recipient_user_id));
}

/** A Business App contact from `state_sync[].contact`; `full_name` is the display name. */
export function stateSyncContact(item: MetaStateSyncItem): ContactRef {
  const contact = item.contact;
  return buildContactRef({
    phone: contact?.phone_number,
    userId: contact?.user_id,
    username: contact?.username,
    name: contact?.full_name,
    firstName: contact?.first_name,
    countryCode: contact?.country_code,
  });
}
