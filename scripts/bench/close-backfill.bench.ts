/**
 * Benchmark of a Close backfill (not a test): a generated Coexistence history (20,000 messages by default) through
 * the sync engine (SQLite store) and the real Close adapter (axios over HTTP) into the Close emulator. Close takes one
 * POST per message and limits each endpoint group on its own, so the floor is the busiest group's requests divided by
 * its allowed rate — for a backfill, `messages ÷ the activity POST rate`.
 *
 *   node --conditions=@coexist/source scripts/bench/close-backfill.bench.ts [--messages 20000] [--speedup 10]
 *     [--concurrency 8] [--latency-ms 0] [--timeline]
 *
 * The emulator runs Close's example limits (20 requests/s per endpoint group, search 16/s, the organization at 3×)
 * multiplied by `--speedup` so the run stays short; the shape of the limits is unchanged. It runs in a child process,
 * as Close is remote: its work must not share the engine's event loop. Goal: elapsed ≤ 1.1 × the floor with 429s
 * under 1% of requests. Prints a human summary (with `--timeline`, activity POSTs and leads per second) and one
 * JSON line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLOSE_ENDPOINT_GROUPS, createCloseAdapter } from '@coexist/close';
import { type CoexistenceEvent, createSqliteStore, createSyncEngine, parseWebhook } from '@coexist/core';
import { type EmulatorStats, generateTraffic, startCloseEmulator } from '@coexist/sandbox';
import { type CloseGroupLoad, closeDemoLimits, closeFloor } from '../../packages/cli/src/demo/close-demo-target.ts';

function argument(name: string, fallback: number, minimum = 1): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index > 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isFinite(value) || value < minimum) {
    throw new Error(`[coexist/bench] --${name} must be a number ≥ ${minimum}`);
  }
  return value;
}

const MESSAGES = Math.round(argument('messages', 20_000));
const SPEEDUP = argument('speedup', 10, 0.05);
const CONCURRENCY = Math.round(argument('concurrency', 8));
const LATENCY_MS = argument('latency-ms', 0, 0);
const GOAL_RATIO = 1.1;
const GOAL_RATE_LIMITED_SHARE = 0.01;
const API_KEY = 'api_bench_close_key';
const limits = closeDemoLimits(SPEEDUP);

// The child: the emulator alone in its process, its URL on stdout, until the parent closes stdin.
if (process.argv.includes('--emulator-child')) {
  const emulator = await startCloseEmulator({
    apiKeys: [API_KEY],
    limits,
    ...(LATENCY_MS > 0 ? { latency: { baseMs: LATENCY_MS } } : {}),
  });
  process.stdout.write(`${emulator.url}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void emulator.close().then(() => process.exit(0)));
} else {
  await main();
}

/** The parts of the emulator's state the benchmark reads (`GET /__admin/state`). */
interface EmulatorSnapshot {
  leads: { date_created: string }[];
  activities: { external_whatsapp_message_id: string; date_created: string }[];
  duplicates: { activityIds: string[] }[];
}

async function startEmulatorChild(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2), '--emulator-child'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      output += chunk;
      const line = /^(http:\/\/\S+)\n/.exec(output);
      if (line) resolve(line[1]!);
    });
    child.once('exit', (code) => reject(new Error(`[coexist/bench] the emulator child exited (${code})`)));
  });
  return { child, url };
}

async function admin<T>(url: string, path: string): Promise<T> {
  const response = await fetch(`${url}/__admin/${path}`);
  if (response.status !== 200) throw new Error(`[coexist/bench] /__admin/${path} answered ${response.status}`);
  return (await response.json()) as T;
}

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

/** `POST /api/v1/lead/:id/` → `POST /lead/{id}/`. */
function groupOf(route: string): string | undefined {
  const match = /^([A-Z]+) \/api\/v1(\/.*)$/.exec(route);
  return match === null ? undefined : `${match[1]} ${match[2]!.replace(/:(\w+)/g, '{$1}')}`;
}

