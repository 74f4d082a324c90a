import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { describe, expect, it } from 'vitest';
import { COUNTRY_PROFILES, type CountryCode, generateBsuid, generatePhoneNumber } from './phone-numbers.ts';
import { SeededRandom } from './seeded-random.ts';

describe('generatePhoneNumber', () => {
  it('every prefix of every country yields valid mobile numbers of that country', () => {
    const random = SeededRandom.from('phones');
    for (const country of Object.keys(COUNTRY_PROFILES) as CountryCode[]) {
      for (let index = 0; index < 60; index++) {
        const phone = generatePhoneNumber(random, country);
        const parsed = parsePhoneNumberFromString(phone.e164);
        expect(parsed?.isValid(), phone.e164).toBe(true);
        expect(parsed?.country).toBe(country);
        expect(['MOBILE', 'FIXED_LINE_OR_MOBILE']).toContain(parsed?.getType());
        expect(phone.e164).toBe(`+${phone.digits}`);
      }
      for (const prefix of COUNTRY_PROFILES[country].prefixes) {
        // Each listed prefix must be a real mobile range: one number built on it parses as valid.
        const national = (prefix + '5555555555555').slice(0, COUNTRY_PROFILES[country].nationalLength);
        const parsed = parsePhoneNumberFromString(`+${COUNTRY_PROFILES[country].callingCode}${national}`);
        expect(parsed?.isValid(), `${country} ${prefix}`).toBe(true);
      }
    }
  });

  it('never repeats a number already taken', () => {
    const random = SeededRandom.from('unique');
    const taken = new Set<string>();
    for (let index = 0; index < 2000; index++) generatePhoneNumber(random, 'ES', taken);
    expect(taken.size).toBe(2000);
  });

  it('formats BSUIDs as country code, dot and 19–20 digits', () => {
    const random = SeededRandom.from('bsuid');
    for (let index = 0; index < 50; index++) expect(generateBsuid(random, 'BR')).toMatch(/^BR\.\d{19,20}$/);
  });
});
