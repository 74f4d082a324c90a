import { phoneVariants } from '@coexist/core';
import type { TrafficPlan } from '@coexist/sandbox';
import type { SeededCustomer } from './demo-target.ts';

/**
 * Picks every `every`-th customer with a visible phone and writes their number the way a rep might have typed
 * it into the CRM before Coexist arrived: international with spaces, `00` prefix, bare digits, or national.
 */
export function pickExistingContacts(plan: TrafficPlan, every = 4): SeededCustomer[] {
  const picked: SeededCustomer[] = [];
  const seen = new Set<string>();
  for (const number of plan.numbers) {
    number.customers.forEach((customer, index) => {
      if (!customer.phoneVisible || index % every !== 0) return;
      const e164 = `+${customer.phoneDigits}`;
      if (seen.has(e164)) return;
      seen.add(e164);
      const variants = phoneVariants(e164);
      // phoneVariants order: E.164, digits, 00-digits, international, national, ...
      const formats = [variants[3], variants[2], variants[1], customer.country === 'US' ? variants[4] : variants[3]];
      picked.push({ customer, e164, storedAs: formats[picked.length % formats.length] ?? e164 });
    });
  }
  return picked;
}
