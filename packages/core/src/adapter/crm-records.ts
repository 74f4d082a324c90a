/**
 * The records the engine hands a CRM adapter and the per-item results it gets back. Every input item carries a
 * stable `key`; every batch answers with one result per input item, in input order, with the same `key`.
 * Partial failure is normal: one bad item is a `{ ok: false }` result, never a thrown error.
 */
import type { DeliveryStatus, MediaRef, MessageSource } from '../events/coexistence-event.ts';
import type { CrmError } from './crm-errors.ts';

/** Who sent a message: the customer, the rep in the WhatsApp Business App, or the Cloud API (automation, the CRM). */
export type MessageSender = 'customer' | 'business_app' | 'cloud_api';

/** Which way a message travelled, seen from the business. */
export type MessageDirection = 'inbound' | 'outbound';

/** One contact to find in the CRM, by any of the WhatsApp identities we know. */
export interface ContactFindRequest {
  /** Stable key echoed in the result (the engine uses the contact key, see `contactKey`). */
  key: string;
  /** E.164 phone number, when known. */
  phone?: string;
  /**
   * The formats reps store the same number in (see `phoneVariants`); the adapter searches all it can and must
   * still confirm each hit by normalizing the stored number to `phone`.
   */
  phoneVariants?: readonly string[];
  /** Meta's `wa_id` (digits, no `+`). */
  waId?: string;
  /** Business-scoped user id (BSUID). */
  userId?: string;
}

/** A CRM record that matched a find request. */
export interface ContactMatch {
  /** The CRM record id (HubSpot contact id, Salesforce Contact/Lead id, Close contact id). */
  crmId: string;
  /** The identity it matched on. */
  matchedOn: 'phone' | 'waId' | 'userId';
  /** The record's CRM object type when the CRM has several (`Contact`, `Lead`). */
  objectType?: string;
  /** The record's name as stored in the CRM. */
  name?: string;
  /** The record's owner (CRM user id), when it has one. */
  ownerId?: string;
  /** The record's parent (Close lead id, Salesforce account id), when the CRM needs it to write activities. */
  parentId?: string;
}

/** A successful find: zero, one or several matches, best first (the engine takes the first). */
export interface ContactFindSuccess {
  key: string;
  ok: true;
  matches: readonly ContactMatch[];
}

/** A failed item: the key and the typed error the engine acts on. */
export interface CrmItemFailure {
  key: string;
  ok: false;
  error: CrmError;
}

/** The result of one find request. */
export type ContactFindResult = ContactFindSuccess | CrmItemFailure;

/** A contact to create or upsert. */
export interface ContactInput {
  /** Stable key (the contact key); `upsertContacts` treats the same key as the same contact. */
  key: string;
  /** The CRM id, when the engine already knows the record (upsert then updates it). */
  crmId?: string;
  /** E.164 phone number. */
  phone?: string;
  /** Meta's `wa_id`. */
  waId?: string;
  /** Business-scoped user id (BSUID). */
  userId?: string;
  /** The best display name we have (Business App contact name over WhatsApp profile name). */
  name?: string;
  /** First name from the Business App contact, when known. */
  firstName?: string;
  /** The CRM user id that owns the contact (resolved from the business number). */
  ownerId?: string;
  /**
   * When (ISO time) the engine's `findContacts` looked this contact up and found no record, just before this call.
   * An adapter that must look a contact up before creating it (no server-side dedupe, e.g. Close) may skip its own
   * look-up when this is recent; it must still refuse while an earlier create of the same contact may be running.
   */
  notFoundAt?: string;
}

/** A successful write: the CRM id, and whether this call created the record (`false` on a replay or update). */
export interface CrmWriteSuccess {
  key: string;
  ok: true;
  crmId: string;
  created: boolean;
  /** For contact writes: the parent record (Close lead, Salesforce account) messages must also reference, when the CRM has one. */
  parentId?: string;
}

/** The result of one contact or message write. */
export type CrmWriteResult = CrmWriteSuccess | CrmItemFailure;

/** The content of a message as the CRM should show it. */
export interface MessageRecordContent {
  /** Meta's message type (`text`, `image`, …, `media_placeholder`). */
  kind: string;
  /** The text of a text message. */
  text?: string;
  /** A media message's caption. */
  caption?: string;
  /** Attached media, when any; `url` is set once the engine stored or resolved it. */
  media?: MediaRef;
  /** A plain-text line for CRMs that only take a body: the text, else the caption, else a label like `[image]`. */
  summary: string;
  /** True for a history placeholder whose media arrives later (or never, when older than 14 days). */
  placeholder: boolean;
  /** The wamid this message replies to, when it is a reply. */
  replyToMessageId?: string;
}

/** One reaction on a message, by the side that set it. */
export interface MessageRecordReaction {
  actor: MessageSender;
  emoji: string;
}

/**
 * One message to create or upsert as a native CRM record, carrying its current state (a replay after updates
 * writes the updated state, never an older one).
 */
