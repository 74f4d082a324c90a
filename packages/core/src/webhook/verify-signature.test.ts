import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { escapeNonAscii, signWebhookBody, verifySignature } from './verify-signature.ts';

const appSecret = 'test-app-secret';
const asciiBody = '{"object":"whatsapp_business_account","entry":[]}';
// "Olá 👋 äöå" — Latin-1, an astral-plane emoji (surrogate pair) and more.
const unicodeBody = '{"text":{"body":"Olá \u{1F44B} äöå"}}';

/** An HMAC computed independently of the module under test. */
function referenceSignature(body: string | Uint8Array, secret = appSecret): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

describe('signWebhookBody', () => {
  it('returns sha256=<hex> matching an independent HMAC over the UTF-8 bytes', () => {
    expect(signWebhookBody(asciiBody, appSecret)).toBe(referenceSignature(asciiBody));
    expect(signWebhookBody(unicodeBody, appSecret)).toBe(referenceSignature(Buffer.from(unicodeBody, 'utf8')));
    expect(signWebhookBody(new TextEncoder().encode(unicodeBody), appSecret)).toBe(referenceSignature(unicodeBody));
  });

  it('rejects an empty app secret with a clear error', () => {
    expect(() => signWebhookBody(asciiBody, '')).toThrow(
      '[coexist/core] signWebhookBody: appSecret must be a non-empty string',
    );
  });
});

describe('verifySignature', () => {
  it('accepts the raw-body signature for strings and bytes', () => {
    const signature = referenceSignature(asciiBody);
    expect(verifySignature({ rawBody: asciiBody, signature, appSecret })).toBe(true);
    expect(verifySignature({ rawBody: Buffer.from(asciiBody), signature, appSecret })).toBe(true);
    expect(
      verifySignature({
        rawBody: new TextEncoder().encode(unicodeBody),
        signature: referenceSignature(unicodeBody),
        appSecret,
      }),
    ).toBe(true);
  });

  it('accepts uppercase hex and surrounding whitespace', () => {
    const signature = referenceSignature(asciiBody);
    expect(
      verifySignature({ rawBody: asciiBody, signature: ` sha256=${signature.slice(7).toUpperCase()} `, appSecret }),
    ).toBe(true);
  });

  it('rejects a missing, malformed, truncated or wrong signature', () => {
    const good = referenceSignature(asciiBody);
    for (const signature of [
      null,
      undefined,
      '',
      'sha256=',
      good.slice(7), // no prefix
      `sha1=${good.slice(7)}`,
      good.slice(0, -2), // truncated: different length must not throw in timingSafeEqual
      `${good}00`,
      `${good.slice(0, -1)}g`, // not hex
      referenceSignature(asciiBody, 'another-secret'),
      referenceSignature(`${asciiBody} `),
    ]) {
      expect(verifySignature({ rawBody: asciiBody, signature, appSecret }), String(signature)).toBe(false);
    }
  });

  it('rejects a body changed by one byte', () => {
    const signature = referenceSignature(asciiBody);
    expect(verifySignature({ rawBody: asciiBody.replace('[]', '[0]'), signature, appSecret })).toBe(false);
  });

  it('accepts Meta’s escaped-Unicode variant: HMAC over the body with non-ASCII escaped as lowercase \\uXXXX', () => {
    const escaped = '{"text":{"body":"Ol\\u00e1 \\ud83d\\udc4b \\u00e4\\u00f6\\u00e5"}}';
    expect(new TextDecoder().decode(escapeNonAscii(unicodeBody))).toBe(escaped);
    const signature = referenceSignature(escaped);
    expect(verifySignature({ rawBody: unicodeBody, signature, appSecret })).toBe(true);
    expect(verifySignature({ rawBody: new TextEncoder().encode(unicodeBody), signature, appSecret })).toBe(true);
  });

  it('does not accept an uppercase-hex escape, which is not what Meta signs', () => {
    const signature = referenceSignature('{"text":{"body":"Ol\\u00E1 \\uD83D\\uDC4B \\u00E4\\u00F6\\u00E5"}}');
    expect(verifySignature({ rawBody: unicodeBody, signature, appSecret })).toBe(false);
  });

  it('does not try the escaped variant for an ASCII-only body', () => {
    // An ASCII body escapes to itself, so the only valid signature is the raw one.
    expect(new TextDecoder().decode(escapeNonAscii(asciiBody))).toBe(asciiBody);
    expect(verifySignature({ rawBody: asciiBody, signature: referenceSignature(`${asciiBody}x`), appSecret })).toBe(
      false,
    );
  });

  it('rejects an empty app secret instead of verifying with an empty key', () => {
    expect(() =>
      verifySignature({ rawBody: asciiBody, signature: referenceSignature(asciiBody, ' '), appSecret: '' }),
    ).toThrow('[coexist/core] verifySignature: appSecret must be a non-empty string');
  });
});
