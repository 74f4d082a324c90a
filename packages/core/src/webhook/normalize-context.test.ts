import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { digitsOf, indexProfiles, isoFromUnixSeconds, toE164 } from './normalize-context.ts';

describe('isoFromUnixSeconds', () => {
  it('writes exactly what Date#toISOString writes', () => {
    const seconds = fc.oneof(
      fc.integer({ min: 0, max: 8_640_000_000_000 }),
      fc.double({ min: 0, max: 4_102_444_800, noNaN: true }),
      fc.constantFrom(0, 951_782_400, 951_868_800, 4_107_542_400, 253_402_300_799, 253_402_300_800),
    );
    fc.assert(
      fc.property(seconds, (value) => {
        expect(isoFromUnixSeconds(value)).toBe(new Date(value * 1000).toISOString());
      }),
      { numRuns: 2000 },
    );
  });
});

describe('phones', () => {
  it('turns Meta digits into E.164 and drops empty strings', () => {
    expect(toE164('16505551234')).toBe('+16505551234');
    expect(toE164('+1 (650) 555-1234')).toBe('+16505551234');
    expect(toE164('')).toBeUndefined();
    expect(toE164(undefined)).toBeUndefined();
    expect(digitsOf('---')).toBeUndefined();
  });

  it('indexes profiles by wa_id and user_id, ignoring empty strings', () => {
    const index = indexProfiles([
      { wa_id: '', user_id: 'US.1', profile: { name: 'A' } },
      { wa_id: '16505551234', profile: { name: 'B' } },
    ]);
    expect(index.byWaId.has('')).toBe(false);
    expect(index.byUserId.get('US.1')?.profile?.name).toBe('A');
    expect(index.byWaId.get('16505551234')?.profile?.name).toBe('B');
    expect(index.single).toBeUndefined();
  });
});
