import { describe, expect, it } from 'vitest';
import { eventIdHash } from './event-id-hash.ts';

describe('eventIdHash', () => {
  it('is deterministic, a safe integer, and tells apart ids that differ in one character', () => {
    const id = 'wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzRUIwQjE2RkU3QTk4N0RFNkQ2RgA=';
    expect(eventIdHash(id)).toBe(eventIdHash(`${id}`));
    expect(Number.isSafeInteger(eventIdHash(id))).toBe(true);
    expect(eventIdHash(id)).toBeGreaterThanOrEqual(0);
    expect(eventIdHash(id)).not.toBe(eventIdHash(id.replace('=', '-')));
  });

  it('spreads 100,000 sequential ids without a collision', () => {
    const seen = new Set<number>();
    for (let index = 0; index < 100_000; index++) seen.add(eventIdHash(`event-${index}`));
    expect(seen.size).toBe(100_000);
  });
});
