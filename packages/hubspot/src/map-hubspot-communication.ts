/**
 * Pure mapping between the contract's messages and HubSpot communications (crm-apis.md §2.2):
 * `hs_communication_channel_type: WHATS_APP`, `hs_communication_logged_from: CRM`, `hs_timestamp` (the original
 * WhatsApp time, which positions the record on the timeline), the rendered body, and `coexist_*` properties
 * holding the structured state (direction, sender, status, edit/revoke marks, reactions, content) so that any
 * later change re-renders the same body. HubSpot renders `hs_communication_body` as HTML, so every piece of
 * message text is escaped; only http(s) links become anchors.
 */
import {
  type DeliveryStatus,
  describeMessageMedia,
  describeStatusError,
  escapeHtml,
  isStatusUpgrade,
  type MessageChange,
  type MessageContent,
  type MessageDirection,
  type MessageRecord,
  type MessageRecordContent,
  type MessageRecordReaction,
  type MessageSender,
} from '@coexist/core';
import { MESSAGE_ID_PROPERTY } from './hubspot-setup.ts';

/** The communication properties the adapter reads back to apply updates. */
export const COMMUNICATION_READ_PROPERTIES = [
  MESSAGE_ID_PROPERTY,
  'hs_timestamp',
  'coexist_direction',
  'coexist_actor',
  'coexist_status',
  'coexist_status_error',
  'coexist_edited_at',
  'coexist_revoked',
  'coexist_reactions',
  'coexist_content',
  'coexist_conversation_key',
  'coexist_business_phone',
] as const;

/** Everything a communication's body is rendered from. */
export interface CommunicationState {
  key: string;
  direction: MessageDirection;
  actor: MessageSender;
  content?: MessageRecordContent;
  status?: DeliveryStatus;
  /** Why it failed (`131047: Re-engagement message`), with a `failed` status. */
  statusError?: string;
  editedAt?: string;
  revoked: boolean;
  reactions: MessageRecordReaction[];
  businessPhone?: string;
}

const ACTOR_LABELS: Record<MessageSender, string> = {
  customer: 'Customer',
  business_app: 'Rep (WhatsApp Business App)',
  cloud_api: 'Cloud API (automation)',
};

const STATUS_LABELS: Record<DeliveryStatus, string> = {
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
  played: 'Played',
  failed: 'Failed',
};

const paragraph = (html: string) => `<p>${html}</p>`;
const text = (value: string) => escapeHtml(value).replace(/\r?\n/g, '<br>');

