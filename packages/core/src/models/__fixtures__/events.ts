/** Builders of contract-v1 events for model tests. */
import type {
  ContactRef,
  DeliveryStatus,
  MessageContent,
  MessageEchoedEvent,
  MessageReceivedEvent,
  MessageSource,
  MessageStatusEvent,
} from '../../events/coexistence-event.ts';

const base = {
  field: 'messages',
  wabaId: '102290129340398',
  phoneNumberId: '106540352242922',
  businessPhone: '+15550783881',
};
export const customer: ContactRef = { phone: '+16505551234', waId: '16505551234', name: 'Sheena Nelson' };

export function text(id: string, body: string): MessageContent {
  return { id, kind: 'text', text: body };
}

export function received(
  id: string,
  occurredAt: string,
  options: { source?: MessageSource; content?: MessageContent; contact?: ContactRef } = {},
): MessageReceivedEvent {
  return {
    ...base,
    id: `received:${id}:${options.source ?? 'live'}`,
    type: 'message.received',
    occurredAt,
    contact: options.contact ?? customer,
    message: options.content ?? text(id, `Hello ${id}`),
    source: options.source ?? 'live',
  };
}

export function echoed(
  id: string,
  occurredAt: string,
  options: { source?: MessageSource; content?: MessageContent } = {},
): MessageEchoedEvent {
  return {
    ...base,
    id: `echoed:${id}:${options.source ?? 'live'}`,
    field: 'smb_message_echoes',
    type: 'message.echoed',
    occurredAt,
    contact: { phone: customer.phone!, waId: customer.waId! },
    message: options.content ?? text(id, `Reply ${id}`),
    source: options.source ?? 'live',
  };
}

export function status(messageId: string, value: DeliveryStatus, occurredAt: string): MessageStatusEvent {
  return {
    ...base,
    id: `status:${messageId}:${value}`,
    type: 'message.status',
    occurredAt,
    messageId,
    status: value,
    recipient: { phone: customer.phone!, waId: customer.waId! },
    ...(value === 'failed' ? { errors: [{ code: 131047 }] } : {}),
  };
}

export { base as eventBase };
