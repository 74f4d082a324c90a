/**
 * Phone numbers: normalize whatever a rep typed (or Meta sent) to E.164, and list the formats the same number
 * is stored in, so a CRM search finds it.
 *
 * Uses `libphonenumber-js/max`: full metadata with per-type patterns, because we must tell a valid number from a
 * merely possible one before creating CRM contacts from it, and need the number type (mobile or fixed line) for
 * Brazil's ninth digit. The extra ~65 KB over `/min` does not matter on a server.
 */
import {
  type CountryCode,
  getCountryCallingCode,
  type PhoneNumber,
  parsePhoneNumberFromString,
} from 'libphonenumber-js/max';

/** A two-letter region code libphonenumber-js has metadata for (ISO 3166-1 alpha-2 style: `'DE'`, `'US'`, …). */
export type { CountryCode } from 'libphonenumber-js/max';

/** Options of `normalizePhone`. */
export interface NormalizePhoneOptions {
  /** Country to read national formats (`07911 123456`, `(650) 555-1234`) in; without it only international input parses. */
  defaultCountry?: CountryCode;
}

const ALLOWED_CHARACTERS = /^[\d\s+().\-/]+$/;
/** The shape of an E.164 number: `+` and 6–17 digits (validity is libphonenumber's to say). */
const E164 = /^\+\d{6,17}$/;

/**
 * Normalizes a phone number in any common format to E.164 (`+4915123456789`), or `undefined` when it is not a
 * phone number. Accepts `+`, `00` and national prefixes, Meta `wa_id` digits, Brazilian mobiles missing the ninth
 * digit and Mexican mobiles with the old `1` after `+52`.
 */
export function normalizePhone(input: string, options: NormalizePhoneOptions = {}): string | undefined {
  // International input reads the same under every default country (`readCandidates`).
  const memoKey = input.startsWith('+') ? input : `${options.defaultCountry ?? ''}\u0000${input}`;
  const known = normalized.get(memoKey);
  if (known !== undefined) return known ?? undefined;
  const result = normalizeUncached(input, options.defaultCountry);
  if (normalized.size >= NORMALIZED_CAPACITY) normalized.clear();
  normalized.set(memoKey, result ?? null);
  // Normalizing is idempotent (tested): the E.164 result, met again as input (a CRM's stored copy), is known too.
  if (result !== undefined) normalized.set(result, result);
  return result;
}

/**
 * Results of `normalizePhone` by input (and default country for national input), bounded: libphonenumber's parse
 * and validation cost tens of microseconds, and one backfill normalizes each customer's number many times over
 * (the engine's contact key, a CRM's stored copy, the search variants). ~100 bytes an entry.
 */
const normalized = new Map<string, string | null>();
const NORMALIZED_CAPACITY = 20_000;

function normalizeUncached(input: string, defaultCountry: CountryCode | undefined): string | undefined {
  const trimmed = input.trim();
  if (trimmed === '' || !ALLOWED_CHARACTERS.test(trimmed)) return undefined;
  const digits = trimmed.replace(/\D/g, '');
  if (digits.length < 6 || digits.length > 17) return undefined;
  const candidates = readCandidates(trimmed, digits, defaultCountry);
  let possible: string | undefined;
  for (const candidate of candidates) {
    if (candidate === undefined) continue;
    const fixed = applyNumberingPlanFixes(candidate);
    if (fixed.isValid()) {
      // Read as international digits only (no default country), it is what a parse of its E.164 gives.
      if (defaultCountry === undefined || trimmed.startsWith('+')) rememberParsed(fixed);
      return fixed.number;
    }
    if (possible === undefined && fixed.isPossible()) possible = fixed.number;
  }
  return possible;
}

/**
 * Numbers `normalizePhone` parsed and found valid, by E.164, until `phoneVariants` formats them: a customer's number
 * is normalized (the engine's contact key) just before its variants are listed (the find request), and parsing it
 * again cost as much as formatting it. Bounded; an entry leaves when its variants are computed.
 */
const parsedByE164 = new Map<string, PhoneNumber>();
const PARSED_CAPACITY = 10_000;

function rememberParsed(phone: PhoneNumber): void {
  if (parsedByE164.size >= PARSED_CAPACITY) parsedByE164.clear();
  parsedByE164.set(phone.number, phone);
}

/** Parses the input every way it could be meant, most likely first. */
function readCandidates(
  trimmed: string,
  digits: string,
  defaultCountry: CountryCode | undefined,
): (PhoneNumber | undefined)[] {
  if (trimmed.startsWith('+')) return [parsePhoneNumberFromString(`+${digits}`)];
  // `00` is the international call prefix in most of the world; `wa_id` is international digits without `+`.
  const international = [
    ...(digits.startsWith('00') ? [parsePhoneNumberFromString(`+${digits.slice(2)}`)] : []),
    parsePhoneNumberFromString(`+${digits}`),
  ];
  if (defaultCountry === undefined) return international;
  const national = parsePhoneNumberFromString(digits, defaultCountry);
  // Digits that start with the country's own calling code are a `wa_id` or an E.164 without `+` far more often
  // than a national number that happens to start with it (`4915123456789` in Germany).
  const startsWithOwnCode = digits.startsWith(getCountryCallingCode(defaultCountry));
  return startsWithOwnCode && international[international.length - 1]?.isValid() === true
    ? [...international, national]
    : [national, ...international];
}

