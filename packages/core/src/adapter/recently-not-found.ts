/**
 * Whether the engine's "not found" for a contact (`ContactInput.notFoundAt`) is recent enough for an adapter to skip
 * its own look-up before creating the contact. Adapters without server-side dedupe (Close) or that read before an
 * upsert (HubSpot) share this rule, so they agree on what "just searched" means.
 */
import type { ContactInput } from './crm-records.ts';

/** How old a "not found" may be and still stand in for the adapter's own look-up. */
export const RECENT_NOT_FOUND_MS = 30_000;

/** Whether the engine searched for this contact and found nothing within `withinMs` (default 30 s) of `now`. */
export function isRecentlyNotFound(
  contact: Pick<ContactInput, 'notFoundAt'>,
  options: { now?: number; withinMs?: number } = {},
): boolean {
  if (contact.notFoundAt === undefined) return false;
  const at = Date.parse(contact.notFoundAt);
  if (Number.isNaN(at)) return false;
  const age = (options.now ?? Date.now()) - at;
  return age >= 0 && age <= (options.withinMs ?? RECENT_NOT_FOUND_MS);
}
