/**
 * Realistic, valid WhatsApp phone numbers and business-scoped user ids (BSUIDs) for several countries.
 * Numbers are real mobile ranges (area/operator prefixes taken from libphonenumber's metadata and its
 * example numbers) with random subscriber digits, and every one is checked with libphonenumber-js.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { SeededRandom } from './seeded-random.ts';

/** The countries the generator draws customers and businesses from. */
export type CountryCode = 'US' | 'GB' | 'DE' | 'BR' | 'IN' | 'MX' | 'ES' | 'FR' | 'IT' | 'AR' | 'CO';

/** The language a customer writes in (chooses names and message texts). */
export type Language = 'en' | 'de' | 'pt' | 'es' | 'fr' | 'it';

/** How numbers of one country are built. */
export interface CountryProfile {
  country: CountryCode;
  callingCode: string;
  language: Language;
  /** Mobile prefixes of the national significant number (area code or operator range). */
  prefixes: readonly string[];
  /** Length of the national significant number. */
  nationalLength: number;
}

/** Mobile ranges per country; each prefix was checked against libphonenumber-js `max` metadata. */
export const COUNTRY_PROFILES: Readonly<Record<CountryCode, CountryProfile>> = {
  // NANP: area codes of large US cities; the exchange must not start with 0 or 1.
  US: {
    country: 'US',
    callingCode: '1',
    language: 'en',
    prefixes: ['212', '213', '305', '312', '415', '512', '617', '646', '650', '702', '720', '786'],
    nationalLength: 10,
  },
  GB: {
    country: 'GB',
    callingCode: '44',
    language: 'en',
    prefixes: ['74', '75', '77', '78', '79'],
    nationalLength: 10,
  },
  DE: {
    country: 'DE',
    callingCode: '49',
    language: 'de',
    prefixes: ['151', '152', '157', '160', '162', '170', '171', '172', '175', '176', '177', '178', '179'],
    nationalLength: 11,
  },
  // Brazil: two-digit area code + the mobile 9.
  BR: {
    country: 'BR',
    callingCode: '55',
    language: 'pt',
    prefixes: ['119', '219', '319', '419', '519', '619', '719', '819', '859'],
    nationalLength: 11,
  },
  IN: {
    country: 'IN',
    callingCode: '91',
    language: 'en',
    prefixes: ['98', '99', '97', '96', '93', '90', '88', '81', '70'],
    nationalLength: 10,
  },
  MX: {
    country: 'MX',
    callingCode: '52',
    language: 'es',
    prefixes: ['55', '33', '81', '222', '442', '664', '998'],
    nationalLength: 10,
  },
  ES: { country: 'ES', callingCode: '34', language: 'es', prefixes: ['6', '71', '72', '73', '74'], nationalLength: 9 },
  FR: {
    country: 'FR',
    callingCode: '33',
    language: 'fr',
    prefixes: ['6', '73', '74', '75', '76', '77', '78'],
    nationalLength: 9,
  },
  IT: {
    country: 'IT',
    callingCode: '39',
    language: 'it',
    prefixes: ['32', '33', '34', '35', '36', '38', '39'],
    nationalLength: 10,
  },
  // Argentina: mobiles are dialled internationally as +54 9 <area> <number>.
  AR: {
    country: 'AR',
    callingCode: '54',
    language: 'es',
    prefixes: ['911', '9351', '9341', '9261'],
    nationalLength: 11,
  },
  CO: {
    country: 'CO',
    callingCode: '57',
    language: 'es',
    prefixes: ['300', '301', '310', '311', '312', '313', '315', '316', '320'],
    nationalLength: 10,
  },
};

/** A generated phone number. */
export interface GeneratedPhoneNumber {
  country: CountryCode;
  /** E.164 with the plus sign, e.g. `+4915123456789`. */
  e164: string;
  /** Digits only, as Meta's `wa_id`, `from` and `display_phone_number` carry them, e.g. `4915123456789`. */
  digits: string;
}

/** Thrown when no valid number could be built (a broken country profile). */
export class PhoneNumberGenerationError extends Error {
  /** Creates the error for a country whose profile yields no valid number. */
  constructor(country: CountryCode) {
    super(`[coexist/sandbox] could not generate a valid mobile number for country ${country}`);
    this.name = 'PhoneNumberGenerationError';
  }
}

/** Draws a valid mobile number of a country that is not yet in `taken`, and adds it there. */
export function generatePhoneNumber(
  random: SeededRandom,
  country: CountryCode,
  taken?: Set<string>,
): GeneratedPhoneNumber {
  const profile = COUNTRY_PROFILES[country];
  for (let attempt = 0; attempt < 64; attempt++) {
    const prefix = random.pick(profile.prefixes);
    let national = prefix;
    // NANP exchanges (and the first subscriber digit elsewhere) avoid 0 and 1, which are mostly unassigned.
    national += String(random.int(2, 9));
    while (national.length < profile.nationalLength) national += String(random.int(0, 9));
    const digits = profile.callingCode + national;
    if (taken?.has(digits)) continue;
    const parsed = parsePhoneNumberFromString(`+${digits}`);
    // Shared calling codes (e.g. +44 also covers Guernsey and Jersey) must resolve to the country asked for.
    if (!parsed?.isValid() || parsed.country !== country) continue;
    const type = parsed.getType();
    if (type !== 'MOBILE' && type !== 'FIXED_LINE_OR_MOBILE') continue;
    taken?.add(digits);
    return { country, e164: `+${digits}`, digits };
  }
  throw new PhoneNumberGenerationError(country);
}

/**
 * Draws a business-scoped user id as Meta formats it: ISO country code, a dot, then 19–20 digits
 * (e.g. `US.13491208655302741918`, per Meta's "Business-scoped user IDs" page).
 */
export function generateBsuid(random: SeededRandom, country: CountryCode): string {
  return `${country}.${random.digits(random.chance(0.5) ? 19 : 20)}`;
}
