/**
 * The dedupe index's key: a 53-bit hash of an event id (cyrb53), exact as a JavaScript number and as an SQLite
 * INTEGER. Not a unique key: the store confirms every hit against the stored event id.
 */

/** A 53-bit non-cryptographic hash of `id` (cyrb53), in `[0, 2^53)`. */
export function eventIdHash(id: string): number {
  let first = 0xdeadbeef;
  let second = 0x41c6ce57;
  for (let index = 0; index < id.length; index++) {
    const code = id.charCodeAt(index);
    first = Math.imul(first ^ code, 2654435761);
    second = Math.imul(second ^ code, 1597334677);
  }
  first = Math.imul(first ^ (first >>> 16), 2246822507);
  first ^= Math.imul(second ^ (second >>> 13), 3266489909);
  second = Math.imul(second ^ (second >>> 16), 2246822507);
  second ^= Math.imul(first ^ (first >>> 13), 3266489909);
  return 4294967296 * (2097151 & second) + (first >>> 0);
}