export interface MessageRecord {
  /** The event's stable key: the wamid. The adapter's idempotency key (external id). */
  key: string;
  direction: MessageDirection;
  actor: MessageSender;
  /** ISO-8601 UTC time the message was sent on WhatsApp (not the time of the sync). */
  occurredAt: string;
  /** Live traffic or the history backfill. */
  source: MessageSource;
  /** The contact's CRM id (from `findContacts`/`createContacts`). */
  contactCrmId: string;
  /** The contact's parent CRM id (Close lead id), when the CRM needs it. */
  contactParentCrmId?: string;
  /** The customer's E.164 phone, when known. */
  contactPhone?: string;
  /** The business number in E.164. */
  businessPhone?: string;
  /** Stable key of the conversation (business number + contact key); the CRM's thread or conversation record. */
  conversationKey: string;
  /**
   * CRM id of the previous message in the same conversation, for CRMs that thread (`capabilities.threadsMessages`);
   * `null` for the first message, `undefined` when the CRM does not thread.
   */
  previousMessageCrmId?: string | null;
  /**
   * `true` when the engine has recorded no written message of this conversation for this connection yet: an adapter
   * that keeps a conversation record may create it without reading it first. A resend after a crash can say `true`
   * again for a conversation the first attempt created, so that creation must be an upsert.
   */
  firstInConversation?: boolean;
  /**
   * The conversation record's CRM id, when the engine prepared the conversation (`CrmAdapter.prepareConversations`)
   * just before this write: the adapter writes the message under it and need not write the conversation again.
   */
  conversationCrmId?: string;
  content: MessageRecordContent;
  /** Latest delivery status, for outbound messages. */
  status?: DeliveryStatus;
  /** ISO time of the last edit, when edited. */
  editedAt?: string;
  /** Whether the sender deleted the message for everyone. */
  revoked?: boolean;
  /** Current reactions. */
  reactions?: readonly MessageRecordReaction[];
  /** CRM user id to show as the record's owner/creator. */
  ownerId?: string;
}

/**
 * One conversation to create or bring up to date before its messages are written (`prepareConversations`): the
 * messages of one conversation in one message batch. The adapter derives the conversation record's fields (contact,
 * owner, last message time, …) from them; values only move forward.
 */
export interface ConversationInput {
  /**
   * Stable key echoed in the result: the conversation key, prefixed by the lane (`history:…`, `live:…`). Live and
   * backfill messages of one conversation may be written at once, so a call can hold two inputs of one conversation.
   */
  key: string;
  /** The conversation (`MessageRecord.conversationKey`) the messages belong to. */
  conversationKey: string;
  /** The conversation's messages in this batch, in chronological order (non-empty, all with this `conversationKey`). */
  messages: readonly MessageRecord[];
}

/** A change to an already written message. */
export type MessageChange =
  /**
   * A delivery status; the adapter never moves the stored status backwards (see `isStatusUpgrade`). A `failed` one
   * carries Meta's error (`errorCode`, `errorTitle`: `131047`, `Re-engagement message`), which the adapters show
   * with the status (`describeStatusError`).
   */
  | { kind: 'status'; status: DeliveryStatus; at: string; errorCode?: number; errorTitle?: string }
  /** An edit: the new content replaces the old one. */
  | { kind: 'edit'; content: MessageRecordContent; at: string }
  /** A revoke: the message was deleted for everyone; the record stays, marked revoked. */
  | { kind: 'revoke'; at: string }
  /** A reaction by one side; `emoji: null` removes that side's reaction. */
  | { kind: 'reaction'; actor: MessageSender; emoji: string | null; at: string }
  /** A history placeholder's media arrived: the content is replaced, `placeholder` becomes false. */
  | { kind: 'media'; content: MessageRecordContent; at: string };

/** One update to an already written message record. */
export interface MessageUpdate {
  /** The update's own stable key (the update event's id), echoed in the result. */
  key: string;
  /** The target message's key (its wamid, the `MessageRecord.key` it was written with). */
  messageKey: string;
  /** The target's CRM id, when the engine has it (saves a lookup). */
  crmId?: string;
  change: MessageChange;
}

/** A rendered card, ready to serve to the CRM's card surface. */
export interface CrmCardRendering {
  /** `text/html` for an iframe, `application/json` for a CRM's native card schema. */
  contentType: 'text/html' | 'application/json';
  body: string;
}

/**
 * Why a message failed, for a CRM record: Meta's error code and title (`131047: Re-engagement message`), or
 * `undefined` when the change names no error. Never the error's `message`/`details`, which may quote the recipient.
 */
export function describeStatusError(change: { errorCode?: number; errorTitle?: string }): string | undefined {
  if (change.errorCode === undefined) return undefined;
  const title = change.errorTitle?.trim().slice(0, 120);
  return title ? `${change.errorCode}: ${title}` : String(change.errorCode);
}
