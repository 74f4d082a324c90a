/**
 * The initial contact sync: after `smb_app_data` with `sync_type: smb_app_state_sync`, every
 * address-book contact arrives as an `add` with `full_name` and `first_name` (M-SYNC, M-ONB).
 */
import { stateSyncContact } from './customer-fields.ts';
import type { ManifestRecorder } from './manifest-recorder.ts';
import type { SeededRandom } from './seeded-random.ts';
import { numberMetadata, type TrafficDraft } from './traffic-draft.ts';
import type { NumberPlan } from './traffic-plan.ts';
import { createEnvelope } from './webhook-json.ts';

/** Contacts per initial-sync webhook. ASSUMPTION: Meta does not document the batch size; 200 keeps bodies small. */
export const CONTACT_SYNC_BATCH = 200;

/** Yields the initial `smb_app_state_sync` webhooks of one number, starting at `startAt` (Unix seconds). */
export function* buildContactSync(
  plan: NumberPlan,
  random: SeededRandom,
  recorder: ManifestRecorder,
  startAt: number,
): Generator<TrafficDraft> {
  const contacts = plan.customers.filter((customer) => customer.inAddressBook);
  let clock = startAt;
  for (let start = 0; start < contacts.length; start += CONTACT_SYNC_BATCH) {
    const batch = contacts.slice(start, start + CONTACT_SYNC_BATCH);
    const stateSync = batch.map((customer) => {
      recorder.syncedContact(plan.index, customer.index);
      return {
        type: 'contact',
        contact: stateSyncContact(customer, 'add'),
        action: 'add',
        metadata: { timestamp: String(clock) },
      };
    });
    yield {
      kind: 'contact-sync',
      field: 'smb_app_state_sync',
      numberIndex: plan.index,
      deliverAt: clock,
      updates: batch.length,
      body: createEnvelope(plan.wabaId, 'smb_app_state_sync', {
        messaging_product: 'whatsapp',
        metadata: numberMetadata(plan),
        state_sync: stateSync,
      }),
    };
    clock += random.int(1, 3);
  }
}
