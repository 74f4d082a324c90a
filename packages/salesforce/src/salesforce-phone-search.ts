/**
 * Finding Contacts and unconverted Leads by phone, many phones per request (crm-apis.md §3.4):
 * - SOQL `WhatsApp_E164__c IN (…)` on our own External ID field: exact, indexed, no search-index delay; it finds
 *   every record the adapter created or matched before.
 * - SOSL `FIND {d1 OR d2 …} IN PHONE FIELDS RETURNING Contact(…), Lead(… WHERE IsConverted = false)` for the rest:
 *   the search index matches phone fields by digits whatever format a rep typed. Terms are digits only (no SOSL
 *   reserved characters to escape). A SearchQuery over 4,000 characters loses its logical operators and one over
 *   10,000 returns nothing (https://developer.salesforce.com/docs/platform/salesforce-soql-sosl/guide/sforce-api-calls-sosl-syntax.html),
 *   so searches are cut at 4,000 characters.
 * Every hit is confirmed client-side with `storedPhoneMatches` (core), since a search matches loosely. Pure.
 */
import { type CountryCode, normalizePhone, phoneVariants, storedPhoneMatches } from '@coexist/core';
import type { SalesforcePersonRecord } from './salesforce-api.ts';

/** The longest SOSL SearchQuery (the text between the braces) that keeps its `OR` operators. */
export const SOSL_SEARCH_QUERY_MAX_LENGTH = 4_000;

/** Fields selected from matched Contacts and Leads. */
export const PERSON_FIELDS = [
  'Id',
  'Name',
  'Phone',
  'MobilePhone',
  'WhatsApp_E164__c',
  'WhatsApp_User_Id__c',
  'OwnerId',
] as const;

/** Digits only. */
function digitsOf(value: string): string {
  return value.replace(/\D/g, '');
}

/** The formats of an E.164 phone (`phoneVariants`), from a cache when the caller has them already. */
export type PhoneVariantsOf = (e164: string) => readonly string[];

/** The digit strings a phone is searched by: E.164 digits, the national number and the national form with prefix. */
export function phoneSearchTerms(e164: string, variantsOf: PhoneVariantsOf = phoneVariants): string[] {
  const terms = new Set<string>();
  for (const variant of variantsOf(e164)) {
    const digits = digitsOf(variant);
    // `00…` duplicates the E.164 digits with a prefix; short numbers would match unrelated ones.
    if (digits.length >= 7 && !digits.startsWith('00')) terms.add(digits);
  }
  return [...terms];
}

/** SOSL searches covering every phone, each SearchQuery at most `maxLength` characters. */
export function buildPhoneSearches(
  phones: readonly string[],
  maxLength = SOSL_SEARCH_QUERY_MAX_LENGTH,
  variantsOf: PhoneVariantsOf = phoneVariants,
): string[] {
  const searches: string[] = [];
  let current: string[] = [];
  let length = 0;
  const flush = () => {
    if (current.length === 0) return;
    const contactFields = [...PERSON_FIELDS, 'AccountId'].join(', ');
    const leadFields = PERSON_FIELDS.join(', ');
    searches.push(
      `FIND {${current.join(' OR ')}} IN PHONE FIELDS RETURNING Contact(${contactFields}), Lead(${leadFields} WHERE IsConverted = false)`,
    );
    current = [];
    length = 0;
  };
  for (const phone of phones) {
    const terms = phoneSearchTerms(phone, variantsOf);
    const added = terms.reduce((sum, term) => sum + term.length + 4, 0);
    if (length + added > maxLength) flush();
    current.push(...terms);
    length += added;
  }
  flush();
  return searches;
}

