/**
 * Event ids: stable dedupe keys. The same logical event always gets the same id (a redelivered webhook, or a
 * message seen live and again in the history backfill), and different events never share one.
 * The full scheme is documented in docs/event-contract.md.
 */
import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every depth, so equal values serialize equally whatever Meta's key order.
 * Values JSON cannot hold (`undefined`, functions) are left out as `JSON.stringify` does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  }
  const record = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(record).sort()) {
    const item = record[key];
    if (item === undefined || typeof item === 'function') continue;
    parts.push(`${JSON.stringify(key)}:${canonicalJson(item)}`);
  }
  return `{${parts.join(',')}}`;
}

/** The SHA-256 of the canonical JSON of `value`, in lowercase hex. */
export function hashCanonical(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/** Where an item without a natural key came from; part of its hashed id. */
export interface HashedIdSource {
  wabaId: string;
  field: string;
  /** JSON path of the item in the payload, e.g. `entry[0].changes[1].value.calls[0]`. */
  path: string;
  raw: unknown;
}

/** `<prefix>:<sha256 of canonical JSON of {wabaId, field, path, raw}>`, for items with no natural key. */
export function hashedEventId(prefix: string, source: HashedIdSource): string {
  return `${prefix}:${hashCanonical([source.wabaId, source.field, source.path, source.raw])}`;
}

/** `message:<wamid>`, shared by a live message, its echo and its history copy so overlaps dedupe. */
export function messageEventId(wamid: string): string {
  return `message:${wamid}`;
}

/** `status:<wamid>:<status>`: one id per status a message reaches. */
export function statusEventId(wamid: string, status: string): string {
  return `status:${wamid}:${status}`;
}

/** `edit:<wamid of the edit>`. */
export function editEventId(wamid: string): string {
  return `edit:${wamid}`;
}

/** `revoke:<wamid of the revoke>`. */
export function revokeEventId(wamid: string): string {
  return `revoke:${wamid}`;
}

/** `reaction:<wamid of the reaction>`: reacting, changing and removing are separate messages with their own wamid. */
export function reactionEventId(wamid: string): string {
  return `reaction:${wamid}`;
}

/** `media:<wamid of the placeholder>`. */
export function mediaEventId(wamid: string): string {
  return `media:${wamid}`;
}

/** `history:<phoneNumberId>:<phase>:<chunkOrder>`. */
export function historyChunkEventId(phoneNumberId: string, phase: number, chunkOrder: number): string {
  return `history:${phoneNumberId}:${phase}:${chunkOrder}`;
}

/** `history-declined:<phoneNumberId>:<code>`: a number declines history at most once per onboarding. */
export function historyDeclinedEventId(phoneNumberId: string, code: number): string {
  return `history-declined:${phoneNumberId}:${code}`;
}

/**
 * `contact:<phoneNumberId>:<action>:<phone or userId>:<timestamp>:<first 16 hex of the item's hash>`. The hash keeps
 * two different changes of one contact in the same second apart (a name edited twice: the second would otherwise be
 * dropped as a duplicate of the first), while a redelivery, the same item, keeps its id. When Meta leaves out the
 * timestamp or both identifiers, the full hash stands in for them.
 */
export function contactEventId(
  phoneNumberId: string,
  action: string,
  key: string | undefined,
  timestamp: number | undefined,
  raw: unknown,
): string {
  const hash = hashCanonical(raw);
  const head = `contact:${phoneNumberId}:${action}:${key ?? `sha256.${hash}`}`;
  return timestamp !== undefined ? `${head}:${timestamp}:${hash.slice(0, 16)}` : `${head}:sha256.${hash}`;
}

/**
 * `account:<wabaId>:<EVENT>:<entry.time>:<first 16 hex of the value's hash>`. The hash keeps two different events
 * of the same kind in the same second apart (two partner apps installed at once); without `entry.time` the full
 * hash stands in for it.
 */
export function accountEventId(wabaId: string, event: string, time: number | undefined, value: unknown): string {
  const hash = hashCanonical(value);
  return time !== undefined
    ? `account:${wabaId}:${event}:${time}:${hash.slice(0, 16)}`
    : `account:${wabaId}:${event}:${hash}`;
}