/** Counts per whole second from `first` to `last`, space-separated. */
function perSecondLine(stamps: readonly string[], first: number, last: number): string {
  const counts = new Map<number, number>();
  for (const stamp of stamps) {
    const second = Math.floor(Date.parse(stamp) / 1000);
    counts.set(second, (counts.get(second) ?? 0) + 1);
  }
  const values: number[] = [];
  for (let second = first; second <= last; second++) values.push(counts.get(second) ?? 0);
  return values.join(' ');
}

async function main(): Promise<void> {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const number = (value: number) => value.toLocaleString('en-US');
  const payloads = prepare();
  const phoneNumberId = payloads.flatMap((payload) => payload.events).find((event) => event.phoneNumberId)!
    .phoneNumberId!;
  const { child, url } = await startEmulatorChild();
  const directory = mkdtempSync(join(process.env.COEXIST_BENCH_DIR ?? tmpdir(), 'coexist-close-bench-'));
  const store = createSqliteStore({ path: join(directory, 'coexist.db') });
  const adapter = createCloseAdapter({
    apiKey: API_KEY,
    baseUrl: `${url}/api/v1`,
    organizationId: 'orga_emulator',
    maxConcurrency: CONCURRENCY,
  });
  const engine = createSyncEngine({
    store,
    connections: [{ id: 'bench-close', adapter, phoneNumberIds: [phoneNumberId] }],
  });

  // How often the activity POST bucket sat paused by Close's own signals (sampled): where pacing could lose time.
  let pausedSamples = 0;
  let samples = 0;
  const sampler = setInterval(() => {
    void engine.status().then((status) => {
      const bucket = status.connections[0]?.rateLimits.find(
        (entry) => entry.name === CLOSE_ENDPOINT_GROUPS.createActivity,
      );
      samples++;
      if (bucket?.pausedUntil != null) pausedSamples++;
    });
  }, 100);

  const startedAt = Date.now();
  const cpuAtStart = process.cpuUsage();
  let elapsedMs: number;
  let engineCpuShare: number;
  let deadLetters: number;
  let stats: EmulatorStats;
  let snapshot: EmulatorSnapshot;
  try {
    const started = performance.now();
    for (const payload of payloads) await engine.ingest(payload.events, { rawBody: payload.rawBody });
    await engine.drain({ timeoutMs: 3_600_000 });
    elapsedMs = Math.round(performance.now() - started);
    const cpu = process.cpuUsage(cpuAtStart);
    engineCpuShare = (cpu.user + cpu.system) / 1000 / elapsedMs;
    deadLetters = (await engine.status()).deadLetters;
    clearInterval(sampler);
    stats = await admin<EmulatorStats>(url, 'stats');
    snapshot = await admin<EmulatorSnapshot>(url, 'state');
  } finally {
    clearInterval(sampler);
    await engine.stop();
    await store.close();
    rmSync(directory, { recursive: true, force: true });
    child.stdin!.end();
  }

  const loads: CloseGroupLoad[] = [];
  const requestsByGroup: Record<string, number> = {};
  const rateLimitedByGroup: Record<string, number> = {};
  for (const [route, count] of Object.entries(stats.byRoute)) {
    const group = groupOf(route);
    if (group === undefined) continue;
    const refused = stats.byTag[`rate-limited:${group}`] ?? 0;
    requestsByGroup[group] = count;
    if (refused > 0) rateLimitedByGroup[group] = refused;
    const rule = limits.groups[group] ?? limits.default;
    loads.push({ group, requests: count - refused, perSecond: (rule.limit * 1_000) / rule.windowMs });
  }
  const floor = closeFloor(loads);
  const rateLimited = stats.byTag['rate-limited'] ?? 0;
  const distinct = new Set(snapshot.activities.map((activity) => activity.external_whatsapp_message_id));
  const duplicates = snapshot.duplicates.reduce((total, group) => total + group.activityIds.length - 1, 0);
  const activityStamps = snapshot.activities.map((activity) => activity.date_created);
  const firstActivityMs = Math.min(...activityStamps.map((stamp) => Date.parse(stamp))) - startedAt;
  const lastSecond = Math.floor(Math.max(...activityStamps.map((stamp) => Date.parse(stamp))) / 1000);
  const ratio = floor.floorMs > 0 ? Math.round((elapsedMs / floor.floorMs) * 100) / 100 : 0;
  const rateLimitedShare = stats.requests > 0 ? rateLimited / stats.requests : 0;
  const meets = ratio <= GOAL_RATIO && rateLimitedShare < GOAL_RATE_LIMITED_SHARE;
  const activityLimit = (limits.groups[CLOSE_ENDPOINT_GROUPS.createActivity] ?? limits.default).limit;
  const pausedShare = samples > 0 ? pausedSamples / samples : 0;
  // The message phase alone: from the first activity to the end, against the activity POSTs' own floor.
  const messagePhaseMs = elapsedMs - firstActivityMs;
  const messageFloorMs = (distinct.size / activityLimit) * 1000;

  if (process.argv.includes('--timeline')) {
    const first = Math.floor(startedAt / 1000);
    console.log(`activity POSTs per second from the start: ${perSecondLine(activityStamps, first, lastSecond)}`);
    console.log(
      `leads created per second from the start:  ${perSecondLine(
        snapshot.leads.map((lead) => lead.date_created),
        first,
        lastSecond,
      )}`,
    );
  }
  console.log(
    `close backfill: ${number(MESSAGES)} messages, Close's example limits × ${SPEEDUP} (activity POSTs ${activityLimit}/s), ` +
      `${CONCURRENCY} calls in flight, ${LATENCY_MS} ms emulator latency, emulator in its own process`,
  );
  console.log(
    `  ${number(distinct.size)} messages in Close (${duplicates} duplicates, ${deadLetters} dead letters), ` +
      `${number(snapshot.leads.length)} leads, in ${seconds(elapsedMs)}`,
  );
  console.log(`  floor ${seconds(floor.floorMs)} = ${floor.arithmetic}`);
  console.log(
    `  ${ratio}× the floor; ${number(rateLimited)} of ${number(stats.requests)} requests rate-limited ` +
      `(${(rateLimitedShare * 100).toFixed(2)}%) → ${meets ? 'meets' : 'misses'} the goal (≤ ${GOAL_RATIO}×, < 1% 429s)`,
  );
  console.log(
    `  first activity after ${seconds(firstActivityMs)} (contacts first); messages then took ${seconds(messagePhaseMs)} ` +
      `for a ${seconds(messageFloorMs)} floor (${(messagePhaseMs / messageFloorMs).toFixed(2)}×); ` +
      `POST bucket paused by Close's signals in ${(pausedShare * 100).toFixed(0)}% of samples; engine process CPU ${(engineCpuShare * 100).toFixed(0)}%`,
  );
  console.log(
    `  requests by group: ${Object.entries(requestsByGroup)
      .sort((left, right) => right[1] - left[1])
      .map(([group, count]) => `${group} ${number(count)}`)
      .join(', ')}`,
  );
  console.log(
    JSON.stringify({
      benchmark: 'close-backfill',
      node: process.version,
      messages: MESSAGES,
      speedup: SPEEDUP,
      concurrency: CONCURRENCY,
      latencyMs: LATENCY_MS,
      activityPostsPerSecondAllowed: activityLimit,
      elapsedMs,
      floorMs: floor.floorMs,
      floorArithmetic: floor.arithmetic,
      ratio,
      messagesWritten: distinct.size,
      duplicates,
      deadLetters,
      leads: snapshot.leads.length,
      requests: stats.requests,
      rateLimited,
      rateLimitedShare: Math.round(rateLimitedShare * 10_000) / 10_000,
      rateLimitedByGroup,
      requestsByGroup,
      firstActivityMs,
      messagePhaseMs,
      messagePhaseFloorMs: Math.round(messageFloorMs),
      postBucketPausedShare: Math.round(pausedShare * 100) / 100,
      engineCpuShare: Math.round(engineCpuShare * 100) / 100,
      meetsGoal: meets,
    }),
  );
}
