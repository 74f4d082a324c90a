import type { GraphErrorDetails } from './meta-graph-error.ts';

/** Message types the emulator's `POST /{phone-number-id}/messages` accepts. */
export const SENDABLE_MESSAGE_TYPES = [
  'text',
  'template',
  'image',
  'audio',
  'video',
  'document',
  'sticker',
  'reaction',
] as const;

/** A message type the emulator accepts. */
export type SendableMessageType = (typeof SENDABLE_MESSAGE_TYPES)[number];

/** A validated outgoing message. */
export interface OutgoingMessage {
  type: SendableMessageType;
  /** `to` as posted. */
  to: string;
  /** `to` as digits, what Meta answers as `wa_id`. */
  waId: string;
  /** The media id an image/audio/video/document/sticker refers to, when sent by id. */
  mediaId?: string;
}

const MEDIA_TYPES = new Set(['image', 'audio', 'video', 'document', 'sticker']);
const TOP_LEVEL_KEYS = new Set([
  'messaging_product',
  'recipient_type',
  'to',
  'type',
  'context',
  'biz_opaque_callback_data',
  ...SENDABLE_MESSAGE_TYPES,
]);

/**
 * Validates a Cloud API send request (https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/send-messages):
 * `messaging_product: 'whatsapp'`, a phone-number `to`, a supported `type` and its object. Codes follow Meta's table:
 * 100 invalid parameter, 131008 required parameter missing, 131009 parameter value not valid.
 */
export function validateOutgoingMessage(
  body: unknown,
  mediaExists: (id: string) => boolean,
): OutgoingMessage | GraphErrorDetails {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { code: 100, message: '(#100) The request body must be a JSON object.' };
  }
  const message = body as Record<string, unknown>;
  if (message.messaging_product !== 'whatsapp') {
    return {
      code: 100,
      message: '(#100) The parameter messaging_product is required.',
      details: `messaging_product must be "whatsapp" (got ${JSON.stringify(message.messaging_product)})`,
    };
  }
  for (const key of Object.keys(message)) {
    if (!TOP_LEVEL_KEYS.has(key)) return { code: 100, message: `(#100) Param ${key} is not a valid parameter.` };
  }
  if (message.recipient_type !== undefined && message.recipient_type !== 'individual') {
    return {
      code: 131009,
      message: '(#131009) Parameter value is not valid',
      details: 'recipient_type must be "individual"',
    };
  }
  if (typeof message.to !== 'string' || message.to.trim() === '') {
    return { code: 131008, message: '(#131008) Required parameter is missing', details: 'to is required' };
  }
  const waId = message.to.replace(/[\s\-().+]/g, '');
  if (!/^\d{6,15}$/.test(waId)) {
    return {
      code: 131009,
      message: '(#131009) Parameter value is not valid',
      details: `to must be a phone number in international format (got ${JSON.stringify(message.to)})`,
    };
  }
  if (message.type === undefined) {
    return { code: 131008, message: '(#131008) Required parameter is missing', details: 'type is required' };
  }
  if (typeof message.type !== 'string' || !(SENDABLE_MESSAGE_TYPES as readonly string[]).includes(message.type)) {
    return {
      code: 131009,
      message: '(#131009) Parameter value is not valid',
      details: `type must be one of ${SENDABLE_MESSAGE_TYPES.join(', ')} in the emulator (got ${JSON.stringify(message.type)})`,
    };
  }
  const type = message.type as SendableMessageType;
  const content = message[type];
  const missing = (field: string): GraphErrorDetails => ({
    code: 131008,
    message: '(#131008) Required parameter is missing',
    details: `${type}.${field} is required`,
  });
  if (typeof content !== 'object' || content === null) return missing('');
  const object = content as Record<string, unknown>;
  const result: OutgoingMessage = { type, to: message.to, waId };
  if (type === 'text') {
    if (typeof object.body !== 'string' || object.body === '') return missing('body');
    if (object.body.length > 4096) {
      return { code: 100, message: "(#100) Param text['body'] must be at most 4096 characters long." };
    }
  } else if (type === 'template') {
    if (typeof object.name !== 'string' || object.name === '') return missing('name');
    const language = object.language as Record<string, unknown> | undefined;
    if (typeof language?.code !== 'string') return missing('language.code');
    if (object.components !== undefined && !Array.isArray(object.components)) {
      return {
        code: 131009,
        message: '(#131009) Parameter value is not valid',
        details: 'template.components must be a list',
      };
    }
  } else if (type === 'reaction') {
    if (typeof object.message_id !== 'string' || !object.message_id.startsWith('wamid.')) return missing('message_id');
    if (typeof object.emoji !== 'string') return missing('emoji');
  } else if (MEDIA_TYPES.has(type)) {
    const hasId = typeof object.id === 'string' && object.id !== '';
    const hasLink = typeof object.link === 'string' && /^https?:\/\//.test(object.link);
    if (hasId === hasLink) {
      return {
        code: 131009,
        message: '(#131009) Parameter value is not valid',
        details: `${type} needs exactly one of id (an uploaded media id) or link (an http(s) URL)`,
      };
    }
    if (hasId) {
      if (!mediaExists(object.id as string)) {
        return { code: 131053, message: '(#131053) Media upload error', details: `Unknown media id ${object.id}` };
      }
      result.mediaId = object.id as string;
    }
  }
  return result;
}
