/**
 * The contact model: one WhatsApp user across phone (E.164), `wa_id` and BSUID, the best name we have, the CRM
 * record it maps to on each connection, and its CRM owner.
 *
 * Names: a Business App contact name (`contact.synced`) is what the rep saved and beats the WhatsApp profile name;
 * the latest app name wins; a profile name never overwrites an app name. Sources: Meta M-ONB, M-BSUID (`docs/models.md`).
 */
import type { CoexistenceEvent, ContactRef } from '../events/coexistence-event.ts';
import { type ContactOwner, type OwnerResolutionOptions, type OwnerTouch, resolveContactOwner } from './owner.ts';
import { normalizePhone } from './phone.ts';

/** A name and when we learned it. */
export interface DatedName {
  name: string;
  firstName?: string;
  at: string;
}

/** The CRM record a contact maps to on one connection. */
export interface ContactCrmRecord {
  crmId: string;
  /** The parent record (Close lead, Salesforce account), when the CRM has one. */
  parentId?: string;
}

/** One WhatsApp user. Plain JSON. */
export interface Contact {
  /** Stable identity key (see `contactKey`). */
  key: string;
  /** E.164 phone. */
  phone?: string;
  waId?: string;
  /** Business-scoped user id (BSUID). */
  userId?: string;
  parentUserId?: string;
  username?: string;
  /** ISO time of the event that gave `username` (a late older event does not change it). */
  usernameAt?: string;
  /** The name the rep saved in the Business App (from `contact.synced`). */
  appName?: DatedName;
  /** The user's WhatsApp profile name (from message webhooks). */
  profileName?: DatedName;
  /** ISO time the rep removed the contact from the Business App, when they did. */
  removedFromAppAt?: string;
  /** Connection id → CRM record. */
  crmRecords: Record<string, ContactCrmRecord>;
  owner?: ContactOwner;
}

/** The E.164 phone a contact reference identifies, from `phone` or else `waId`. */
export function contactPhone(ref: ContactRef): string | undefined {
  if (ref.phone !== undefined && ref.phone !== '') return normalizePhone(ref.phone) ?? undefined;
  if (ref.waId !== undefined && ref.waId !== '') return normalizePhone(`+${ref.waId}`);
  return undefined;
}

/**
 * The stable key of a WhatsApp user: `phone:<E.164>` when a phone or `wa_id` is known (the CRM matches on it),
 * else `bsuid:<BSUID>` for users who hide their number behind a username; `undefined` when the reference names nobody.
 */
export function contactKey(ref: ContactRef): string | undefined {
  const phone = contactPhone(ref);
  if (phone !== undefined) return `phone:${phone}`;
  if (ref.userId !== undefined && ref.userId !== '') return `bsuid:${ref.userId}`;
  return undefined;
}

/** Every key the reference can be found under (phone and BSUID), so a store can alias one contact to both. */
export function contactIdentityKeys(ref: ContactRef): string[] {
  const keys: string[] = [];
  const phone = contactPhone(ref);
  if (phone !== undefined) keys.push(`phone:${phone}`);
  if (ref.userId !== undefined && ref.userId !== '') keys.push(`bsuid:${ref.userId}`);
  return keys;
}

/** The name to show: the app name, else the profile name, else the phone, else the username. */
export function contactDisplayName(contact: Contact): string | undefined {
  return contact.appName?.name ?? contact.profileName?.name ?? contact.phone ?? contact.username;
}

/** The contact reference an event carries, if any. */
export function eventContactRef(event: CoexistenceEvent): ContactRef | undefined {
  switch (event.type) {
    case 'message.received':
    case 'message.echoed':
    case 'contact.synced':
    case 'contact.removed':
      return event.contact;
    case 'message.status':
      return event.recipient;
    case 'message.edited':
    case 'message.revoked':
    case 'message.reaction':
    case 'media.available':
      return event.contact;
    default:
      return undefined;
  }
}

