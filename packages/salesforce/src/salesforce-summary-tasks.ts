/**
 * Optional summary Tasks (`summaryTasks: true`): one completed Task per conversation per day (UTC) on the contact's
 * activity timeline, related to the `WhatsApp_Conversation__c` (`WhatId`) and the Contact or Lead (`WhoId`), so the
 * conversation shows where reps already look. A Task has no External ID of ours, so existing ones are looked up by
 * `WhatId` first (crm-apis.md §3.2: `WhoId` cannot be set by external id, `TaskSubtype` is fixed). Best effort:
 * the messages are the record of truth; a failed Task is reported through `onWarning`.
 */
import type { MessageRecord } from '@coexist/core';
import { contactObjectOfId } from './salesforce-record-ids.ts';

/** What `writeSummaryTasks` needs from the adapter. */
export interface SummaryTaskWriter {
  /** The written messages. */
  messages: readonly MessageRecord[];
  conversationIdOf: (conversationKey: string) => string | undefined;
  ownerOf: (message: MessageRecord) => string | undefined;
  query: (soql: string) => Promise<Record<string, unknown>[]>;
  create: (records: readonly Record<string, unknown>[]) => Promise<void>;
}

/** The Task of one conversation-day. */
export function toSummaryTaskFields(message: MessageRecord, conversationId: string, ownerId: string | undefined) {
  const day = message.occurredAt.slice(0, 10);
  const who = contactObjectOfId(message.contactCrmId);
  return {
    Subject: `WhatsApp conversation on ${day}`,
    ActivityDate: day,
    Status: 'Completed',
    Type: 'Other',
    WhatId: conversationId,
    ...(who === 'Contact' || who === 'Lead' ? { WhoId: message.contactCrmId } : {}),
    ...(ownerId === undefined ? {} : { OwnerId: ownerId }),
    Description: 'WhatsApp messages synced by Coexist; open the WhatsApp Conversation for the thread.',
  };
}

/** Creates the missing summary Tasks of the conversation-days the messages touch. */
export async function writeSummaryTasks(writer: SummaryTaskWriter): Promise<void> {
  const wanted = new Map<string, Record<string, unknown>>();
  for (const message of writer.messages) {
    const conversationId = writer.conversationIdOf(message.conversationKey);
    if (conversationId === undefined) continue;
    const fields = toSummaryTaskFields(message, conversationId, writer.ownerOf(message));
    wanted.set(`${conversationId}:${fields.ActivityDate}`, fields);
  }
  if (wanted.size === 0) return;
  const ids = [...new Set([...wanted.values()].map((fields) => String(fields.WhatId)))];
  const existing = new Set<string>();
  for (let start = 0; start < ids.length; start += 100) {
    const list = ids
      .slice(start, start + 100)
      .map((id) => `'${id.replace(/[^a-zA-Z0-9]/g, '')}'`)
      .join(', ');
    for (const task of await writer.query(`SELECT Id, WhatId, ActivityDate FROM Task WHERE WhatId IN (${list})`)) {
      existing.add(`${String(task.WhatId)}:${String(task.ActivityDate)}`);
    }
  }
  const missing = [...wanted.entries()].filter(([key]) => !existing.has(key)).map(([, fields]) => fields);
  if (missing.length > 0) await writer.create(missing);
}
