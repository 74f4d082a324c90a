/**
 * Finding contacts by phone without one search per contact. HubSpot's CRM search allows 5 requests per second
 * per account, shared by every integration (crm-apis.md §2.4), so each request carries many phones: one `IN`
 * filter group per phone property — `phone`, `mobilephone`, `hs_whatsapp_phone_number` with the international
 * spellings (E.164, `+44 7911 123456`, `00…`, digits) and `hs_searchable_calculated_{phone,mobile}_number` with
 * digit spellings (HubSpot's calculated national number, [unverified] contents, catching `(650) 555-1234`).
 * 5 groups of one filter each fit the documented caps (5 groups / 6 per group / 18 filters; design to 5/6/18).
 * `IN` has no documented value cap (100 is a community figure [unverified]): the adapter packs phones up to
 * `maxInValues` per list and halves it when HubSpot answers 400. Every hit is confirmed client-side with
 * `storedPhoneMatches` (core): the stored string read back as the requested E.164.
 */
import { type ContactFindRequest, phoneVariants } from '@coexist/core';
import type { HubSpotSearchRequest } from './hubspot-api.ts';
import { CONTACT_PHONE_PROPERTIES, CONTACT_READ_PROPERTIES } from './map-hubspot-contact.ts';

/** The strings one E.164 number is searched as: exact spellings and digit spellings. */
export interface PhoneSearchValues {
  exact: string[];
  digits: string[];
}

/** The values to search one E.164 number as (including retired numbering-plan variants). */
export function phoneSearchValues(e164: string): PhoneSearchValues {
  const variants = phoneVariants(e164);
  const countryDigits = e164.slice(1);
  const exact = variants.filter(
    (variant) =>
      variant.startsWith('+') ||
      variant.startsWith('00') ||
      (/^\d+$/.test(variant) && variant.length >= countryDigits.length),
  );
  const digits = variants.filter((variant) => /^\d+$/.test(variant));
  return { exact: [...new Set(exact)], digits: [...new Set(digits)] };
}

/** One find request with the phone it searches. */
export interface PhoneSearchItem {
  index: number;
  request: ContactFindRequest;
  phone: string;
  values: PhoneSearchValues;
}

/** Packs items into chunks whose `IN` lists stay within `maxInValues` (a single item always forms a chunk). */
export function chunkPhoneSearch(items: readonly PhoneSearchItem[], maxInValues: number): PhoneSearchItem[][] {
  const chunks: PhoneSearchItem[][] = [];
  let current: PhoneSearchItem[] = [];
  let exact = 0;
  let digits = 0;
  for (const item of items) {
    const nextExact = exact + item.values.exact.length;
    const nextDigits = digits + item.values.digits.length;
    if (current.length > 0 && (nextExact > maxInValues || nextDigits > maxInValues)) {
      chunks.push(current);
      current = [];
      exact = 0;
      digits = 0;
    }
    current.push(item);
    exact += item.values.exact.length;
    digits += item.values.digits.length;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** The search request for one chunk: five OR-ed groups, one `IN` filter each. */
export function buildPhoneSearchRequest(chunk: readonly PhoneSearchItem[], after?: string): HubSpotSearchRequest {
  const exact = [...new Set(chunk.flatMap((item) => item.values.exact))];
  const digits = [...new Set(chunk.flatMap((item) => item.values.digits))];
  const group = (propertyName: string, values: string[]) => ({
    filters: [{ propertyName, operator: 'IN' as const, values }],
  });
  return {
    filterGroups: [
      ...CONTACT_PHONE_PROPERTIES.map((name) => group(name, exact)),
      group('hs_searchable_calculated_phone_number', digits),
      group('hs_searchable_calculated_mobile_number', digits),
    ],
    properties: [...CONTACT_READ_PROPERTIES],
    limit: 200,
    ...(after === undefined ? {} : { after }),
  };
}
