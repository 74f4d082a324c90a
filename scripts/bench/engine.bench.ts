/**
 * Benchmark of the sync engine (not a test): a 50,000-message generated backfill through the engine (SQLite
 * store in a temp dir) into the in-memory reference adapter; events per second and peak RSS; then the
 * webhook-ack latency (p50/p99) of 1,000-message payloads ingested durably while the workers run.
 *
 *   node --conditions=@coexist/source scripts/bench/engine.bench.ts [--messages 50000]
 *
 * Goals: ≥ 20,000 events/s, peak RSS < 300 MB, ack p99 < 100 ms. Prints figures and one JSON line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CoexistenceEvent, createSqliteStore, createSyncEngine, parseWebhook } from '@coexist/core';
import { createReferenceAdapter } from '@coexist/core/testing';
import { generateTraffic } from '@coexist/sandbox';

const messagesArgument = process.argv.indexOf('--messages');
const MESSAGES = messagesArgument > 0 ? Number(process.argv[messagesArgument + 1]) : 50_000;

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 20);

function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? 0;
}

/** Generates the traffic and parses it up front: the benchmark measures the engine, not the generator. */
function prepare(seed: number): { rawBody: string; events: CoexistenceEvent[] }[] {
  const payloads = [];
  for (const payload of generateTraffic({
    messages: MESSAGES,
    liveMessages: 0,
    numbers: 1,
    seed,
    accountEvents: false,
  })) {
    payloads.push({ rawBody: payload.body, events: parseWebhook(JSON.parse(payload.body)) });
  }
  return payloads;
}

// COEXIST_BENCH_DIR puts the database elsewhere (e.g. /dev/shm) to tell disk cost from CPU cost.
const directory = mkdtempSync(join(process.env.COEXIST_BENCH_DIR ?? tmpdir(), 'coexist-bench-'));
try {
  // ---- 1. throughput of a 50,000-message backfill ----
  const payloads = prepare(1);
  const phoneNumberId = payloads.flatMap((payload) => payload.events).find((event) => event.phoneNumberId)!
    .phoneNumberId!;
  const totalEvents = payloads.reduce((sum, payload) => sum + payload.events.length, 0);
  const store = createSqliteStore({ path: join(directory, 'throughput.db') });
  const adapter = createReferenceAdapter({
    rateLimits: { buckets: [] },
    messageBatchSize: 100,
    contactBatchSize: 100,
    searchBatchSize: 100,
  });
  const engine = createSyncEngine({ store, connections: [{ id: 'bench', adapter, phoneNumberIds: [phoneNumberId] }] });
  peakRss = process.memoryUsage().rss;
  const started = performance.now();
  for (const payload of payloads) await engine.ingest(payload.events, { rawBody: payload.rawBody });
  const ingested = performance.now();
  await engine.drain();
  const finished = performance.now();
  const status = await engine.status();
  await engine.stop();
  await store.close();
  const seconds = (finished - started) / 1000;
  const throughput = {
    messages: adapter.state.messages.size,
    events: totalEvents,
    seconds: Math.round(seconds * 100) / 100,
    eventsPerSecond: Math.round(totalEvents / seconds),
    ingestEventsPerSecond: Math.round(totalEvents / ((ingested - started) / 1000)),
    writeCalls: adapter.state.calls.filter((call) => call.operation === 'writeMessages').length,
    deadLetters: status.deadLetters,
    peakRssMb: Math.round(peakRss / 1024 / 1024),
  };

  // ---- 2. webhook-ack latency while the workers run ----
  const ackStore = createSqliteStore({ path: join(directory, 'ack.db') });
  const ackAdapter = createReferenceAdapter({ rateLimits: { buckets: [] } });
  const ackPayloads = prepare(2);
  const ackNumber = ackPayloads.flatMap((payload) => payload.events).find((event) => event.phoneNumberId)!
    .phoneNumberId!;
  const ackEngine = createSyncEngine({
    store: ackStore,
    connections: [{ id: 'ack', adapter: ackAdapter, phoneNumberIds: [ackNumber] }],
  });
  // Regroup the history into 1,000-message payloads, as Meta's largest deliveries.
  const events = ackPayloads.flatMap((payload) => payload.events);
  const latencies: number[] = [];
  for (let start = 0; start < events.length; start += 1000) {
    const slice = events.slice(start, start + 1000);
    const rawBody = JSON.stringify({ object: 'whatsapp_business_account', entry: slice });
    const before = performance.now();
    await ackEngine.ingest(slice, { rawBody });
    latencies.push(performance.now() - before);
    // Deliveries arrive over time; the workers run in between.
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await ackEngine.drain();
  await ackEngine.stop();
  await ackStore.close();
  const ack = {
    payloads: latencies.length,
    p50Ms: Math.round(percentile(latencies, 0.5) * 10) / 10,
    p99Ms: Math.round(percentile(latencies, 0.99) * 10) / 10,
    maxMs: Math.round(Math.max(...latencies) * 10) / 10,
  };
  clearInterval(sampler);

  console.log(
    `engine backfill: ${throughput.messages} messages, ${throughput.events} events in ${throughput.seconds} s`,
  );
  console.log(
    `  ${throughput.eventsPerSecond} events/s end to end (goal ≥ 20000); ingest alone ${throughput.ingestEventsPerSecond} events/s`,
  );
  console.log(`  ${throughput.writeCalls} writeMessages calls, ${throughput.deadLetters} dead letters`);
  console.log(`  peak RSS ${throughput.peakRssMb} MB (goal < 300)`);
  console.log(
    `webhook ack (1,000 messages, durable, workers running): p50 ${ack.p50Ms} ms, p99 ${ack.p99Ms} ms (goal < 100), max ${ack.maxMs} ms`,
  );
  console.log(JSON.stringify({ benchmark: 'engine', node: process.version, throughput, ack }));
} finally {
  clearInterval(sampler);
  rmSync(directory, { recursive: true, force: true });
}
