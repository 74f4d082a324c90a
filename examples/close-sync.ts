/**
 * Mirrors generated WhatsApp Coexistence traffic (history backfill + live) into the Close emulator through the sync
 * engine and the Close adapter, then checks the result: one activity per message, no duplicates, threads chained.
 *
 *   node --conditions=@coexist/source examples/close-sync.ts
 *
 * Point it at real Close by replacing the emulator's `apiUrl` and key with `https://api.close.com/api/v1` and your
 * API key (`CLOSE_API_KEY`). It prints counts only: never message bodies or keys.
 */
import { fileURLToPath } from 'node:url';
import { createCloseAdapter } from '@coexist/close';
import { createMemoryStore, createSyncEngine, parseWebhook } from '@coexist/core';
import { generateTraffic, startCloseEmulator } from '@coexist/sandbox';

/** What `runCloseSync` found in Close afterwards. */
export interface CloseSyncReport {
  /** Distinct messages the generator says a CRM should hold. */
  expectedMessages: number;
  activities: number;
  duplicates: number;
  leads: number;
  /** Activities whose `response_to_id` points at the previous message of their thread. */
  threaded: number;
  integrationLinkAction: string;
}

/** Runs the whole pipeline against a fresh Close emulator and returns what Close holds. */
export async function runCloseSync(options: { messages?: number; seed?: number } = {}): Promise<CloseSyncReport> {
  const close = await startCloseEmulator({ apiKeys: ['api_example_key'] });
  try {
    const traffic = generateTraffic({
      messages: options.messages ?? 120,
      seed: options.seed ?? 7,
      accountEvents: false,
    });
    const adapter = createCloseAdapter({
      baseUrl: close.apiUrl,
      apiKey: 'api_example_key',
      integrationLinkBaseUrl: 'https://coexist.example.com/close/card',
      cardSigningSecret: 'example-signing-secret-change-me-0123456789',
    });
    // Once, at start-up: the lead-page link to the chat card (idempotent).
    const setup = await adapter.setup();
    const engine = createSyncEngine({
      store: createMemoryStore(),
      connections: [
        { id: 'close', adapter, phoneNumberIds: traffic.plan.numbers.map((number) => number.phoneNumberId) },
      ],
      retry: { baseMs: 50, capMs: 1_000 },
    });
    for (const payload of traffic) {
      const events = parseWebhook(JSON.parse(payload.body));
      await engine.ingest(events, { rawBody: payload.body });
    }
    await engine.drain({ timeoutMs: 120_000 });
    await engine.stop();
    const activities = [...close.state.activities.values()];
    const ids = new Set(activities.map((activity) => activity.id));
    return {
      expectedMessages: traffic.manifest().totals.messages,
      activities: activities.length,
      duplicates: close.findDuplicates().length,
      leads: close.state.leads.size,
      threaded: activities.filter((activity) => activity.response_to_id !== null && ids.has(activity.response_to_id))
        .length,
      integrationLinkAction: setup.action,
    };
  } finally {
    await close.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const report = await runCloseSync();
  console.log(JSON.stringify({ ...report, seconds: (Date.now() - started) / 1000 }, null, 2));
}
