/** MessageContent from a Meta message object (inbound, echo, history or the new content of an edit). */
import type {
  InteractiveReply,
  MediaRef,
  MessageContent,
  MessageContext,
  MetaError,
} from '../events/coexistence-event.ts';
import type { MetaErrorObject, MetaHistoryMessage, MetaMessageContent } from './meta-webhook-schema.ts';

/** Meta message types that carry a media object under the key of the same name. */
const MEDIA_TYPES = new Set(['image', 'audio', 'video', 'document', 'sticker']);

/**
 * Message types normalized into `message.received` / `message.echoed`. `reaction`, `edit` and `revoke` have
 * their own events; any other type becomes an `unknown` event.
 */
export const CONTENT_MESSAGE_TYPES: ReadonlySet<string> = new Set([
  'text',
  'image',
  'audio',
  'video',
  'document',
  'sticker',
  'location',
  'contacts',
  'button',
  'interactive',
  'order',
  'system',
  'unsupported',
  'media_placeholder',
]);

/** Normalizes Meta error objects. */
export function normalizeErrors(errors: readonly MetaErrorObject[]): MetaError[] {
  return errors.map(normalizeError);
}

/** Normalizes one Meta error object: `error_data.details` becomes `details`. */
export function normalizeError(error: MetaErrorObject): MetaError {
  const normalized: MetaError = { code: error.code };
  if (error.title !== undefined) normalized.title = error.title;
  if (error.message !== undefined) normalized.message = error.message;
  const details = error.error_data?.details;
  if (details !== undefined) normalized.details = details;
  if (error.href !== undefined) normalized.href = error.href;
  return normalized;
}

function mediaRef(media: NonNullable<MetaMessageContent['image']>): MediaRef | undefined {
  // Sent-message shapes (echoes) may reference media by `link` only; there is no media id to keep then.
  if (media.id === undefined) return undefined;
  const ref: MediaRef = { id: media.id };
  if (media.mime_type !== undefined) ref.mimeType = media.mime_type;
  if (media.sha256 !== undefined) ref.sha256 = media.sha256;
  if (media.filename !== undefined) ref.filename = media.filename;
  const url = media.url ?? media.link;
  if (url !== undefined) ref.url = url;
  if (media.voice !== undefined) ref.voice = media.voice;
  if (media.animated !== undefined) ref.animated = media.animated;
  return ref;
}

/**
 * The reply of an `interactive` message, or `undefined` when it is not a reply we can read (an unknown
 * interactive type without `id`/`title`).
 */
export function interactiveReply(
  interactive: NonNullable<MetaMessageContent['interactive']>,
): InteractiveReply | undefined {
  const kind = interactive.type;
  if (kind === 'nfm_reply' && interactive.nfm_reply !== undefined) {
    const reply = interactive.nfm_reply;
    const result: InteractiveReply = { kind, replyId: reply.name ?? 'flow', title: reply.body ?? '' };
    if (reply.response_json !== undefined) result.responseJson = reply.response_json;
    return result;
  }
  const reply = (interactive as Record<string, unknown>)[kind];
  if (typeof reply !== 'object' || reply === null) return undefined;
  const { id, title, description } = reply as Record<string, unknown>;
  if (typeof id !== 'string' || typeof title !== 'string') return undefined;
  const result: InteractiveReply = { kind, replyId: id, title };
  if (typeof description === 'string') result.description = description;
  return result;
}

function messageContext(message: MetaMessageContent): MessageContext | undefined {
  const source = message.context;
  const referral = message.referral ?? source?.referred_product;
  if (source === undefined && referral === undefined) return undefined;
  const context: MessageContext = {};
  if (source?.id !== undefined) context.repliedToId = source.id;
  if (source?.forwarded !== undefined) context.forwarded = source.forwarded;
  if (source?.frequently_forwarded !== undefined) context.frequentlyForwarded = source.frequently_forwarded;
  // A Click-to-WhatsApp `referral` and a `context.referred_product` do not occur together; the ad wins if they do.
  if (referral !== undefined) context.referral = referral;
  return Object.keys(context).length > 0 ? context : undefined;
}

/** Whether `normalizeMessageContent` can read this message (an `interactive` needs a readable reply). */
export function isReadableContent(message: MetaMessageContent): boolean {
  if (!CONTENT_MESSAGE_TYPES.has(message.type)) return false;
  if (message.type === 'interactive' && message.interactive !== undefined) {
    return interactiveReply(message.interactive) !== undefined;
  }
  return true;
}

/** The normalized content of a message whose wamid is `id`. */
export function normalizeMessageContent(message: MetaMessageContent | MetaHistoryMessage, id: string): MessageContent {
  const kind = message.type;
  const content: MessageContent = { id, kind };
  if (kind === 'text') {
    if (message.text !== undefined) content.text = message.text.body;
  } else if (MEDIA_TYPES.has(kind)) {
    const media = message[kind as 'image'];
    if (media !== undefined) {
      if (media.caption !== undefined) content.caption = media.caption;
      const ref = mediaRef(media);
      if (ref !== undefined) content.media = ref;
    }
  } else if (kind === 'location') {
    const location = message.location;
    if (location !== undefined) {
      content.location = { latitude: location.latitude, longitude: location.longitude };
      if (location.name !== undefined) content.location.name = location.name;
      if (location.address !== undefined) content.location.address = location.address;
      if (location.url !== undefined) content.location.url = location.url;
    }
  } else if (kind === 'contacts') {
    if (message.contacts !== undefined) content.contacts = message.contacts;
  } else if (kind === 'button') {
    if (message.button !== undefined) {
      content.button = { text: message.button.text ?? '', payload: message.button.payload ?? '' };
    }
  } else if (kind === 'interactive') {
    const reply = message.interactive !== undefined ? interactiveReply(message.interactive) : undefined;
    if (reply !== undefined) content.interactive = reply;
  } else if (kind === 'order') {
    if (message.order !== undefined) content.order = message.order;
  } else if (kind === 'system') {
    if (message.system !== undefined) content.system = message.system;
  } else if (kind === 'unsupported') {
    if (message.unsupported !== undefined) content.unsupported = message.unsupported;
  }
  const context = messageContext(message);
  if (context !== undefined) content.context = context;
  if (message.errors !== undefined && message.errors.length > 0) content.errors = normalizeErrors(message.errors);
  const historyStatus = message.history_context?.status;
  if (historyStatus !== undefined && historyStatus !== '') content.historyStatus = historyStatus.toLowerCase();
  return content;
}
