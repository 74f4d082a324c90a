/**
 * HubSpot request signature v3 (https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation;
 * https://developers.hubspot.com/changelog/introducing-version-3-of-webhook-signatures): `X-HubSpot-Signature-v3` is
 * the base64 HMAC-SHA256, keyed with the app's client secret, of the UTF-8 string
 * `requestMethod + requestUri + requestBody + timestamp` (`X-HubSpot-Request-Timestamp`, Unix ms); requests whose
 * timestamp is older than 5 minutes are rejected. The docs ask to decode a fixed set of URL-encoded characters
 * in the URI before hashing; we do the same.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The maximum age of a signed request. */
export const HUBSPOT_SIGNATURE_MAX_AGE_MS = 5 * 60_000;

/** Characters HubSpot's docs list as decoded in `requestUri` before hashing. */
const DECODED: Record<string, string> = {
  '%3A': ':',
  '%2F': '/',
  '%3F': '?',
  '%40': '@',
  '%21': '!',
  '%24': '$',
  '%27': "'",
  '%28': '(',
  '%29': ')',
  '%2A': '*',
  '%2C': ',',
  '%3B': ';',
};

/** What `verifyHubSpotSignatureV3` checks. */
export interface VerifyHubSpotSignatureV3Options {
  /** HTTP method as received (`GET`, `POST`). */
  method: string;
  /** The full URL HubSpot called, including protocol, host and query. */
  url: string;
  /** The raw request body (`''` for a GET). */
  body: string;
  /** `X-HubSpot-Request-Timestamp` (Unix ms, as a string or number). */
  timestamp: string | number | null | undefined;
  /** `X-HubSpot-Signature-v3`. */
  signature: string | null | undefined;
  /** The app's client secret. */
  clientSecret: string;
  /** Current time in Unix ms. @default Date.now() */
  now?: number;
}

/** Why a signature was refused, or `ok`. */
export type HubSpotSignatureVerdict = { ok: true } | { ok: false; reason: 'missing' | 'expired' | 'mismatch' };

/** Decodes the characters HubSpot decodes in `requestUri`. */
export function decodeHubSpotUri(url: string): string {
  return url.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (match) => DECODED[match.toUpperCase()] ?? match);
}

/** Computes the v3 signature of a request (base64 HMAC-SHA256). */
export function signHubSpotRequestV3(options: Omit<VerifyHubSpotSignatureV3Options, 'signature' | 'now'>): string {
  const source = `${options.method.toUpperCase()}${decodeHubSpotUri(options.url)}${options.body}${options.timestamp ?? ''}`;
  return createHmac('sha256', options.clientSecret).update(source, 'utf8').digest('base64');
}

/** Verifies a HubSpot v3 request signature and its 5-minute freshness, in constant time. */
export function verifyHubSpotSignatureV3(options: VerifyHubSpotSignatureV3Options): HubSpotSignatureVerdict {
  if (typeof options.clientSecret !== 'string' || options.clientSecret === '') {
    throw new TypeError('[coexist/hubspot] verifyHubSpotSignatureV3: `clientSecret` must be a non-empty string');
  }
  const signature = options.signature?.trim();
  const timestamp =
    options.timestamp === null || options.timestamp === undefined ? '' : String(options.timestamp).trim();
  if (signature === undefined || signature === '' || !/^\d+$/.test(timestamp)) return { ok: false, reason: 'missing' };
  const now = options.now ?? Date.now();
  // Older than 5 minutes is refused; so is a timestamp more than 5 minutes in the future (clock skew bound).
  if (Math.abs(now - Number(timestamp)) > HUBSPOT_SIGNATURE_MAX_AGE_MS) return { ok: false, reason: 'expired' };
  const expected = Buffer.from(signHubSpotRequestV3({ ...options, timestamp }), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given)
    ? { ok: true }
    : { ok: false, reason: 'mismatch' };
}
