import { contactPhone, parseWebhook } from '@coexist/core';
import type { TrafficPayload } from '@coexist/sandbox';

/**
 * Counts, per business number (`phone_number_id`), the distinct messages whose customer Meta identified by a BSUID
 * only (no phone number): a CRM that finds and records customers by phone (Close) cannot hold them.
 */
export function countMessagesWithoutPhone(payloads: readonly TrafficPayload[]): Map<string, number> {
  const seen = new Set<string>();
  const counts = new Map<string, number>();
  for (const payload of payloads) {
    for (const event of parseWebhook(JSON.parse(payload.body))) {
      if (event.type !== 'message.received' && event.type !== 'message.echoed') continue;
      if (contactPhone(event.contact) !== undefined || seen.has(event.message.id)) continue;
      seen.add(event.message.id);
      const number = event.phoneNumberId ?? '';
      counts.set(number, (counts.get(number) ?? 0) + 1);
    }
  }
  return counts;
}
