/**
 * Crash safety end to end: `coexist serve` is SIGKILLed twice during an onboarding backfill and restarted on the
 * same SQLite file; the sender redelivers every payload that never got a 200 (as Meta does). The HubSpot
 * emulator must end with every message exactly once, on the right contact, with updates applied.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type DeliveryAttempt,
  deliverTraffic,
  generateTraffic,
  type HubSpotEmulator,
  startHubSpotEmulator,
} from '@coexist/sandbox';
import { afterAll, describe, expect, it } from 'vitest';
import {
  assertEmulatorState,
  expectedState,
  freePort,
  readStatus,
  SERVE_ENV,
  type ServeChild,
  seedExistingContacts,
  startServeChild,
  waitForDrained,
  writeServeConfig,
} from './serve-harness.ts';

const directory = mkdtempSync(join(tmpdir(), 'coexist-serve-crash-'));
let emulator: HubSpotEmulator | undefined;
let serve: ServeChild | undefined;

afterAll(async () => {
  serve?.child.kill('SIGKILL');
  await emulator?.close();
  rmSync(directory, { recursive: true, force: true });
});

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('coexist serve crash safety (end to end)', () => {
  it('loses and duplicates nothing when killed with SIGKILL twice during the backfill', async () => {
    // Every HubSpot call takes 40 ms, so the backfill lasts long enough to be interrupted twice.
    emulator = await startHubSpotEmulator({ tier: 'pro', latency: { baseMs: 40 } });
    const traffic = generateTraffic({ numbers: 1, messages: 800, seed: 23 });
    const payloads = [...traffic];
    const number = traffic.manifest().numbers[0]!;
    const expected = expectedState(payloads);
    const seeded = seedExistingContacts(emulator, expected, 6);
    const env = { ...SERVE_ENV, HUBSPOT_TOKEN: emulator.token };
    const configPath = writeServeConfig(directory, {
      port: await freePort(),
      hubspotUrl: emulator.url,
      phoneNumberId: number.phoneNumberId,
    });
    serve = await startServeChild(configPath, env);
    const url = serve.url;

    // Meta's side: paced, signed, with duplicates, retrying every non-2xx (a dead server included).
    const acked = new Set<number>();
    const onAttempt = (attempt: DeliveryAttempt) => {
      if (attempt.status === 200 && attempt.sequence !== undefined) acked.add(attempt.sequence);
    };
    const delivery = deliverTraffic({
      payloads,
      url: `${url}/webhooks/meta`,
      appSecret: env.META_APP_SECRET,
      duplicates: 0.1,
      concurrency: 4,
      rate: 80,
      retries: 12,
      retryDelayMs: 100,
      maxRetryDelayMs: 1_000,
      seed: 5,
      onAttempt,
    });

    const communications = () => emulator!.state.communications.size;
    const kills: number[] = [];
    for (const threshold of [120, 420]) {
      await waitFor(() => communications() >= threshold, 40_000, `${threshold} communications`);
      serve.child.kill('SIGKILL');
      expect(await serve.exited).toBe('SIGKILL');
      kills.push(communications());
      serve = await startServeChild(configPath, env);
      expect(serve.url).toBe(url);
    }
    // Both kills landed mid-backfill.
    for (const written of kills) expect(written).toBeLessThan(expected.messages.size);

    const stats = await delivery;
    // What never got a 200 is redelivered, as Meta would (normally there is nothing left).
    const unacked = payloads.filter((payload) => !acked.has(payload.sequence));
    if (unacked.length > 0) {
      const again = await deliverTraffic({
        payloads: unacked,
        url: `${url}/webhooks/meta`,
        appSecret: env.META_APP_SECRET,
        onAttempt,
      });
      expect(again.failed).toBe(0);
    }
    expect(acked.size).toBe(payloads.length);
    expect(stats.payloads).toBe(payloads.length);

    await waitForDrained(url, 45_000);
    const status = await readStatus(url);
    expect(status.deadLetters).toBe(0);
    assertEmulatorState(emulator, expected, seeded);

    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
    serve = undefined;
  });
});
