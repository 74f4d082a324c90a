/**
 * Conversation ownership on a Coexistence number: the last business side to reply owns the conversation.
 * A reply from the Business App (an echo) makes it app-owned; a reply through the Cloud API (a message the CRM sent
 * through Coexist, or a `sent` status for a wamid we never saw inbound or echoed) makes it API-owned.
 * Customer messages change nothing. Sources: Meta M-ONB, `docs/models.md`.
 */
import type { CoexistenceEvent } from '../events/coexistence-event.ts';

/** The side that owns a conversation. */
export type ConversationOwnerSide = 'app' | 'api';

/** Who owns a conversation and since when; `owner` is undefined until the business first replies. */
export interface ConversationOwnership {
  owner?: ConversationOwnerSide;
  /** ISO time of the reply that gave the current owner the conversation. */
  since?: string;
  /** The wamid of that reply. */
  messageId?: string;
}

/** What the ownership reducer needs to know beyond the event. */
export interface OwnershipContext {
  /** Whether a wamid was already seen as an inbound message or an echo (so its status is not an API reply). */
  isKnownMessage: (messageId: string) => boolean;
}

/**
 * Records a business reply by one side; an older reply arriving late never takes ownership from a newer one. An echo
 * of the message the owner was taken with says the app sent it, whatever its time: a `sent` status that overtook its
 * echo had been read as an API reply.
 */
export function recordReply(
  ownership: ConversationOwnership,
  reply: { side: ConversationOwnerSide; at: string; messageId: string },
): ConversationOwnership {
  if (ownership.messageId === reply.messageId) {
    if (ownership.owner === reply.side || reply.side !== 'app') return ownership;
    return { owner: 'app', since: reply.at, messageId: reply.messageId };
  }
  if (ownership.since !== undefined && Date.parse(reply.at) < Date.parse(ownership.since)) return ownership;
  return { owner: reply.side, since: reply.at, messageId: reply.messageId };
}

/**
 * Folds an event into a conversation's ownership: echoes (live or history) are app replies; a `sent` status for an
 * unknown wamid is an API reply (only `sent`, because a later `read` of an old API message is not a new reply).
 */
export function applyOwnershipEvent(
  ownership: ConversationOwnership,
  event: CoexistenceEvent,
  context: OwnershipContext,
): ConversationOwnership {
  if (event.type === 'message.echoed') {
    return recordReply(ownership, { side: 'app', at: event.occurredAt, messageId: event.message.id });
  }
  if (event.type === 'message.status' && event.status === 'sent' && !context.isKnownMessage(event.messageId)) {
    return recordReply(ownership, { side: 'api', at: event.occurredAt, messageId: event.messageId });
  }
  return ownership;
}
