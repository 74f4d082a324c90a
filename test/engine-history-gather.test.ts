/**
 * While a backfill is still arriving, the engine does not claim each history chunk as it lands: after a claim that
 * came back short of a full batch, the next history claim waits 200 ms (on the engine's clock) for the webhooks to
 * fill it. The clock is injected, so the test does not depend on the machine's speed.
 */
import { createMemoryStore, createSyncEngine } from '@coexist/core';
import { createReferenceAdapter } from '@coexist/core/testing';
import { describe, expect, it } from 'vitest';
import { historyBackfill, inboundMessage } from './fixtures/engine-events.ts';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('sync engine: history claims gathered while a backfill streams in', () => {
  it('writes a streamed backfill in full batches, not one small call per chunk, and never holds a live message', async () => {
    let clock = Date.parse('2026-03-01T09:00:00Z');
    const store = createMemoryStore();
    const adapter = createReferenceAdapter({ rateLimits: { buckets: [] }, messageBatchSize: 50 });
    const engine = createSyncEngine({
      store,
      connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'] }],
      now: () => clock,
    });
    try {
      // Five chunks of ten history messages, one webhook at a time, on the same engine instant.
      const chunks = [0, 1, 2, 3, 4].map((chunk) =>
        historyBackfill({ threads: 10, perThread: 1, prefix: `c${chunk}`, start: Date.parse('2025-10-01T00:00:00Z') }),
      );
      const writes = () => adapter.state.calls.filter((call) => call.operation === 'writeMessages');
      for (const [index, chunk] of chunks.entries()) {
        await engine.ingest(chunk, { rawBody: `chunk ${index}` });
        // The first chunk is claimed as it lands (nothing else had arrived).
        for (let waited = 0; index === 0 && writes().length === 0 && waited < 5_000; waited += 10) await delay(10);
        await delay(10);
      }
      // The first chunk went out alone; the rest waits to fill a batch.
      expect(writes().map((call) => call.size)).toEqual([10]);

      // A live message is not gathered.
      await engine.ingest([inboundMessage({ wamid: 'wamid.live', phone: '+16505559999', at: clock })], {
        rawBody: 'live',
      });
      await delay(50);
      expect(writes().map((call) => call.size)).toEqual([10, 1]);

      // 200 ms later on the engine's clock, the 40 messages that arrived meanwhile go in one call.
      clock += 250;
      await engine.drain({ timeoutMs: 5_000 });
      expect(writes().map((call) => call.size)).toEqual([10, 1, 40]);
      expect(adapter.state.messages.size).toBe(51);
    } finally {
      await engine.stop();
      await store.close();
    }
  });
});
