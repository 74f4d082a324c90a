/**
 * The sync engine under injected CRM faults: 429s with and without Retry-After, transient 5xx, timeouts,
 * lost responses, partial batch failures, auth failures. Nothing is lost, nothing is duplicated, permanent
 * failures land in the dead-letter table with their reason and can be replayed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CoexistStore,
  type CrmAdapter,
  createMemoryStore,
  createSqliteStore,
  createSyncEngine,
  type SyncEngine,
  type SyncEngineOptions,
  type SyncProgress,
} from '@coexist/core';
import { createReferenceAdapter, type ReferenceAdapter } from '@coexist/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  echoedMessage,
  editEvent,
  historyBackfill,
  inboundMessage,
  reactionEvent,
  statusEvent,
} from './fixtures/engine-events.ts';

const directories: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

const backends: [string, () => CoexistStore][] = [
  ['memory store', () => createMemoryStore()],
  [
    'sqlite store',
    () => {
      const directory = mkdtempSync(join(tmpdir(), 'coexist-faults-'));
      directories.push(directory);
      return createSqliteStore({ path: join(directory, 'coexist.db') });
    },
  ],
];

/** Fast retries so fault tests take milliseconds. */
const FAST: Partial<SyncEngineOptions> = { retry: { baseMs: 5, capMs: 40, maxAttempts: 6 }, authRetryMs: 50 };

function start(store: CoexistStore, adapter: CrmAdapter, options: Partial<SyncEngineOptions> = {}): SyncEngine {
  const engine = createSyncEngine({
    store,
    connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'] }],
    ...FAST,
    ...options,
  });
  cleanups.push(async () => {
    await engine.stop();
    await store.close();
  });
  return engine;
}

/**
 * Every generated wamid exists exactly once in the CRM and, unless the fault made the engine unsure a write happened
 * (`resent`: a lost response, a timeout), was sent once: the reference CRM dedupes by key, so only its write counts
 * show a needless resend.
 */
function expectExactlyOnce(adapter: ReferenceAdapter, count: number, options: { resent?: boolean } = {}): void {
  const records = [...adapter.state.messages.values()];
  const keys = records.map((record) => record.key);
  expect(keys).toHaveLength(count);
  expect(new Set(keys).size).toBe(count);
  if (options.resent !== true) expect(records.filter((record) => record.writeCount !== 1)).toEqual([]);
}

