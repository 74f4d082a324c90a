/**
 * Events of an `account_update` change: PARTNER_REMOVED is `account.disconnected` (with `disconnection_info`),
 * ACCOUNT_OFFBOARDED and ACCOUNT_RECONNECTED have their own events, any other event is `account.updated`.
 */
import type { CoexistenceEvent } from '../events/coexistence-event.ts';
import { accountEventId } from './event-id.ts';
import type { MetaAccountUpdateValue } from './meta-webhook-schema.ts';
import { type ChangeContext, eventBase, toE164 } from './normalize-context.ts';
import { unknownEvent } from './normalize-message.ts';

/** The event of an `account_update` value; a value without `event` becomes an `unknown` event. */
export function normalizeAccountUpdate(value: MetaAccountUpdateValue, context: ChangeContext): CoexistenceEvent {
  const name = value.event;
  if (name === undefined || name === '') return unknownEvent(value, context.valuePath, context);
  // The M-ONB PARTNER_REMOVED example names the disconnected number in `value.phone_number`.
  const businessPhone = toE164(value.phone_number);
  const scoped: ChangeContext = businessPhone !== undefined ? { ...context, businessPhone } : context;
  const base = eventBase(scoped, accountEventId(context.wabaId, name, context.entryTime, value));
  switch (name.toUpperCase()) {
    case 'PARTNER_REMOVED': {
      const info = value.disconnection_info;
      return {
        type: 'account.disconnected',
        ...base,
        ...(info?.reason !== undefined && { reason: info.reason }),
        ...(info?.initiated_by !== undefined && { initiatedBy: info.initiated_by }),
      };
    }
    case 'ACCOUNT_OFFBOARDED':
      return { type: 'account.offboarded', ...base };
    case 'ACCOUNT_RECONNECTED':
      return { type: 'account.reconnected', ...base };
    default:
      return { type: 'account.updated', ...base, event: name, raw: value };
  }
}
