/**
 * Benchmark of the sync engine (not a test): a 50,000-message generated backfill through the engine (SQLite
 * store in a temp dir) into the in-memory reference adapter; events per second and peak RSS; then the
 * webhook-ack latency (p50/p99) of 1,000-message payloads (200 of them) ingested durably while the workers run.
 *
 *   pnpm build && node --max-semi-space-size=16 --max-old-space-size=1024 scripts/bench/engine.bench.ts
 *     [--messages 50000] [--phase throughput|ack] [--writer inline|thread] [--deliveries 1] [--cache-mb 8]
 *     [--synchronous normal|full] [--ack-payloads 200]
 *
 * Run that way it measures the packages as npm installs them (`dist`), with the V8 heap settings docs/serve.md
 * (*Memory*) recommends for a deployment: the young generation capped at 16 MB (Node sizes it from the machine's
 * memory: 128 MB here) and a 1 GB heap limit (Node's default here is ~4 GB, and V8 lets garbage pile up longer
 * under a larger limit: see docs/engine.md, round 10). It runs from the sources too (`--conditions=@coexist/source`,
 * no build) and with Node's defaults; the first lines say which packages and flags the figures are for. `--writer`
 * puts the store's writer on the event loop's thread or in a worker thread (default: the store's default);
 * `--deliveries` lets that many webhook deliveries be in flight at once (default 1: each ingest is awaited before the
 * next delivery; in both phases); `--cache-mb` sets the store's `cacheSizeMb`, `--synchronous` its `synchronous` (each commit synced).
 *
 * Payloads are generated (`generateTraffic`) and parsed (`parseWebhook`) lazily, one at a time, as a webhook
 * route would receive them, so the benchmark holds no more than one payload itself. Generation and parsing are
 * synchronous and block the event loop, so the engine makes no progress while they run: their time is measured
 * apart and reported, and "engine" events/s divides by the wall time minus that time.
 *
 * Goals: ≥ 20,000 events/s, peak RSS < 300 MB, ack p99 < 100 ms. Prints figures, whether each goal is met, and
 * one JSON line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type CoexistenceEvent, createSqliteStore, createSyncEngine, parseWebhook } from '@coexist/core';
import { createReferenceAdapter } from '@coexist/core/testing';
import { generateTraffic } from '@coexist/sandbox';

const messagesArgument = process.argv.indexOf('--messages');
const MESSAGES = messagesArgument > 0 ? Number(process.argv[messagesArgument + 1]) : 50_000;
/** `--phase throughput` or `--phase ack` runs one half only (for profiling). */
const phaseArgument = process.argv.indexOf('--phase');
const PHASE = phaseArgument > 0 ? process.argv[phaseArgument + 1] : 'all';
/** `--writer thread|inline`: the store's writer in a worker thread (the default) or on the event loop's thread. */
const writerArgument = process.argv.indexOf('--writer');
const WRITER_THREAD = writerArgument > 0 ? process.argv[writerArgument + 1] !== 'inline' : undefined;
const concurrencyArgument = process.argv.indexOf('--deliveries');
const CONCURRENT_DELIVERIES = concurrencyArgument > 0 ? Number(process.argv[concurrencyArgument + 1]) : 1;
/** Where `@coexist/core` resolved (`src` or `dist`) and the flags Node runs with, so each figure says what it measured. */
const PACKAGES = import.meta.resolve('@coexist/core').includes('/dist/') ? 'dist' : 'src';
const NODE_FLAGS = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
/** The last value Node was given for a V8 heap flag (the one V8 keeps), or `undefined`. */
function heapFlag(name: string): string | undefined {
  return NODE_FLAGS.filter((flag) => flag.startsWith(`${name}=`)).at(-1);
}
const YOUNG_GENERATION = heapFlag('--max-semi-space-size');
const HEAP_LIMIT = heapFlag('--max-old-space-size');
/**
 * `--ack-payloads N` (default 200): the ack phase generates N × 1,000 messages and delivers them, with the events
 * around them, 1,000 messages at a time (~1,030 events each; the contact syncs before the history, which hold no
 * messages, 1,000 events at a time); until round 14 it cut 1,000 events at a time, ~900 messages each. Before round 9 it timed one 50,000-message backfill: 56 deliveries, whose p99
 * was simply the slowest one; with 200 it is the second slowest. `--deliveries` applies to this phase too.
 */
/**
 * `--ack-rate R`: deliveries arrive at R a second whatever the acks do (an open loop, as Meta sends; at most 64 in
 * flight), instead of each one after the previous ack; their payloads are all built first, so the generator's
 * blocking is not the engine's.
 */
