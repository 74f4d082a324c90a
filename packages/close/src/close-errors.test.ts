import { CrmAuthError, CrmPermanentError, CrmRateLimitedError, CrmTransientError } from '@coexist/core';
import { describe, expect, it } from 'vitest';
import {
  parseRateLimitHeader,
  rateLimitRetryAfterMs,
  toCloseHttpError,
  toCloseNetworkError,
  toRateLimitSignal,
} from './close-errors.ts';

describe('parseRateLimitHeader', () => {
  it('reads both separators and ignores noise', () => {
    expect(parseRateLimitHeader('limit=20, remaining=19, reset=1')).toEqual({
      limit: 20,
      remaining: 19,
      resetSeconds: 1,
    });
    expect(parseRateLimitHeader('limit=160; remaining=159; reset=8')).toEqual({
      limit: 160,
      remaining: 159,
      resetSeconds: 8,
    });
    expect(parseRateLimitHeader('limit=16;remaining=14,reset=0.5, policy=x')).toEqual({
      limit: 16,
      remaining: 14,
      resetSeconds: 0.5,
    });
    expect(parseRateLimitHeader('')).toBeUndefined();
    expect(parseRateLimitHeader('garbage')).toBeUndefined();
    expect(parseRateLimitHeader(undefined)).toBeUndefined();
  });

  it('becomes a signal for its endpoint group', () => {
    expect(toRateLimitSignal('POST /data/search/', 'limit=16; remaining=14; reset=1')).toEqual({
      bucket: 'POST /data/search/',
      limit: 16,
      remaining: 14,
      resetAfterMs: 1000,
    });
  });
});

describe('toCloseHttpError', () => {
  it('maps a 429 to CrmRateLimitedError with rate_reset (else the header reset) for that group', () => {
    const error = toCloseHttpError({
      group: 'POST /activity/whatsapp_message/',
      status: 429,
      body: { error: { rate_reset: 1.5, message: 'API call count exceeded for this period' } },
      rateLimitHeader: 'limit=20, remaining=0, reset=2',
    });
    expect(error).toBeInstanceOf(CrmRateLimitedError);
    expect(error).toMatchObject({ bucket: 'POST /activity/whatsapp_message/', retryAfterMs: 1500, retryable: true });
    expect(rateLimitRetryAfterMs({}, 'limit=20; remaining=0; reset=2')).toBe(2000);
  });

  it('maps auth, not found, server and validation failures, naming fields but not their values', () => {
    expect(toCloseHttpError({ group: 'g', status: 401, body: {} })).toBeInstanceOf(CrmAuthError);
    expect(toCloseHttpError({ group: 'g', status: 403, body: {} })).toBeInstanceOf(CrmAuthError);
    expect(toCloseHttpError({ group: 'g', status: 404, body: {} })).toMatchObject({
      code: 'not_found',
      retryable: false,
    });
    expect(toCloseHttpError({ group: 'g', status: 503, body: {} })).toBeInstanceOf(CrmTransientError);
    const invalid = toCloseHttpError({
      group: 'POST /activity/whatsapp_message/',
      status: 400,
      body: { errors: [], 'field-errors': { remote_phone: 'Invalid phone number: "+1 secret".' } },
      field: 'messages[0]',
    });
    expect(invalid).toBeInstanceOf(CrmPermanentError);
    expect(invalid.message).toBe(
      '[coexist/close] POST /activity/whatsapp_message/: Close rejected the request (HTTP 400); invalid fields: remote_phone',
    );
    expect(invalid).toMatchObject({ field: 'messages[0]', invalidFields: ['remote_phone'] });
  });

  it('maps a request without an answer to a transient error that says it may have been applied', () => {
    expect(toCloseNetworkError('POST /lead/', 'ECONNABORTED')).toMatchObject({ code: 'timeout', retryable: true });
    expect(toCloseNetworkError('POST /lead/', 'ECONNRESET').message).toContain('may have been applied');
  });
});
