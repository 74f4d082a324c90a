/**
 * Maps the messages of one conversation in a batch to the fields of its `WhatsApp_Conversation__c` record: the
 * thread key (External ID), the contact's lookup (`Contact__c`, `Lead__c` or `Account__c` by id prefix), both
 * phones, who owns the conversation (the last side to reply, domain.md), when the 24-hour service window closes
 * (only a customer's live message opens it; echoes and history do not) and the last message time. Values only move
 * forward: a batch of older history never rewinds what the stored record already says. Pure.
 */
import type { MessageRecord } from '@coexist/core';
import type { SalesforceConversationRecord } from './salesforce-api.ts';
import { formatSalesforceDateTime, parseSalesforceDateTime } from './salesforce-datetime.ts';
import { contactObjectOfId } from './salesforce-record-ids.ts';

/** The customer-service window Meta grants after a customer's message. */
export const SERVICE_WINDOW_MS = 24 * 60 * 60 * 1000;

/** Options of `toConversationFields`. */
export interface ConversationFieldOptions {
  /** The Salesforce user who owns the record (from `owners[businessPhone]`), when known. */
  ownerId?: string;
}

/**
 * The fields to upsert for one conversation, given its messages in this batch (non-empty, one `conversationKey`)
 * and the stored record, when there is one. Returns `undefined` when the stored record already says everything.
 */
export function toConversationFields(
  messages: readonly MessageRecord[],
  stored: SalesforceConversationRecord | undefined,
  options: ConversationFieldOptions = {},
): Record<string, string> | undefined {
  const first = messages[0];
  if (first === undefined) throw new RangeError('[coexist/salesforce] toConversationFields: `messages` is empty');
  const fields: Record<string, string> = {};
  if (stored === undefined) {
    fields.Thread_Key__c = first.conversationKey;
    const contactObject = contactObjectOfId(first.contactCrmId);
    if (contactObject !== undefined) fields[`${contactObject}__c`] = first.contactCrmId;
    const parent = first.contactParentCrmId;
    if (parent !== undefined && contactObjectOfId(parent) === 'Account') fields.Account__c = parent;
    if (first.businessPhone !== undefined) fields.Business_Phone__c = first.businessPhone;
    if (first.contactPhone !== undefined) fields.Customer_Phone__c = first.contactPhone;
    if (options.ownerId !== undefined) fields.OwnerId = options.ownerId;
  }

  const storedLast = parseSalesforceDateTime(stored?.Last_Message_At__c);
  const storedWindow = parseSalesforceDateTime(stored?.Window_Expires_At__c);
  let last: number | undefined;
  let lastReply: { at: number; side: string } | undefined;
  let windowExpires: number | undefined;
  for (const message of messages) {
    const at = Date.parse(message.occurredAt);
    if (Number.isNaN(at)) continue;
    if (last === undefined || at > last) last = at;
    if (message.direction === 'outbound' && (lastReply === undefined || at >= lastReply.at)) {
      lastReply = { at, side: message.actor === 'cloud_api' ? 'cloud_api' : 'business_app' };
    }
    if (message.actor === 'customer' && message.direction === 'inbound' && message.source === 'live') {
      const expires = at + SERVICE_WINDOW_MS;
      if (windowExpires === undefined || expires > windowExpires) windowExpires = expires;
    }
  }
  if (last !== undefined && (storedLast === undefined || last > storedLast)) {
    fields.Last_Message_At__c = formatSalesforceDateTime(last);
  }
  if (
    lastReply !== undefined &&
    lastReply.side !== stored?.Owner_Side__c &&
    (storedLast === undefined || lastReply.at >= storedLast)
  ) {
    fields.Owner_Side__c = lastReply.side;
  }
  if (windowExpires !== undefined && (storedWindow === undefined || windowExpires > storedWindow)) {
    fields.Window_Expires_At__c = formatSalesforceDateTime(windowExpires);
  }
  if (stored !== undefined && Object.keys(fields).length === 0) return undefined;
  fields.Thread_Key__c = first.conversationKey;
  return fields;
}
