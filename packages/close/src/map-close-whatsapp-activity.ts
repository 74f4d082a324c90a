/**
 * Pure mappers between Coexist messages and Close WhatsApp message activities
 * (https://developer.close.com/api/resources/activities/whatsapp/create).
 *
 * Close stores a body (`message_markdown`, "in the WhatsApp Markdown format") but no status, edit or revoke fields,
 * so the activity's last paragraph is a footer the adapter writes and reads back:
 * `_WhatsApp · Business App · Read · Edited_`. Status updates, edits, revokes and reactions re-render the body and
 * footer and `PUT` them; the footer is how a later update knows the stored status (never downgraded).
 *
 * User text is WhatsApp text, already in WhatsApp Markdown, so it is kept as written by default (`*bold*` stays
 * bold, as the rep saw it on the phone); `userTextFormatting: 'escaped'` neutralizes it. Text the adapter itself
 * interpolates into its labels (file names, locations) is always escaped.
 */
import {
  type DeliveryStatus,
  describeMessageMedia,
  describeStatusError,
  isStatusUpgrade,
  type MessageChange,
  type MessageRecord,
  type MessageRecordContent,
  type MessageRecordReaction,
  type MessageSender,
} from '@coexist/core';
import type { CloseAttachmentInput, CloseWhatsAppActivityCreate } from './close-api.ts';

/** What the footer records about a message. */
export interface CloseMessageState {
  actor: MessageSender;
  status?: DeliveryStatus;
  /** Why it failed (`131047: Re-engagement message`), with a `failed` status: `Failed (…)` in the footer. */
  statusError?: string;
  edited: boolean;
  revoked: boolean;
  reactions: MessageRecordReaction[];
}

/** How user-written text goes into the Markdown body. */
export type CloseUserTextFormatting = 'whatsapp' | 'escaped';

/** Options of the body renderers. */
export interface CloseMarkdownOptions {
  /**
   * `whatsapp` keeps the sender's WhatsApp formatting (`*bold*`, `_italic_`); `escaped` shows it literally.
   * @default 'whatsapp'
   */
  userTextFormatting?: CloseUserTextFormatting;
  /** A link to show under the media label, when the media is linked rather than attached. */
  mediaLink?: string;
}

const ACTOR_LABELS: Record<MessageSender, string> = {
  customer: 'Customer',
  business_app: 'Business App',
  cloud_api: 'Cloud API',
};
const STATUS_LABELS: Record<DeliveryStatus, string> = {
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
  played: 'Played',
  failed: 'Failed',
};
const FOOTER_PATTERN = /^_WhatsApp · (.+)_$/;
const REACTIONS_PREFIX = 'Reactions: ';
/** A failed status with its reason: `Failed (131047: Re-engagement message)`. */
const FAILED_PATTERN = /^Failed \((.+)\)$/;
/** The body of a message its sender deleted for everyone (the content is dropped, as WhatsApp does). */
export const CLOSE_REVOKED_BODY = '_This message was deleted_';

/**
 * Neutralizes WhatsApp Markdown: a zero-width space before `*`, `_` and `~` stops them opening or closing a style
 * (WhatsApp styles need a word boundary), and backticks become `ˋ` (U+02CB), since monospace needs none.
 */
