/**
 * The timeline model: one WhatsApp message as the CRM should show it, and pure reducers that fold every later
 * event (status, edit, revoke, reaction, media follow-up, a second copy from history) into it, whatever order
 * the webhooks arrive in. Sources: Meta webhooks (`docs/models.md`).
 */

import type { MessageDirection, MessageSender } from '../adapter/crm-records.ts';
import type {
  CoexistenceEvent,
  DeliveryStatus,
  MessageContent,
  MessageEchoedEvent,
  MessageReceivedEvent,
  MessageSource,
} from '../events/coexistence-event.ts';

/** One applied edit: the edit's own wamid, its time and the content it set. */
export interface TimelineEdit {
  id: string;
  at: string;
  content: MessageContent;
}

/** One side's reaction; `emoji: null` records a removal so an older reaction arriving late cannot resurrect it. */
export interface TimelineReaction {
  emoji: string | null;
  at: string;
}

/** One message on a conversation's timeline. Plain JSON. */
export interface TimelineMessage {
  /** The wamid: the message's stable key. */
  id: string;
  direction: MessageDirection;
  actor: MessageSender;
  /** Live traffic or the history backfill; a live copy is richer than a history copy. */
  source: MessageSource;
  /** ISO-8601 UTC time the message was sent on WhatsApp. */
  occurredAt: string;
  /** Current content (the latest edit's, once edited); `id` stays the original wamid. */
  content: MessageContent;
  /** The content as first sent, kept once the message is edited. */
  originalContent?: MessageContent;
  /** True while the content is a history `media_placeholder` waiting for its media follow-up. */
  placeholder: boolean;
  /** True for a message only known from a status webhook (sent via the Cloud API by someone else); content unknown. */
  stub: boolean;
  /**
   * True for a message known only from a media follow-up that overtook its history placeholder: its content is the
   * media, but its direction, actor and time are the follow-up's until a copy of the message itself arrives.
   */
  fromMediaFollowUp?: boolean;
  /** Highest delivery status reached; never downgraded. */
  status?: DeliveryStatus;
  statusAt?: string;
  /** Meta's error code when the status is `failed`. */
  statusErrorCode?: number;
  /** Every edit applied, oldest first. */
  edits: TimelineEdit[];
  /** Time of the latest edit. */
  editedAt?: string;
  /** Whether the sender deleted the message for everyone. */
  revoked: boolean;
  revokedAt?: string;
  /** Current reaction of each side. */
  reactions: Partial<Record<MessageSender, TimelineReaction>>;
}

const STATUS_RANK: Record<Exclude<DeliveryStatus, 'failed'>, number> = { sent: 1, delivered: 2, read: 3, played: 4 };

/**
 * Whether moving from `current` to `next` is progress: `sent < delivered < read < played`; `failed` only from
 * nothing or `sent`; nothing leaves `failed`. A late `delivered` after `read` is not an upgrade.
 */
export function isStatusUpgrade(current: DeliveryStatus | undefined, next: DeliveryStatus): boolean {
  if (current === 'failed') return false;
  if (next === 'failed') return current === undefined || current === 'sent';
  return current === undefined || STATUS_RANK[next] > STATUS_RANK[current];
}

/** Maps a history message's lowercase `history_context.status` to a delivery status (`pending` → none). */
export function historyStatusToDeliveryStatus(historyStatus: string | undefined): DeliveryStatus | undefined {
  switch (historyStatus) {
    case 'sent':
    case 'delivered':
    case 'read':
    case 'played':
    case 'failed':
      return historyStatus;
    case 'error':
      return 'failed';
    default:
      return undefined;
  }
}

