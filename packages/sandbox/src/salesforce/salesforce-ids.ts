import { createSeededRandom } from '../emulator/seeded-random.ts';

const base62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const checksumAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

/**
 * Turns a 15-character, case-sensitive Salesforce id into its 18-character, case-insensitive form by appending
 * the three-character checksum of upper-case positions (the documented algorithm behind `CASESAFEID()`).
 */
export function toEighteenCharacterId(id: string): string {
  if (id.length === 18) return id;
  if (id.length !== 15) throw new Error(`[coexist/sandbox] toEighteenCharacterId: id "${id}" must have 15 characters`);
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let flags = 0;
    for (let position = 0; position < 5; position++) {
      const character = id[chunk * 5 + position]!;
      if (character >= 'A' && character <= 'Z') flags |= 1 << position;
    }
    suffix += checksumAlphabet[flags];
  }
  return id + suffix;
}

/** Whether a value has the shape of a 15- or 18-character Salesforce id. */
export function isSalesforceIdShape(value: unknown): value is string {
  return typeof value === 'string' && /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/.test(value);
}

/** A seeded source of unique 18-character Salesforce-style ids, one sequence per key prefix. */
export interface SalesforceIdGenerator {
  /** A new id with the object's key prefix, e.g. `003…` for a Contact. */
  next(keyPrefix: string): string;
}

/** Creates an id generator whose sequence is reproducible from the seed. */
export function createSalesforceIdGenerator(seed: number | string = 1): SalesforceIdGenerator {
  const random = createSeededRandom(`salesforce-ids:${seed}`);
  // Characters 4–5 of a real id name the pod, character 6 is reserved; the last nine count records.
  const pod = `${base62[10 + random.int(0, 25)]}${base62[random.int(0, 9)]}`;
  const counters = new Map<string, number>();
  return {
    next(keyPrefix) {
      const counter = counters.get(keyPrefix) ?? random.int(1_000_000, 9_000_000);
      counters.set(keyPrefix, counter + 1 + random.int(0, 3));
      let serial = '';
      let remaining = counter;
      for (let index = 0; index < 9; index++) {
        serial = base62[remaining % 62] + serial;
        remaining = Math.floor(remaining / 62);
      }
      return toEighteenCharacterId(`${keyPrefix}${pod}0${serial}`);
    },
  };
}
