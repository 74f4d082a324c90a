import { describe, expect, it } from 'vitest';
import type { OperationContext, RateLimitSignal } from '../adapter/crm-adapter.ts';
import {
  CrmAuthError,
  CrmPermanentError,
  CrmRateLimitedError,
  CrmTransientError,
  UnsupportedOperationError,
} from '../adapter/crm-errors.ts';
import type { MessageRecord } from '../adapter/crm-records.ts';
import { createReferenceAdapter } from './reference-adapter.ts';

const signals: RateLimitSignal[] = [];
const context = (): OperationContext => ({
  connectionId: 'c1',
  signal: new AbortController().signal,
  onRateLimitSignal: (signal) => signals.push(signal),
});

function record(key: string, contactCrmId: string, second: number): MessageRecord {
  return {
    key,
    direction: 'inbound',
    actor: 'customer',
    occurredAt: new Date(Date.UTC(2026, 2, 1, 9, 0, second)).toISOString(),
    source: 'live',
    contactCrmId,
    conversationKey: 'conversation:1',
    content: { kind: 'text', text: key, summary: key, placeholder: false },
  };
}

describe('createReferenceAdapter', () => {
  it('fails the injected item only, with the requested error', async () => {
    const adapter = createReferenceAdapter();
    const contact = adapter.seedContact({ phone: '+16505551234' });
    adapter.injectFault({ type: 'fail-item', operation: 'writeMessages', index: 1, error: 'transient' });
    const results = await adapter.writeMessages(
      [record('a', contact, 0), record('b', contact, 1), record('c', contact, 2)],
      context(),
    );
    expect(results.map((result) => result.ok)).toEqual([true, false, true]);
    expect(results[1]?.ok === false && results[1].error).toBeInstanceOf(CrmTransientError);
    expect(adapter.state.messages.size).toBe(2);
    const retried = await adapter.writeMessages([record('b', contact, 1)], context());
    expect(retried[0]).toMatchObject({ ok: true, created: true });
  });

  it("finds contacts by user id, wa_id and normalized phone in the records' order, including ones a test added to the state directly", async () => {
    const adapter = createReferenceAdapter({ searchBatchSize: 10 });
    const first = adapter.seedContact({ phone: '+1 (650) 555-1234', waId: '16505551234' });
    const [created] = await adapter.createContacts([{ key: 'bsuid:U1', userId: 'U1' }], context());
    // A later upsert adds a phone to the created record: searchable by it from then on.
    await adapter.upsertContacts([{ key: 'bsuid:U1', userId: 'U1', phone: '+16505551234' }], context());
    adapter.state.contacts.set('direct-1', { crmId: 'direct-1', phone: '+1 650 555 1234' });
    const [byPhone, byWaId, byUserId, nobody] = await adapter.findContacts(
      [
        { key: 'a', phone: '+16505551234' },
        { key: 'b', waId: '16505551234' },
        { key: 'c', userId: 'U1' },
        { key: 'd', phone: '+16505550000' },
      ],
      context(),
    );
    const crmIds = (result: typeof byPhone) => (result?.ok === true ? result.matches.map((match) => match.crmId) : []);
    expect(created?.ok).toBe(true);
    const createdId = created?.ok === true ? created.crmId : '';
    expect(crmIds(byPhone)).toEqual([first, createdId, 'direct-1']);
    expect(crmIds(byWaId)).toEqual([first]);
    expect(byUserId?.ok === true && byUserId.matches).toEqual([{ crmId: createdId, matchedOn: 'userId' }]);
    expect(crmIds(nobody)).toEqual([]);
  });

  it('keeps its own copy of a written record', async () => {
    const adapter = createReferenceAdapter();
    const contact = adapter.seedContact({ phone: '+16505551234' });
    const written = record('a', contact, 0);
    await adapter.writeMessages([written], context());
    written.content.text = 'changed';
    expect([...adapter.state.messages.values()][0]?.content.text).toBe('a');
  });

  it('never duplicates when the engine resends after a lost response', async () => {
    const adapter = createReferenceAdapter();
    const contact = adapter.seedContact({ phone: '+16505551234' });
    adapter.injectFault({ type: 'lose-response', operation: 'writeMessages' });
    await expect(adapter.writeMessages([record('a', contact, 0)], context())).rejects.toBeInstanceOf(CrmTransientError);
    const replay = await adapter.writeMessages([record('a', contact, 0)], context());
    expect(replay[0]).toMatchObject({ ok: true, created: false });
    expect(adapter.state.messages.size).toBe(1);
  });

  it('throws injected whole-call errors with retryAfter, or without', async () => {
    const adapter = createReferenceAdapter();
    adapter.injectFault({
      type: 'throw',
      operation: 'findContacts',
      error: 'rate-limited',
      retryAfterMs: 1500,
      bucket: 'search',
      times: 2,
    });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const error = await adapter
        .findContacts([{ key: 'k', phone: '+16505551234' }], context())
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(CrmRateLimitedError);
      expect(error).toMatchObject({ retryAfterMs: 1500, bucket: 'search', retryable: true, crm: 'reference' });
      expect((error as Error).message).toMatch(/^\[coexist\/reference\] findContacts/);
    }
    adapter.injectFault({ type: 'throw', error: 'rate-limited' });
    const bare = await adapter.findContacts([], context()).catch((caught: unknown) => caught);
    expect(bare).toMatchObject({ retryAfterMs: undefined });
    adapter.injectFault({ type: 'throw', error: 'auth' });
    await expect(adapter.findContacts([], context())).rejects.toBeInstanceOf(CrmAuthError);
    expect(await adapter.findContacts([], context())).toEqual([]);
  });

  it('enforces its declared bucket per connection and reports remaining counts', async () => {
    let now = 0;
    signals.length = 0;
    const adapter = createReferenceAdapter({
      rateLimits: { buckets: [{ name: 'burst', limit: 2, intervalMs: 1000 }] },
      now: () => now,
    });
    await adapter.findContacts([], context());
    await adapter.findContacts([], context());
    const error = await adapter.findContacts([], context()).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ bucket: 'burst', retryAfterMs: 1000 });
    expect(signals.map((signal) => signal.remaining)).toEqual([1, 0, 0]);
    await adapter.findContacts([], { ...context(), connectionId: 'c2' });
    now = 1001;
    await expect(adapter.findContacts([], context())).resolves.toEqual([]);
  });

  it('rejects an oversized batch before writing, and an aborted call', async () => {
    const adapter = createReferenceAdapter({ messageBatchSize: 1 });
    const contact = adapter.seedContact({ phone: '+16505551234' });
    await expect(adapter.writeMessages([record('a', contact, 0), record('b', contact, 1)], context())).rejects.toThrow(
      /\[coexist\/reference\] writeMessages: `messages` has 2 items/,
    );
    const controller = new AbortController();
    controller.abort(new Error('shutdown'));
    await expect(
      adapter.writeMessages([record('a', contact, 0)], { connectionId: 'c1', signal: controller.signal }),
    ).rejects.toThrow('shutdown');
    expect(adapter.state.messages.size).toBe(0);
  });

  it('names the field of an invalid item', async () => {
    const adapter = createReferenceAdapter({ threadsMessages: true });
    const contact = adapter.seedContact({ phone: '+16505551234' });
    const [result] = await adapter.writeMessages([record('a', contact, 0)], context());
    expect(result?.ok === false && result.error).toBeInstanceOf(CrmPermanentError);
    expect(result?.ok === false && result.error.field).toBe('messages[0].previousMessageCrmId');
  });

  it('throws UnsupportedOperationError for cards when not supported', async () => {
    const adapter = createReferenceAdapter({ supportsCards: false });
    const card = {
      contact: {},
      messages: [],
      olderMessageCount: 0,
      ownership: {},
      serviceWindow: { open: false, freeFormAllowed: false, templateRequired: true },
      numberHealth: { connection: 'unknown', warnings: [], backfillProgress: 0, backfillComplete: false },
      generatedAt: '2026-03-01T00:00:00.000Z',
    };
    await expect(adapter.renderCard(card, context())).rejects.toThrow(UnsupportedOperationError);
    await expect(adapter.renderCard(card, context())).rejects.toThrow(
      '[coexist/reference] renderCard is not supported by this adapter (capabilities.supportsCards is false)',
    );
  });
});