/** Builds the timeline message of an inbound (`message.received`) or app-sent (`message.echoed`) event. */
export function createTimelineMessage(event: MessageReceivedEvent | MessageEchoedEvent): TimelineMessage {
  const inbound = event.type === 'message.received';
  const status = inbound ? undefined : historyStatusToDeliveryStatus(event.message.historyStatus);
  return {
    id: event.message.id,
    direction: inbound ? 'inbound' : 'outbound',
    actor: inbound ? 'customer' : 'business_app',
    source: event.source,
    occurredAt: event.occurredAt,
    content: event.message,
    placeholder: event.message.kind === 'media_placeholder',
    stub: false,
    ...(status === undefined ? {} : { status, statusAt: event.occurredAt }),
    edits: [],
    revoked: false,
    reactions: {},
  };
}

/** Builds the timeline message of a message sent through the Cloud API (by the CRM via Coexist, or, as a stub, seen only in a status). */
export function createCloudApiMessage(input: {
  id: string;
  occurredAt: string;
  content?: MessageContent;
}): TimelineMessage {
  return {
    id: input.id,
    direction: 'outbound',
    actor: 'cloud_api',
    source: 'live',
    occurredAt: input.occurredAt,
    content: input.content ?? { id: input.id, kind: 'unknown' },
    placeholder: false,
    stub: input.content === undefined,
    edits: [],
    revoked: false,
    reactions: {},
  };
}

/** How much a copy of a message tells: a status-only stub < a history placeholder < a history copy < a live copy. */
function richness(message: TimelineMessage): number {
  if (message.stub) return 0;
  if (message.placeholder) return 1;
  return message.source === 'history' ? 2 : 3;
}

/**
 * Merges a second copy of the same message (a replay, a history copy, the real message behind a stub): the richer
 * copy says who sent it, which way and when, and its content wins unless the existing one was edited (the edits keep
 * the newer text; the copy's content becomes the original) — a revoked message takes it too, kept for the CRM's
 * record. A message that stood in from its media follow-up takes who, which way and when from any copy but keeps its
 * media. Statuses only move up; edits, revokes and reactions already applied are kept. A history copy never
 * overwrites a live copy. The same copies give the same message in any order.
 */
export function mergeTimelineMessage(existing: TimelineMessage, incoming: TimelineMessage): TimelineMessage {
  let base = existing;
  if (richness(incoming) > richness(existing)) {
    const edited = existing.editedAt !== undefined;
    const { fromMediaFollowUp: _standIn, ...rest } = existing;
    base = {
      ...rest,
      direction: incoming.direction,
      actor: incoming.actor,
      source: incoming.source,
      occurredAt: incoming.occurredAt,
      stub: incoming.stub,
      ...(edited
        ? { originalContent: incoming.content, placeholder: false }
        : { content: incoming.content, placeholder: incoming.placeholder }),
    };
  } else if (existing.fromMediaFollowUp && !incoming.stub) {
    const { fromMediaFollowUp: _standIn, ...rest } = existing;
    base = { ...rest, direction: incoming.direction, actor: incoming.actor, occurredAt: incoming.occurredAt };
  }
  return incoming.status === undefined
    ? base
    : applyStatus(base, incoming.status, incoming.statusAt ?? incoming.occurredAt);
}

/** Applies a delivery status unless it would move the message backwards (see `isStatusUpgrade`). */
export function applyStatus(
  message: TimelineMessage,
  status: DeliveryStatus,
  at: string,
  errorCode?: number,
): TimelineMessage {
  if (!isStatusUpgrade(message.status, status)) return message;
  return { ...message, status, statusAt: at, ...(errorCode === undefined ? {} : { statusErrorCode: errorCode }) };
}

/** Applies an edit (idempotent by the edit's wamid; an older edit arriving late joins the history without replacing newer text; ignored once revoked). */
export function applyEdit(message: TimelineMessage, edit: TimelineEdit): TimelineMessage {
  if (message.revoked || message.edits.some((applied) => applied.id === edit.id)) return message;
  const edits = [...message.edits, edit].sort((left, right) => compareTimes(left.at, right.at));
  const latest = edits[edits.length - 1]!;
  return {
    ...message,
    originalContent: message.originalContent ?? message.content,
    content: { ...latest.content, id: message.id },
    placeholder: false,
    edits,
    editedAt: latest.at,
  };
}

