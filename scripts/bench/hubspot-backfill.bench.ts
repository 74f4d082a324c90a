/**
 * Benchmark of a HubSpot backfill (not a test): a generated 50,000-message Coexistence onboarding (2 numbers,
 * realistic contacts, a quarter of them already in HubSpot under other phone formats) delivered signed, as Meta
 * would, to `coexist serve` (in process), which syncs it with the real HubSpot adapter into the Pro-tier HubSpot
 * emulator. While the backfill runs, live inbound messages (`messages` webhooks) arrive at a steady rate; the time
 * from each webhook POST to its communication existing in the emulator is measured by watching the emulator's
 * state in process.
 *
 *   node --conditions=@coexist/source scripts/bench/hubspot-backfill.bench.ts [--messages 50000] [--numbers 2]
 *     [--live-per-second 2] [--seed 1] [--tier pro]
 *
 * Reports elapsed time against the floor the documented limits imply (crm-apis.md §2.4, §2.5, §5: 190 requests
 * per rolling 10 s on Pro for everything but search; search 5 per second, a bucket of its own), with the
 * arithmetic, for the requests actually made and for the least request count; 429s as a share of requests; live
 * latency p50/p95. Goals: elapsed ≤ 1.2× the floor, 429s < 1%, live p95 ≤ 5 s. Prints a summary and one JSON line.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { signWebhookBody } from '@coexist/core';
import {
  deliverTraffic,
  generateTraffic,
  HUBSPOT_TEN_SECONDLY_LIMITS,
  type HubSpotTier,
  SeededRandom,
} from '@coexist/sandbox';
import { createHubSpotDemoTarget } from '../../packages/cli/src/demo/hubspot-demo-target.ts';
import { pickExistingContacts } from '../../packages/cli/src/demo/seed-existing-contacts.ts';
import type { CoexistConfig } from '../../packages/cli/src/serve/coexist-config.ts';
import { startCoexistServer } from '../../packages/cli/src/serve/create-coexist-server.ts';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 && process.argv[index + 1] !== undefined ? process.argv[index + 1]! : fallback;
}

const MESSAGES = Number(option('messages', '50000'));
const NUMBERS = Number(option('numbers', '2'));
const LIVE_PER_SECOND = Number(option('live-per-second', '2'));
const SEED = option('seed', '1');
const TIER = option('tier', 'pro') as HubSpotTier;
const APP_SECRET = 'bench-app-secret';
/** HubSpot CRM search: 5 requests per second per account (crm-apis.md §2.4 [secondary]). */
const SEARCH_PER_SECOND = 5;
/** Records per batch call (crm-apis.md §2.2). */
const BATCH_SIZE = 100;
/** Phones per contact search with the adapter's default packing (`searchInValues` 100 / 5). */
const PHONES_PER_SEARCH = 20;
const GOALS = { floorRatio: 1.2, rateLimitedShare: 0.01, liveP95Ms: 5_000 };

function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? Number.NaN;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

// 1. Traffic: a pure backfill (contact sync + six months of history); live messages are injected separately.
const traffic = generateTraffic({
  numbers: NUMBERS,
  messages: MESSAGES,
  liveMessages: 0,
  accountEvents: false,
  seed: SEED,
});
const manifest = traffic.manifest();
const payloads = [...traffic];
const phoneNumberIds = traffic.plan.numbers.map((number) => number.phoneNumberId);
const businessPhones = traffic.plan.numbers.map((number) => `+${number.display.digits}`);

// 2. The demo's pieces: the HubSpot emulator at the tier, contacts that already exist under other formats.
const target = createHubSpotDemoTarget({ tier: TIER, seed: SEED });
await target.start();
const existing = pickExistingContacts(traffic.plan);
target.seedExistingContacts(existing);
const emulator = target.emulator;

// 3. Watch the emulator's state: when does each communication come into existence?
const liveSentAt = new Map<string, number>();
const liveLatencies: number[] = [];
let backfillWritten = 0;
let lastBackfillWriteAt = 0;
const communications = emulator.state.communications;
const originalSet = communications.set.bind(communications);
communications.set = (id, record) => {
  const key = record.properties.coexist_message_id;
  if (key !== undefined && !communications.has(id)) {
    const sentAt = liveSentAt.get(key);
    if (sentAt !== undefined) {
      liveLatencies.push(performance.now() - sentAt);
      liveSentAt.delete(key);
    } else {
      backfillWritten++;
      lastBackfillWriteAt = performance.now();
    }
  }
  return originalSet(id, record);
};

const directory = await mkdtemp(join(tmpdir(), 'coexist-hubspot-bench-'));
const config: CoexistConfig = {
  port: 0,
  host: '127.0.0.1',
  webhookPath: '/webhooks/meta',
  store: { type: 'sqlite', path: join(directory, 'hubspot.db') },
  meta: { appSecret: APP_SECRET, verifyToken: 'bench-verify-token' },
  connections: [target.connection(phoneNumberIds, businessPhones)],
};
const server = await startCoexistServer(config);
const webhookUrl = `${server.url}/webhooks/meta`;

