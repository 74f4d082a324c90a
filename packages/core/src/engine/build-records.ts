/**
 * Pure mappers from events to the records of the adapter contract: contact find requests and inputs, message
 * records and message updates. The output carries message content; it goes to the adapter, never to logs.
 */
import type {
  ContactFindRequest,
  ContactInput,
  MessageChange,
  MessageRecord,
  MessageRecordContent,
} from '../adapter/crm-records.ts';
import type {
  CoexistenceEvent,
  ContactRef,
  MessageContent,
  MessageEchoedEvent,
  MessageReceivedEvent,
} from '../events/coexistence-event.ts';
import { contactPhone } from '../models/contact.ts';
import { summarizeMessageContent } from '../models/message-content.ts';
import { phoneVariants } from '../models/phone.ts';
import { applyTimelineEvent, createTimelineMessage } from '../models/timeline.ts';
import type { ContactMapping } from '../store/coexist-store.ts';

/** The record content of a message's content. */
export function toRecordContent(content: MessageContent): MessageRecordContent {
  const record: MessageRecordContent = {
    kind: content.kind,
    summary: summarizeMessageContent(content),
    placeholder: content.kind === 'media_placeholder',
  };
  if (content.text !== undefined) record.text = content.text;
  if (content.caption !== undefined) record.caption = content.caption;
  if (content.media !== undefined) record.media = content.media;
  if (content.context?.repliedToId !== undefined) record.replyToMessageId = content.context.repliedToId;
  return record;
}

/** Context of one message record that only the engine knows. */
export interface MessageRecordContext {
  contact: ContactMapping;
  conversationKey: string;
  /** The customer's E.164 phone (from the contact key, so the record needs no second normalization). */
  contactPhone?: string;
  ownerId?: string;
  /** Set only for CRMs that thread messages (`capabilities.threadsMessages`). */
  previousMessageCrmId?: string | null;
  /** No message of the conversation is recorded as written yet. */
  firstInConversation?: boolean;
}

/**
 * The message record of an inbound or app-sent message; `updates` (see `isCarriableUpdate`: media follow-ups,
 * statuses) are applied to it with the timeline model, so the record carries them.
 */
export function toMessageRecord(
  event: MessageReceivedEvent | MessageEchoedEvent,
  context: MessageRecordContext,
  updates: readonly CoexistenceEvent[] = [],
): MessageRecord {
  let timeline = createTimelineMessage(event);
  for (const update of updates) timeline = applyTimelineEvent(timeline, update) ?? timeline;
  const record: MessageRecord = {
    key: event.message.id,
    direction: timeline.direction,
    actor: timeline.actor,
    occurredAt: event.occurredAt,
    source: event.source,
    contactCrmId: context.contact.crmId,
    conversationKey: context.conversationKey,
    content: toRecordContent(timeline.content),
  };
  if (context.contact.parentId !== undefined) record.contactParentCrmId = context.contact.parentId;
  if (context.contactPhone !== undefined) record.contactPhone = context.contactPhone;
  if (event.businessPhone !== undefined) record.businessPhone = event.businessPhone;
  if (context.previousMessageCrmId !== undefined) record.previousMessageCrmId = context.previousMessageCrmId;
  if (context.firstInConversation !== undefined) record.firstInConversation = context.firstInConversation;
  if (timeline.status !== undefined) record.status = timeline.status;
  if (context.ownerId !== undefined) record.ownerId = context.ownerId;
  return record;
}

/** The change an update event makes to its message, or `undefined` when it carries none (an edit without content). */
export function toMessageChange(event: CoexistenceEvent): MessageChange | undefined {
  switch (event.type) {
    case 'message.status': {
      const change: MessageChange = { kind: 'status', status: event.status, at: event.occurredAt };
      const error = event.errors?.[0];
      if (error === undefined) return change;
      return { ...change, errorCode: error.code, ...(error.title ? { errorTitle: error.title } : {}) };
    }
    case 'message.edited':
      return event.message === undefined
        ? undefined
        : { kind: 'edit', content: toRecordContent(event.message), at: event.occurredAt };
    case 'message.revoked':
      return { kind: 'revoke', at: event.occurredAt };
    case 'message.reaction':
      return { kind: 'reaction', actor: event.actor, emoji: event.emoji, at: event.occurredAt };
    case 'media.available':
      return {
        kind: 'media',
        content: toRecordContent({ ...event.message, id: event.messageId }),
        at: event.occurredAt,
      };
    default:
      return undefined;
  }
}

/** `phoneVariants` of an E.164 number (memoized there); `undefined` when it cannot be parsed. */
function variantsOf(phone: string): readonly string[] | undefined {
  try {
    return phoneVariants(phone);
  } catch {
    // A possible-but-unparseable number still searches by its E.164 form.
    return undefined;
  }
}

/** The find request of a contact key and reference. */
export function toContactFindRequest(key: string, ref: ContactRef): ContactFindRequest {
  const request: ContactFindRequest = { key };
  const phone = contactPhone(ref);
  if (phone !== undefined) {
    request.phone = phone;
    const variants = variantsOf(phone);
    if (variants !== undefined) request.phoneVariants = variants;
  }
  if (ref.waId !== undefined) request.waId = ref.waId;
  if (ref.userId !== undefined) request.userId = ref.userId;
  return request;
}

/** The contact input of a contact key and reference. */
export function toContactInput(
  key: string,
  ref: ContactRef,
  extra: { crmId?: string; ownerId?: string; notFoundAt?: string } = {},
): ContactInput {
  const input: ContactInput = { key };
  const phone = contactPhone(ref);
  if (phone !== undefined) input.phone = phone;
  if (ref.waId !== undefined) input.waId = ref.waId;
  if (ref.userId !== undefined) input.userId = ref.userId;
  if (ref.name !== undefined) input.name = ref.name;
  if (ref.firstName !== undefined) input.firstName = ref.firstName;
  if (extra.crmId !== undefined) input.crmId = extra.crmId;
  if (extra.ownerId !== undefined) input.ownerId = extra.ownerId;
  if (extra.notFoundAt !== undefined) input.notFoundAt = extra.notFoundAt;
  return input;
}