/** Marks the message deleted for everyone; the content stays for the CRM's record, shown as deleted. */
export function applyRevoke(message: TimelineMessage, at: string): TimelineMessage {
  if (message.revoked) return message;
  return { ...message, revoked: true, revokedAt: at };
}

/** Sets or (with `emoji: null`) removes one side's reaction; an older reaction event never replaces a newer one. */
export function applyReaction(
  message: TimelineMessage,
  actor: MessageSender,
  emoji: string | null,
  at: string,
): TimelineMessage {
  const current = message.reactions[actor];
  if (current !== undefined && compareTimes(at, current.at) < 0) return message;
  if (current !== undefined && current.emoji === emoji && current.at === at) return message;
  return { ...message, reactions: { ...message.reactions, [actor]: { emoji, at } } };
}

/** Replaces a history placeholder by its media follow-up (same wamid); a message that is not a placeholder is unchanged. */
export function applyMediaFollowUp(message: TimelineMessage, content: MessageContent): TimelineMessage {
  if (!message.placeholder || message.revoked) return message;
  return { ...message, content: { ...content, id: message.id }, placeholder: false };
}

/** The wamid of the message an event is about, or `undefined` for events that are not about one message. */
export function timelineTargetId(event: CoexistenceEvent): string | undefined {
  switch (event.type) {
    case 'message.received':
    case 'message.echoed':
      return event.message.id;
    case 'message.status':
    case 'media.available':
      return event.messageId;
    case 'message.edited':
    case 'message.revoked':
      return event.originalMessageId;
    case 'message.reaction':
      return event.targetMessageId;
    default:
      return undefined;
  }
}

/**
 * Folds one event into the message it targets (`timelineTargetId`). Returns `undefined` when the event needs a
 * message that is not known yet (an edit, revoke, reaction or media follow-up before its message): the caller
 * keeps the event and applies it once the message arrives. A status for an unknown wamid creates a Cloud API stub;
 * a media follow-up that overtakes its placeholder creates the message from its own content.
 */
export function applyTimelineEvent(
  message: TimelineMessage | undefined,
  event: CoexistenceEvent,
): TimelineMessage | undefined {
  switch (event.type) {
    case 'message.received':
    case 'message.echoed': {
      const incoming = createTimelineMessage(event);
      return message === undefined ? incoming : mergeTimelineMessage(message, incoming);
    }
    case 'message.status': {
      const target = message ?? createCloudApiMessage({ id: event.messageId, occurredAt: event.occurredAt });
      return applyStatus(target, event.status, event.occurredAt, event.errors?.[0]?.code);
    }
    case 'message.edited':
      if (message === undefined || event.message === undefined) return message;
      return applyEdit(message, { id: event.message.id, at: event.occurredAt, content: event.message });
    case 'message.revoked':
      return message === undefined ? undefined : applyRevoke(message, event.occurredAt);
    case 'message.reaction':
      return message === undefined ? undefined : applyReaction(message, event.actor, event.emoji, event.occurredAt);
    case 'media.available':
      // A follow-up that overtakes its placeholder carries the whole message, so it can stand in for it.
      if (message !== undefined) return applyMediaFollowUp(message, event.message);
      return {
        ...createCloudApiMessage({
          id: event.messageId,
          occurredAt: event.occurredAt,
          content: { ...event.message, id: event.messageId },
        }),
        direction: event.actor === 'customer' ? 'inbound' : 'outbound',
        actor: event.actor,
        source: 'history',
        fromMediaFollowUp: true,
      };
    default:
      return message;
  }
}

/** Orders messages by original time, then wamid, so every replay sorts a conversation the same way. */
export function compareTimelineMessages(left: TimelineMessage, right: TimelineMessage): number {
  return compareTimes(left.occurredAt, right.occurredAt) || (left.id < right.id ? -1 : left.id > right.id ? 1 : 0);
}

function compareTimes(left: string, right: string): number {
  return Date.parse(left) - Date.parse(right);
}
