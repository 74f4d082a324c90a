/**
 * Serializes generated webhook bodies the way Meta's encoder does, and builds the envelope.
 * Meta's bodies escape non-ASCII characters as `\uXXXX` and `/` as `\/` (the Graph API's JSON
 * encoder; see meta-webhooks.md §8 on signing the escaped form). ASSUMPTION: WhatsApp webhooks use
 * the same encoder as other Graph webhooks; `jsonStyle: 'plain'` turns it off.
 */
import type { JsonStyle } from './traffic-types.ts';

/** A WhatsApp Business Account webhook envelope. */
export interface WebhookEnvelope {
  object: 'whatsapp_business_account';
  entry: Array<{ id: string; time?: number; changes: Array<{ value: Record<string, unknown>; field: string }> }>;
}

/** Wraps one change value in Meta's envelope (`value` before `field`, as in Meta's examples). */
export function createEnvelope(
  wabaId: string,
  field: string,
  value: Record<string, unknown>,
  time?: number,
): WebhookEnvelope {
  return {
    object: 'whatsapp_business_account',
    entry: [{ id: wabaId, ...(time === undefined ? {} : { time }), changes: [{ value, field }] }],
  };
}

/** Returns a deep copy whose object keys are sorted, as in the real-data (Gupshup) history payload. */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) sorted[key] = sortKeysDeep((value as Record<string, unknown>)[key]);
    return sorted;
  }
  return value;
}

const NON_ASCII_OR_SLASH = /[\u0080-\uffff/]/g;

/** Serializes a body in the given style; equal values always give equal strings. */
export function serializeWebhookBody(body: unknown, style: JsonStyle): string {
  const json = JSON.stringify(body);
  if (style === 'plain') return json;
  return json.replace(NON_ASCII_OR_SLASH, (character) =>
    character === '/' ? '\\/' : `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
