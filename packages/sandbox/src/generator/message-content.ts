/**
 * Builds the type-specific part of messages (`text`, `image`, `location`, …) as Meta sends them,
 * with texts in the customer's language. Shapes follow the fixtures in shared/fixtures/meta.
 */
import { createMediaId, createSha256 } from './message-ids.ts';
import type { Language } from './phone-numbers.ts';
import type { SeededRandom } from './seeded-random.ts';
import { DOCUMENTS, PLACES, TEXTS } from './word-lists.ts';

/** Message types that carry media. */
export const MEDIA_TYPES: ReadonlySet<string> = new Set(['image', 'audio', 'video', 'document', 'sticker']);

/** Who wrote a text. */
export type TextSide = 'customer' | 'business';

/** How a media object is shaped: live webhooks carry a `url` and base64 sha256; history follow-ups hex sha256 and no url. */
export type MediaFlavor = 'live' | 'history-follow-up';

/** A message text in the writer's language. */
export function createText(random: SeededRandom, language: Language, side: TextSide): string {
  const template = random.pick(TEXTS[language][side]);
  return template.replace('{n}', String(random.int(12, 9800)));
}

function mediaObject(random: SeededRandom, flavor: MediaFlavor, mimeType: string, extra: Record<string, unknown>) {
  const id = createMediaId(random);
  const sha256 = flavor === 'live' ? createSha256(random) : random.hex(64);
  const object: Record<string, unknown> = { ...extra, mime_type: mimeType, sha256, id };
  if (flavor === 'live')
    object.url = `https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=${id}&ext=${random.int(1_700_000_000, 1_799_999_999)}&hash=${random.hex(22)}`;
  return object;
}

/** The `{ <type>: {...} }` part of a media message. */
export function createMediaContent(
  random: SeededRandom,
  type: string,
  language: Language,
  flavor: MediaFlavor,
): Record<string, unknown> {
  const caption = (): Record<string, unknown> =>
    random.chance(0.5) ? { caption: random.pick(TEXTS[language].captions) } : {};
  switch (type) {
    case 'image':
      return { image: mediaObject(random, flavor, 'image/jpeg', caption()) };
    case 'video':
      return { video: mediaObject(random, flavor, 'video/mp4', caption()) };
    case 'audio': {
      const voice = random.chance(0.8);
      const audio = mediaObject(random, flavor, voice ? 'audio/ogg; codecs=opus' : 'audio/mpeg', {});
      return { audio: voice ? { ...audio, voice: true } : audio };
    }
    case 'document': {
      const document = random.pick(DOCUMENTS);
      return {
        document: mediaObject(random, flavor, document.mimeType, { ...caption(), filename: document.filename }),
      };
    }
    case 'sticker': {
      const animated = random.chance(0.3);
      return { sticker: { ...mediaObject(random, flavor, 'image/webp', {}), animated } };
    }
    default:
      throw new Error(`[coexist/sandbox] not a media type: ${type}`);
  }
}

/** The `{ <type>: {...} }` part of any non-media, non-reaction message a customer or the business sends. */
export function createContent(
  random: SeededRandom,
  type: string,
  language: Language,
  side: TextSide,
  names: { fullName: string; firstName: string },
): Record<string, unknown> {
  switch (type) {
    case 'text':
      return { text: { body: createText(random, language, side) } };
    case 'location': {
      const place = random.pick(PLACES);
      return {
        location: { address: place.address, latitude: place.latitude, longitude: place.longitude, name: place.name },
      };
    }
    case 'contacts': {
      const [first, ...rest] = names.fullName.split(' ');
      return {
        contacts: [
          {
            name: { first_name: first, last_name: rest.join(' '), formatted_name: names.fullName },
            phones: [{ phone: `+1 650-555-${String(random.int(1000, 9999))}`, type: 'CELL' }],
          },
        ],
      };
    }
    case 'button': {
      const text = random.pick(['Yes, confirm', 'Reschedule', 'Stop promotions']);
      return { button: { payload: text.toUpperCase().replace(/[^A-Z]+/g, '_'), text } };
    }
    case 'interactive':
      return random.chance(0.6)
        ? {
            interactive: {
              type: 'button_reply',
              button_reply: { id: `btn_${random.int(1, 3)}`, title: random.pick(['Yes', 'No', 'Talk to an agent']) },
            },
          }
        : {
            interactive: {
              type: 'list_reply',
              list_reply: {
                id: `slot_${random.int(1, 9)}`,
                title: random.pick(['Tue 10:00', 'Wed 15:30', 'Fri 09:00']),
                description: 'Showroom visit',
              },
            },
          };
    default:
      return createMediaContent(random, type, language, 'live');
  }
}