// 4. Live inbound messages: customers with a visible phone write while the backfill runs.
const random = SeededRandom.from(SEED, 'live');
const writers = traffic.plan.numbers.flatMap((number) =>
  number.customers.filter((customer) => customer.phoneVisible).map((customer) => ({ number, customer })),
);
let liveSent = 0;
let liveFailed = 0;
async function sendLiveMessage(): Promise<void> {
  const { number, customer } = writers[random.int(0, writers.length - 1)]!;
  const sequence = ++liveSent;
  const wamid = `wamid.HBgL${customer.phoneDigits}FQIAEhgUQkVOQ0hMSVZF${String(sequence).padStart(8, '0')}AA==`;
  const body = JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: number.wabaId,
        changes: [
          {
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: number.display.digits, phone_number_id: number.phoneNumberId },
              contacts: [{ profile: { name: customer.profileName }, wa_id: customer.phoneDigits }],
              messages: [
                {
                  from: customer.phoneDigits,
                  id: wamid,
                  timestamp: String(Math.floor(Date.now() / 1000)),
                  type: 'text',
                  text: { body: `Live question ${sequence} during the backfill` },
                },
              ],
            },
            field: 'messages',
          },
        ],
      },
    ],
  });
  liveSentAt.set(wamid, performance.now());
  const response = await fetch(webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signWebhookBody(body, APP_SECRET) },
    body,
  });
  await response.arrayBuffer();
  if (!response.ok) {
    liveFailed++;
    liveSentAt.delete(wamid);
  }
}

// 5. Run: deliver the backfill and the live messages, then wait until everything is in HubSpot.
const expectedBackfill = manifest.totals.messages;
const startedAt = performance.now();
const liveTimer = setInterval(() => {
  if (backfillWritten < expectedBackfill) void sendLiveMessage();
}, 1000 / LIVE_PER_SECOND);
const delivery = await deliverTraffic({
  payloads,
  url: webhookUrl,
  appSecret: APP_SECRET,
  duplicates: 0.02,
  concurrency: 2,
  seed: SEED,
});
const deliveredAt = performance.now();
await server.coexist.engine.drain({ timeoutMs: 1_800_000 });
while (backfillWritten < expectedBackfill && performance.now() - deliveredAt < 1_800_000) {
  await new Promise((resolve) => setTimeout(resolve, 50));
}
clearInterval(liveTimer);
await server.coexist.engine.drain({ timeoutMs: 120_000 });
const drainedAt = performance.now();
const elapsedMs = Math.max(lastBackfillWriteAt, drainedAt) - startedAt;

// 6. Figures, from the emulator (requests, 429s, records), not from our own bookkeeping.
const counts = target.count();
const stats = emulator.stats;
let searches = 0;
let otherRequests = 0;
const byRoute: Record<string, number> = {};
for (const [route, count] of Object.entries(stats.byRoute)) {
  byRoute[route] = count;
  if (route.endsWith('/search')) searches += count;
  else otherRequests += count;
}
const usage = emulator.usage();
const tenSecondly = HUBSPOT_TEN_SECONDLY_LIMITS[TIER];
// Requests refused with 429 did no work: the floor counts the answered ones.
const answeredOther = otherRequests - usage.rejected.tenSecondly - usage.rejected.daily;
const answeredSearches = searches - usage.rejected.search;
const burstFloorMs = (answeredOther / tenSecondly) * 10_000;
const searchFloorMs = (answeredSearches / SEARCH_PER_SECOND) * 1_000;
const floorMs = Math.max(burstFloorMs, searchFloorMs);

const messagesInCrm = counts.messagesWritten;
const contactsResolved = counts.contactsCreated + counts.contactsMatched;
const minimum = {
  communicationBatches: Math.ceil(messagesInCrm / BATCH_SIZE),
  contactBatches: Math.ceil(counts.contactsCreated / BATCH_SIZE),
  searches: Math.ceil(contactsResolved / PHONES_PER_SEARCH),
};
const minimumBurstMs = ((minimum.communicationBatches + minimum.contactBatches) / tenSecondly) * 10_000;
const minimumSearchMs = (minimum.searches / SEARCH_PER_SECOND) * 1_000;
const minimumFloorMs = Math.max(minimumBurstMs, minimumSearchMs);

const ratio = elapsedMs / floorMs;
const rateLimitedShare = counts.requests === 0 ? 0 : counts.rateLimited / counts.requests;
const liveP50 = percentile(liveLatencies, 0.5);
const liveP95 = percentile(liveLatencies, 0.95);
const status = await server.coexist.engine.status();