const rateArgument = process.argv.indexOf('--ack-rate');
const ACK_RATE = rateArgument > 0 ? Number(process.argv[rateArgument + 1]) : undefined;
const ackArgument = process.argv.indexOf('--ack-payloads');
const ACK_PAYLOADS = ackArgument > 0 ? Number(process.argv[ackArgument + 1]) : 200;
const cacheArgument = process.argv.indexOf('--cache-mb');
const CACHE_SIZE_MB = cacheArgument > 0 ? Number(process.argv[cacheArgument + 1]) : undefined;
const synchronousArgument = process.argv.indexOf('--synchronous');
const SYNCHRONOUS = synchronousArgument > 0 ? (process.argv[synchronousArgument + 1] as 'normal' | 'full') : undefined;
const GOAL_EVENTS_PER_SECOND = 20_000;
const GOAL_PEAK_RSS_MB = 300;
const GOAL_ACK_P99_MS = 100;

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 20);

/** The process's peak resident set so far (kernel-tracked, so a blocked event loop cannot hide a peak). */
function peakRssBytes(): number {
  return Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
}

function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? 0;
}

/** Milliseconds spent generating and parsing payloads (the engine gets no CPU meanwhile). */
let sourceMs = 0;

/** Generated payloads, each generated and parsed only when asked for. */
function* stream(seed: number, messages = MESSAGES): Generator<{ rawBody: string; events: CoexistenceEvent[] }> {
  const iterator = generateTraffic({
    messages,
    liveMessages: 0,
    numbers: 1,
    seed,
    accountEvents: false,
  })[Symbol.iterator]();
  for (;;) {
    const started = performance.now();
    const next = iterator.next();
    if (next.done === true) {
      sourceMs += performance.now() - started;
      return;
    }
    const rawBody = next.value.body;
    const events = parseWebhook(JSON.parse(rawBody));
    sourceMs += performance.now() - started;
    yield { rawBody, events };
  }
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

// COEXIST_BENCH_DIR puts the database elsewhere (e.g. /dev/shm) to tell disk cost from CPU cost.
const directory = mkdtempSync(join(process.env.COEXIST_BENCH_DIR ?? tmpdir(), 'coexist-bench-'));

/** 1. Throughput of a 50,000-message backfill: ingest every payload as it comes, then drain. */
async function measureThroughput() {
  const store = createSqliteStore({
    path: join(directory, 'throughput.db'),
    writerThread: WRITER_THREAD,
    cacheSizeMb: CACHE_SIZE_MB,
    synchronous: SYNCHRONOUS,
  });
  const adapter = createReferenceAdapter({
    rateLimits: { buckets: [] },
    messageBatchSize: 100,
    contactBatchSize: 100,
    searchBatchSize: 100,
  });
  const payloads = stream(1);
  const first = payloads.next();
  if (first.done === true) throw new Error('engine.bench: the generator produced no payload');
  const phoneNumberId = first.value.events.find((event) => event.phoneNumberId)!.phoneNumberId!;
  const engine = createSyncEngine({ store, connections: [{ id: 'bench', adapter, phoneNumberIds: [phoneNumberId] }] });
  sourceMs = 0;
  const baselineRss = process.memoryUsage().rss;
  peakRss = baselineRss;
  const cpuStarted = cpuMs();
  const loopStarted = performance.eventLoopUtilization();
  const started = performance.now();
  let totalEvents = first.value.events.length;
  await engine.ingest(first.value.events, { rawBody: first.value.rawBody });
  const inFlight = new Set<Promise<unknown>>();
  for (const payload of payloads) {
    totalEvents += payload.events.length;
    // Each webhook arrives as its own I/O event: give the event loop (the workers) a turn between deliveries.
    await new Promise((resolve) => setImmediate(resolve));
    const delivery = engine.ingest(payload.events, { rawBody: payload.rawBody });
    inFlight.add(delivery);
    void delivery.finally(() => inFlight.delete(delivery));
    if (inFlight.size >= CONCURRENT_DELIVERIES) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const ingested = performance.now();
  const ingestSourceMs = sourceMs;
  await engine.drain();
  const finished = performance.now();
  const cpuUsed = cpuMs() - cpuStarted;
  const loop = performance.eventLoopUtilization(loopStarted);
  const status = await engine.status();
  await engine.stop();
  await store.close();
  const wallMs = finished - started;
  const engineMs = wallMs - sourceMs;
  return {
    messages: adapter.state.messages.size,
    events: totalEvents,
    wallSeconds: Math.round(wallMs / 10) / 100,
    sourceSeconds: Math.round(sourceMs / 10) / 100,
    engineSeconds: Math.round(engineMs / 10) / 100,
    eventsPerSecond: Math.round(totalEvents / (engineMs / 1000)),
    wallEventsPerSecond: Math.round(totalEvents / (wallMs / 1000)),
    ingestEventsPerSecond: Math.round(totalEvents / ((ingested - started - ingestSourceMs) / 1000)),
    cpuSeconds: Math.round(cpuUsed / 10) / 100,
    // The main thread's busy time minus the payloads' generation and parsing: what the engine cost that thread.
    mainThreadEngineSeconds: Math.round((loop.active - sourceMs) / 10) / 100,
    mainThreadIdleSeconds: Math.round(loop.idle / 10) / 100,
    // The same generation and parsing work in every run, timed in the same run: engine time ÷ that time compares
    // runs on a machine whose speed drifts (this VM's varied by half between runs minutes apart).
    engineToSourceRatio: Math.round((engineMs / sourceMs) * 100) / 100,
    // The generator time at which this ratio gives the goal: a machine-independent reading of the verdict.
    sourceSecondsForGoal: Math.round((totalEvents / GOAL_EVENTS_PER_SECOND / (engineMs / sourceMs)) * 100) / 100,
    writeCalls: adapter.state.calls.filter((call) => call.operation === 'writeMessages').length,
    deadLetters: status.deadLetters,
    peakRssMb: Math.round(peakRssBytes() / 1024 / 1024),
    baselineRssMb: Math.round(baselineRss / 1024 / 1024),
  };
}

/**
 * 2. Webhook-ack latency: payloads of 1,000 messages (Meta's largest deliveries; ~1,110 events with the chunk,
 * contact and follow-up events around them) ingested while the workers run, `--deliveries` of them in flight at once.
 */
async function measureAck() {
  const store = createSqliteStore({
    path: join(directory, 'ack.db'),
    writerThread: WRITER_THREAD,
    cacheSizeMb: CACHE_SIZE_MB,
    synchronous: SYNCHRONOUS,
  });
  const adapter = createReferenceAdapter({ rateLimits: { buckets: [] } });
  let engine: ReturnType<typeof createSyncEngine> | undefined;
  const latencies: number[] = [];
  async function deliver(slice: CoexistenceEvent[], arrival: number): Promise<void> {
    const rawBody = JSON.stringify({ object: 'whatsapp_business_account', entry: slice });
    // Deliveries arrive over time, the workers running in between. A delivery "arrives" when its timer is due: the
    // latency counts from then, so time the event loop spent blocked (a batch, a group commit) before it could
    // serve the delivery counts too, as it would for an HTTP request waiting to be read.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, arrival - performance.now())));
    await engine!.ingest(slice, { rawBody });
    latencies.push(performance.now() - arrival);
  }
  const inFlight = new Set<Promise<void>>();
  let scheduled = performance.now();
  async function submit(slice: CoexistenceEvent[]): Promise<void> {
    if (engine === undefined) {
      const phoneNumberId = slice.find((event) => event.phoneNumberId)!.phoneNumberId!;
      engine = createSyncEngine({ store, connections: [{ id: 'ack', adapter, phoneNumberIds: [phoneNumberId] }] });
    }
    // Closed loop: 5 ms after it is built; open loop (`--ack-rate`): on the rate's clock.
    scheduled = ACK_RATE === undefined ? performance.now() + 5 : scheduled + 1000 / ACK_RATE;
    const delivery: Promise<void> = deliver(slice, scheduled).finally(() => inFlight.delete(delivery));
    inFlight.add(delivery);
    if (inFlight.size >= (ACK_RATE === undefined ? CONCURRENT_DELIVERIES : 64)) await Promise.race(inFlight);
  }
  // Closed loop: each delivery built when the previous one is acked. Open loop: all built first, so the generator's
  // blocking (it runs on this thread) falls on no delivery's ack.
  const built: CoexistenceEvent[][] = [];
  const emit = ACK_RATE === undefined ? submit : async (slice: CoexistenceEvent[]) => void built.push(slice);
  let pending: CoexistenceEvent[] = [];
  let messages = 0;
  for (const payload of stream(2, ACK_PAYLOADS * 1000)) {
    for (const event of payload.events) {
      pending.push(event);
      // 1,000 messages a delivery; the address-book sync before the history (no messages) 1,000 events at a time.
      if (event.type === 'message.received' || event.type === 'message.echoed') messages++;
      if (messages === 1000 || pending.length - messages === 1000) {
        await emit(pending);
        pending = [];
        messages = 0;
      }
    }
  }
  if (pending.length > 0) await emit(pending);
  scheduled = performance.now();
  for (const slice of built) await submit(slice);
  await Promise.all(inFlight);
  await engine?.drain();
  await engine?.stop();
  await store.close();
  return {
    payloads: latencies.length,
    p50Ms: Math.round(percentile(latencies, 0.5) * 10) / 10,
    p99Ms: Math.round(percentile(latencies, 0.99) * 10) / 10,
    maxMs: Math.round(Math.max(...latencies) * 10) / 10,
    messagesWritten: adapter.state.messages.size,
  };
}

const loadBefore = loadavg()[0]!;
try {
  const throughput = PHASE === 'ack' ? undefined : await measureThroughput();
  const ack = PHASE === 'throughput' ? undefined : await measureAck();
  clearInterval(sampler);
  const loadAverage = [Math.round(loadBefore * 100) / 100, Math.round(loadavg()[0]! * 100) / 100];
  const verdict = (met: boolean): string => (met ? 'MET' : 'NOT MET');
  const goals: Record<string, boolean> = {};
  console.log(
    `@coexist/* from ${PACKAGES}; young generation ${YOUNG_GENERATION ?? "Node's default"}; ` +
      `heap limit ${HEAP_LIMIT ?? "Node's default"}; ` +
      `writer ${WRITER_THREAD === undefined ? "the store's default" : WRITER_THREAD ? 'thread' : 'inline'}; ` +
      `synchronous ${SYNCHRONOUS ?? "the store's default"}; ` +
      `${CONCURRENT_DELIVERIES} deliver${CONCURRENT_DELIVERIES === 1 ? 'y' : 'ies'} in flight`,
  );
  if (throughput !== undefined) {
    goals.eventsPerSecond = throughput.eventsPerSecond >= GOAL_EVENTS_PER_SECOND;
    goals.peakRss = throughput.peakRssMb < GOAL_PEAK_RSS_MB;
    console.log(
      `engine backfill: ${throughput.messages} messages, ${throughput.events} events in ${throughput.wallSeconds} s wall ` +
        `(${throughput.sourceSeconds} s of it generating and parsing payloads, ${throughput.engineSeconds} s engine), ` +
        `${throughput.cpuSeconds} s CPU; load average ${loadAverage.join(' → ')} on this machine`,
    );
    console.log(
      `  ${throughput.eventsPerSecond} events/s through the engine (goal ≥ ${GOAL_EVENTS_PER_SECOND}: ${verdict(goals.eventsPerSecond)}); ` +
        `${throughput.wallEventsPerSecond} events/s wall including generation; ingest alone ${throughput.ingestEventsPerSecond} events/s`,
    );
    console.log(
      `  engine time ${throughput.engineToSourceRatio}× the generator's (the same work every run: compares runs ` +
        `on a machine whose speed drifts); main thread ${throughput.mainThreadEngineSeconds} s busy with the engine, ` +
        `${throughput.mainThreadIdleSeconds} s idle`,
    );
    console.log(
      `  at this ratio the goal is met where generating and parsing takes ≤ ${throughput.sourceSecondsForGoal} s ` +
        `(this run: ${throughput.sourceSeconds} s)`,
    );
    console.log(`  ${throughput.writeCalls} writeMessages calls, ${throughput.deadLetters} dead letters`);
    console.log(
      `  peak RSS ${throughput.peakRssMb} MB (goal < ${GOAL_PEAK_RSS_MB}: ${verdict(goals.peakRss)}); ` +
        `${throughput.baselineRssMb} MB before the run (Node, modules, the generator's plan)`,
    );
  }
  if (ack !== undefined) {
    goals.ackP99 = ack.p99Ms < GOAL_ACK_P99_MS;
    console.log(
      `webhook ack (${ack.payloads} payloads of 1,000 messages or, before the history, 1,000 contact syncs; ${ACK_RATE === undefined ? `${CONCURRENT_DELIVERIES} in flight` : `arriving ${ACK_RATE}/s`}; durable, workers running): p50 ${ack.p50Ms} ms, ` +
        `p99 ${ack.p99Ms} ms (goal < ${GOAL_ACK_P99_MS}: ${verdict(goals.ackP99)}), max ${ack.maxMs} ms`,
    );
  }
  console.log(
    JSON.stringify({
      benchmark: 'engine',
      node: process.version,
      packages: PACKAGES,
      youngGeneration: YOUNG_GENERATION ?? 'default',
      heapLimit: HEAP_LIMIT ?? 'default',
      writer: WRITER_THREAD === undefined ? 'default' : WRITER_THREAD ? 'thread' : 'inline',
      synchronous: SYNCHRONOUS ?? 'default',
      deliveries: CONCURRENT_DELIVERIES,
      loadAverage,
      throughput,
      ack,
      goalsMet: goals,
    }),
  );
} finally {
  clearInterval(sampler);
  rmSync(directory, { recursive: true, force: true });
}
