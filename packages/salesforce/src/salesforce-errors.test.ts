import { CrmAuthError, CrmPermanentError, CrmRateLimitedError, CrmTransientError } from '@coexist/core';
import { describe, expect, it } from 'vitest';
import { parseBulkRecordError, toSalesforceCrmError, toSalesforceRecordError } from './salesforce-errors.ts';

const context = { operation: 'writeMessages', dailyLimitRetryAfterMs: 1_800_000 };
const apiError = (errorCode: string, message: string) =>
  Object.assign(new Error(message), { name: errorCode, errorCode });

describe('toSalesforceCrmError', () => {
  it('maps the daily and concurrent REQUEST_LIMIT_EXCEEDED variants to rate limits', () => {
    expect(
      toSalesforceCrmError(apiError('REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.'), context),
    ).toMatchObject({
      constructor: CrmRateLimitedError,
      bucket: 'daily',
      retryAfterMs: 1_800_000,
      status: 403,
    });
    expect(
      toSalesforceCrmError(
        apiError('REQUEST_LIMIT_EXCEEDED', 'ConcurrentRequests (Concurrent API Requests) Limit exceeded.'),
        context,
      ),
    ).toMatchObject({ bucket: 'concurrent-requests', retryAfterMs: 20_000 });
  });

  it('maps sessions, OAuth refusals, 5xx, network and validation errors', () => {
    expect(toSalesforceCrmError(apiError('INVALID_SESSION_ID', 'Session expired'), context)).toBeInstanceOf(
      CrmAuthError,
    );
    expect(
      toSalesforceCrmError(Object.assign(new Error('expired'), { name: 'invalid_grant' }), context),
    ).toBeInstanceOf(CrmAuthError);
    expect(toSalesforceCrmError(apiError('ERROR_HTTP_503', 'down'), context)).toBeInstanceOf(CrmTransientError);
    expect(toSalesforceCrmError(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }), context)).toBeInstanceOf(
      CrmTransientError,
    );
    const invalid = toSalesforceCrmError(
      apiError('STRING_TOO_LONG', 'Body: data value too large: secret text'),
      context,
    );
    expect(invalid).toBeInstanceOf(CrmPermanentError);
    expect(invalid.message).not.toContain('secret text');
    expect(invalid.message.startsWith('[coexist/salesforce] writeMessages:')).toBe(true);
  });
});

describe('record errors', () => {
  it('names the field, maps missing references to not_found and row locks to transient', () => {
    const missing = toSalesforceRecordError(
      [{ statusCode: 'INVALID_CROSS_REFERENCE_KEY', message: 'invalid', fields: ['Contact__c'] }],
      'messages[1]',
    );
    expect(missing).toMatchObject({ field: 'messages[1]', code: 'not_found', retryable: false });
    expect(toSalesforceRecordError([{ statusCode: 'UNABLE_TO_LOCK_ROW', message: '' }], 'm')).toBeInstanceOf(
      CrmTransientError,
    );
  });

  it('reads a Bulk sf__Error cell', () => {
    expect(
      parseBulkRecordError('REQUIRED_FIELD_MISSING:Required fields are missing: [Message_Id__c]--Message_Id__c'),
    ).toEqual({
      statusCode: 'REQUIRED_FIELD_MISSING',
      message: '',
      fields: ['Message_Id__c'],
    });
  });
});