/** The SOQL that finds records by our E.164 field; Leads only while unconverted. */
export function buildE164Query(objectType: 'Contact' | 'Lead', phones: readonly string[]): string {
  const fields = objectType === 'Contact' ? [...PERSON_FIELDS, 'AccountId'] : [...PERSON_FIELDS];
  const values = phones.map((phone) => `'${phone.replace(/[^+\d]/g, '')}'`).join(', ');
  const converted = objectType === 'Lead' ? ' AND IsConverted = false' : '';
  return `SELECT ${fields.join(', ')} FROM ${objectType} WHERE WhatsApp_E164__c IN (${values})${converted}`;
}

/** The SOQL that finds records by our BSUID field (`WhatsApp_User_Id__c`); Leads only while unconverted. */
export function buildUserIdQuery(objectType: 'Contact' | 'Lead', userIds: readonly string[]): string {
  const fields = objectType === 'Contact' ? [...PERSON_FIELDS, 'AccountId'] : [...PERSON_FIELDS];
  // BSUIDs are a country code, a dot and digits (`US.13491208655302741918`); anything else is dropped here and
  // rejected by the adapter, so no quote can reach the query.
  const values = userIds.map((userId) => `'${userId.replace(/[^A-Za-z0-9._-]/g, '')}'`).join(', ');
  const converted = objectType === 'Lead' ? ' AND IsConverted = false' : '';
  return `SELECT ${fields.join(', ')} FROM ${objectType} WHERE WhatsApp_User_Id__c IN (${values})${converted}`;
}

/** Which field of a record confirmed the match, best first. */
export type PhoneMatchField = 'WhatsApp_E164__c' | 'MobilePhone' | 'Phone';

/** The field on which a Contact or Lead confirms `phone`, or `undefined` when it does not. */
export function confirmPhoneMatch(
  record: SalesforcePersonRecord,
  phone: string,
  defaultCountry?: CountryCode,
): PhoneMatchField | undefined {
  if (record.WhatsApp_E164__c === phone) return 'WhatsApp_E164__c';
  if (storedPhoneMatches(record.MobilePhone, phone, defaultCountry)) return 'MobilePhone';
  if (storedPhoneMatches(record.Phone, phone, defaultCountry)) return 'Phone';
  return undefined;
}

/**
 * Confirms the hits of a search against many phones at once: `match(record)` answers, for each of `phones` the
 * record confirms, the field it does so on — the same answer as `confirmPhoneMatch` for every phone, but each
 * phone's variants are computed once and each stored number is normalized once, instead of once per record × phone.
 */
export function createPhoneMatcher(
  phones: readonly string[],
  defaultCountry?: CountryCode,
  variantsOf: PhoneVariantsOf = phoneVariants,
): (record: SalesforcePersonRecord) => Map<string, PhoneMatchField> {
  const wanted = new Set(phones);
  const byDigits = new Map<string, string[]>();
  for (const phone of wanted) {
    for (const digits of new Set(variantsOf(phone).map(digitsOf))) {
      const list = byDigits.get(digits);
      if (list === undefined) byDigits.set(digits, [phone]);
      else list.push(phone);
    }
  }
  const normalizeOptions = defaultCountry === undefined ? {} : { defaultCountry };
  const candidates = (stored: string | null | undefined): string[] => {
    if (stored === null || stored === undefined || stored.trim() === '') return [];
    const found: string[] = [];
    const normalized = normalizePhone(stored, normalizeOptions);
    if (normalized !== undefined && wanted.has(normalized)) found.push(normalized);
    const digits = digitsOf(stored);
    if (digits.length >= 7) found.push(...(byDigits.get(digits) ?? []));
    return found;
  };
  return (record) => {
    const matches = new Map<string, PhoneMatchField>();
    if (record.WhatsApp_E164__c && wanted.has(record.WhatsApp_E164__c))
      matches.set(record.WhatsApp_E164__c, 'WhatsApp_E164__c');
    for (const phone of candidates(record.MobilePhone)) if (!matches.has(phone)) matches.set(phone, 'MobilePhone');
    for (const phone of candidates(record.Phone)) if (!matches.has(phone)) matches.set(phone, 'Phone');
    return matches;
  };
}
