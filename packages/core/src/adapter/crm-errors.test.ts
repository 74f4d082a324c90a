import { describe, expect, it } from 'vitest';
import {
  CrmAuthError,
  CrmError,
  CrmPermanentError,
  CrmRateLimitedError,
  CrmTransientError,
  isCrmError,
  UnsupportedOperationError,
} from './crm-errors.ts';

describe('CRM errors', () => {
  it('carry the CRM prefix, field, code, kind and retryability', () => {
    const errors = [
      new CrmRateLimitedError({
        crm: 'hubspot',
        message: 'writeMessages: ten-secondly limit',
        retryAfterMs: 10_000,
        bucket: 'ten-secondly',
        status: 429,
      }),
      new CrmTransientError({ crm: 'close', message: 'writeMessages: 503', status: 503 }),
      new CrmPermanentError({
        crm: 'salesforce',
        message: '`messages[2].contactCrmId` is invalid',
        field: 'messages[2].contactCrmId',
        code: 'INVALID_ID',
      }),
      new CrmAuthError({ crm: 'hubspot', message: 'token expired', status: 401 }),
      new UnsupportedOperationError({
        crm: 'close',
        operation: 'renderCard',
        capability: 'capabilities.supportsCards',
      }),
    ];
    expect(errors.map((error) => [error.kind, error.retryable, error.name])).toEqual([
      ['rate-limited', true, 'CrmRateLimitedError'],
      ['transient', true, 'CrmTransientError'],
      ['permanent', false, 'CrmPermanentError'],
      ['auth', false, 'CrmAuthError'],
      ['unsupported', false, 'UnsupportedOperationError'],
    ]);
    for (const error of errors) {
      expect(error).toBeInstanceOf(CrmError);
      expect(isCrmError(error)).toBe(true);
      expect(error.message).toMatch(/^\[coexist\/(hubspot|close|salesforce)\] /);
    }
    expect(errors[2]).toMatchObject({ field: 'messages[2].contactCrmId', code: 'INVALID_ID' });
    expect(errors[0]).toMatchObject({ retryAfterMs: 10_000, bucket: 'ten-secondly', status: 429 });
  });

  it('keeps the cause and recognizes only CRM errors', () => {
    const cause = new Error('socket hang up');
    expect(new CrmTransientError({ crm: 'close', message: 'x', cause }).cause).toBe(cause);
    expect(isCrmError(new Error('x'))).toBe(false);
    expect(isCrmError(null)).toBe(false);
  });
});