/** Rewrites numbers Meta and reps still write in retired formats to today's numbering plan. */
function applyNumberingPlanFixes(phone: PhoneNumber): PhoneNumber {
  const national = phone.nationalNumber as string;
  // Mexico dropped the mobile `1` after +52 in 2019; wa_ids still carry it (`521` + 10 digits).
  if (phone.countryCallingCode === '52' && national.length === 11 && national.startsWith('1')) {
    return parsePhoneNumberFromString(`+52${national.slice(1)}`) ?? phone;
  }
  // Brazil prefixed every mobile with 9 (2012–2016); old wa_ids and contacts lack it: 2-digit area + 8 digits from 6–9.
  if (phone.countryCallingCode === '55' && national.length === 10 && /^[1-9][1-9][6-9]/.test(national)) {
    const withNinth = parsePhoneNumberFromString(`+55${national.slice(0, 2)}9${national.slice(2)}`);
    if (withNinth?.isValid()) return withNinth;
  }
  return phone;
}

/**
 * The formats reps store an E.164 number in, for CRM search: E.164, digits, `00` prefix, international with
 * spaces, national (with prefix, formatted and digits), the national significant number, and the retired
 * variants (Brazil without the ninth digit, Mexico with `+52 1`, an Argentine mobile without its `9`). Throws when
 * `e164` is not E.164.
 */
export function phoneVariants(e164: string): string[] {
  let variants = variantsByE164.get(e164);
  if (variants === undefined) {
    variants = computeVariants(e164);
    if (variantsByE164.size >= VARIANTS_CAPACITY) variantsByE164.clear();
    variantsByE164.set(e164, variants);
  }
  // A copy: the result is the caller's to change, the memo is not.
  return [...variants];
}

/**
 * Whether a number as a CRM stores it (in whatever format a rep typed) is the E.164 number `e164`: read in the CRM's
 * default country, else in the number's own country (a rep who typed `(650) 555-1234` for a +1 contact meant +1),
 * else its digits are those of one of `phoneVariants(e164)` (a national or retired format: Brazil without the ninth
 * digit, Mexico with `+52 1`, an Argentine mobile without its `9`). Adapters confirm each search hit with it.
 */
export function storedPhoneMatches(
  stored: string | null | undefined,
  e164: string,
  defaultCountry?: CountryCode,
): boolean {
  if (stored === null || stored === undefined || stored.trim() === '') return false;
  if (normalizePhone(stored, defaultCountry === undefined ? {} : { defaultCountry }) === e164) return true;
  const own = parsedCountryOf(e164);
  if (own !== undefined && own !== defaultCountry && normalizePhone(stored, { defaultCountry: own }) === e164) {
    return true;
  }
  if (parsePhoneNumberFromString(e164)?.isValid() !== true) return false;
  const digits = stored.replace(/\D/g, '');
  return digits.length >= 7 && phoneVariants(e164).some((variant) => variant.replace(/\D/g, '') === digits);
}

/** The country of an E.164 number, or `undefined` when it is not one. */
function parsedCountryOf(e164: string): CountryCode | undefined {
  return E164.test(e164) ? parsePhoneNumberFromString(e164)?.country : undefined;
}

/**
 * Results of `phoneVariants`, bounded: formatting a number six ways costs tens of microseconds, and a backfill asks
 * for each customer's formats several times (the engine's find request, a CRM adapter confirming the hits of its
 * search). ~400 bytes an entry.
 */
const variantsByE164 = new Map<string, readonly string[]>();
const VARIANTS_CAPACITY = 10_000;

function computeVariants(e164: string): string[] {
  const parsed = parsedByE164.get(e164);
  if (parsed !== undefined) parsedByE164.delete(e164);
  const phone = parsed ?? (E164.test(e164) ? parsePhoneNumberFromString(e164) : undefined);
  if (phone === undefined) {
    throw new TypeError(`[coexist/core] phoneVariants: \`e164\` must be an E.164 number like +16505551234`);
  }
  const variants = new Set<string>();
  for (const number of withRetiredVariants(phone)) {
    const national = number.nationalNumber as string;
    const nationalFormatted = number.formatNational();
    const countryDigits = number.number.slice(1);
    variants.add(number.number);
    variants.add(countryDigits);
    variants.add(`00${countryDigits}`);
    variants.add(number.formatInternational());
    variants.add(nationalFormatted);
    variants.add(nationalFormatted.replace(/\D/g, ''));
    variants.add(national);
    if (number.countryCallingCode === '1')
      variants.add(`${national.slice(0, 3)}-${national.slice(3, 6)}-${national.slice(6)}`);
  }
  return [...variants];
}

/** The number itself plus the same number in formats the numbering plan retired. */
function withRetiredVariants(phone: PhoneNumber): PhoneNumber[] {
  const national = phone.nationalNumber as string;
  const numbers = [phone];
  let retired: PhoneNumber | undefined;
  if (phone.countryCallingCode === '55' && national.length === 11 && national[2] === '9') {
    retired = parsePhoneNumberFromString(`+55${national.slice(0, 2)}${national.slice(3)}`);
  }
  if (phone.countryCallingCode === '52' && national.length === 10) {
    retired = parsePhoneNumberFromString(`+521${national}`);
  }
  // Argentina: a mobile is `+54 9` + area + number internationally (and in its wa_id); reps often save it without the
  // 9, as it is dialled at home, which reads as a (valid) landline: searched too, and accepted by `storedPhoneMatches`.
  if (phone.countryCallingCode === '54' && national.length === 11 && national.startsWith('9')) {
    retired = parsePhoneNumberFromString(`+54${national.slice(1)}`);
  }
  if (retired !== undefined) numbers.push(retired);
  return numbers;
}
