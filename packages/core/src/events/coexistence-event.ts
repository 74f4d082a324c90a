/**
 * The Coexist event contract, v1: what `parseWebhook` turns every Meta webhook into.
 * Every event is plain JSON (no `Date`, no `undefined` values kept on purpose) so it can be
 * stored, sent over a queue and compared byte for byte.
 */

/** The version of the event contract these types describe. */
export const EVENT_CONTRACT_VERSION = 'v1' as const;

/** A WhatsApp user as a payload identifies them; Meta's empty strings are omitted, never kept as `""`. */
export interface ContactRef {
  /** E.164 phone number, `+` and digits (e.g. `+16505551234`). */
  phone?: string;
  /** Meta's `wa_id` (digits, no `+`). */
  waId?: string;
  /** Business-scoped user id (BSUID), e.g. `US.13491208655302741918`. */
  userId?: string;
  /** Parent BSUID, e.g. `US.ENT.…`, when Meta sends one. */
  parentUserId?: string;
  /** WhatsApp username, for users who adopted one. */
  username?: string;
  /** Display name: the WhatsApp profile name, or the Business App contact's full name. */
  name?: string;
  /** First name from the Business App's contacts. */
  firstName?: string;
  /** ISO 3166 country code Meta sends with BSUID fields. */
  countryCode?: string;
}

/** Media attached to a message. */
export interface MediaRef {
  id: string;
  mimeType?: string;
  sha256?: string;
  filename?: string;
  url?: string;
  voice?: boolean;
  animated?: boolean;
}

/** A shared location. */
export interface LocationContent {
  latitude: number;
  longitude: number;
  name?: string;
  address?: string;
  url?: string;
}

/** A reply to an interactive message (button, list, flow). */
export interface InteractiveReply {
  /** `button_reply`, `list_reply`, `nfm_reply` or another Meta interactive type. */
  kind: string;
  replyId: string;
  title: string;
  description?: string;
  /** A flow reply's (`nfm_reply`) `response_json`, as Meta sent it. */
  responseJson?: string;
}

/** Where a message points back to. */
export interface MessageContext {
  repliedToId?: string;
  forwarded?: boolean;
  frequentlyForwarded?: boolean;
  /** Click-to-WhatsApp ad referral or referred product, as Meta sent it. */
  referral?: Record<string, unknown>;
}

/** The content of one message, whatever its side. */
export interface MessageContent {
  /** The message's wamid. */
  id: string;
  /** Meta's message type: `text`, `image`, …, `media_placeholder`. */
  kind: string;
  /** A text message's body. */
  text?: string;
  caption?: string;
  media?: MediaRef;
  location?: LocationContent;
  /** Shared contact cards, as Meta sent them. */
  contacts?: unknown[];
  interactive?: InteractiveReply;
  button?: { text: string; payload: string };
  /** A system message (`user_changed_number`, …), as Meta sent it. */
  system?: Record<string, unknown>;
  /** An order, as Meta sent it. */
  order?: Record<string, unknown>;
  /** An `unsupported` message's `unsupported` object (e.g. `{ type: 'poll' }`), as Meta sent it. */
  unsupported?: Record<string, unknown>;
  /** Errors Meta attached to the message (e.g. 131051 on `unsupported`). */
  errors?: MetaError[];
  context?: MessageContext;
  /** Lowercased `history_context.status` of a history message. */
  historyStatus?: string;
}

/** Fields every event carries. */
export interface EventBase {
  /** A stable dedupe key: the same logical event always has the same id. */
  id: string;
  /** Meta's `changes[].field`. */
  field: string;
  /** `entry[].id`: the WhatsApp Business Account id. */
  wabaId: string;
  /** `metadata.phone_number_id`, when the payload has metadata. */
  phoneNumberId?: string;
  /** The business number in E.164, when the payload has metadata. */
  businessPhone?: string;
  /** ISO-8601 UTC: the event's own timestamp, else `entry.time`, else the time the payload was received. */
  occurredAt: string;
}

/** Where a message came from: live traffic or the history backfill. */
export type MessageSource = 'live' | 'history';
/** Who acted: the customer, or the rep in the Business App. */
export type MessageActor = 'customer' | 'business_app';
/** Delivery statuses a message can reach. */
export type DeliveryStatus = 'sent' | 'delivered' | 'read' | 'played' | 'failed';

/** An error object as Meta sends it, normalized. */
export interface MetaError {
  code: number;
  title?: string;
  message?: string;
  details?: string;
  href?: string;
}

/** A message a customer sent to the business (`messages[]`, or a customer-sent history thread message). */
export interface MessageReceivedEvent extends EventBase {
  type: 'message.received';
  contact: ContactRef;
  message: MessageContent;
  source: MessageSource;
}

/** A message the business sent from the Business App (`message_echoes[]`, or a business-sent history thread message). */
export interface MessageEchoedEvent extends EventBase {
  type: 'message.echoed';
  /** The customer the business wrote to. */
  contact: ContactRef;
  message: MessageContent;
  source: MessageSource;
}

