/**
 * Pure mappers between Coexist contacts and Close leads/contacts: the phone search (one `POST /data/search/` for many
 * phones, an `or` of `exact_value` conditions over every stored format of each number; crm-apis.md §4.3,
 * https://developer.close.com/api/resources/advanced-filtering), the client-side confirmation of its hits, and the
 * `POST /lead/` body that creates a lead with its contact inline for an unknown number.
 */
import {
  type ContactFindRequest,
  type ContactFindResult,
  type ContactInput,
  type ContactMatch,
  type CountryCode,
  normalizePhone,
  phoneVariants,
} from '@coexist/core';
import type { CloseLeadCreate, CloseWireContact } from './close-api.ts';

/** Fields the phone search asks Close to return for each contact. */
export const CLOSE_CONTACT_SEARCH_FIELDS = ['id', 'lead_id', 'name', 'phones'] as const;
/** Page size of the phone search (the emulator's and, by assumption, Close's maximum is 200). */
export const CLOSE_SEARCH_PAGE_SIZE = 200;

/** The E.164 number a find request is about (its phone, else its `wa_id`), or `undefined` when it has none. */
export function requestPhone(request: Pick<ContactFindRequest, 'phone' | 'waId'>): string | undefined {
  if (request.phone !== undefined && request.phone !== '') return normalizePhone(request.phone);
  if (request.waId !== undefined && request.waId !== '') return normalizePhone(`+${request.waId.replace(/\D/g, '')}`);
  return undefined;
}

/** What one phone search looks for: exact values (every stored format) and digit phrases (numbers stored unparsed). */
export interface ClosePhoneSearchValues {
  /** Each number's E.164 and the formats reps store it in, matched with `exact_value` (Close normalizes both sides). */
  exact: string[];
  /**
   * Each number's international digits, matched with `phrase`: finds numbers Close could not normalize and kept as
   * typed (`4915123456789` in a US organization) [assumption: Close's phone `phrase` mode matches digit runs].
   */
  phrase: string[];
}

/** The values to search for, deduplicated, in request order. */
export function closeSearchValues(requests: readonly ContactFindRequest[]): ClosePhoneSearchValues {
  const exact = new Set<string>();
  const phrase = new Set<string>();
  for (const request of requests) {
    const e164 = requestPhone(request);
    if (e164 === undefined) continue;
    exact.add(e164);
    phrase.add(e164.slice(1));
    for (const variant of request.phoneVariants ?? phoneVariants(e164)) if (variant.trim() !== '') exact.add(variant);
  }
  return { exact: [...exact], phrase: [...phrase] };
}

/** The `POST /data/search/` body finding contacts with any of these phones, or `undefined` when there are none. */
export function toClosePhoneSearch(
  values: ClosePhoneSearchValues,
  cursor?: string | null,
): Record<string, unknown> | undefined {
  if (values.exact.length === 0 && values.phrase.length === 0) return undefined;
  const condition = (mode: 'exact_value' | 'phrase', value: string) => ({
    type: 'field_condition',
    field: { type: 'regular_field', object_type: 'contact_phone', field_name: 'phone' },
    condition: { type: 'text', mode, value },
  });
  return {
    query: {
      type: 'and',
      queries: [
        { type: 'object_type', object_type: 'contact' },
        {
          type: 'has_related',
          this_object_type: 'contact',
          related_object_type: 'contact_phone',
          related_query: {
            type: 'or',
            queries: [
              ...values.exact.map((value) => condition('exact_value', value)),
              ...values.phrase.map((value) => condition('phrase', value)),
            ],
          },
        },
      ],
    },
    _fields: { contact: [...CLOSE_CONTACT_SEARCH_FIELDS] },
    _limit: CLOSE_SEARCH_PAGE_SIZE,
    ...(cursor ? { cursor } : {}),
  };
}

/**
 * Answers each request with the contacts whose stored phones normalize to its number, or to a retired form of it
 * (`phoneVariants`), oldest first (Close's search is a pre-filter; this confirms). Requests without a phone answer
 * no matches.
 */
export function matchClosePhoneSearch(
  requests: readonly ContactFindRequest[],
  contacts: readonly CloseWireContact[],
  defaultCountry?: CountryCode,
): ContactFindResult[] {
  const byPhone = new Map<string, ContactMatch[]>();
  const seen = new Set<string>();
  const order = new Map(contacts.map((contact, index) => [contact.id, index]));
  for (const contact of contacts) {
    for (const stored of contact.phones ?? []) {
      const e164 = normalizePhone(stored.phone, defaultCountry === undefined ? {} : { defaultCountry });
      if (e164 === undefined || seen.has(`${e164}\u0000${contact.id}`)) continue;
      seen.add(`${e164}\u0000${contact.id}`);
      const match: ContactMatch = {
        crmId: contact.id,
        matchedOn: 'phone',
        objectType: 'contact',
        ...(contact.name ? { name: contact.name } : {}),
        ...(contact.lead_id === undefined ? {} : { parentId: contact.lead_id }),
      };
      const list = byPhone.get(e164);
      if (list === undefined) byPhone.set(e164, [match]);
      else list.push(match);
    }
  }
  return requests.map((request) => {
    const e164 = requestPhone(request);
    if (e164 === undefined) return { key: request.key, ok: true, matches: [] };
    // The number itself, or a retired form of it a rep saved (an Argentine mobile without its 9: `phoneVariants`).
    const forms = new Set([
      e164,
      ...(request.phoneVariants ?? phoneVariants(e164)).filter((form) => form.startsWith('+')),
    ]);
    const matches = new Map<string, ContactMatch>();
    for (const form of forms) for (const match of byPhone.get(form) ?? []) matches.set(match.crmId, match);
    const ordered = [...matches.values()].sort((left, right) => order.get(left.crmId)! - order.get(right.crmId)!);
    return { key: request.key, ok: true, matches: ordered };
  });
}

/** Options of `toCloseLeadCreate`. */
export interface CloseLeadMappingOptions {
  /** The lead custom field (type user) that holds the owner; Close has no built-in lead owner. */
  ownerCustomFieldId?: string;
  /** The owner to set when the input names none. */
  fallbackOwnerId?: string;
}

/** The `POST /lead/` body for a new contact: a lead named after the contact, the contact inline with its phone. */
export function toCloseLeadCreate(
  input: ContactInput,
  e164: string,
  options: CloseLeadMappingOptions = {},
): CloseLeadCreate {
  const name = input.name?.trim() || input.firstName?.trim() || undefined;
  const ownerId = input.ownerId ?? options.fallbackOwnerId;
  return {
    name: name ?? `WhatsApp ${e164}`,
    contacts: [{ ...(name === undefined ? {} : { name }), phones: [{ phone: e164, type: 'mobile' }] }],
    ...(options.ownerCustomFieldId !== undefined && ownerId !== undefined
      ? { custom: { [options.ownerCustomFieldId]: ownerId } }
      : {}),
  };
}
