/**
 * The chat card: a render-agnostic model of one conversation for an embedded CRM card — the latest messages, who
 * owns the conversation, whether the service window is open, the number's health and the contact. Built from the
 * other models; rendered by `renderChatCardHtml` or an adapter's own card (HubSpot app card, Salesforce LWC).
 */
import type { MessageSender } from '../adapter/crm-records.ts';
import type { DeliveryStatus } from '../events/coexistence-event.ts';
import { type Contact, contactDisplayName } from './contact.ts';
import type { ConversationOwnership } from './conversation-ownership.ts';
import { describeMessageMedia, messageText } from './message-content.ts';
import {
  assessNumberHealth,
  type NumberHealthOptions,
  type NumberHealthState,
  type NumberHealthWarning,
} from './number-health.ts';
import { type ServiceWindow, type ServiceWindowState, serviceWindowAt } from './service-window.ts';
import { compareTimelineMessages, type TimelineMessage } from './timeline.ts';

/** One message as the card shows it. */
export interface ChatCardMessage {
  id: string;
  direction: 'inbound' | 'outbound';
  actor: MessageSender;
  occurredAt: string;
  status?: DeliveryStatus;
  /** Text, caption or reply title; omitted for a revoked message. */
  text?: string;
  /** Label of the non-text part (`Photo`, `Document: offer.pdf`), when there is one. */
  mediaLabel?: string;
  edited: boolean;
  revoked: boolean;
  /** Media still missing (history placeholder). */
  placeholder: boolean;
  reactions: { actor: MessageSender; emoji: string }[];
}

/** One conversation, ready to render. Plain JSON. */
export interface ChatCard {
  contact: { name?: string; phone?: string };
  businessPhone?: string;
  /** The latest messages, oldest first. */
  messages: ChatCardMessage[];
  /** How many older messages the card leaves out. */
  olderMessageCount: number;
  ownership: ConversationOwnership;
  serviceWindow: ServiceWindow;
  numberHealth: {
    connection: string;
    warnings: NumberHealthWarning[];
    daysSinceAppActivity?: number;
    inactivityDisconnectAt?: string;
    backfillProgress: number;
    backfillComplete: boolean;
  };
  /** ISO time the card was built (`now`). */
  generatedAt: string;
}

/** What `buildChatCard` takes. */
export interface ChatCardInput {
  contact: Contact;
  businessPhone?: string;
  messages: readonly TimelineMessage[];
  ownership: ConversationOwnership;
  serviceWindow: ServiceWindowState;
  numberHealth: NumberHealthState;
  now: Date;
  /**
   * How many of the latest messages to include.
   * @default 20
   */
  limit?: number;
  numberHealthOptions?: NumberHealthOptions;
}

/** Projects one timeline message onto the card. */
export function toChatCardMessage(message: TimelineMessage): ChatCardMessage {
  const text = message.revoked ? undefined : messageText(message.content);
  const mediaLabel = message.revoked ? undefined : describeMessageMedia(message.content);
  const reactions: ChatCardMessage['reactions'] = [];
  for (const actor of ['customer', 'business_app', 'cloud_api'] as const) {
    const emoji = message.reactions[actor]?.emoji;
    if (emoji) reactions.push({ actor, emoji });
  }
  return {
    id: message.id,
    direction: message.direction,
    actor: message.actor,
    occurredAt: message.occurredAt,
    ...(message.status === undefined ? {} : { status: message.status }),
    ...(text === undefined ? {} : { text }),
    ...(mediaLabel === undefined ? {} : { mediaLabel }),
    edited: message.editedAt !== undefined,
    revoked: message.revoked,
    placeholder: message.placeholder,
    reactions,
  };
}

/** Builds the card of one conversation at `now` from the models; throws naming `limit` when it is not a positive integer. */
export function buildChatCard(input: ChatCardInput): ChatCard {
  const limit = input.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError('[coexist/core] buildChatCard: `limit` must be a positive integer');
  const sorted = [...input.messages].sort(compareTimelineMessages);
  const latest = sorted.slice(-limit);
  const health = assessNumberHealth(input.numberHealth, input.now, input.numberHealthOptions);
  const name = input.contact.appName?.name ?? input.contact.profileName?.name ?? contactDisplayName(input.contact);
  return {
    contact: {
      ...(name === undefined ? {} : { name }),
      ...(input.contact.phone === undefined ? {} : { phone: input.contact.phone }),
    },
    ...(input.businessPhone === undefined ? {} : { businessPhone: input.businessPhone }),
    messages: latest.map(toChatCardMessage),
    olderMessageCount: sorted.length - latest.length,
    ownership: input.ownership,
    serviceWindow: serviceWindowAt(input.serviceWindow, input.now),
    numberHealth: {
      connection: health.connection,
      warnings: health.warnings,
      ...(health.daysSinceAppActivity === undefined ? {} : { daysSinceAppActivity: health.daysSinceAppActivity }),
      ...(health.inactivityDisconnectAt === undefined ? {} : { inactivityDisconnectAt: health.inactivityDisconnectAt }),
      backfillProgress: health.backfill.progress,
      backfillComplete: health.backfill.complete,
    },
    generatedAt: input.now.toISOString(),
  };
}
