import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeHubSpotUri, signHubSpotRequestV3, verifyHubSpotSignatureV3 } from './hubspot-signature.ts';

const secret = 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy';
const timestamp = 1_772_355_600_000;
const url = 'https://coexist.example.com/cards/hubspot?contactId=51&userEmail=rep%40example.com';
// The documented recipe, spelled out: method + decoded URI + body + timestamp, HMAC-SHA256, base64.
const documented = createHmac('sha256', secret)
  .update(`GEThttps://coexist.example.com/cards/hubspot?contactId=51&userEmail=rep@example.com${timestamp}`, 'utf8')
  .digest('base64');

describe('verifyHubSpotSignatureV3', () => {
  it('accepts the documented signature within 5 minutes', () => {
    expect(signHubSpotRequestV3({ method: 'get', url, body: '', timestamp, clientSecret: secret })).toBe(documented);
    expect(
      verifyHubSpotSignatureV3({
        method: 'GET',
        url,
        body: '',
        timestamp: String(timestamp),
        signature: documented,
        clientSecret: secret,
        now: timestamp + 299_000,
      }),
    ).toEqual({ ok: true });
  });

  it('rejects old, future, missing, tampered and wrongly keyed requests', () => {
    const base = { method: 'GET', url, body: '', timestamp, signature: documented, clientSecret: secret };
    expect(verifyHubSpotSignatureV3({ ...base, now: timestamp + 301_000 })).toEqual({ ok: false, reason: 'expired' });
    expect(verifyHubSpotSignatureV3({ ...base, now: timestamp - 301_000 })).toEqual({ ok: false, reason: 'expired' });
    expect(verifyHubSpotSignatureV3({ ...base, signature: null, now: timestamp })).toEqual({
      ok: false,
      reason: 'missing',
    });
    expect(verifyHubSpotSignatureV3({ ...base, timestamp: 'soon', now: timestamp })).toEqual({
      ok: false,
      reason: 'missing',
    });
    expect(verifyHubSpotSignatureV3({ ...base, url: `${url}&contactId=52`, now: timestamp })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(verifyHubSpotSignatureV3({ ...base, method: 'POST', now: timestamp })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(verifyHubSpotSignatureV3({ ...base, clientSecret: 'other', now: timestamp })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(() => verifyHubSpotSignatureV3({ ...base, clientSecret: '' })).toThrow(/clientSecret/);
  });

  it('decodes only the characters HubSpot lists', () => {
    expect(decodeHubSpotUri('https://x.test/a%3Fb%2Cc%20d%2f')).toBe('https://x.test/a?b,c%20d/');
  });
});