const floorArithmetic =
  `max(${answeredOther} requests ÷ ${tenSecondly} per 10 s = ${seconds(burstFloorMs)}, ` +
  `${answeredSearches} searches ÷ ${SEARCH_PER_SECOND}/s = ${seconds(searchFloorMs)}) = ${seconds(floorMs)}`;
const minimumArithmetic =
  `max((⌈${messagesInCrm}/100⌉ = ${minimum.communicationBatches} communication batches + ` +
  `⌈${counts.contactsCreated}/100⌉ = ${minimum.contactBatches} contact batches) ÷ ${tenSecondly} per 10 s = ` +
  `${seconds(minimumBurstMs)}, ⌈${contactsResolved}/${PHONES_PER_SEARCH}⌉ = ${minimum.searches} searches ÷ ` +
  `${SEARCH_PER_SECOND}/s = ${seconds(minimumSearchMs)}) = ${seconds(minimumFloorMs)}`;

const verdict = (met: boolean) => (met ? 'met' : 'NOT met');
console.log(
  `HubSpot backfill benchmark (${TIER}, ${NUMBERS} numbers, seed ${SEED}; load average ${loadavg()[0]!.toFixed(2)})`,
);
console.log(
  `  messages: ${messagesInCrm.toLocaleString('en-US')} in HubSpot of ${(expectedBackfill + liveSent - liveFailed).toLocaleString('en-US')} ` +
    `(${expectedBackfill.toLocaleString('en-US')} backfill + ${liveSent - liveFailed} live), ${counts.duplicates} duplicates, ` +
    `${status.deadLetters} dead-lettered`,
);
console.log(
  `  contacts: ${counts.contactsMatched} existing matched (seeded ${existing.length} in other formats), ${counts.contactsCreated} created`,
);
console.log(
  `  webhooks: ${delivery.payloads.toLocaleString('en-US')} payloads in ${delivery.requests.toLocaleString('en-US')} POSTs, delivered in ${seconds(deliveredAt - startedAt)}`,
);
console.log(`  requests: ${counts.requests.toLocaleString('en-US')} (${searches} searches); by route:`);
for (const [route, count] of Object.entries(byRoute).sort((a, b) => b[1] - a[1])) console.log(`    ${count}\t${route}`);
console.log(
  `  elapsed: ${seconds(elapsedMs)}; floor for the requests made: ${floorArithmetic}; ${ratio.toFixed(2)}× the floor — goal ≤ ${GOALS.floorRatio}×: ${verdict(ratio <= GOALS.floorRatio)}`,
);
console.log(`  least requests: ${minimumArithmetic}; elapsed is ${(elapsedMs / minimumFloorMs).toFixed(2)}× that`);
console.log(
  `  429s: ${counts.rateLimited} of ${counts.requests} requests = ${(rateLimitedShare * 100).toFixed(2)}% (ten-secondly ${usage.rejected.tenSecondly}, search ${usage.rejected.search}, daily ${usage.rejected.daily}) — goal < 1%: ${verdict(rateLimitedShare < GOALS.rateLimitedShare)}`,
);
console.log(
  `  live: ${liveLatencies.length} of ${liveSent - liveFailed} inbound messages at ${LIVE_PER_SECOND}/s during the backfill; webhook POST → communication in HubSpot p50 ${Math.round(liveP50)} ms, p95 ${Math.round(liveP95)} ms, max ${Math.round(Math.max(...liveLatencies))} ms — goal p95 ≤ 5 s: ${verdict(liveP95 <= GOALS.liveP95Ms)}`,
);
console.log(
  JSON.stringify({
    bench: 'hubspot-backfill',
    tier: TIER,
    numbers: NUMBERS,
    seed: SEED,
    messagesBackfill: expectedBackfill,
    messagesLive: liveSent - liveFailed,
    messagesInCrm,
    duplicates: counts.duplicates,
    deadLettered: status.deadLetters,
    contactsMatched: counts.contactsMatched,
    contactsCreated: counts.contactsCreated,
    requests: counts.requests,
    searches,
    rateLimited: counts.rateLimited,
    rateLimitedShare: Number(rateLimitedShare.toFixed(4)),
    rejected: usage.rejected,
    elapsedMs: Math.round(elapsedMs),
    deliveryMs: Math.round(deliveredAt - startedAt),
    floorMs: Math.round(floorMs),
    floorRatio: Number(ratio.toFixed(3)),
    floorArithmetic,
    minimumRequests: minimum,
    minimumFloorMs: Math.round(minimumFloorMs),
    minimumArithmetic,
    liveP50Ms: Math.round(liveP50),
    liveP95Ms: Math.round(liveP95),
    liveObserved: liveLatencies.length,
    byRoute,
    loadAverage: Number(loadavg()[0]!.toFixed(2)),
  }),
);

await server.close();
await target.stop();
await rm(directory, { recursive: true, force: true });
const complete = messagesInCrm === expectedBackfill + liveSent - liveFailed && counts.duplicates === 0;
process.exitCode = complete ? 0 : 1;
