import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js';

/** A phone number as the Close emulator stores and returns it. */
export interface ClosePhone {
  /** E.164 form, as Close returns `phone` after normalizing what was posted. */
  phone: string;
  /** International display form, e.g. `+1 415-555-1234`. */
  phone_formatted: string;
  /** ISO country of the number, when known. */
  country: string | null;
}

/**
 * Normalizes a posted phone number the way Close does (E.164 plus a display form), reading national formats in the
 * organization's default country; `undefined` when the input is not a phone number.
 *
 * Close documents that phones are normalized (https://developer.close.com/api/resources/contacts); the exact display
 * format is an emulator assumption (libphonenumber's international format).
 */
export function normalizeClosePhone(input: string, defaultCountry: CountryCode): ClosePhone | undefined {
  const trimmed = input.trim();
  if (trimmed === '' || !/^[\d\s+().\-/]+$/.test(trimmed)) return undefined;
  const parsed = trimmed.startsWith('00')
    ? parsePhoneNumberFromString(`+${trimmed.slice(2).replace(/\D/g, '')}`)
    : parsePhoneNumberFromString(trimmed, defaultCountry);
  if (parsed === undefined || !parsed.isPossible()) return undefined;
  return { phone: parsed.number, phone_formatted: parsed.formatInternational(), country: parsed.country ?? null };
}