/** An edit of an earlier message by the customer or from the Business App. */
export interface MessageEditedEvent extends EventBase {
  type: 'message.edited';
  actor: MessageActor;
  contact?: ContactRef;
  originalMessageId?: string;
  /** The new content, with the edit's own wamid as `id`. */
  message?: MessageContent;
}

/** A message deleted for everyone by the customer or from the Business App. */
export interface MessageRevokedEvent extends EventBase {
  type: 'message.revoked';
  actor: MessageActor;
  contact?: ContactRef;
  originalMessageId?: string;
  /** The revoke's own wamid. */
  messageId?: string;
}

/** A reaction set or removed on a message by the customer or from the Business App. */
export interface MessageReactionEvent extends EventBase {
  type: 'message.reaction';
  actor: MessageActor;
  contact?: ContactRef;
  /** The reaction's own wamid. */
  messageId?: string;
  targetMessageId: string;
  /** `null` when the reaction was removed. */
  emoji: string | null;
}

/** A delivery status of a message the business sent (`statuses[]`). */
export interface MessageStatusEvent extends EventBase {
  type: 'message.status';
  messageId: string;
  status: DeliveryStatus;
  recipient: ContactRef;
  errors?: MetaError[];
  pricing?: { billable?: boolean; pricingModel?: string; category?: string; type?: string };
  conversationId?: string;
  /** `biz_opaque_callback_data` the sender attached to the message, echoed back by Meta. */
  bizOpaqueCallbackData?: string;
}

/** The media follow-up of a history placeholder message, under field `history`. */
export interface MediaAvailableEvent extends EventBase {
  type: 'media.available';
  /** The placeholder's wamid. */
  messageId: string;
  contact?: ContactRef;
  actor: MessageActor;
  message: MessageContent;
}

/** A Business App contact added or edited (`state_sync[]` with action `add`). */
export interface ContactSyncedEvent extends EventBase {
  type: 'contact.synced';
  contact: ContactRef;
}

/** A Business App contact removed (`state_sync[]` with action `remove`). */
export interface ContactRemovedEvent extends EventBase {
  type: 'contact.removed';
  contact: ContactRef;
}

/** A history backfill chunk (a `history[]` item with `metadata`); one event per thread message follows it. */
export interface HistoryChunkEvent extends EventBase {
  type: 'history.chunk';
  phase: number;
  chunkOrder: number;
  progress: number;
  threadCount: number;
  messageCount: number;
}

/** The business declined sharing its chat history (a `history[]` error item with code 2593109). */
export interface HistoryDeclinedEvent extends EventBase {
  type: 'history.declined';
  code: number;
  details?: string;
}

/** The API link was cut: the business disconnected or Meta did after inactivity (`account_update` `PARTNER_REMOVED`). */
export interface AccountDisconnectedEvent extends EventBase {
  type: 'account.disconnected';
  reason?: string;
  initiatedBy?: string;
}

/** The Cloud API companion was offboarded after a device change; sends fail until reconnection (`ACCOUNT_OFFBOARDED`). */
export interface AccountOffboardedEvent extends EventBase {
  type: 'account.offboarded';
}

/** The Cloud API companion was restored after an offboarding; history is not synced again (`ACCOUNT_RECONNECTED`). */
export interface AccountReconnectedEvent extends EventBase {
  type: 'account.reconnected';
}

/** Any other `account_update` event, with its value kept as `raw`. */
export interface AccountUpdatedEvent extends EventBase {
  type: 'account.updated';
  event: string;
  raw: unknown;
}

/** An error Meta reported in the webhook (`value.errors[]`, or a history error item other than 2593109). */
export interface WebhookErrorEvent extends EventBase {
  type: 'webhook.error';
  code: number;
  title?: string;
  message?: string;
  details?: string;
}

/** A payload item Coexist does not recognize, kept as sent so nothing is dropped. */
export interface UnknownEvent extends EventBase {
  type: 'unknown';
  raw: unknown;
  /** JSON path of `raw` in the payload, e.g. `entry[0].changes[0].value.messages[2]`. */
  path?: string;
  /** The customer, when the unrecognized item is a message that identifies them. */
  contact?: ContactRef;
}

/** Every event `parseWebhook` can emit. */
export type CoexistenceEvent =
  | MessageReceivedEvent
  | MessageEchoedEvent
  | MessageEditedEvent
  | MessageRevokedEvent
  | MessageReactionEvent
  | MessageStatusEvent
  | MediaAvailableEvent
  | ContactSyncedEvent
  | ContactRemovedEvent
  | HistoryChunkEvent
  | HistoryDeclinedEvent
  | AccountDisconnectedEvent
  | AccountOffboardedEvent
  | AccountReconnectedEvent
  | AccountUpdatedEvent
  | WebhookErrorEvent
  | UnknownEvent;

/** The `type` of any event. */
export type CoexistenceEventType = CoexistenceEvent['type'];

/** The event of a given `type`. */
export type EventOfType<T extends CoexistenceEventType> = Extract<CoexistenceEvent, { type: T }>;
