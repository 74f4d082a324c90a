/** `message.status` events from `value.statuses[]`. */
import type { CoexistenceEvent, DeliveryStatus, MessageStatusEvent } from '../events/coexistence-event.ts';
import { statusEventId } from './event-id.ts';
import type { MetaStatus } from './meta-webhook-schema.ts';
import { statusRecipient } from './normalize-contact.ts';
import { type ChangeContext, eventBase } from './normalize-context.ts';
import { unknownEvent } from './normalize-message.ts';
import { normalizeErrors } from './normalize-message-content.ts';

const DELIVERY_STATUSES: ReadonlySet<string> = new Set(['sent', 'delivered', 'read', 'played', 'failed']);

/** The event of one status; a status value outside the documented set becomes an `unknown` event. */
export function normalizeStatus(status: MetaStatus, path: string, context: ChangeContext): CoexistenceEvent {
  const value = status.status.toLowerCase();
  const recipient = statusRecipient(status, context.profiles);
  if (!DELIVERY_STATUSES.has(value)) return unknownEvent(status, path, context, status.timestamp, recipient);
  const event: MessageStatusEvent = {
    type: 'message.status',
    ...eventBase(context, statusEventId(status.id, value), status.timestamp),
    messageId: status.id,
    status: value as DeliveryStatus,
    recipient,
  };
  if (status.errors !== undefined && status.errors.length > 0) event.errors = normalizeErrors(status.errors);
  const pricing = status.pricing;
  if (pricing !== undefined) {
    event.pricing = {};
    if (pricing.billable !== undefined) event.pricing.billable = pricing.billable;
    if (pricing.pricing_model !== undefined) event.pricing.pricingModel = pricing.pricing_model;
    if (pricing.category !== undefined) event.pricing.category = pricing.category;
    if (pricing.type !== undefined) event.pricing.type = pricing.type;
  }
  if (status.conversation?.id !== undefined) event.conversationId = status.conversation.id;
  if (status.biz_opaque_callback_data !== undefined) event.bizOpaqueCallbackData = status.biz_opaque_callback_data;
  return event;
}
