/**
 * Builds the chat card of one contact from what the engine stored: the conversation's messages and their updates
 * (read back with `store.listThreadEvents`), the contact's app name, and the number's link health document.
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
  const threadEvents = (await store.listThreadEvents(threadKeys)).filter((event) => MESSAGE_TYPES.has(event.type));
  if (threadEvents.length === 0) return undefined;

  // The conversation shown is the one with the latest message.
  const latest = threadEvents.reduce((best, event) =>
    Date.parse(event.occurredAt) >= Date.parse(best.occurredAt) ? event : best,
  );
  const phoneNumberId = latest.phoneNumberId!;
  const messageEvents = threadEvents.filter((event) => event.phoneNumberId === phoneNumberId);
  const messageIds = [
    ...new Set(messageEvents.map((event) => timelineTargetId(event)).filter((id) => id !== undefined)),
  ];
  const [updates, contactEvents] = await Promise.all([
    store.listThreadEvents(messageIds.map((id) => `message|${id}`)),
    store.listThreadEvents(query.contactKeys.map((key) => `contact|${key}`)),
  ]);

  const messages = new Map<string, TimelineMessage>();
  for (const event of messageEvents) {
    const id = timelineTargetId(event)!;
    const next = applyTimelineEvent(messages.get(id), event);
    if (next !== undefined) messages.set(id, next);
  }
  const known = new Set(messages.keys());
  for (const event of updates) {
    const id = timelineTargetId(event);
    if (id === undefined || !known.has(id)) continue;
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
