import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  metaHistoryItemSchema,
  metaMessageSchema,
  metaUnixTimestampSchema,
  metaWebhookSchema,
  resolveChangeField,
} from './meta-webhook-schema.ts';

const here = dirname(fileURLToPath(import.meta.url));

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(join(here, '__fixtures__', 'meta', name), 'utf8'));
}

describe('metaWebhookSchema', () => {
  it('accepts the Meta fixtures and keeps unknown keys', () => {
    const parsed = metaWebhookSchema.parse(fixture('messages-text-ctwa-referral.json'));
    const value = parsed.entry[0]!.changes[0]!.value as { messages: { referral: { ctwa_clid: string } }[] };
    expect(value.messages[0]!.referral.ctwa_clid).toMatch(/^Aff-/);
  });

  it('checks every change value by its field, naming the path', () => {
    const result = metaWebhookSchema.safeParse({
      entry: [
        { id: '1', changes: [{ field: 'messages', value: { messages: [{ id: 'w', type: 'text', timestamp: 'x' }] } }] },
      ],
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['entry', 0, 'changes', 0, 'value', 'messages', 0, 'timestamp']);
  });

  it('lets unknown fields carry anything', () => {
    expect(
      metaWebhookSchema.safeParse({ entry: [{ id: '1', changes: [{ field: 'calls', value: 42 }] }] }).success,
    ).toBe(true);
  });
});

describe('leniency', () => {
  it('accepts timestamps as numbers or digit strings, and nothing else', () => {
    for (const good of [1739321024, '1739321024', 0, '1739321024.5']) {
      expect(metaUnixTimestampSchema.safeParse(good).success).toBe(true);
    }
    for (const bad of ['', 'abc', -1, true, null, '1e9', '99999999999999']) {
      expect(metaUnixTimestampSchema.safeParse(bad).success).toBe(false);
    }
  });

  it('accepts BSUID fields and empty phone strings on messages', () => {
    const message = { from: '', from_user_id: 'US.1', id: 'w', timestamp: '1', type: 'text', text: { body: 'hi' } };
    expect(metaMessageSchema.safeParse(message).success).toBe(true);
  });

  it('reads a history item as a chunk or an error item, nothing else', () => {
    expect(metaHistoryItemSchema.safeParse({ metadata: { phase: '0', chunk_order: 1, progress: 10 } }).success).toBe(
      true,
    );
    expect(metaHistoryItemSchema.safeParse({ errors: [{ code: 2593109 }] }).success).toBe(true);
    expect(metaHistoryItemSchema.safeParse({ threads: [] }).success).toBe(false);
  });
});

describe('resolveChangeField', () => {
  it('finds the field on the change, in the value, on the entry, or infers it', () => {
    expect(resolveChangeField({}, { field: 'messages', value: {} })).toBe('messages');
    expect(resolveChangeField({}, { value: { field: 'account_update', event: 'X' } })).toBe('account_update');
    expect(resolveChangeField({ field: 'account_update' }, { value: { event: 'X' } })).toBe('account_update');
    expect(resolveChangeField({}, { value: { event: 'ACCOUNT_OFFBOARDED' } })).toBe('account_update');
    expect(resolveChangeField({}, { value: { history: [] } })).toBe('history');
    expect(resolveChangeField({}, { value: { message_echoes: [] } })).toBe('smb_message_echoes');
    expect(resolveChangeField({}, { value: { state_sync: [] } })).toBe('smb_app_state_sync');
    expect(resolveChangeField({}, { value: { statuses: [] } })).toBe('messages');
    expect(resolveChangeField({}, { value: { something: 1 } })).toBe('unknown');
  });
});
