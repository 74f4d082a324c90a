/**
 * Maps a message to its `WhatsApp_Message__c` fields, and a change (status, edit, revoke, reaction, media) to the
 * fields that update the stored record. Optional values are left out rather than sent as null, so a write never
 * clears what an earlier one stored; statuses never move backwards (`isStatusUpgrade`). Pure.
 */
import {
  type DeliveryStatus,
  describeStatusError,
  isStatusUpgrade,
  type MessageChange,
  type MessageRecord,
  type MessageRecordContent,
  type MessageRecordReaction,
  type MessageSender,
} from '@coexist/core';
import type { SalesforceMessageRecord } from './salesforce-api.ts';

/** `Body__c` is a Long Text Area of 131,072 characters, the largest Salesforce allows. */
export const BODY_MAX_LENGTH = 131_072;
/** `Media_Url__c` is a URL field; Salesforce caps URL fields at 255 characters (the emulator allows 1,000). */
export const MEDIA_URL_MAX_LENGTH = 255;
/** `Media_Type__c` is a text field of 100 characters. */
export const MEDIA_TYPE_MAX_LENGTH = 100;

/** The `Status__c` of an inbound message, which has no delivery status of its own. */
export const RECEIVED_STATUS = 'received';

/** Options of `toMessageFields`. */
export interface MessageFieldOptions {
  /** The `WhatsApp_Conversation__c` id the message belongs to. */
  conversationId: string;
  /** The Salesforce user who owns the record, when known. */
  ownerId?: string;
}

/** The content fields of a message: body, media URL and type. */
export function toContentFields(content: MessageRecordContent): Record<string, string> {
  const fields: Record<string, string> = { Body__c: content.summary.slice(0, BODY_MAX_LENGTH) };
  const media = content.media;
  if (media !== undefined) {
    fields.Media_Type__c = (media.mimeType ?? content.kind).slice(0, MEDIA_TYPE_MAX_LENGTH);
    // A URL longer than the field is not stored truncated (it would be broken); the engine keeps the media id. Only
    // http(s): the chat card links it, and a `javascript:` or data URL from a webhook must never become a link.
    if (media.url !== undefined && media.url.length <= MEDIA_URL_MAX_LENGTH && /^https?:\/\//i.test(media.url))
      fields.Media_Url__c = media.url;
  }
  return fields;
}

/** The `Reactions__c` text: a JSON array of `{ actor, emoji }`, one per side. */
export function formatReactions(reactions: readonly MessageRecordReaction[]): string {
  return JSON.stringify(reactions.map((reaction) => ({ actor: reaction.actor, emoji: reaction.emoji })));
}

/** Reads `Reactions__c`; an unreadable value counts as no reactions. */
export function parseReactions(value: string | null | undefined): MessageRecordReaction[] {
  if (value === null || value === undefined || value === '') return [];
  try {
    const parsed: unknown = JSON.parse(value);
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(
      (entry): entry is MessageRecordReaction =>
        typeof entry === 'object' &&
        entry !== null &&
        typeof (entry as { emoji?: unknown }).emoji === 'string' &&
        ['customer', 'business_app', 'cloud_api'].includes((entry as { actor?: unknown }).actor as string),
    );
  } catch {
    return [];
  }
}

/** The fields of a message's `WhatsApp_Message__c` upsert, keyed by `Message_Id__c` (the wamid). */
export function toMessageFields(
  message: MessageRecord,
  options: MessageFieldOptions,
): Record<string, string | boolean> {
  const fields: Record<string, string | boolean> = {
    Message_Id__c: message.key,
    Conversation__c: options.conversationId,
    Direction__c: message.direction,
    Actor__c: message.actor,
    Sent_At__c: new Date(Date.parse(message.occurredAt)).toISOString(),
    ...toContentFields(message.content),
    Edited__c: message.editedAt !== undefined,
    Revoked__c: message.revoked === true,
  };
  const status = message.status ?? (message.direction === 'inbound' ? RECEIVED_STATUS : undefined);
  if (status !== undefined) fields.Status__c = status;
  if (message.reactions !== undefined) fields.Reactions__c = formatReactions(message.reactions);
  if (options.ownerId !== undefined) fields.OwnerId = options.ownerId;
  return fields;
}

/** The stored status as a delivery status (`received` and empty mean none). */
function storedStatus(value: string | null | undefined): DeliveryStatus | undefined {
  return value === 'sent' || value === 'delivered' || value === 'read' || value === 'played' || value === 'failed'
    ? value
    : undefined;
}

/**
 * The fields a change writes to the stored message, folded onto `stored` so several changes of one batch apply in
 * order. Returns the updated view of the record and the fields to write (empty when the change changes nothing:
 * a status downgrade, an edit of a revoked message).
 */
export function applyMessageChange(
  stored: SalesforceMessageRecord,
  change: MessageChange,
): { record: SalesforceMessageRecord; fields: Record<string, string | boolean> } {
  switch (change.kind) {
    case 'status': {
      const current = storedStatus(stored.Status__c);
      if (!isStatusUpgrade(current, change.status)) return { record: stored, fields: {} };
      // Why it failed: Meta's error code and title (`Status_Error__c`, Text 255).
      const reason = change.status === 'failed' ? describeStatusError(change)?.slice(0, 255) : undefined;
      return {
        record: { ...stored, Status__c: change.status },
        fields: { Status__c: change.status, ...(reason === undefined ? {} : { Status_Error__c: reason }) },
      };
    }
    case 'edit': {
      if (stored.Revoked__c === true) return { record: stored, fields: {} };
      return { record: stored, fields: { ...toContentFields(change.content), Edited__c: true } };
    }
    case 'revoke':
      return { record: { ...stored, Revoked__c: true }, fields: { Revoked__c: true } };
    case 'reaction': {
      const others = parseReactions(stored.Reactions__c).filter((reaction) => reaction.actor !== change.actor);
      const next: MessageRecordReaction[] =
        change.emoji === null ? others : [...others, { actor: change.actor as MessageSender, emoji: change.emoji }];
      const text = formatReactions(next);
      return { record: { ...stored, Reactions__c: text }, fields: { Reactions__c: text } };
    }
    case 'media': {
      const fields = toContentFields(change.content);
      return { record: { ...stored, Media_Url__c: fields.Media_Url__c ?? stored.Media_Url__c }, fields };
    }
  }
}
