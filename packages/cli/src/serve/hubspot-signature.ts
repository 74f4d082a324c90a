/**
 * HubSpot's v3 request signature (`X-HubSpot-Signature-v3`): base64 HMAC-SHA256, keyed by the app's client
 * secret, of `method + uri + body + timestamp`; requests older than five minutes are refused.
 * Source: https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Oldest accepted `X-HubSpot-Request-Timestamp`, in milliseconds before now (HubSpot's documented 5 minutes). */
export const HUBSPOT_SIGNATURE_MAX_AGE_MS = 5 * 60 * 1000;

/** Input of `verifyHubSpotSignatureV3`. */
export interface HubSpotSignatureInput {
  method: string;
  /** The full request URL as HubSpot called it. */
  url: string;
  /** The raw request body (`''` for a GET). */
  body: string;
  signature: string | null;
  timestamp: string | null;
  clientSecret: string;
  /** Epoch milliseconds now. */
  now: number;
}

// HubSpot decodes these percent-escapes in the URI before signing (documented list).
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

/** Computes the v3 signature of a request. */
export function signHubSpotRequestV3(input: {
  method: string;
  url: string;
  body: string;
  timestamp: string;
  clientSecret: string;
}): string {
  const uri = input.url.replace(
    /%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi,
    (encoded) => DECODED[encoded.toUpperCase()]!,
  );
  return createHmac('sha256', input.clientSecret)
    .update(`${input.method.toUpperCase()}${uri}${input.body}${input.timestamp}`)
    .digest('base64');
}

/** Checks a request's v3 signature and freshness; the reason names what failed, never a secret. */
export function verifyHubSpotSignatureV3(input: HubSpotSignatureInput): { ok: true } | { ok: false; reason: string } {
  if (input.signature === null || input.signature === '')
    return { ok: false, reason: 'missing X-HubSpot-Signature-v3' };
  if (input.timestamp === null || !/^\d+$/.test(input.timestamp)) {
    return { ok: false, reason: 'missing or malformed X-HubSpot-Request-Timestamp' };
  }
  const age = input.now - Number(input.timestamp);
  if (age > HUBSPOT_SIGNATURE_MAX_AGE_MS || age < -HUBSPOT_SIGNATURE_MAX_AGE_MS) {
    return { ok: false, reason: 'X-HubSpot-Request-Timestamp is more than 5 minutes away from now' };
  }
  const expected = Buffer.from(signHubSpotRequestV3({ ...input, timestamp: input.timestamp }));
  const provided = Buffer.from(input.signature);
  if (expected.length !== provided.length || !timingSafeEqual(expected, provided)) {
    return { ok: false, reason: 'X-HubSpot-Signature-v3 does not match' };
  }
  return { ok: true };
}
