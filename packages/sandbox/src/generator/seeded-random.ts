/**
 * A small, fast, seedable pseudo-random generator (mulberry32) plus helpers to derive independent
 * streams from labels, so that every part of the generated traffic can be rebuilt on its own from
 * `(seed, labels…)` without replaying everything before it. `Math.random` is never used.
 */

/** A seed as the generator options accept it: any integer or any string. */
export type Seed = number | string;

/** Murmur3's 32-bit finalizer: a bijection on 32-bit integers that spreads every input bit. */
export function mix32(value: number): number {
  let hash = value | 0;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** Hashes a seed and a list of labels into one 32-bit integer (FNV-1a over the parts, then mixed). */
export function hashParts(...parts: ReadonlyArray<number | string>): number {
  let hash = 0x811c9dc5;
  for (const part of parts) {
    const text = typeof part === 'number' ? `#${part}` : `$${part}`;
    for (let index = 0; index < text.length; index++) {
      hash ^= text.charCodeAt(index);
      hash = Math.imul(hash, 0x01000193);
    }
    hash ^= 0xff;
    hash = Math.imul(hash, 0x01000193);
  }
  return mix32(hash);
}

/** A deterministic random stream: the same seed always yields the same sequence. */
export class SeededRandom {
  private state: number;

  /** Creates a stream from a 32-bit state (use {@link SeededRandom.from} for labelled streams). */
  constructor(state: number) {
    this.state = state >>> 0;
  }

  /** Creates the stream named by a seed and labels; equal inputs give equal streams. */
  static from(seed: Seed, ...labels: ReadonlyArray<number | string>): SeededRandom {
    return new SeededRandom(hashParts(seed, ...labels));
  }

  /** Derives an independent child stream named by labels (does not advance this stream). */
  derive(...labels: ReadonlyArray<number | string>): SeededRandom {
    return new SeededRandom(hashParts(this.state, ...labels));
  }

  /** The next float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let value = this.state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** A float in [min, max). */
  float(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  /** True with the given probability. */
  chance(probability: number): boolean {
    return this.next() < probability;
  }

  /** One item of a non-empty list. */
  pick<T>(items: ReadonlyArray<T>): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** One key of a weight table, chosen in proportion to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as Array<[K, number]>;
    let total = 0;
    for (const [, weight] of entries) total += weight;
    let roll = this.next() * total;
    for (const [key, weight] of entries) {
      roll -= weight;
      if (roll < 0) return key;
    }
    return entries[entries.length - 1]![0];
  }

  /** A string of random decimal digits; the first digit is never 0. */
  digits(length: number): string {
    let text = String(this.int(1, 9));
    while (text.length < length) text += String(this.int(0, 9));
    return text;
  }

  /** A string of random hexadecimal digits. */
  hex(length: number, upperCase = false): string {
    let text = '';
    while (text.length < length) text += Math.floor(this.next() * 16).toString(16);
    return upperCase ? text.toUpperCase() : text;
  }

  /** Random bytes. */
  bytes(length: number): Uint8Array {
    const result = new Uint8Array(length);
    for (let index = 0; index < length; index++) result[index] = Math.floor(this.next() * 256);
    return result;
  }

  /** Shuffles a list in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let index = items.length - 1; index > 0; index--) {
      const other = Math.floor(this.next() * (index + 1));
      const swap = items[index] as T;
      items[index] = items[other] as T;
      items[other] = swap;
    }
    return items;
  }
}
