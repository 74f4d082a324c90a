/**
 * Plain-text descriptions of message content, for CRMs that only take a body and for the chat card.
 * Pure; never logged (they contain message text).
 */
import type { MessageContent } from '../events/coexistence-event.ts';

const MEDIA_LABELS: Record<string, string> = {
  image: 'Photo',
  video: 'Video',
  audio: 'Audio',
  document: 'Document',
  sticker: 'Sticker',
  location: 'Location',
  contacts: 'Contact card',
  order: 'Order',
  system: 'System message',
  reaction: 'Reaction',
  media_placeholder: 'Media (not yet available)',
  unknown: 'Message sent via the Cloud API',
  unsupported: 'Unsupported message',
};

/** A short label for the non-text part of a message (`Photo`, `Voice message`, `Document: offer.pdf`), or `undefined` for plain text. */
export function describeMessageMedia(content: MessageContent): string | undefined {
  if (content.kind === 'text') return undefined;
  if (content.kind === 'audio' && content.media?.voice === true) return 'Voice message';
  if (content.kind === 'document' && content.media?.filename !== undefined)
    return `Document: ${content.media.filename}`;
  if (content.kind === 'location' && content.location !== undefined) {
    const place = content.location.name ?? content.location.address;
    return place === undefined ? 'Location' : `Location: ${place}`;
  }
  if (content.kind === 'interactive' || content.kind === 'button') return undefined;
  return MEDIA_LABELS[content.kind] ?? `Message (${content.kind})`;
}

/** The text a person would read: body, caption, button text or interactive reply title. */
export function messageText(content: MessageContent): string | undefined {
  return content.text ?? content.caption ?? content.button?.text ?? content.interactive?.title;
}

/** One plain-text line for the whole message: `Hi!`, `[Photo] At the beach`, `[Voice message]`. */
export function summarizeMessageContent(content: MessageContent): string {
  const label = describeMessageMedia(content);
  const text = messageText(content);
  if (label === undefined) return text ?? '';
  return text === undefined ? `[${label}]` : `[${label}] ${text}`;
}
