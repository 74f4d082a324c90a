import { describe, expect, it, vi } from 'vitest';
import { normalizePhone, phoneVariants, storedPhoneMatches } from './phone.ts';

const CASES = [
  ['US national', '(650) 253-0000', 'US', '+16502530000'],
  ['US with +1 and dots', '+1.650.253.0000', undefined, '+16502530000'],
  ['US with 011 from a US phone', '011 44 7911 123456', 'US', '+447911123456'],
  ['GB national with trunk 0', '07911 123456', 'GB', '+447911123456'],
  ['GB with 00', '0044 7911 123456', undefined, '+447911123456'],
  ['GB with 00 and a German default', '0044 7911 123456', 'DE', '+447911123456'],
  ['DE national', '0151 23456789', 'DE', '+4915123456789'],
  ['DE international with spaces', '+49 151 2345 6789', undefined, '+4915123456789'],
  ['BR mobile', '+55 11 98765-4321', undefined, '+5511987654321'],
  ['BR mobile missing the ninth digit (old wa_id)', '551187654321', undefined, '+5511987654321'],
  ['BR national with area code', '(11) 98765-4321', 'BR', '+5511987654321'],
  ['BR landline keeps 8 digits', '+55 11 3456-7890', undefined, '+551134567890'],
  ['IN national with 0', '098765 43210', 'IN', '+919876543210'],
  ['IN international', '+91 98765 43210', undefined, '+919876543210'],
  ['MX with the retired mobile 1', '+52 1 55 1234 5678', undefined, '+525512345678'],
  ['MX wa_id with 521', '5215512345678', undefined, '+525512345678'],
  ['MX without the 1', '+52 55 1234 5678', undefined, '+525512345678'],
  ['a wa_id without +', '16502530000', undefined, '+16502530000'],
  ['international digits with another default country', '447911123456', 'US', '+447911123456'],
] as const;

describe('normalizePhone', () => {
  it.each(CASES)('%s: %s', (_label, input, defaultCountry, expected) => {
    expect(normalizePhone(input, defaultCountry === undefined ? {} : { defaultCountry })).toBe(expected);
  });

  it('answers a repeated input from its memo with the same result, under each default country', () => {
    expect(normalizePhone('07911 123456', { defaultCountry: 'GB' })).toBe('+447911123456');
    expect(normalizePhone('07911 123456')).toBeUndefined();
    expect(normalizePhone('07911 123456', { defaultCountry: 'GB' })).toBe('+447911123456');
    expect(normalizePhone('0151 23456789', { defaultCountry: 'DE' })).toBe('+4915123456789');
    expect(normalizePhone('0151 23456789', { defaultCountry: 'GB' })).toBeUndefined();
  });

  it('is idempotent on every result, computed afresh (the memo relies on it)', async () => {
    vi.resetModules();
    const fresh = await import('./phone.ts');
    for (const [, , , expected] of CASES) expect(fresh.normalizePhone(expected)).toBe(expected);
  });

  it.each(['', '   ', 'call me', '+1 650 CALL NOW', '12345', 'javascript:alert(1)'])('rejects %j', (input) => {
    expect(normalizePhone(input)).toBeUndefined();
  });

  it('needs a default country for a national format', () => {
    expect(normalizePhone('07911 123456')).toBeUndefined();
  });

  it('is idempotent on E.164', () => {
    for (const e164 of ['+16502530000', '+447911123456', '+5511987654321', '+525512345678']) {
      expect(normalizePhone(e164)).toBe(e164);
    }
  });
});

describe('phoneVariants', () => {
  it('answers a repeated number from its memo, each caller with its own copy', () => {
    const first = phoneVariants('+4915123456789');
    first.push('changed by the caller');
    const again = phoneVariants('+4915123456789');
    expect(again).not.toContain('changed by the caller');
    expect(again).toEqual(first.slice(0, -1));
  });

  it('lists the formats reps store a German mobile in, each normalizing back', () => {
    const variants = phoneVariants('+4915123456789');
    expect(variants).toEqual(
      expect.arrayContaining(['+4915123456789', '4915123456789', '004915123456789', '015123456789', '15123456789']),
    );
    expect(variants.some((variant) => variant.includes(' '))).toBe(true);
    for (const variant of variants) expect(normalizePhone(variant, { defaultCountry: 'DE' })).toBe('+4915123456789');
  });

  it('includes US dashed and parenthesized national formats', () => {
    expect(phoneVariants('+16502530000')).toEqual(
      expect.arrayContaining(['(650) 253-0000', '650-253-0000', '6502530000', '+1 650 253 0000']),
    );
  });

  it('includes the Brazilian number without the ninth digit', () => {
    expect(phoneVariants('+5511987654321')).toEqual(expect.arrayContaining(['+551187654321', '551187654321']));
  });

  it('includes the Mexican mobile with +52 1', () => {
    expect(phoneVariants('+525512345678')).toEqual(expect.arrayContaining(['+5215512345678', '5215512345678']));
  });

  it('includes the Argentine mobile without its 9, as reps dial it at home', () => {
    expect(phoneVariants('+5491123456789')).toEqual(
      expect.arrayContaining(['+541123456789', '541123456789', '+54 11 2345 6789', '011 2345-6789']),
    );
  });

  it('lists the same formats for a number just normalized (its parse reused) as for one parsed afresh', () => {
    // Normalized first, from a wa_id (Brazil, no ninth digit) and a Mexican `521` wa_id: the parse is reused.
    expect(normalizePhone('551187654322')).toBe('+5511987654322');
    expect(phoneVariants('+5511987654322')).toEqual(
      phoneVariants('+5511987654321').map((variant) => variant.replace(/4321$/, '4322').replace(/321$/, '322')),
    );
    expect(normalizePhone('5215512345679')).toBe('+525512345679');
    expect(phoneVariants('+525512345679')).toEqual(
      phoneVariants('+525512345678').map((variant) => variant.replace(/5678$/, '5679').replace(/678$/, '679')),
    );
    expect(normalizePhone('+1 650 253 0001')).toBe('+16502530001');
    expect(phoneVariants('+16502530001')).toEqual(
      phoneVariants('+16502530000').map((variant) => variant.replace(/0000$/, '0001').replace(/000$/, '001')),
    );
  });

  it('throws naming e164 for anything else', () => {
    expect(() => phoneVariants('0151 23456789')).toThrow(/\[coexist\/core\] phoneVariants: `e164`/);
  });
});

describe('storedPhoneMatches', () => {
  it('accepts the number in any stored format, national ones read in its own country, and retired forms', () => {
    expect(storedPhoneMatches('(650) 555-1234', '+16505551234')).toBe(true);
    expect(storedPhoneMatches('07911 123456', '+447911123456', 'US')).toBe(true);
    expect(storedPhoneMatches('0044 7911 123456', '+447911123456')).toBe(true);
    expect(storedPhoneMatches('+55 11 8765-4321', '+5511987654321')).toBe(true);
    expect(storedPhoneMatches('+54 11 2345-6789', '+5491123456789')).toBe(true);
  });

  it('refuses another number, an empty value and a request that is not E.164', () => {
    expect(storedPhoneMatches('+54 11 2345-6780', '+5491123456789')).toBe(false);
    expect(storedPhoneMatches('(650) 555-1235', '+16505551234')).toBe(false);
    expect(storedPhoneMatches('', '+16505551234')).toBe(false);
    expect(storedPhoneMatches(null, '+16505551234')).toBe(false);
    expect(storedPhoneMatches('6505551234', 'not a phone')).toBe(false);
  });
});
