/**
 * A customer's identity fields in each place Meta puts them. Username adopters with a hidden number
 * get `""` in every phone field and are identified by their BSUID (M-BSUID).
 */
import type { PlannedCustomer } from './traffic-plan.ts';

/** The phone digits Meta shows for a customer (`""` when hidden). */
export function visiblePhone(customer: PlannedCustomer): string {
  return customer.phoneVisible ? customer.phoneDigits : '';
}

/** A `value.contacts[]` item of a `messages` webhook. */
export function inboundContactEntry(customer: PlannedCustomer): Record<string, unknown> {
  const profile: Record<string, unknown> = { name: customer.profileName };
  if (customer.username) profile.username = customer.username;
  if (customer.userId) profile.country_code = customer.country;
  return { profile, wa_id: visiblePhone(customer), ...(customer.userId ? { user_id: customer.userId } : {}) };
}

/** A `value.contacts[]` item of an echo (BSUID rollout only: no profile name). */
export function echoContactEntry(customer: PlannedCustomer): Record<string, unknown> {
  const profile: Record<string, unknown> = {};
  if (customer.username) profile.username = customer.username;
  profile.country_code = customer.country;
  return { profile, wa_id: visiblePhone(customer), user_id: customer.userId };
}

/** `from` plus `from_user_id` of a customer's message. */
export function customerSender(customer: PlannedCustomer): Record<string, unknown> {
  return { from: visiblePhone(customer), ...(customer.userId ? { from_user_id: customer.userId } : {}) };
}

/** `to` plus `to_user_id` of a business message to the customer. */
export function customerRecipient(customer: PlannedCustomer): Record<string, unknown> {
  return { to: visiblePhone(customer), ...(customer.userId ? { to_user_id: customer.userId } : {}) };
}

/** A history `threads[]` item's identity (`id` and the BSUID `context`). */
export function threadIdentity(customer: PlannedCustomer): Record<string, unknown> {
  if (!customer.userId) return { id: visiblePhone(customer) };
  const context: Record<string, unknown> = { wa_id: visiblePhone(customer), user_id: customer.userId };
  if (customer.username) context.username = customer.username;
  context.country_code = customer.country;
  return { id: visiblePhone(customer), context };
}

/** An `smb_app_state_sync` contact object (`remove` carries no names). */
export function stateSyncContact(
  customer: PlannedCustomer,
  action: 'add' | 'remove',
  fullName?: string,
): Record<string, unknown> {
  const contact: Record<string, unknown> =
    action === 'add'
      ? {
          full_name: fullName ?? customer.fullName,
          first_name: customer.firstName,
          phone_number: visiblePhone(customer),
        }
      : { phone_number: visiblePhone(customer) };
  if (customer.userId) {
    contact.user_id = customer.userId;
    if (customer.username) contact.username = customer.username;
    contact.country_code = customer.country;
  }
  return contact;
}