/** Creates a contact from a reference; throws naming `contact` when it identifies nobody. */
export function createContact(ref: ContactRef): Contact {
  const key = contactKey(ref);
  if (key === undefined) throw new TypeError('[coexist/core] contact: needs a phone, waId or userId (BSUID)');
  return mergeIdentity({ key, crmRecords: {} }, ref);
}

/** Adds what a reference adds to a contact; `at` (the event's time) orders usernames, the one identity that changes. */
function mergeIdentity(contact: Contact, ref: ContactRef, at?: string): Contact {
  const phone = contactPhone(ref);
  const next: Contact = { ...contact };
  if (contact.phone === undefined && phone !== undefined) next.phone = phone;
  if (contact.waId === undefined && ref.waId) next.waId = ref.waId;
  if (contact.userId === undefined && ref.userId) next.userId = ref.userId;
  if (contact.parentUserId === undefined && ref.parentUserId) next.parentUserId = ref.parentUserId;
  if (
    ref.username &&
    (at === undefined || contact.usernameAt === undefined || !(Date.parse(at) < Date.parse(contact.usernameAt)))
  ) {
    next.username = ref.username;
    if (at !== undefined) next.usernameAt = at;
  }
  return next;
}

function isNewer(at: string, than: DatedName | undefined): boolean {
  return than === undefined || Date.parse(at) >= Date.parse(than.at);
}

/**
 * Folds an event into the contact it names (creating it when `contact` is undefined): identities are merged,
 * `contact.synced` sets the app name (latest wins), message webhooks set the profile name, `contact.removed`
 * clears the app name. Events that name no contact return `contact` unchanged.
 */
export function applyContactEvent(contact: Contact | undefined, event: CoexistenceEvent): Contact | undefined {
  const ref = eventContactRef(event);
  const key = ref === undefined ? undefined : contactKey(ref);
  if (ref === undefined || key === undefined) return contact;
  let next = mergeIdentity(contact ?? { key, crmRecords: {} }, ref, event.occurredAt);
  const name = ref.name?.trim();
  if (event.type === 'contact.synced') {
    // Nor older than a removal (Meta redelivers late and out of order): at the same time the removal wins, whichever
    // of the two arrives first.
    const afterRemoval =
      next.removedFromAppAt === undefined || Date.parse(event.occurredAt) > Date.parse(next.removedFromAppAt);
    if (name && afterRemoval && isNewer(event.occurredAt, next.appName)) {
      next = {
        ...next,
        appName: { name, ...(ref.firstName ? { firstName: ref.firstName } : {}), at: event.occurredAt },
      };
      delete next.removedFromAppAt;
    }
  } else if (event.type === 'contact.removed') {
    if (next.appName === undefined || Date.parse(event.occurredAt) >= Date.parse(next.appName.at)) {
      const { appName: _removed, ...rest } = next;
      // The latest removal stands: a late older one must not let an add between the two bring the name back.
      const later =
        next.removedFromAppAt !== undefined && Date.parse(next.removedFromAppAt) > Date.parse(event.occurredAt);
      next = { ...rest, removedFromAppAt: later ? next.removedFromAppAt! : event.occurredAt };
    }
  } else if (name && (event.type === 'message.received' || event.type === 'message.echoed')) {
    // A profile name is only ever a profile name: it never touches `appName`.
    if (isNewer(event.occurredAt, next.profileName)) next = { ...next, profileName: { name, at: event.occurredAt } };
  }
  return next;
}

/** Records the CRM record a contact maps to on one connection. */
export function linkCrmRecord(contact: Contact, connectionId: string, record: ContactCrmRecord): Contact {
  return { ...contact, crmRecords: { ...contact.crmRecords, [connectionId]: record } };
}

/** Applies a conversation touch to the contact's CRM owner (first touch wins unless configured `latest-touch`). */
export function applyOwnerTouch(contact: Contact, touch: OwnerTouch, options: OwnerResolutionOptions): Contact {
  const owner = resolveContactOwner(contact.owner, touch, options);
  return owner === contact.owner || owner === undefined ? contact : { ...contact, owner };
}
