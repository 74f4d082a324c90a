import {
  CrmAuthError,
  CrmPermanentError,
  CrmRateLimitedError,
  type OperationContext,
  type RateLimitSignal,
} from '@coexist/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpReferenceAdapter } from './http-reference-adapter.ts';
import { type ReferenceCrmEmulator, startReferenceCrm } from './reference-crm-emulator.ts';

const running: ReferenceCrmEmulator[] = [];
afterEach(async () => {
  for (const crm of running.splice(0)) await crm.close();
});

function context(signals: RateLimitSignal[] = []): OperationContext {
  return {
    connectionId: 'c',
    signal: new AbortController().signal,
    onRateLimitSignal: (signal) => signals.push(signal),
  };
}

const message = (key: string, contactCrmId: string) => ({
  key,
  direction: 'inbound' as const,
  actor: 'customer' as const,
  occurredAt: '2026-03-01T09:30:00.000Z',
  source: 'history' as const,
  contactCrmId,
  conversationKey: 'PN|phone:+16505551234',
  content: { kind: 'text', text: 'Hi', summary: 'Hi', placeholder: false },
});

describe('reference CRM over HTTP', () => {
  it('upserts by key: a replay answers created: false and counts as a duplicate, never a second record', async () => {
    const crm = await startReferenceCrm();
    running.push(crm);
    const adapter = createHttpReferenceAdapter({ baseUrl: crm.url });
    const signals: RateLimitSignal[] = [];
    const [contact] = await adapter.createContacts(
      [{ key: 'phone:+16505551234', phone: '+16505551234', name: 'Ana' }],
      context(signals),
    );
    expect(contact).toMatchObject({ ok: true, created: true });
    const crmId = contact!.ok ? contact!.crmId : '';
    const found = await adapter.findContacts([{ key: 'phone:+16505551234', phone: '+16505551234' }], context());
    expect(found[0]).toMatchObject({ ok: true, matches: [{ crmId, matchedOn: 'phone' }] });
    const first = await adapter.writeMessages([message('wamid.1', crmId), message('wamid.2', 'nobody')], context());
    expect(first[0]).toMatchObject({ key: 'wamid.1', ok: true, created: true });
    expect(first[1]).toMatchObject({ key: 'wamid.2', ok: false });
    expect((first[1] as { error: unknown }).error).toBeInstanceOf(CrmPermanentError);
    const replay = await adapter.writeMessages([message('wamid.1', crmId)], context());
    expect(replay[0]).toMatchObject({ ok: true, created: false });
    expect(crm.counts()).toMatchObject({ messages: 1, messageWrites: 2, duplicateMessageWrites: 1, contacts: 1 });
    expect(crm.messages.get('wamid.1')).toMatchObject({ sequence: 1, writes: 2 });
    expect(signals[0]).toMatchObject({ bucket: 'requests', limit: 1000 });
  });

  it('answers 429 with Retry-After as CrmRateLimitedError, and reports remaining counts', async () => {
    const crm = await startReferenceCrm({ rateLimit: 2, rateLimitIntervalMs: 60_000 });
    running.push(crm);
    const adapter = createHttpReferenceAdapter({ baseUrl: crm.url });
    const signals: RateLimitSignal[] = [];
    await adapter.findContacts([{ key: 'a', phone: '+16505551234' }], context(signals));
    await adapter.findContacts([{ key: 'a', phone: '+16505551234' }], context(signals));
    const error = await adapter.findContacts([{ key: 'a' }], context(signals)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CrmRateLimitedError);
    expect((error as CrmRateLimitedError).retryAfterMs).toBe(60_000);
    expect(signals.map((signal) => signal.remaining)).toEqual([1, 0, 0]);
    expect(crm.counts().rateLimited).toBe(1);
  });

  it('refuses a wrong token and an oversized batch with typed errors', async () => {
    const crm = await startReferenceCrm({ maxBatchSize: 2 });
    running.push(crm);
    const wrong = createHttpReferenceAdapter({ baseUrl: crm.url, token: 'wrong' });
    await expect(wrong.findContacts([{ key: 'a' }], context())).rejects.toBeInstanceOf(CrmAuthError);
    const adapter = createHttpReferenceAdapter({ baseUrl: crm.url });
    await expect(adapter.findContacts([{ key: 'a' }, { key: 'b' }, { key: 'c' }], context())).rejects.toThrow(
      /batch_too_large/,
    );
    expect(() => createHttpReferenceAdapter({ baseUrl: '' })).toThrow('options.baseUrl');
  });
});
