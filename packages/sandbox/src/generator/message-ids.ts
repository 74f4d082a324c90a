/**
 * Meta-shaped identifiers: wamids, media ids, sha256 strings, WABA and phone-number ids.
 * A real wamid is `wamid.` + base64 of a small protobuf-like record: the customer's number, a
 * direction byte (0x12 inbound, 0x11 outbound) and a hex message id (see the fixtures). Ours have the
 * same layout; the hex id embeds a bijective hash of (number, stream, index) so ids never collide.
 */
import { mix32, type SeededRandom } from './seeded-random.ts';

/** Which side sent a message. */
export type MessageDirection = 'inbound' | 'outbound';

/** Id streams inside one business number, so indexes of different streams never collide. */
export const WAMID_STREAM = { history: 1, live: 2 } as const;

/** Builds a unique, Meta-shaped wamid for message `index` of `stream` on business number `numberKey`. */
export function createWamid(
  customerDigits: string,
  direction: MessageDirection,
  numberKey: number,
  stream: number,
  index: number,
  random: SeededRandom,
): string {
  // A two-round Feistel network over (number, stream+index) is a bijection: distinct inputs, distinct ids.
  const low = (mix32(numberKey) ^ (((stream & 0xf) << 28) | (index & 0x0fffffff))) >>> 0;
  const high = (numberKey ^ mix32(low)) >>> 0;
  const unique = high.toString(16).padStart(8, '0') + low.toString(16).padStart(8, '0');
  const hexId = (unique + random.hex(direction === 'inbound' ? 4 : 2)).toUpperCase();
  const digits = Buffer.from(customerDigits, 'ascii');
  const idBytes = Buffer.from(hexId, 'ascii');
  const record = Buffer.concat([
    Buffer.from([0x1c, 0x18, digits.length]),
    digits,
    Buffer.from([0x15, 0x02, 0x00, direction === 'inbound' ? 0x12 : 0x11, 0x18, idBytes.length]),
    idBytes,
    Buffer.from([0x00]),
  ]);
  return `wamid.${record.toString('base64')}`;
}

/** A numeric media id like Meta's (15–16 digits). */
export function createMediaId(random: SeededRandom): string {
  return random.digits(random.chance(0.5) ? 15 : 16);
}

/** A base64 SHA-256 string as live media objects carry it. */
export function createSha256(random: SeededRandom): string {
  return Buffer.from(random.bytes(32)).toString('base64');
}

/** A numeric Meta object id (WABA, phone number, business), 15 digits starting with 1. */
export function createObjectId(random: SeededRandom): string {
  return `1${random.digits(14)}`;
}
