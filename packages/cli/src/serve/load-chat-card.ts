/**
 * Builds the chat card of one contact from what the engine stored: the conversation's messages and their updates
 * (read back with `store.listThreadEvents`), the messages sent through the Cloud API (`listApiReplies`: known only
 * from their statuses), the contact's app name, and the number's link health document.
 */
import {
  applyContactEvent,
  applyOwnershipEvent,
  applyServiceWindowEvent,
  applyTimelineEvent,
  buildChatCard,
  type ChatCard,
  type CoexistStore,
  type Contact,
  type ConversationOwnership,
  createContact,
  createNumberHealthState,
  listApiReplies,
  type NumberHealthState,
  type ServiceWindowState,
  type TimelineMessage,
  timelineTargetId,
  withAccountHealth,
} from '@coexist/core';

/** Which conversation to load. */
export interface ChatCardQuery {
  /** The connection (CRM account) asking. */
  connectionId: string;
  /** Numbers the connection serves; the card shows the most recent conversation among them. */
  phoneNumberIds: readonly string[];
  /** Contact keys (`phone:+…`, `bsuid:…`) of the contact, e.g. from `store.findContactKeys`. */
  contactKeys: readonly string[];
  /** Only this business number, when given. */
  phoneNumberId?: string;
  /** Latest messages on the card. @default 20 */
  limit?: number;
  /** @default new Date() */
  now?: Date;
}

/** The per-number document the engine saves (`number:<phone_number_id>`); read here for the link health. */
interface NumberDocument {
  health: NumberHealthState;
  wabaId?: string;
}

const MESSAGE_TYPES = new Set(['message.received', 'message.echoed']);

/** Builds the chat card of a contact's latest conversation, or `undefined` when the store holds none. */
export async function loadChatCard(store: CoexistStore, query: ChatCardQuery): Promise<ChatCard | undefined> {
  const numbers = query.phoneNumberId === undefined ? query.phoneNumberIds : [query.phoneNumberId];
  const threadKeys = numbers.flatMap((phoneNumberId) => query.contactKeys.map((key) => `${phoneNumberId}|${key}`));
  if (threadKeys.length === 0) return undefined;
  const [threadEvents, replies] = await Promise.all([
    store.listThreadEvents(threadKeys).then((events) => events.filter((event) => MESSAGE_TYPES.has(event.type))),
    listApiReplies(store, threadKeys),
  ]);
  // Messages known only from their statuses: sent through the Cloud API (Meta sends no webhook for those). A status
  // that overtook its echo left a record too; the echo makes it known.
  const seen = new Set(threadEvents.map((event) => timelineTargetId(event)));
  const apiReplies = replies.filter((reply) => !seen.has(reply.messageId));
  const apiUpdates =
    apiReplies.length === 0
      ? []
      : await store.listThreadEvents(apiReplies.map((reply) => `message|${reply.messageId}`));
  // An API message's time is its first status's (a record keeps the time of the last status parked).
  const sentAt = new Map<string, number>();
  for (const event of apiUpdates) {
    const id = timelineTargetId(event)!;
    const at = Date.parse(event.occurredAt);
    const earliest = sentAt.get(id);
    if (earliest === undefined || at < earliest) sentAt.set(id, at);
  }
  // The conversation shown is the one with the latest message, received, echoed or sent through the Cloud API.
  let phoneNumberId: string | undefined;
  let latestAt = Number.NEGATIVE_INFINITY;
  for (const { at, number } of [
    ...threadEvents.map((event) => ({ at: Date.parse(event.occurredAt), number: event.phoneNumberId })),
    ...apiReplies.map((reply) => ({
      at: sentAt.get(reply.messageId) ?? Date.parse(reply.at),
      number: reply.phoneNumberId,
    })),
  ]) {
    if (number !== undefined && at >= latestAt) {
      latestAt = at;
      phoneNumberId = number;
    }
  }
  if (phoneNumberId === undefined) return undefined;
  const messageEvents = threadEvents.filter((event) => event.phoneNumberId === phoneNumberId);
  const messageIds = new Set(messageEvents.map((event) => timelineTargetId(event)).filter((id) => id !== undefined));
  const apiMessageIds = new Set(
    apiReplies.filter((reply) => reply.phoneNumberId === phoneNumberId).map((reply) => reply.messageId),
  );
  const [messageUpdates, contactEvents] = await Promise.all([
    store.listThreadEvents([...messageIds].map((id) => `message|${id}`)),
    store.listThreadEvents(query.contactKeys.map((key) => `contact|${key}`)),
  ]);
  const updates = [
    ...messageUpdates,
    ...apiUpdates.filter((event) => apiMessageIds.has(timelineTargetId(event) ?? '')),
  ];

  const messages = new Map<string, TimelineMessage>();
  for (const event of messageEvents) {
    const id = timelineTargetId(event)!;
    const next = applyTimelineEvent(messages.get(id), event);
    if (next !== undefined) messages.set(id, next);
  }
  const known = new Set(messages.keys());
  // Statuses first: a Cloud API message is created by its first status, then takes its reactions and edits.
  const statusesFirst = [...updates].sort(
    (left, right) => Number(right.type === 'message.status') - Number(left.type === 'message.status'),
  );
  for (const event of statusesFirst) {
    const id = timelineTargetId(event);
    if (id === undefined || !(known.has(id) || apiMessageIds.has(id))) continue;
    const next = applyTimelineEvent(messages.get(id), event);
    if (next !== undefined) messages.set(id, next);
  }

  const document = await store.getDocument<NumberDocument>(`number:${phoneNumberId}`);
  // Account events (a disconnect, an offboarding) are kept per WhatsApp Business Account, as `status()` reads them.
  const account =
    document?.wabaId === undefined ? undefined : await store.getDocument<NumberDocument>(`waba:${document.wabaId}`);
  const health = withAccountHealth(document?.health ?? createNumberHealthState(), account?.health);
  let ownership: ConversationOwnership = {};
  let window: ServiceWindowState = {};
  let contact: Contact | undefined;
  const timeline = [...messageEvents, ...updates, ...contactEvents].sort(
    (left, right) => Date.parse(left.occurredAt) - Date.parse(right.occurredAt),
  );
  for (const event of timeline) {
    ownership = applyOwnershipEvent(ownership, event, { isKnownMessage: (id) => known.has(id) });
    window = applyServiceWindowEvent(
      window,
      event,
      health.onboardedAt === undefined ? {} : { onboardedAt: health.onboardedAt },
    );
    if (event.type !== 'message.status') contact = applyContactEvent(contact, event);
  }
  contact ??= createContact(contactRefOf(query.contactKeys[0]!));
  return buildChatCard({
    contact,
    messages: [...messages.values()],
    ownership,
    serviceWindow: window,
    numberHealth: health,
    now: query.now ?? new Date(),
    ...(query.limit === undefined ? {} : { limit: query.limit }),
  });
}

function contactRefOf(key: string): { phone?: string; userId?: string } {
  return key.startsWith('phone:') ? { phone: key.slice('phone:'.length) } : { userId: key.slice(key.indexOf(':') + 1) };
}
