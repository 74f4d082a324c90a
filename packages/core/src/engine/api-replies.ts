/**
 * Cloud API replies by conversation. Meta sends no webhook for a message sent through the Cloud API (by the CRM, a
 * bot, another integration), only its statuses (`statuses[]`, with the recipient); those live on the message's own
 * thread (`message|<wamid>`), where nothing that reads a conversation finds them. So when the engine parks a status
 * whose message it never saw, it also saves a small document under the conversation (`<phone_number_id>|<contact
 * key>`): the chat card reads them to show the API's messages and who owns the conversation (docs/models.md,
 * *Conversation ownership*; Meta M-ONB: the last business side to reply owns it).
 */
import type { MessageStatusEvent } from '../events/coexistence-event.ts';
import type { CoexistStore } from '../store/coexist-store.ts';

/** A message the business sent through the Cloud API, known from a status of it. */
export interface ApiReply {
  /** The message's wamid (its statuses are on thread `message|<wamid>`). */
  messageId: string;
  /** The business number it was sent from. */
  phoneNumberId: string;
  /** The conversation's thread key: `<phone_number_id>|<contact key>`. */
  threadKey: string;
  /** Time of the status of it the engine parked last (each status it parks saves the document again). */
  at: string;
}

const PREFIX = 'api-reply:';

/** The document recording that a status names a message the engine never saw, in the recipient's conversation. */
export function apiReplyDocument(
  event: MessageStatusEvent,
  threadKey: string,
): { key: string; value: ApiReply } | undefined {
  if (event.phoneNumberId === undefined) return undefined;
  return {
    key: `${PREFIX}${threadKey}|${event.messageId}`,
    value: { messageId: event.messageId, phoneNumberId: event.phoneNumberId, threadKey, at: event.occurredAt },
  };
}

/**
 * Lists the Cloud API replies the engine recorded in these conversations (thread keys `<phone_number_id>|<contact
 * key>`, as `store.listThreadEvents` takes them), by `at`, oldest first. A wamid that later arrives as an echo or a message is
 * not removed: callers that also read the conversation's messages treat those as known.
 */
export async function listApiReplies(store: CoexistStore, threadKeys: readonly string[]): Promise<ApiReply[]> {
  const lists = await Promise.all(
    [...new Set(threadKeys)].map((threadKey) => store.listDocuments<ApiReply>(`${PREFIX}${threadKey}|`)),
  );
  return lists
    .flat()
    .map((document) => document.value)
    .sort((left, right) => Date.parse(left.at) - Date.parse(right.at));
}