export function escapeWhatsAppMarkdown(text: string): string {
  return text.replace(/[*_~]/g, (marker) => `\u200B${marker}`).replace(/`/g, '\u02CB');
}

function userText(text: string, options: CloseMarkdownOptions): string {
  return options.userTextFormatting === 'escaped' ? escapeWhatsAppMarkdown(text) : text;
}

/** The Markdown body of a message's content: the text, or a `[Photo]`-style label with the caption under it. */
export function renderCloseMessageBody(content: MessageRecordContent, options: CloseMarkdownOptions = {}): string {
  const written = content.text ?? content.caption;
  const label =
    content.kind === 'text'
      ? undefined
      : describeMessageMedia({
          id: '',
          kind: content.kind,
          ...(content.media === undefined ? {} : { media: content.media }),
        });
  if (label === undefined) {
    const text = written ?? content.summary;
    return text.trim() === '' ? '[Empty message]' : userText(text, options);
  }
  const lines = [
    written === undefined && content.summary.startsWith('[')
      ? escapeWhatsAppMarkdown(content.summary)
      : `[${escapeWhatsAppMarkdown(label)}]`,
  ];
  if (content.placeholder && content.kind !== 'media_placeholder') lines.push('_(media not yet available)_');
  if (options.mediaLink !== undefined) lines.push(options.mediaLink);
  if (written !== undefined && written.trim() !== '') lines.push(userText(written, options));
  return lines.join('\n');
}

/**
 * The footer line: `_WhatsApp · <actor> · <status> · Edited · Deleted · Reactions: 👍 Customer_`; a failed status
 * with its reason: `Failed (131047: Re-engagement message)`.
 */
export function renderCloseFooter(state: CloseMessageState): string {
  const parts = [ACTOR_LABELS[state.actor]];
  if (state.status !== undefined) {
    const reason = state.status === 'failed' && state.statusError !== undefined ? ` (${state.statusError})` : '';
    parts.push(`${STATUS_LABELS[state.status]}${reason}`);
  }
  if (state.edited) parts.push('Edited');
  if (state.revoked) parts.push('Deleted');
  if (state.reactions.length > 0) {
    parts.push(
      `${REACTIONS_PREFIX}${state.reactions.map((reaction) => `${reaction.emoji} ${ACTOR_LABELS[reaction.actor]}`).join(', ')}`,
    );
  }
  return `_WhatsApp · ${parts.join(' · ')}_`;
}

/** The full `message_markdown`: body, a blank line, the footer. */
export function composeCloseMarkdown(body: string, state: CloseMessageState): string {
  return `${state.revoked ? CLOSE_REVOKED_BODY : body}\n\n${renderCloseFooter(state)}`;
}

/** A stored `message_markdown` split into body and state. */
export interface ParsedCloseMarkdown {
  body: string;
  state: CloseMessageState;
  /** False when the last paragraph is not a footer this adapter wrote (then `state` is the fallback). */
  recognized: boolean;
}

/** Reads a stored `message_markdown` back; an unrecognized one (edited by hand) yields the whole text as body. */
export function parseCloseMarkdown(markdown: string, fallbackActor: MessageSender): ParsedCloseMarkdown {
  const fallback: ParsedCloseMarkdown = {
    body: markdown,
    state: { actor: fallbackActor, edited: false, revoked: false, reactions: [] },
    recognized: false,
  };
  const split = markdown.lastIndexOf('\n\n');
  if (split === -1) return fallback;
  const match = FOOTER_PATTERN.exec(markdown.slice(split + 2));
  if (match === null) return fallback;
  const parts = match[1]!.split(' · ');
  const actor = senderOfLabel(parts[0]!);
  if (actor === undefined) return fallback;
  const state: CloseMessageState = { actor, edited: false, revoked: false, reactions: [] };
  for (const part of parts.slice(1)) {
    const failure = FAILED_PATTERN.exec(part);
    const status = (Object.keys(STATUS_LABELS) as DeliveryStatus[]).find((key) => STATUS_LABELS[key] === part);
    if (failure !== null) {
      state.status = 'failed';
      state.statusError = failure[1]!;
    } else if (status !== undefined) state.status = status;
    else if (part === 'Edited') state.edited = true;
    else if (part === 'Deleted') state.revoked = true;
    else if (part.startsWith(REACTIONS_PREFIX)) {
      for (const entry of part.slice(REACTIONS_PREFIX.length).split(', ')) {
        // An entry is `<emoji> <actor label>`; labels contain spaces ("Business App"), so match the label at the end.
        const who = (Object.keys(ACTOR_LABELS) as MessageSender[]).find((key) =>
          entry.endsWith(` ${ACTOR_LABELS[key]}`),
        );
        if (who === undefined) return fallback;
        state.reactions.push({ actor: who, emoji: entry.slice(0, entry.length - ACTOR_LABELS[who].length - 1) });
      }
    } else return fallback;
  }
  return { body: markdown.slice(0, split), state, recognized: true };
}

function senderOfLabel(label: string): MessageSender | undefined {
  return (Object.keys(ACTOR_LABELS) as MessageSender[]).find((key) => ACTOR_LABELS[key] === label);
}

/** The footer state a message record carries. */
export function closeStateOfRecord(record: MessageRecord): CloseMessageState {
  return {
    actor: record.actor,
    ...(record.status === undefined ? {} : { status: record.status }),
    edited: record.editedAt !== undefined,
    revoked: record.revoked === true,
    reactions: [...(record.reactions ?? [])],
  };
}

/** What `toCloseWhatsAppActivityCreate` needs besides the record. */
export interface CloseActivityMappingOptions extends CloseMarkdownOptions {
  /** The lead the contact belongs to. */
  leadId: string;
  /** The chat card link shown on the activity. */
  integrationLink?: string;
  /** Files uploaded through the Files API. */
  attachments?: readonly CloseAttachmentInput[];
}

/**
 * The `POST /activity/whatsapp_message/` body of a message: direction, the business number as `local_phone` and the
 * customer's as `remote_phone`, the original time, the body with its footer, and `response_to_id` = the previous
 * message's activity (the thread chain). Throws a `TypeError` naming a missing field.
 */
export function toCloseWhatsAppActivityCreate(
  record: MessageRecord,
  options: CloseActivityMappingOptions,
): CloseWhatsAppActivityCreate {
  if (record.businessPhone === undefined || record.businessPhone === '') throw new TypeError('businessPhone');
  if (record.contactPhone === undefined || record.contactPhone === '') throw new TypeError('contactPhone');
  if (Number.isNaN(Date.parse(record.occurredAt))) throw new TypeError('occurredAt');
  return {
    lead_id: options.leadId,
    contact_id: record.contactCrmId,
    direction: record.direction === 'inbound' ? 'incoming' : 'outgoing',
    external_whatsapp_message_id: record.key,
    activity_at: new Date(record.occurredAt).toISOString(),
    local_phone: record.businessPhone,
    remote_phone: record.contactPhone,
    message_markdown: composeCloseMarkdown(renderCloseMessageBody(record.content, options), closeStateOfRecord(record)),
    response_to_id: record.previousMessageCrmId ?? null,
    ...(options.integrationLink === undefined ? {} : { integration_link: options.integrationLink }),
    ...(options.attachments === undefined || options.attachments.length === 0
      ? {}
      : { attachments: [...options.attachments] }),
  };
}

/** A stored message after a change: the new body and state, and whether the content (attachments) changed. */
export interface AppliedCloseChange {
  body: string;
  state: CloseMessageState;
  /** The change replaced the content (edit, media), so attachments should be replaced too. */
  contentChanged: boolean;
}

/** Applies a status, edit, revoke, reaction or media change to a stored message; a status never moves backwards. */
export function applyCloseMessageChange(
  stored: { body: string; state: CloseMessageState },
  change: MessageChange,
  options: CloseMarkdownOptions = {},
): AppliedCloseChange {
  const state: CloseMessageState = { ...stored.state, reactions: [...stored.state.reactions] };
  switch (change.kind) {
    case 'status': {
      if (!isStatusUpgrade(state.status, change.status)) return { body: stored.body, state, contentChanged: false };
      state.status = change.status;
      // The reason goes in the footer, whose separators and Markdown it must not contain.
      const reason =
        change.status === 'failed'
          ? describeStatusError(change)
              ?.replace(/[_·()\s]+/g, ' ')
              .trim()
          : undefined;
      if (reason) state.statusError = reason;
      return { body: stored.body, state, contentChanged: false };
    }
    case 'edit':
      if (state.revoked) return { body: stored.body, state, contentChanged: false };
      state.edited = true;
      return { body: renderCloseMessageBody(change.content, options), state, contentChanged: true };
    case 'media':
      if (state.revoked) return { body: stored.body, state, contentChanged: false };
      return { body: renderCloseMessageBody(change.content, options), state, contentChanged: true };
    case 'revoke':
      state.revoked = true;
      return { body: CLOSE_REVOKED_BODY, state, contentChanged: true };
    case 'reaction': {
      state.reactions = state.reactions.filter((reaction) => reaction.actor !== change.actor);
      if (change.emoji !== null && change.emoji !== '')
        state.reactions.push({ actor: change.actor, emoji: change.emoji });
      return { body: stored.body, state, contentChanged: false };
    }
  }
}

/**
 * The state a replayed write should leave: the replay carries the message's current state, but a status stored by
 * an update in between is never moved backwards, and a revoke or edit is never undone.
 */
export function mergeReplayedState(stored: CloseMessageState, replayed: CloseMessageState): CloseMessageState {
  const status =
    replayed.status === undefined
      ? stored.status
      : stored.status === undefined || isStatusUpgrade(stored.status, replayed.status)
        ? replayed.status
        : stored.status;
  return {
    actor: replayed.actor,
    ...(status === undefined ? {} : { status }),
    edited: stored.edited || replayed.edited,
    revoked: stored.revoked || replayed.revoked,
    reactions: replayed.reactions,
  };
}
