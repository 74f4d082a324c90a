import { describe, expect, it } from 'vitest';
import { hashParts, mix32, SeededRandom } from './seeded-random.ts';

describe('SeededRandom', () => {
  it('repeats the same sequence for the same seed and labels, and differs otherwise', () => {
    const sequence = (random: SeededRandom) => Array.from({ length: 20 }, () => random.next());
    expect(sequence(SeededRandom.from(42, 'a'))).toEqual(sequence(SeededRandom.from(42, 'a')));
    expect(sequence(SeededRandom.from(42, 'a'))).not.toEqual(sequence(SeededRandom.from(42, 'b')));
    expect(sequence(SeededRandom.from('42', 'a'))).not.toEqual(sequence(SeededRandom.from(42, 'a')));
  });

  it('derives child streams without advancing the parent', () => {
    const parent = SeededRandom.from(7);
    const before = SeededRandom.from(7).next();
    parent.derive('child').next();
    expect(parent.next()).toBe(before);
    expect(SeededRandom.from(7).derive('x', 1).next()).toBe(SeededRandom.from(7).derive('x', 1).next());
  });

  it('keeps values in range and roughly uniform', () => {
    const random = SeededRandom.from('uniform');
    const buckets = [0, 0, 0, 0];
    let outOfRange = 0;
    for (let index = 0; index < 40_000; index++) {
      const value = random.int(0, 3);
      if (value < 0 || value > 3 || !Number.isInteger(value)) outOfRange++;
      else buckets[value]!++;
    }
    expect(outOfRange).toBe(0);
    for (const count of buckets) expect(Math.abs(count - 10_000)).toBeLessThan(600);
    expect(random.digits(12)).toMatch(/^[1-9]\d{11}$/);
    expect(random.hex(9)).toMatch(/^[0-9a-f]{9}$/);
  });

  it('shuffles into a permutation and picks by weight', () => {
    const random = SeededRandom.from(3);
    const shuffled = random.shuffle(Array.from({ length: 50 }, (_, index) => index));
    expect([...shuffled].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, index) => index));
    expect(shuffled).not.toEqual(Array.from({ length: 50 }, (_, index) => index));
    const counts = { a: 0, b: 0 };
    for (let index = 0; index < 10_000; index++) counts[random.weighted({ a: 9, b: 1 })]++;
    expect(counts.a).toBeGreaterThan(8500);
    expect(counts.b).toBeGreaterThan(700);
  });

  it('mix32 is a bijection on a sample and hashParts separates parts', () => {
    const seen = new Set<number>();
    for (let value = 0; value < 100_000; value++) seen.add(mix32(value));
    expect(seen.size).toBe(100_000);
    expect(hashParts('ab', 'c')).not.toBe(hashParts('a', 'bc'));
    expect(hashParts(1, 2)).not.toBe(hashParts('1', '2'));
  });
});
