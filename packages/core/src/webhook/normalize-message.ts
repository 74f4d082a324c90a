/**
 * One event per Meta message object: received, echoed, edited, revoked, reaction, media follow-up, or `unknown`
 * for a type Coexist does not read. Direction decides the actor and which side is the customer.
 */
import type {
  CoexistenceEvent,
  ContactRef,
  MessageActor,
  MessageSource,
  UnknownEvent,
} from '../events/coexistence-event.ts';
import {
  editEventId,
  hashedEventId,
  mediaEventId,
  messageEventId,
  reactionEventId,
  revokeEventId,
} from './event-id.ts';
import type {
  MetaEchoMessage,
  MetaHistoryMessage,
  MetaHistoryThread,
  MetaInboundMessage,
} from './meta-webhook-schema.ts';
import { contactFromProfile, findProfile, threadContactIdentifiers } from './normalize-contact.ts';
import { type ChangeContext, digitsOf, eventBase } from './normalize-context.ts';
import { isReadableContent, normalizeMessageContent } from './normalize-message-content.ts';

/** How a message object is to be read. */
export interface MessageReading {
  /** Who sent it: the customer, or the business from the Business App. */
  actor: MessageActor;
  /** The customer the message is from or to. */
  contact: ContactRef;
  source: MessageSource;
  /** JSON path of the message object, for `unknown` events. */
  path: string;
  /** A history media follow-up: the message completes a `media_placeholder` and becomes `media.available`. */
  mediaFollowUp?: boolean;
}

function hasIdentity(contact: ContactRef): boolean {
  for (const _key in contact) return true;
  return false;
}

/** The customer who sent an inbound message: `from`/`from_user_id`, named from `value.contacts[]`. */
export function inboundContact(message: MetaInboundMessage, context: ChangeContext): ContactRef {
  const profile = findProfile(context.profiles, message.from, message.from_user_id, true);
  return contactFromProfile(
    { phone: message.from, userId: message.from_user_id, parentUserId: message.from_parent_user_id },
    profile,
  );
}

/**
 * The customer an echo went to: `to`/`to_user_id`, else `value.contacts[]`. Some published echo examples swap
 * `from` and `to`; when `to` is the business's own number and `from` is not, `from` is taken as the customer.
 */
export function echoContact(message: MetaEchoMessage, context: ChangeContext): ContactRef {
  let phone = message.to;
  let userId = message.to_user_id;
  let parentUserId = message.to_parent_user_id;
  const toDigits = digitsOf(phone);
  const fromDigits = digitsOf(message.from);
  if (
    context.businessDigits !== undefined &&
    toDigits === context.businessDigits &&
    fromDigits !== undefined &&
    fromDigits !== context.businessDigits
  ) {
    phone = message.from;
    userId = message.from_user_id;
    parentUserId = message.from_parent_user_id;
  }
  const profile = findProfile(context.profiles, phone, userId, true);
  return contactFromProfile({ phone, userId, parentUserId }, profile);
}

/**
 * Whether a history message (or history media follow-up) was sent by the business: `from` is the business
 * number, `history_context.from_me` is true, or a `to` is present (only business-sent messages have one).
 */
export function isBusinessSent(message: MetaHistoryMessage, context: ChangeContext): boolean {
  if (message.history_context?.from_me === true) return true;
  if (message.to !== undefined) return true;
  return context.businessDigits !== undefined && digitsOf(message.from) === context.businessDigits;
}

/** The customer of a history thread message: the thread's identity, completed by the message's own fields. */
export function historyContact(
  message: MetaHistoryMessage,
  thread: MetaHistoryThread,
  businessSent: boolean,
  context: ChangeContext,
): ContactRef {
  const identifiers = threadContactIdentifiers(thread);
  if (!identifiers.phone) identifiers.phone = businessSent ? message.to : message.from;
  if (!identifiers.userId) identifiers.userId = businessSent ? message.to_user_id : message.from_user_id;
  const profile = findProfile(context.profiles, identifiers.phone, identifiers.userId);
  return contactFromProfile(identifiers, profile);
}

/** The `unknown` event carrying a raw item that Coexist does not read. */
export function unknownEvent(
  raw: unknown,
  path: string,
  context: ChangeContext,
  timestamp?: MetaInboundMessage['timestamp'],
  contact?: ContactRef,
): UnknownEvent {
  const id = hashedEventId('unknown', { wabaId: context.wabaId, field: context.field, path, raw });
  const event: UnknownEvent = { type: 'unknown', ...eventBase(context, id, timestamp), raw, path };
  if (contact !== undefined && hasIdentity(contact)) event.contact = contact;
  return event;
}

/** The single event a message object stands for. */
export function normalizeMessage(
  message: MetaHistoryMessage,
  reading: MessageReading,
  context: ChangeContext,
): CoexistenceEvent {
  const { actor, contact } = reading;
  const optionalContact = hasIdentity(contact) ? contact : undefined;
  const wamid = message.id;
  const timestamp = message.timestamp;

  if (reading.mediaFollowUp === true) {
    return {
      type: 'media.available',
      ...eventBase(context, mediaEventId(wamid), timestamp),
      messageId: wamid,
      ...(optionalContact !== undefined && { contact: optionalContact }),
      actor,
      message: normalizeMessageContent(message, wamid),
    };
  }

  const type = message.type;
  if (type === 'edit' || (type === 'unsupported' && message.unsupported?.type === 'edit')) {
    const edit = message.edit;
    return {
      type: 'message.edited',
      ...eventBase(context, editEventId(wamid), timestamp),
      actor,
      ...(optionalContact !== undefined && { contact: optionalContact }),
      ...(edit?.original_message_id !== undefined && { originalMessageId: edit.original_message_id }),
      ...(edit?.message !== undefined && { message: normalizeMessageContent(edit.message, wamid) }),
    };
  }
  if (type === 'revoke') {
    const original = message.revoke?.original_message_id;
    return {
      type: 'message.revoked',
      ...eventBase(context, revokeEventId(wamid), timestamp),
      actor,
      ...(optionalContact !== undefined && { contact: optionalContact }),
      ...(original !== undefined && { originalMessageId: original }),
      messageId: wamid,
    };
  }
  if (type === 'reaction' && message.reaction !== undefined) {
    const emoji = message.reaction.emoji;
    return {
      type: 'message.reaction',
      ...eventBase(context, reactionEventId(wamid), timestamp),
      actor,
      ...(optionalContact !== undefined && { contact: optionalContact }),
      messageId: wamid,
      targetMessageId: message.reaction.message_id,
      // Meta leaves `emoji` out when the user removes a reaction.
      emoji: emoji === undefined || emoji === '' ? null : emoji,
    };
  }
  if (isReadableContent(message)) {
    const base = eventBase(context, messageEventId(wamid), timestamp);
    const content = normalizeMessageContent(message, wamid);
    return actor === 'customer'
      ? { type: 'message.received', ...base, contact, message: content, source: reading.source }
      : { type: 'message.echoed', ...base, contact, message: content, source: reading.source };
  }
  return unknownEvent(message, reading.path, context, timestamp, contact);
}
