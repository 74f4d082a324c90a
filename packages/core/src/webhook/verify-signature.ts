import { createHmac, timingSafeEqual } from 'node:crypto';

/** What `verifySignature` checks: the raw body as received, the signature header and the app secret. */
export interface VerifySignatureOptions {
  /** The request body exactly as received; a string is hashed as its UTF-8 bytes. */
  rawBody: Uint8Array | string;
  /** The `X-Hub-Signature-256` header value, `sha256=<hex>`. */
  signature: string | null | undefined;
  /** The Meta app secret that keys the HMAC. */
  appSecret: string;
}

const SIGNATURE_PREFIX = 'sha256=';
const SIGNATURE_HEX = /^[0-9a-f]{64}$/i;
const textEncoder = new TextEncoder();

/**
 * Checks Meta's `X-Hub-Signature-256` header: HMAC-SHA256 of the raw body keyed by the app secret,
 * compared in constant time, also accepting the escaped-Unicode form Meta documents for payloads
 * with non-ASCII characters.
 */
export function verifySignature({ rawBody, signature, appSecret }: VerifySignatureOptions): boolean {
  assertAppSecret(appSecret, 'verifySignature');
  const provided = decodeSignature(signature);
  if (provided === undefined) return false;
  const body = toBytes(rawBody);
  if (digestEquals(hmac(body, appSecret), provided)) return true;
  // Meta's Graph docs say the signature is computed over the payload with non-ASCII characters
  // escaped as `\uXXXX` (lowercase hex), while the body is delivered unescaped (whatsapp-api-js
  // issue #290). Other SDKs hash the raw bytes only; we accept both, raw first.
  if (!hasNonAscii(body)) return false;
  return digestEquals(hmac(escapeNonAscii(body), appSecret), provided);
}

/** Signs a body the way Meta does and returns the `X-Hub-Signature-256` value, `sha256=<hex>`. */
export function signWebhookBody(rawBody: Uint8Array | string, appSecret: string): string {
  assertAppSecret(appSecret, 'signWebhookBody');
  return SIGNATURE_PREFIX + hmac(toBytes(rawBody), appSecret).toString('hex');
}

/**
 * Returns the body with every non-ASCII UTF-16 code unit written as `\uXXXX` in lowercase hex
 * (an emoji becomes its surrogate pair), as Meta's escaped-Unicode signature variant expects.
 */
export function escapeNonAscii(rawBody: Uint8Array | string): Uint8Array {
  const text = typeof rawBody === 'string' ? rawBody : new TextDecoder().decode(rawBody);
  const escaped = text.replace(
    /[^\0-\x7f]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return textEncoder.encode(escaped);
}

function assertAppSecret(appSecret: unknown, caller: string): void {
  if (typeof appSecret !== 'string' || appSecret.length === 0) {
    throw new TypeError(`[coexist/core] ${caller}: appSecret must be a non-empty string`);
  }
}

function decodeSignature(signature: string | null | undefined): Buffer | undefined {
  if (typeof signature !== 'string') return undefined;
  const trimmed = signature.trim();
  if (trimmed.slice(0, SIGNATURE_PREFIX.length).toLowerCase() !== SIGNATURE_PREFIX) return undefined;
  const hex = trimmed.slice(SIGNATURE_PREFIX.length);
  // Buffer.from(hex, 'hex') silently stops at the first bad character, so validate first.
  if (!SIGNATURE_HEX.test(hex)) return undefined;
  return Buffer.from(hex, 'hex');
}

function toBytes(rawBody: Uint8Array | string): Uint8Array {
  return typeof rawBody === 'string' ? textEncoder.encode(rawBody) : rawBody;
}

function hmac(body: Uint8Array, appSecret: string): Buffer {
  return createHmac('sha256', appSecret).update(body).digest();
}

function digestEquals(expected: Buffer, provided: Buffer): boolean {
  return expected.length === provided.length && timingSafeEqual(expected, provided);
}

function hasNonAscii(body: Uint8Array): boolean {
  for (const byte of body) if (byte > 0x7f) return true;
  return false;
}
