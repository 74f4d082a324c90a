/** The internal form of a payload before it gets its sequence number and serialized body. */
import type { NumberPlan } from './traffic-plan.ts';
import type { TrafficPayloadKind } from './traffic-types.ts';

/** A payload waiting to be ordered and serialized. */
export interface TrafficDraft {
  kind: TrafficPayloadKind;
  field: string;
  numberIndex: number | null;
  /** Simulated delivery time, Unix seconds. */
  deliverAt: number;
  updates: number;
  body: unknown;
}

/** The `metadata` object of phone-number-scoped webhooks. */
export function numberMetadata(plan: NumberPlan): Record<string, unknown> {
  return { display_phone_number: plan.display.digits, phone_number_id: plan.phoneNumberId };
}
