/** `contact.synced` / `contact.removed` events from `value.state_sync[]` (Business App contacts). */
import type { CoexistenceEvent } from '../events/coexistence-event.ts';
import { contactEventId } from './event-id.ts';
import type { MetaStateSyncItem } from './meta-webhook-schema.ts';
import { stateSyncContact } from './normalize-contact.ts';
import { type ChangeContext, eventBase, unixSeconds } from './normalize-context.ts';
import { unknownEvent } from './normalize-message.ts';

/**
 * The event of one contact change: `add` (added or edited, an upsert) is `contact.synced`, `remove` is
 * `contact.removed`; any other type or action becomes an `unknown` event.
 */
export function normalizeStateSyncItem(
  item: MetaStateSyncItem,
  path: string,
  context: ChangeContext,
): CoexistenceEvent {
  const timestamp = item.metadata?.timestamp;
  const action = item.action.toLowerCase();
  if (item.type !== 'contact' || item.contact === undefined || (action !== 'add' && action !== 'remove')) {
    return unknownEvent(item, path, context, timestamp);
  }
  const contact = stateSyncContact(item);
  const key = contact.phone ?? contact.userId;
  const id = contactEventId(context.phoneNumberId ?? context.wabaId, action, key, unixSeconds(timestamp), item);
  const base = eventBase(context, id, timestamp);
  return action === 'add'
    ? { type: 'contact.synced', ...base, contact }
    : { type: 'contact.removed', ...base, contact };
}
