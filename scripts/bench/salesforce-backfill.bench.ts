/**
 * Benchmark of a Salesforce backfill (not a test): a 50,000-message generated Coexistence history through the sync
 * engine and the real Salesforce adapter (jsforce over HTTP) into the Salesforce emulator, whose latency model makes
 * every call cost `baseMs + jitter + perRecordMs × records`. Run twice: sObject Collections only (200 per call), then
 * with `bulkThreshold` (large batches become Bulk API 2.0 jobs). Each run is set beside the floor the latency model
 * and the concurrency imply for the fewest calls that can carry the backfill. The emulator runs in a child process
 * (Salesforce is remote: its work must not take the engine's CPU), read back through `/__admin/state` and `/stats`.
 *
 *   node --conditions=@coexist/source scripts/bench/salesforce-backfill.bench.ts [--messages 50000] [--concurrency 25]
 *     [--mode collections|bulk] [--timeline]
 *
 * Goal: elapsed ≤ 1.2 × the floor. Prints a human summary and one JSON line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CoexistenceEvent, createSqliteStore, createSyncEngine, parseWebhook } from '@coexist/core';
import { createSalesforceAdapter } from '@coexist/salesforce';
import {
  type EmulatorStats,
  generateTraffic,
  type LatencyOptions,
  type SalesforceDuplicate,
  startSalesforceEmulator,
} from '@coexist/sandbox';

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index > 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`[coexist/bench] --${name} must be a positive integer`);
  return value;
}

const MESSAGES = argument('messages', 50_000);
const CONCURRENCY = argument('concurrency', 25);
/** About 1 s per 200-record Collections call, as crm-apis.md §5 assumes (the demo's model). */
const LATENCY = { baseMs: 150, jitterMs: 100, perRecordMs: 4 } satisfies LatencyOptions;
/** The emulator's default Bulk API 2.0 processing time per row. */
const BULK_MS_PER_ROW = 0.5;
const COLLECTION_SIZE = 200;
const BULK_BATCH = 10_000;
const BULK_THRESHOLD = 1_000;
const GOAL_RATIO = 1.2;

type Mode = 'collections' | 'bulk';

const modeIndex = process.argv.indexOf('--mode');
/** `--mode collections|bulk` runs one path; both by default. */
const MODES: readonly Mode[] =
  modeIndex > 0 ? [process.argv[modeIndex + 1] as Mode] : (['collections', 'bulk'] as const);
if (!MODES.every((mode) => mode === 'collections' || mode === 'bulk'))
  throw new Error('[coexist/bench] --mode must be collections or bulk');

