/**
 * Salesforce record ids: 15 or 18 characters whose first three name the object (`003` Contact, `00Q` Lead,
 * `001` Account). The adapter reads the prefix to know which lookup of a conversation a contact id fills.
 */

/** The object types a contact CRM id may point at. */
export type SalesforceContactObject = 'Contact' | 'Lead' | 'Account';

const KEY_PREFIXES: Readonly<Record<string, SalesforceContactObject>> = {
  '003': 'Contact',
  '00Q': 'Lead',
  '001': 'Account',
};

/** Whether a value has the shape of a Salesforce record id (15 or 18 letters and digits). */
export function isSalesforceId(value: string): boolean {
  return /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/.test(value);
}

/** The Contact, Lead or Account a record id points at, or `undefined` for another object or a malformed id. */
export function contactObjectOfId(id: string): SalesforceContactObject | undefined {
  return isSalesforceId(id) ? KEY_PREFIXES[id.slice(0, 3)] : undefined;
}