describe.each(backends)('sync engine faults (%s)', (_name, createStore) => {
  it('waits out 429s with Retry-After and loses nothing', async () => {
    const store = createStore();
    const reference = createReferenceAdapter({
      rateLimits: { buckets: [{ name: 'requests', limit: 1000, intervalMs: 1000 }] },
      messageBatchSize: 20,
    });
    // When each write was refused, and when each began: none may begin within Retry-After of a refusal.
    const refusedAt: number[] = [];
    const startedAt: number[] = [];
    const adapter: CrmAdapter = {
      ...reference,
      async writeMessages(messages, context) {
        startedAt.push(performance.now());
        try {
          return await reference.writeMessages(messages, context);
        } catch (error) {
          refusedAt.push(performance.now());
          throw error;
        }
      },
    };
    reference.injectFault({
      type: 'throw',
      operation: 'writeMessages',
      error: 'rate-limited',
      retryAfterMs: 60,
      bucket: 'requests',
      times: 3,
    });
    // One call at a time, so no call is already under way when a refusal arrives.
    const engine = start(store, adapter, {
      connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'], maxConcurrency: 1 }],
    });
    await engine.ingest(historyBackfill({ threads: 5, perThread: 20 }), { rawBody: 'x' });
    await engine.drain();
    expectExactlyOnce(reference, 100);
    expect(await engine.listDeadLetters()).toEqual([]);
    expect((await engine.status()).connections[0]?.lastError?.kind).toBe('rate-limited');
    expect(refusedAt).toHaveLength(3);
    for (const refused of refusedAt) {
      const tooSoon = startedAt.filter((started) => started > refused && started < refused + 59);
      expect(tooSoon).toEqual([]);
    }
  });

  it('backs off on 429s without Retry-After (exponential, jittered) and loses nothing', async () => {
    const store = createStore();
    const adapter = createReferenceAdapter({
      rateLimits: { buckets: [{ name: 'requests', limit: 1000, intervalMs: 200 }] },
      messageBatchSize: 20,
    });
    adapter.injectFault({ type: 'throw', operation: 'writeMessages', error: 'rate-limited', times: 3 });
    adapter.injectFault({ type: 'fail-item', operation: 'writeMessages', index: 2, error: 'rate-limited' });
    const engine = start(store, adapter);
    await engine.ingest(historyBackfill({ threads: 5, perThread: 20 }), { rawBody: 'x' });
    await engine.drain();
    expectExactlyOnce(adapter, 100);
    expect(await engine.listDeadLetters()).toEqual([]);
  });

  it('paces calls to the declared rate limit', async () => {
    const store = createStore();
    // The reference CRM itself refuses a 6th call within 300 ms: the limiter must never trigger that.
    const adapter = createReferenceAdapter({
      rateLimits: { buckets: [{ name: 'requests', limit: 5, intervalMs: 300 }] },
      messageBatchSize: 10,
      searchBatchSize: 50,
    });
    const engine = start(store, adapter);
    await engine.ingest(historyBackfill({ threads: 4, perThread: 25 }), { rawBody: 'x' });
    await engine.drain();
    expectExactlyOnce(adapter, 100);
    expect((await engine.status()).connections[0]?.lastError).toBeNull();
  });

  it('retries transient failures (5xx) with back-off', async () => {
    const store = createStore();
    const adapter = createReferenceAdapter({ rateLimits: { buckets: [] }, messageBatchSize: 10 });
    adapter.injectFault({ type: 'throw', operation: 'writeMessages', error: 'transient', times: 4 });
    adapter.injectFault({ type: 'throw', operation: 'findContacts', error: 'transient', times: 2 });
    adapter.injectFault({ type: 'fail-item', operation: 'writeMessages', index: 4, error: 'transient', times: 3 });
    const engine = start(store, adapter);
    await engine.ingest(historyBackfill({ threads: 6, perThread: 10 }), { rawBody: 'x' });
    await engine.drain();
    expectExactlyOnce(adapter, 60);
    expect(await engine.listDeadLetters()).toEqual([]);
  });

  it('resends after a lost response without creating a duplicate record', async () => {
    const store = createStore();
    const adapter = createReferenceAdapter({ rateLimits: { buckets: [] }, messageBatchSize: 10 });
    adapter.injectFault({ type: 'lose-response', operation: 'writeMessages', times: 2 });
    adapter.injectFault({ type: 'lose-response', operation: 'createContacts' });
    const engine = start(store, adapter);
    await engine.ingest(historyBackfill({ threads: 3, perThread: 10 }), { rawBody: 'x' });
    await engine.drain();
    expectExactlyOnce(adapter, 30, { resent: true });
    expect(adapter.state.contacts.size).toBe(3);
    // The engine could not prove the first writes, so it resent them: written more than once, stored once. (Both
    // injected losses can hit the same batch — its retry takes the second — so a record may be written 3 times.)
    expect([...adapter.state.messages.values()].some((record) => record.writeCount >= 2)).toBe(true);
  });

  it('keeps the later of two updates of the same second when the first is retried after it', async () => {
    const store = createStore();
    const adapter = createReferenceAdapter({ rateLimits: { buckets: [] } });
    const engine = start(store, adapter, { autoStart: false });
    const phone = '+16505551234';
    // WhatsApp's timestamps have whole seconds: two edits, and a reaction and its removal, each pair in one second.
    const edit = (id: string, text: string) => ({
      ...editEvent({ wamid: 'wamid.m', phone, at: 60_000, text }),
      id: `edit:${id}`,
      message: { id, kind: 'text', text },
    });
    const react = (id: string, emoji: string | null) => ({
      ...reactionEvent({ wamid: 'wamid.m', phone, at: 120_000, emoji }),
      id: `reaction:${id}`,
    });
    await engine.ingest([inboundMessage({ wamid: 'wamid.m', phone, at: 1_000 })], { rawBody: 'message' });
    for (const [index, update] of [
      edit('e1', 'first edit'),
      edit('e2', 'second edit'),
      react('r1', '👍'),
      react('r2', null),
    ].entries()) {
      await engine.ingest([update], { rawBody: `update ${index}` });
    }
    // The first item of the update batch fails once: it is retried after the others were sent.
    adapter.injectFault({ type: 'fail-item', operation: 'updateMessages', index: 0, error: 'transient' });
    await engine.start();
    await engine.drain();
    const [record] = [...adapter.state.messages.values()];
    expect(record?.content.text).toBe('second edit');
    expect(record?.reactions ?? []).toEqual([]);
  });

  it("keeps a timed-out call's conversation until its request can no longer land, so it cannot undo a later update", async () => {
    const store = createStore();
    const reference = createReferenceAdapter({ rateLimits: { buckets: [] } });
    let slow = true;
    // A CRM that writes whole records (as HubSpot's batch update or Close's PUT do): the first status update is
    // held on the wire and lands 250 ms later with the state computed when it was sent.
    const adapter: CrmAdapter = {
      ...reference,
      async updateMessages(updates, context) {
        if (!slow) return reference.updateMessages(updates, context);
        slow = false;
        const results = await reference.updateMessages(updates, context);
        const written = [...reference.state.messages.values()][0]!;
        const stale = written.status;
        await new Promise((resolve) => setTimeout(resolve, 250));
        written.status = stale;
        return results;
      },
    };
    const engine = start(store, adapter, { callTimeoutMs: 100 });
    const phone = '+16505551234';
    await engine.ingest([echoedMessage({ wamid: 'wamid.s', phone, at: 1_000 })], { rawBody: 'echo' });
    await engine.drain();
    await engine.ingest([statusEvent({ messageId: 'wamid.s', status: 'delivered', phone, at: 2_000 })], {
      rawBody: 'd',
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    await engine.ingest([statusEvent({ messageId: 'wamid.s', status: 'read', phone, at: 3_000 })], { rawBody: 'r' });
    await engine.drain();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect([...reference.state.messages.values()][0]?.status).toBe('read');
  });

  it('treats a call that never answers as a timeout and resends it', async () => {
    const store = createStore();
    const reference = createReferenceAdapter({ rateLimits: { buckets: [] }, messageBatchSize: 10 });
    let hangs = 2;
    // A CRM that accepts the first two batches but never answers (a stuck connection).
    const adapter: CrmAdapter = {
      ...reference,
      capabilities: reference.capabilities,
      async writeMessages(messages, context) {
        const results = await reference.writeMessages(messages, context);
        if (hangs-- > 0) return new Promise(() => {});
        return results;
      },
    };
    const engine = start(store, adapter, { callTimeoutMs: 100 });
    await engine.ingest(historyBackfill({ threads: 2, perThread: 15 }), { rawBody: 'x' });
    await engine.drain();
    expectExactlyOnce(reference, 30, { resent: true });
    expect((await engine.status()).connections[0]?.lastError?.message).toMatch(/no answer within 100 ms/);
  });

  it('sends permanent item failures to the dead-letter table with the reason, and replays them', async () => {
    const store = createStore();
    const adapter = createReferenceAdapter({ rateLimits: { buckets: [] }, messageBatchSize: 10 });
    const phone = '+16505551234';
    adapter.injectFault({ type: 'fail-item', operation: 'writeMessages', key: 'wamid.bad', error: 'permanent' });
    const engine = start(store, adapter);
    const letters: unknown[] = [];
    engine.on('dead-letter', (letter) => letters.push(letter));
    await engine.ingest(
      [
        inboundMessage({ wamid: 'wamid.ok1', phone, at: 1_000 }),
        inboundMessage({ wamid: 'wamid.bad', phone, at: 2_000 }),
        inboundMessage({ wamid: 'wamid.ok2', phone, at: 3_000 }),
        statusEvent({ messageId: 'wamid.bad', status: 'read', phone, at: 4_000 }),
      ],
      { rawBody: 'x' },
    );
    await engine.drain();
    expect([...adapter.state.messages.values()].map((record) => record.key).sort()).toEqual(['wamid.ok1', 'wamid.ok2']);
    const [letter] = await engine.listDeadLetters();
    expect(letter).toMatchObject({
      eventId: 'live:received:wamid.bad',
      eventType: 'message.received',
      connectionId: 'crm',
      phoneNumberId: 'PN-1',
      errorKind: 'permanent',
      reason: '[coexist/reference] writeMessages[1]: injected permanent fault',
    });
    expect(letters).toHaveLength(1);
    const status = await engine.status();
    expect(status.deadLetters).toBe(1);
    expect(status.numbers[0]).toMatchObject({ deadLetters: 1, queue: { waiting: 1 } });

    // The operator fixed the cause: replay it; the waiting status follows.
    await engine.replayDeadLetter(letter!.id);
    await engine.drain();
    expectExactlyOnce(adapter, 3);
    expect([...adapter.state.messages.values()].find((record) => record.key === 'wamid.bad')?.status).toBe('read');
    expect(await engine.listDeadLetters()).toEqual([]);
    expect(await engine.listDeadLetters({ includeReplayed: true })).toHaveLength(1);
    await expect(engine.replayDeadLetter(letter!.id)).rejects.toThrow(/already replayed/);
  });

  it('treats a success without a CRM id as an adapter failure: retried, and every other write still committed', async () => {
    const store = createStore();
    const reference = createReferenceAdapter({ rateLimits: { buckets: [] } });
    let broken = 1;
    // An adapter bug: its first answer for `wamid.noid` says written but names no record.
    const adapter: CrmAdapter = {
      ...reference,
      async writeMessages(messages, context) {
        const results = await reference.writeMessages(messages, context);
        return results.map((result) =>
          result.key === 'wamid.noid' && broken-- > 0 ? ({ ...result, crmId: undefined } as never) : result,
        );
      },
    };
    const engine = start(store, adapter);
    await engine.ingest([inboundMessage({ wamid: 'wamid.noid', phone: '+16505551234', at: 1_000 })], { rawBody: 'a' });
    await engine.ingest([inboundMessage({ wamid: 'wamid.fine', phone: '+16505551235', at: 2_000 })], { rawBody: 'b' });
    await engine.drain();
    expect(broken).toBeLessThan(0);
    // Both stored once (the retry of `wamid.noid` found its record), and the store took every completion.
    expectExactlyOnce(reference, 2, { resent: true });
    const fine = [...reference.state.messages.values()].find((record) => record.key === 'wamid.fine');
    expect(fine?.writeCount).toBe(1);
    const status = await engine.status();
    expect(status.deadLetters).toBe(0);
    expect(status.numbers[0]?.queue).toMatchObject({ pending: 0 });
  });

  it('retries the events of a batch that failed unexpectedly (a store read), instead of leaving them claimed', async () => {
    const store = createStore();
    const adapter = createReferenceAdapter({ rateLimits: { buckets: [] } });
    const engine = start(store, adapter);
    await engine.ingest([inboundMessage({ wamid: 'wamid.read', phone: '+16505551234', at: 1_000 })], { rawBody: 'm' });
    await engine.drain();
    // The next read of message ids fails once, inside the batch that applies the status.
    const getMessages = store.getMessages.bind(store);
    let failures = 1;
    store.getMessages = async (connectionId, keys) => {
      if (failures-- > 0) throw new Error('disk I/O error');
      return getMessages(connectionId, keys);
    };
    await engine.ingest([statusEvent({ messageId: 'wamid.read', status: 'read', phone: '+16505551234', at: 2_000 })], {
      rawBody: 's',
    });
    const drained = await Promise.race([
      engine.drain().then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5_000)),
    ]);
    expect(drained).toBe(true);
    expect(failures).toBeLessThan(0);
    expect([...adapter.state.messages.values()][0]?.status).toBe('read');
    expect((await engine.status()).deadLetters).toBe(0);
  });

  it('counts a live echo as Business App activity even when its CRM write fails for good', async () => {
    const store = createStore();
    const adapter = createReferenceAdapter({ rateLimits: { buckets: [] } });
    adapter.injectFault({
      type: 'fail-item',
      operation: 'writeMessages',
      key: 'wamid.app-2',
      error: 'permanent',
      times: 100,
    });
    const engine = start(store, adapter);
    await engine.ingest(
      [
        echoedMessage({ wamid: 'wamid.app-1', phone: '+16505551234', at: 1_000 }),
        echoedMessage({ wamid: 'wamid.app-2', phone: '+16505551234', at: 90_000 }),
      ],
      { rawBody: 'x' },
    );
    await engine.drain();
    expect((await engine.status()).deadLetters).toBe(1);
    // Meta received the second echo, so the app was in use then, whatever the CRM answered.
    expect((await engine.status()).numbers[0]?.link.lastAppActivityAt).toBe(new Date(90_000).toISOString());
  });

  it('gives up on a transient failure after the last attempt and keeps it as a dead letter', async () => {
    const store = createStore();
    const adapter = createReferenceAdapter({ rateLimits: { buckets: [] } });
    adapter.injectFault({
      type: 'fail-item',
      operation: 'writeMessages',
      key: 'wamid.flaky',
      error: 'transient',
      times: 100,
    });
    const engine = start(store, adapter, { retry: { baseMs: 1, capMs: 5, maxAttempts: 3 } });
    await engine.ingest([inboundMessage({ wamid: 'wamid.flaky', phone: '+16505551234', at: 1_000 })], { rawBody: 'x' });
    await engine.drain();
    const [letter] = await engine.listDeadLetters();
    expect(letter?.errorKind).toBe('transient');
    expect(letter?.reason).toMatch(/^gave up after 3 attempts: \[coexist\/reference\]/);
    adapter.clearFaults();
    await engine.replayDeadLetter(letter!.id);
    await engine.drain();
    expectExactlyOnce(adapter, 1);
  });

  it('pauses the connection on an auth failure and resumes after', async () => {
    const store = createStore();
    const adapter = createReferenceAdapter({ rateLimits: { buckets: [] } });
    adapter.injectFault({ type: 'throw', operation: 'findContacts', error: 'auth', times: 2 });
    const engine = start(store, adapter);
    await engine.ingest(historyBackfill({ threads: 2, perThread: 5 }), { rawBody: 'x' });
    await engine.drain();
    expectExactlyOnce(adapter, 10);
    expect((await engine.status()).connections[0]?.lastError?.kind).toBe('auth');
    expect(await engine.listDeadLetters()).toEqual([]);
  });

  it('reports a paused connection in progress events, then its work again, the last event before drain() resolves', async () => {
    const store = createStore();
    const adapter = createReferenceAdapter({ rateLimits: { buckets: [] } });
    adapter.injectFault({ type: 'throw', operation: 'findContacts', error: 'auth' });
    const engine = start(store, adapter, { authRetryMs: 150 });
    const events: SyncProgress[] = [];
    engine.on('progress', (progress) => events.push(progress));
    await engine.ingest(historyBackfill({ threads: 2, perThread: 5 }), { rawBody: 'x' });
    await engine.drain();
    const phases = events.map((event) => event.phase);
    expect(phases).toContain('paused');
    expect(phases.lastIndexOf('paused')).toBeLessThan(phases.length - 1);
    expect(events.at(-1)).toMatchObject({ phase: 'idle', messagesWritten: 10 });
  });

  it('is idle while an auth failure pauses the connection: nothing is runnable until the pause ends', async () => {
    const store = createStore();
    const adapter = createReferenceAdapter({ rateLimits: { buckets: [] } });
    adapter.injectFault({ type: 'throw', error: 'auth' });
    const engine = start(store, adapter, { authRetryMs: 60_000 });
    await engine.ingest(historyBackfill({ threads: 2, perThread: 2 }), { rawBody: 'x' });
    while (((await engine.status()).connections[0]?.pausedUntil ?? null) === null) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const outcome = await Promise.race([
      engine.idle().then(() => 'idle'),
      new Promise((resolve) => setTimeout(() => resolve('still waiting after 2 s'), 2_000)),
    ]);
    expect(outcome).toBe('idle');
    expect(adapter.state.messages.size).toBe(0);
  });

  it('releases in-flight work on stop and finishes it after a restart', async () => {
    const store = createStore();
    const reference = createReferenceAdapter({ rateLimits: { buckets: [] }, messageBatchSize: 10 });
    let calls = 0;
    const adapter: CrmAdapter = {
      ...reference,
      capabilities: reference.capabilities,
      async writeMessages(messages, context) {
        calls++;
        // The third call hangs until the engine aborts it.
        if (calls === 3) {
          await new Promise((_, reject) =>
            context.signal.addEventListener('abort', () => reject(context.signal.reason)),
          );
        }
        return reference.writeMessages(messages, context);
      },
    };
    const first = createSyncEngine({ store, connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'] }], ...FAST });
    await first.ingest(historyBackfill({ threads: 1, perThread: 50 }), { rawBody: 'x' });
    while (calls < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    await first.stop();
    expect(reference.state.messages.size).toBe(20);
    const second = start(store, reference);
    await second.drain();
    expectExactlyOnce(reference, 50);
  });
});