interface RunFigures {
  mode: Mode;
  elapsedMs: number;
  /** CPU time of this process over the run (engine, store, adapter and the in-process emulator). */
  cpuMs: number;
  floorMs: number;
  floorArithmetic: string;
  ratio: number;
  /** The floor without the jitter's average (the figure of earlier rounds), and the ratio to it. */
  floorWithoutJitterMs: number;
  ratioWithoutJitter: number;
  messagesWritten: number;
  duplicates: number;
  conversations: number;
  people: number;
  requests: number;
  requestsByKind: Record<string, number>;
  bulkJobs: number;
  deadLetters: number;
  /** The most requests the emulator had in flight at once (the floor assumes at most `CONCURRENCY`). */
  peakInFlight: number;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Generates the history and parses it up front: the benchmark measures the sync, not the generator. */
function prepare(): { rawBody: string; events: CoexistenceEvent[] }[] {
  const payloads = [];
  for (const payload of generateTraffic({
    messages: MESSAGES,
    liveMessages: 0,
    numbers: 1,
    seed: 1,
    accountEvents: false,
  })) {
    payloads.push({ rawBody: payload.body, events: parseWebhook(JSON.parse(payload.body)) });
  }
  return payloads;
}

/**
 * The least time the latency model allows for the fewest calls that carry the backfill, `CONCURRENCY` in parallel:
 * people found (SOQL on Contact and Lead, one SOSL) and created 200 per call, conversations upserted 200 per call,
 * and messages either upserted 200 per Collections call or loaded as Bulk jobs of 10,000 rows processed in parallel.
 * Every call costs what the latency model charges on average: `baseMs` + `jitterMs` / 2 (the jitter is uniform in
 * [0, jitterMs]) + `perRecordMs` per record written. `withoutJitter` leaves the jitter out, as the floor did until
 * round 5 (docs/salesforce.md gives both).
 */
function floorOf(
  mode: Mode,
  counts: { messages: number; conversations: number; people: number },
  { withoutJitter = false } = {},
) {
  const { baseMs, perRecordMs, jitterMs } = LATENCY;
  const jitter = withoutJitter ? 0 : jitterMs / 2;
  const callMs = baseMs + jitter;
  const call = withoutJitter ? `${baseMs} ms` : `(${baseMs} + ${jitter} jitter) ms`;
  const fullCall = callMs + COLLECTION_SIZE * perRecordMs;
  const peopleRounds = Math.ceil(counts.people / COLLECTION_SIZE);
  const conversationCalls = Math.ceil(counts.conversations / COLLECTION_SIZE);
  // Finding: 3 small calls per 200 people; creating: one full call per 200 people.
  const peopleMs = peopleRounds * 3 * callMs + counts.people * perRecordMs + peopleRounds * callMs;
  const conversationMs = conversationCalls * callMs + counts.conversations * perRecordMs;
  const parts = [
    `people: ${peopleRounds} × (3 finds + 1 create) × ${call} + ${counts.people} records × ${perRecordMs} ms = ${seconds(peopleMs)}`,
    `conversations: ${conversationCalls} calls × ${call} + ${counts.conversations} records × ${perRecordMs} ms = ${seconds(conversationMs)}`,
  ];
  if (mode === 'collections') {
    const messageCalls = Math.ceil(counts.messages / COLLECTION_SIZE);
    const messageMs = messageCalls * fullCall;
    const workMs = peopleMs + conversationMs + messageMs;
    const floorMs = workMs / CONCURRENCY;
    parts.push(
      `messages: ${messageCalls} calls × (${withoutJitter ? baseMs : `${baseMs} + ${jitter}`} + ${COLLECTION_SIZE} × ${perRecordMs}) ms = ${seconds(messageMs)}`,
    );
    return {
      floorMs: Math.round(floorMs),
      arithmetic: `(${parts.join('; ')}) = ${seconds(workMs)} of calls ÷ ${CONCURRENCY} in parallel = ${seconds(floorMs)}`,
    };
  }
  const jobs = Math.ceil(counts.messages / BULK_BATCH);
  const rowsPerJob = Math.min(BULK_BATCH, counts.messages);
  // A job: create, upload, close, then processing; results read after. Jobs run side by side (jobs ≤ concurrency).
  const jobMs = 5 * callMs + rowsPerJob * BULK_MS_PER_ROW;
  const setupMs = (peopleMs + conversationMs) / CONCURRENCY;
  const floorMs = setupMs + jobMs;
  parts.push(
    `messages: ${jobs} Bulk jobs side by side, each 5 calls × ${call} + ${rowsPerJob} rows × ${BULK_MS_PER_ROW} ms = ${seconds(jobMs)}`,
  );
  return {
    floorMs: Math.round(floorMs),
    arithmetic: `people and conversations ${seconds(setupMs)} (÷ ${CONCURRENCY} in parallel) + one Bulk job ${seconds(jobMs)} = ${seconds(floorMs)} (${parts.join('; ')})`,
  };
}

function kindOf(route: string): string {
  if (route.includes('jobs/ingest')) return 'bulk';
  if (route.endsWith('/composite')) return 'composite';
  if (route.includes('composite/sobjects')) return 'collections';
  if (route.endsWith('/search')) return 'sosl';
  if (route.includes('/query')) return 'soql';
  return 'other';
}

/** The parts of the emulator's state the benchmark reads (`GET /__admin/state`). */
interface EmulatorSnapshot {
  accessToken?: string;
  counts: Record<string, number>;
  duplicateMessageIds: SalesforceDuplicate[];
  bulk2Jobs: unknown[];
}

/** Starts the emulator in a child process (this script with `--emulator-child`); its URL and token come on stdout. */
async function startEmulatorChild(): Promise<{
  child: ChildProcess;
  url: string;
  accessToken: string;
  peakInFlight: () => number;
}> {
  const child = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2), '--emulator-child'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let peak = 0;
  const [url, accessToken] = await new Promise<[string, string]>((resolve, reject) => {
    let output = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      output += chunk;
      const line = /^(http:\/\/\S+) (\S+)\n/.exec(output);
      if (line) resolve([line[1]!, line[2]!]);
      // `peak N` lines: the most requests the emulator had in flight at once so far.
      for (const match of output.matchAll(/^peak (\d+)$/gm)) peak = Math.max(peak, Number(match[1]));
      output = output.slice(output.lastIndexOf('\n') + 1);
    });
    child.once('exit', (code) => reject(new Error(`[coexist/bench] the emulator child exited (${code})`)));
  });
  return { child, url, accessToken, peakInFlight: () => peak };
}

async function admin<T>(url: string, path: string): Promise<T> {
  const response = await fetch(`${url}/__admin/${path}`);
  if (response.status !== 200) throw new Error(`[coexist/bench] /__admin/${path} answered ${response.status}`);
  return (await response.json()) as T;
}