/** A link to the media when its URL is http(s); anything else (`javascript:`, data URLs) is not linked. */
function mediaLink(content: MessageRecordContent): string | undefined {
  const url = content.media?.url;
  if (url === undefined || !/^https?:\/\//i.test(url)) return undefined;
  const label = content.media?.filename ?? 'Open media';
  return paragraph(`<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${text(label)}</a>`);
}

/** The media label of the content (`Photo`, `Document: offer.pdf`), or `undefined` for text. */
export function communicationMediaLabel(content: MessageRecordContent): string | undefined {
  return describeMessageMedia(content as unknown as MessageContent);
}

/** Renders the HTML body: who sent it which way, the content (escaped), media, and the status/edit/reaction line. */
export function renderCommunicationBody(state: CommunicationState): string {
  const direction =
    state.direction === 'inbound'
      ? `WhatsApp message received${state.businessPhone === undefined ? '' : ` on ${state.businessPhone}`}`
      : `WhatsApp message sent${state.businessPhone === undefined ? '' : ` from ${state.businessPhone}`}`;
  const parts = [paragraph(`<strong>${escapeHtml(ACTOR_LABELS[state.actor])}</strong> · ${escapeHtml(direction)}`)];
  if (state.revoked) {
    parts.push(paragraph('<em>This message was deleted by the sender.</em>'));
  } else if (state.content !== undefined) {
    const content = state.content;
    const label = communicationMediaLabel(content);
    if (content.text !== undefined && content.text !== '') parts.push(paragraph(text(content.text)));
    if (label !== undefined) parts.push(paragraph(`[${text(label)}]`));
    if (content.caption !== undefined && content.caption !== '') parts.push(paragraph(text(content.caption)));
    const link = mediaLink(content);
    if (link !== undefined) parts.push(link);
    if (content.placeholder) parts.push(paragraph('<em>Media not yet available (history placeholder).</em>'));
    if (
      (content.text ?? '') === '' &&
      (content.caption ?? '') === '' &&
      label === undefined &&
      content.summary !== ''
    ) {
      parts.push(paragraph(text(content.summary)));
    }
  }
  const footer: string[] = [];
  if (state.editedAt !== undefined && !state.revoked) footer.push('Edited');
  if (state.status !== undefined) {
    const reason =
      state.status === 'failed' && state.statusError !== undefined ? ` (${escapeHtml(state.statusError)})` : '';
    footer.push(`Status: ${STATUS_LABELS[state.status]}${reason}`);
  }
  if (state.reactions.length > 0) {
    footer.push(
      `Reactions: ${state.reactions.map((reaction) => `${escapeHtml(reaction.emoji)} (${escapeHtml(ACTOR_LABELS[reaction.actor])})`).join(', ')}`,
    );
  }
  if (footer.length > 0) parts.push(paragraph(`<small>${footer.join(' · ')}</small>`));
  return parts.join('');
}

/** The structured state of a message record. */
export function communicationStateOf(record: MessageRecord): CommunicationState {
  return {
    key: record.key,
    direction: record.direction,
    actor: record.actor,
    content: record.content,
    ...(record.status === undefined ? {} : { status: record.status }),
    ...(record.editedAt === undefined ? {} : { editedAt: record.editedAt }),
    revoked: record.revoked === true,
    reactions: [...(record.reactions ?? [])],
    ...(record.businessPhone === undefined ? {} : { businessPhone: record.businessPhone }),
  };
}

/** The properties that carry a state: body plus `coexist_*` fields (content cleared once revoked). */
export function communicationStateProperties(state: CommunicationState): Record<string, string> {
  const properties: Record<string, string> = {
    hs_communication_body: renderCommunicationBody(state),
    coexist_direction: state.direction,
    coexist_actor: state.actor,
    coexist_revoked: state.revoked ? 'true' : 'false',
    coexist_reactions: JSON.stringify(state.reactions),
    coexist_content: state.revoked || state.content === undefined ? '' : JSON.stringify(state.content),
  };
  if (state.status !== undefined) properties.coexist_status = state.status;
  if (state.statusError !== undefined) properties.coexist_status_error = state.statusError;
  if (state.businessPhone !== undefined) properties.coexist_business_phone = state.businessPhone;
  if (state.editedAt !== undefined) properties.coexist_edited_at = state.editedAt;
  return properties;
}

/** The properties of a new communication for `record`, owned by `ownerId` when given. */
export function toHubSpotCommunicationProperties(
  record: MessageRecord,
  options: { ownerId?: string } = {},
): Record<string, string> {
  const properties: Record<string, string> = {
    hs_communication_channel_type: 'WHATS_APP',
    hs_communication_logged_from: 'CRM',
    hs_timestamp: record.occurredAt,
    [MESSAGE_ID_PROPERTY]: record.key,
    coexist_conversation_key: record.conversationKey,
    ...communicationStateProperties(communicationStateOf(record)),
  };
  if (options.ownerId !== undefined) properties.hubspot_owner_id = options.ownerId;
  return properties;
}

const SENDERS: readonly MessageSender[] = ['customer', 'business_app', 'cloud_api'];
const STATUSES: readonly DeliveryStatus[] = ['sent', 'delivered', 'read', 'played', 'failed'];

function parseJson(value: string | null | undefined): unknown {
  if (value === null || value === undefined || value === '') return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

/** Reads the state back from a communication's properties (what `communicationStateProperties` wrote). */
export function readCommunicationState(properties: Record<string, string | null | undefined>): CommunicationState {
  const value = (name: string) => {
    const raw = properties[name];
    return raw === null || raw === undefined || raw === '' ? undefined : raw;
  };
  const actor = value('coexist_actor');
  const status = value('coexist_status');
  const statusError = value('coexist_status_error');
  const editedAt = value('coexist_edited_at');
  const content = parseJson(value('coexist_content'));
  const reactions = parseJson(value('coexist_reactions'));
  const businessPhone = value('coexist_business_phone');
  return {
    key: value(MESSAGE_ID_PROPERTY) ?? '',
    direction: value('coexist_direction') === 'outbound' ? 'outbound' : 'inbound',
    actor: SENDERS.includes(actor as MessageSender) ? (actor as MessageSender) : 'customer',
    ...(typeof content === 'object' && content !== null && 'kind' in content
      ? { content: content as MessageRecordContent }
      : {}),
    ...(STATUSES.includes(status as DeliveryStatus) ? { status: status as DeliveryStatus } : {}),
    ...(statusError === undefined ? {} : { statusError }),
    ...(editedAt === undefined ? {} : { editedAt }),
    revoked: value('coexist_revoked') === 'true',
    reactions: Array.isArray(reactions)
      ? reactions.filter(
          (reaction): reaction is MessageRecordReaction =>
            typeof reaction === 'object' &&
            reaction !== null &&
            SENDERS.includes((reaction as MessageRecordReaction).actor) &&
            typeof (reaction as MessageRecordReaction).emoji === 'string',
        )
      : [],
    ...(businessPhone === undefined ? {} : { businessPhone }),
  };
}

/** Applies one change to a state: statuses only move forward, edits/media replace content, reactions per side. */
export function applyMessageChange(state: CommunicationState, change: MessageChange): CommunicationState {
  switch (change.kind) {
    case 'status': {
      if (!isStatusUpgrade(state.status, change.status)) return state;
      const statusError = change.status === 'failed' ? describeStatusError(change) : undefined;
      return { ...state, status: change.status, ...(statusError === undefined ? {} : { statusError }) };
    }
    case 'edit':
      return state.revoked ? state : { ...state, content: change.content, editedAt: change.at };
    case 'revoke':
      return { ...state, revoked: true };
    case 'reaction': {
      const others = state.reactions.filter((reaction) => reaction.actor !== change.actor);
      return {
        ...state,
        reactions: change.emoji === null ? others : [...others, { actor: change.actor, emoji: change.emoji }],
      };
    }
    case 'media':
      return state.revoked ? state : { ...state, content: change.content };
  }
}

/** Merges a replayed record into the stored state: the replay's content wins, the status never moves back. */
export function mergeReplayedState(stored: CommunicationState, replay: CommunicationState): CommunicationState {
  const status =
    replay.status !== undefined && isStatusUpgrade(stored.status, replay.status) ? replay.status : stored.status;
  return {
    ...replay,
    ...(status === undefined ? {} : { status }),
    revoked: replay.revoked || stored.revoked,
  };
}
