/**
 * Benchmark of a Salesforce backfill (not a test): a 50,000-message generated Coexistence history through the sync
 * engine and the real Salesforce adapter (jsforce over HTTP) into the Salesforce emulator, whose latency model makes
 * every call cost `baseMs + jitter + perRecordMs × records`. Run twice: sObject Collections only (200 per call), then
 * with `bulkThreshold` (large batches become Bulk API 2.0 jobs). Each run is set beside the floor the latency model
 * and the concurrency imply for the fewest calls that can carry the backfill.
 *
 *   node --conditions=@coexist/source scripts/bench/salesforce-backfill.bench.ts [--messages 50000] [--concurrency 25]
 *
 * Goal: elapsed ≤ 1.2 × the floor. Prints a human summary and one JSON line.
 */
import { type CoexistenceEvent, createMemoryStore, createSyncEngine, parseWebhook } from '@coexist/core';
import { createSalesforceAdapter } from '@coexist/salesforce';
import { generateTraffic, type LatencyOptions, startSalesforceEmulator } from '@coexist/sandbox';

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

interface RunFigures {
  mode: Mode;
  elapsedMs: number;
  floorMs: number;
  floorArithmetic: string;
  ratio: number;
  messagesWritten: number;
  duplicates: number;
  conversations: number;
  people: number;
  requests: number;
  requestsByKind: Record<string, number>;
  bulkJobs: number;
  deadLetters: number;
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
 */
function floorOf(mode: Mode, counts: { messages: number; conversations: number; people: number }) {
  const { baseMs, perRecordMs } = LATENCY;
  const fullCall = baseMs + COLLECTION_SIZE * perRecordMs;
  const peopleRounds = Math.ceil(counts.people / COLLECTION_SIZE);
  const conversationCalls = Math.ceil(counts.conversations / COLLECTION_SIZE);
  // Finding: 3 small calls per 200 people; creating: one full call per 200 people.
  const peopleMs = peopleRounds * 3 * baseMs + counts.people * perRecordMs + peopleRounds * baseMs;
  const conversationMs = conversationCalls * baseMs + counts.conversations * perRecordMs;
  const parts = [
    `people: ${peopleRounds} × (3 finds + 1 create) at ${baseMs} ms + ${counts.people} records × ${perRecordMs} ms`,
    `conversations: ${conversationCalls} calls × ${baseMs} ms + ${counts.conversations} records × ${perRecordMs} ms`,
  ];
  if (mode === 'collections') {
    const messageCalls = Math.ceil(counts.messages / COLLECTION_SIZE);
    const messageMs = messageCalls * fullCall;
    const workMs = peopleMs + conversationMs + messageMs;
    const floorMs = workMs / CONCURRENCY;
    parts.push(
      `messages: ${messageCalls} calls × (${baseMs} + ${COLLECTION_SIZE} × ${perRecordMs}) ms = ${seconds(messageMs)}`,
    );
    return {
      floorMs: Math.round(floorMs),
      arithmetic: `(${parts.join('; ')}) = ${seconds(workMs)} of calls ÷ ${CONCURRENCY} in parallel = ${seconds(floorMs)}`,
    };
  }
  const jobs = Math.ceil(counts.messages / BULK_BATCH);
  const rowsPerJob = Math.min(BULK_BATCH, counts.messages);
  // A job: create, upload, close, then processing; results read after. Jobs run side by side (jobs ≤ concurrency).
  const jobMs = 5 * baseMs + rowsPerJob * BULK_MS_PER_ROW;
  const setupMs = (peopleMs + conversationMs) / CONCURRENCY;
  const floorMs = setupMs + jobMs;
  parts.push(
    `messages: ${jobs} Bulk jobs side by side, each 5 calls × ${baseMs} ms + ${rowsPerJob} rows × ${BULK_MS_PER_ROW} ms = ${seconds(jobMs)}`,
  );
  return {
    floorMs: Math.round(floorMs),
    arithmetic: `people and conversations ${seconds(setupMs)} (÷ ${CONCURRENCY} in parallel) + one Bulk job ${seconds(jobMs)} = ${seconds(floorMs)} (${parts.join('; ')})`,
  };
}

function kindOf(route: string): string {
  if (route.includes('jobs/ingest')) return 'bulk';
  if (route.includes('composite/sobjects')) return 'collections';
  if (route.endsWith('/search')) return 'sosl';
  if (route.includes('/query')) return 'soql';
  return 'other';
}

async function run(mode: Mode, payloads: readonly { rawBody: string; events: CoexistenceEvent[] }[]) {
  const emulator = await startSalesforceEmulator({ latency: LATENCY, bulkProcessingMsPerRecord: BULK_MS_PER_ROW });
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
  const store = createMemoryStore();
  const engine = createSyncEngine({
    store,
    connections: [{ id: `bench-${mode}`, adapter, phoneNumberIds: [phoneNumberId] }],
  });
  try {
    const started = performance.now();
    for (const payload of payloads) await engine.ingest(payload.events, { rawBody: payload.rawBody });
    await engine.drain({ timeoutMs: 1_800_000 });
    const elapsedMs = Math.round(performance.now() - started);
    const status = await engine.status();
    const state = emulator.state;
    const distinct = new Set(state.records('WhatsApp_Message__c').map((record) => String(record.Message_Id__c)));
    const counts = {
      messages: state.count('WhatsApp_Message__c'),
      conversations: state.count('WhatsApp_Conversation__c'),
      people: state.count('Contact') + state.count('Lead'),
    };
    const requestsByKind: Record<string, number> = {};
    for (const [route, count] of Object.entries(emulator.stats.byRoute)) {
      requestsByKind[kindOf(route)] = (requestsByKind[kindOf(route)] ?? 0) + count;
    }
    const floor = floorOf(mode, counts);
    return {
      mode,
      elapsedMs,
      floorMs: floor.floorMs,
      floorArithmetic: floor.arithmetic,
      ratio: Math.round((elapsedMs / floor.floorMs) * 100) / 100,
      messagesWritten: distinct.size,
      duplicates: counts.messages - distinct.size,
      conversations: counts.conversations,
      people: counts.people,
      requests: emulator.stats.requests,
      requestsByKind,
      bulkJobs: emulator.bulk2.summary().length,
      deadLetters: status.deadLetters,
    } satisfies RunFigures;
  } finally {
    await engine.stop();
    await store.close();
    await emulator.close();
  }
}

const payloads = prepare();
const results: RunFigures[] = [];
for (const mode of ['collections', 'bulk'] as const) results.push(await run(mode, payloads));

console.log(
  `salesforce backfill: ${MESSAGES.toLocaleString('en-US')} messages, latency ${LATENCY.baseMs} ms + 0–${LATENCY.jitterMs} ms jitter + ${LATENCY.perRecordMs} ms/record, ${CONCURRENCY} requests in parallel`,
);
for (const result of results) {
  const verdict = result.ratio <= GOAL_RATIO ? 'meets' : 'misses';
  console.log(
    `  ${result.mode}: ${result.messagesWritten.toLocaleString('en-US')} messages (${result.duplicates} duplicates, ${result.deadLetters} dead letters) in ${seconds(result.elapsedMs)}; ` +
      `floor ${seconds(result.floorMs)} → ${result.ratio}× (${verdict} the ${GOAL_RATIO}× goal)`,
  );
  console.log(
    `    ${result.requests} requests (${Object.entries(result.requestsByKind)
      .map(([kind, count]) => `${kind} ${count}`)
      .join(', ')}); ${result.bulkJobs} Bulk jobs; ${result.conversations} conversations, ${result.people} people`,
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
