import { describe, expect, it } from 'vitest';
import { formatJsonPath, WebhookValidationError } from './webhook-validation-error.ts';

describe('WebhookValidationError', () => {
  it('names the path and reason in a prefixed message', () => {
    const error = new WebhookValidationError('entry[0].id', 'expected string');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('WebhookValidationError');
    expect(error.message).toBe('[coexist/core] Invalid webhook at entry[0].id: expected string');
    expect(error.issues).toStrictEqual([{ path: 'entry[0].id', message: 'expected string' }]);
    expect(new WebhookValidationError('', 'body is not valid JSON').message).toBe(
      '[coexist/core] Invalid webhook at (body): body is not valid JSON',
    );
  });
});

describe('formatJsonPath', () => {
  it('writes indexes in brackets and odd keys quoted', () => {
    expect(formatJsonPath(['entry', 0, 'changes', 1, 'value', 'messages', 2, 'timestamp'])).toBe(
      'entry[0].changes[1].value.messages[2].timestamp',
    );
    expect(formatJsonPath([])).toBe('');
    expect(formatJsonPath(['a', 'b-c', 0])).toBe('a["b-c"][0]');
  });
});