async function run(mode: Mode, payloads: readonly { rawBody: string; events: CoexistenceEvent[] }[]) {
  const emulator = await startEmulatorChild();
  const phoneNumberId = payloads.flatMap((payload) => payload.events).find((event) => event.phoneNumberId)!
    .phoneNumberId!;
  const adapter = createSalesforceAdapter({
    instanceUrl: emulator.url,
    accessToken: emulator.accessToken,
    defaultCountry: 'US',
    maxConcurrency: CONCURRENCY,
    ...(mode === 'bulk'
      ? { bulkThreshold: BULK_THRESHOLD, bulkMaxBatchSize: BULK_BATCH, bulkPollIntervalMs: 100 }
      : {}),
  });
  // `--calls`: per adapter operation, the calls, items and seconds spent in them (the engine's view of its slots).
  const calls = new Map<string, { calls: number; items: number; ms: number }>();
  const sizes: [number, number][] = [];
  const runStarted = performance.now();
  if (process.argv.includes('--calls')) {
    const timed = adapter as unknown as Record<string, (items: unknown[], context: unknown) => Promise<unknown>>;
    for (const name of [
      'findContacts',
      'createContacts',
      'upsertContacts',
      'writeMessages',
      'updateMessages',
      'prepareConversations',
    ]) {
      const original = timed[name];
      if (typeof original !== 'function') continue;
      timed[name] = async (items, context) => {
        const at = performance.now();
        try {
          return await original(items, context);
        } finally {
          const entry = calls.get(name) ?? { calls: 0, items: 0, ms: 0 };
          entry.calls++;
          entry.items += items.length;
          entry.ms += performance.now() - at;
          calls.set(name, entry);
          if (name === 'writeMessages') sizes.push([Math.floor((at - runStarted) / 1000), items.length]);
          // `COEXIST_BENCH_TRACE=from-to` (seconds): every call starting in that window, with its items and span.
          const [traceFrom = 0, traceTo = 0] = (process.env.COEXIST_BENCH_TRACE ?? '').split('-').map(Number);
          if ((at - runStarted) / 1000 >= traceFrom && (at - runStarted) / 1000 < traceTo)
            console.error(
              `    ${name} ${items.length} ${((at - runStarted) / 1000).toFixed(2)}–${((performance.now() - runStarted) / 1000).toFixed(2)}`,
            );
        }
      };
    }
  }
  // The embedded default store, as `coexist serve` runs it.
  const directory = mkdtempSync(join(process.env.COEXIST_BENCH_DIR ?? tmpdir(), 'coexist-salesforce-bench-'));
  const store = createSqliteStore({ path: join(directory, 'coexist.db') });
  const engine = createSyncEngine({
    store,
    connections: [{ id: `bench-${mode}`, adapter, phoneNumberIds: [phoneNumberId] }],
  });
  try {
    const started = performance.now();
    const cpuAtStart = process.cpuUsage();
    for (const payload of payloads) {
      await engine.ingest(payload.events, { rawBody: payload.rawBody });
      // Each webhook is its own HTTP request under `coexist serve`: the engine's calls and answers run between them.
      if (!process.argv.includes('--no-yield')) await new Promise((resolve) => setImmediate(resolve));
    }
    if (process.argv.includes('--timeline'))
      process.stderr.write(`  ingested ${payloads.length} payloads in ${seconds(performance.now() - started)}\n`);
    await engine.drain({ timeoutMs: 1_800_000 });
    const elapsedMs = Math.round(performance.now() - started);
    const cpu = process.cpuUsage(cpuAtStart);
    const cpuMs = Math.round((cpu.user + cpu.system) / 1000);
    const status = await engine.status();
    // The child reports its peak every 100 ms.
    await new Promise((resolve) => setTimeout(resolve, 250));
    const snapshot = await admin<EmulatorSnapshot>(emulator.url, 'state');
    const stats = await admin<EmulatorStats>(emulator.url, 'stats');
    const counts = {
      messages: snapshot.counts.WhatsApp_Message__c ?? 0,
      conversations: snapshot.counts.WhatsApp_Conversation__c ?? 0,
      people: (snapshot.counts.Contact ?? 0) + (snapshot.counts.Lead ?? 0),
    };
    const duplicates = snapshot.duplicateMessageIds.reduce((sum, duplicate) => sum + duplicate.ids.length - 1, 0);
    if (process.env.COEXIST_BENCH_ROUTES) console.error(stats.byRoute);
    if (sizes.length > 0) {
      const perSecond = new Map<number, number[]>();
      for (const [second, size] of sizes) perSecond.set(second, [...(perSecond.get(second) ?? []), size]);
      console.error(
        `  writeMessages per second (calls/avg size): ${[...perSecond]
          .map(
            ([second, list]) =>
              `${second}s ${list.length}/${Math.round(list.reduce((a, b) => a + b, 0) / list.length)}`,
          )
          .join(', ')}`,
      );
    }
    for (const [name, entry] of calls) {
      console.error(
        `  ${name}: ${entry.calls} calls, ${entry.items} items, ${seconds(entry.ms)} in calls (${Math.round(entry.ms / entry.calls)} ms each)`,
      );
    }
    const requestsByKind: Record<string, number> = {};
    for (const [route, count] of Object.entries(stats.byRoute)) {
      requestsByKind[kindOf(route)] = (requestsByKind[kindOf(route)] ?? 0) + count;
    }
    const floor = floorOf(mode, counts);
    const floorWithoutJitterMs = floorOf(mode, counts, { withoutJitter: true }).floorMs;
    return {
      mode,
      elapsedMs,
      cpuMs,
      floorMs: floor.floorMs,
      floorArithmetic: floor.arithmetic,
      ratio: Math.round((elapsedMs / floor.floorMs) * 100) / 100,
      floorWithoutJitterMs,
      ratioWithoutJitter: Math.round((elapsedMs / floorWithoutJitterMs) * 100) / 100,
      messagesWritten: counts.messages - duplicates,
      duplicates,
      conversations: counts.conversations,
      people: counts.people,
      requests: stats.requests,
      requestsByKind,
      bulkJobs: snapshot.bulk2Jobs.length,
      deadLetters: status.deadLetters,
      peakInFlight: emulator.peakInFlight(),
    } satisfies RunFigures;
  } finally {
    await engine.stop();
    await store.close();
    emulator.child.stdin!.end();
    await new Promise((resolve) => emulator.child.once('exit', resolve));
    rmSync(directory, { recursive: true, force: true });
  }
}

