/**
 * Contact ownership in the CRM: rep numbers map to CRM users, and a contact first met on a rep's number is owned
 * by that rep. With `latest-touch`, the rep whose number last talked to the contact takes it over instead.
 */
import { normalizePhone } from './phone.ts';

/** Which touch decides the owner. */
export type OwnerAssignment = 'first-touch' | 'latest-touch';

/** The configured map from business numbers to CRM users. */
export interface OwnerResolutionOptions {
  /** Business number (any format; normalized to E.164) → CRM user id. */
  owners: Readonly<Record<string, string>>;
  /**
   * Whether the first or the latest rep number to touch a contact owns it.
   * @default 'first-touch'
   */
  assignment?: OwnerAssignment;
  /** CRM user id for contacts met on numbers not in `owners`; unowned when omitted. */
  defaultOwnerId?: string;
}

/** The resolved CRM owner of one contact. Plain JSON. */
export interface ContactOwner {
  /** The CRM user id. */
  ownerId: string;
  /** The business number (E.164) whose touch assigned it. */
  businessPhone: string;
  /** ISO time of that touch. */
  assignedAt: string;
}

/** One conversation touch: a message between a business number and the contact. */
export interface OwnerTouch {
  businessPhone: string;
  at: string;
}

/** Normalizes the keys of an owner map to E.164; throws naming the key that is not a phone number. */
export function normalizeOwnerMap(owners: Readonly<Record<string, string>>): Map<string, string> {
  const normalized = new Map<string, string>();
  for (const [phone, ownerId] of Object.entries(owners)) {
    const e164 = normalizePhone(phone);
    if (e164 === undefined) throw new TypeError(`[coexist/core] owners["${phone}"]: not an international phone number`);
    normalized.set(e164, ownerId);
  }
  return normalized;
}

/**
 * Resolves a contact's owner after a touch: first touch wins (an earlier touch arriving late, e.g. from history,
 * still wins) unless `assignment` is `latest-touch`. Returns the current owner unchanged when the touch does not
 * change it, `undefined` when nobody owns the contact.
 */
export function resolveContactOwner(
  current: ContactOwner | undefined,
  touch: OwnerTouch,
  options: OwnerResolutionOptions,
): ContactOwner | undefined {
  const businessPhone = normalizePhone(touch.businessPhone) ?? touch.businessPhone;
  const ownerId = normalizeOwnerMap(options.owners).get(businessPhone) ?? options.defaultOwnerId;
  if (ownerId === undefined) return current;
  if (current === undefined) return { ownerId, businessPhone, assignedAt: touch.at };
  const touchTime = Date.parse(touch.at);
  const currentTime = Date.parse(current.assignedAt);
  const assignment = options.assignment ?? 'first-touch';
  const wins = assignment === 'first-touch' ? touchTime < currentTime : touchTime > currentTime;
  return wins ? { ownerId, businessPhone, assignedAt: touch.at } : current;
}