// The child: the emulator alone in its process, its URL and token on stdout, until the parent closes stdin.
if (process.argv.includes('--emulator-child')) {
  const emulator = await startSalesforceEmulator({ latency: LATENCY, bulkProcessingMsPerRecord: BULK_MS_PER_ROW });
  process.stdout.write(`${emulator.url} ${emulator.accessToken}\n`);
  let peak = 0;
  setInterval(() => {
    if (emulator.limits.peakInFlight === peak) return;
    peak = emulator.limits.peakInFlight;
    process.stdout.write(`peak ${peak}\n`);
  }, 100).unref();
  if (process.argv.includes('--timeline')) {
    // `--timeline`: every half second, the requests in flight and the records so far (on stderr).
    const started = performance.now();
    setInterval(() => {
      const counts = emulator.state.counts();
      process.stderr.write(
        `  t=${((performance.now() - started) / 1000).toFixed(1)}s in flight ${emulator.limits.inFlight}, ` +
          `messages ${counts.WhatsApp_Message__c ?? 0}, conversations ${counts.WhatsApp_Conversation__c ?? 0}, ` +
          `people ${(counts.Contact ?? 0) + (counts.Lead ?? 0)}, emulator CPU ${(process.cpuUsage().user / 1e6).toFixed(1)} s\n`,
      );
    }, 500).unref();
  }
  process.stdin.resume();
  process.stdin.on('end', () => void emulator.close().then(() => process.exit(0)));
} else {
  await main();
}

async function main(): Promise<void> {
  const payloads = prepare();
  const results: RunFigures[] = [];
  for (const mode of MODES) results.push(await run(mode, payloads));

  console.log(
    `salesforce backfill: ${MESSAGES.toLocaleString('en-US')} messages, latency ${LATENCY.baseMs} ms + 0–${LATENCY.jitterMs} ms jitter + ${LATENCY.perRecordMs} ms/record, ${CONCURRENCY} requests in parallel`,
  );
  for (const result of results) {
    const verdict = result.ratio <= GOAL_RATIO ? 'meets' : 'misses';
    console.log(
      `  ${result.mode}: ${result.messagesWritten.toLocaleString('en-US')} messages (${result.duplicates} duplicates, ${result.deadLetters} dead letters) in ${seconds(result.elapsedMs)} (CPU ${seconds(result.cpuMs)}); ` +
        `floor ${seconds(result.floorMs)} → ${result.ratio}× (${verdict} the ${GOAL_RATIO}× goal); ` +
        `without the jitter's average ${seconds(result.floorWithoutJitterMs)} → ${result.ratioWithoutJitter}×`,
    );
    console.log(
      `    ${result.requests} requests (${Object.entries(result.requestsByKind)
        .map(([kind, count]) => `${kind} ${count}`)
        .join(
          ', ',
        )}); ${result.bulkJobs} Bulk jobs; ${result.conversations} conversations, ${result.people} people; at most ${result.peakInFlight} requests in flight`,
    );
    console.log(`    floor = ${result.floorArithmetic}`);
  }
  console.log(
    JSON.stringify({
      benchmark: 'salesforce-backfill',
      node: process.version,
      messages: MESSAGES,
      concurrency: CONCURRENCY,
      latency: LATENCY,
      results,
    }),
  );
}
