/**
 * End to end: `coexist serve` as a child process, fed a generated Coexistence onboarding by a Meta-like signed
 * delivery (with duplicates), syncing into the HubSpot emulator through the real HubSpot adapter. The result is
 * checked from the emulator's state: every message once, on the right contact, in order, updates applied,
 * pre-existing contacts matched.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTraffic, type HubSpotEmulator, startHubSpotEmulator } from '@coexist/sandbox';
import { afterAll, describe, expect, it } from 'vitest';
import {
  assertEmulatorState,
  deliverOnboarding,
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

const directory = mkdtempSync(join(tmpdir(), 'coexist-serve-e2e-'));
let emulator: HubSpotEmulator | undefined;
let serve: ServeChild | undefined;

afterAll(async () => {
  serve?.child.kill('SIGKILL');
  await emulator?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('coexist serve → HubSpot (end to end)', () => {
  // `store.writerThread`: the same run with the SQLite writer in a worker thread, deliveries overlapping.
  it.each([
    { writer: 'on the event loop', writerThread: undefined },
    { writer: 'in a worker thread', writerThread: true },
  ])(
    'mirrors an 800-message onboarding into HubSpot exactly once, then shuts down gracefully (writer $writer)',
    async ({ writerThread }) => {
      emulator = await startHubSpotEmulator({ tier: 'pro' });
      const traffic = generateTraffic({ numbers: 1, messages: 800, seed: 11 });
      const payloads = [...traffic];
      const manifest = traffic.manifest();
      const number = manifest.numbers[0]!;
      const expected = expectedState(payloads);
      expect(expected.messages.size).toBe(number.messages);
      const seeded = seedExistingContacts(emulator, expected, 6);
      expect(seeded).toHaveLength(6);

      const env = { ...SERVE_ENV, HUBSPOT_TOKEN: emulator.token };
      // A directory (so a store file) of each run's own.
      const configPath = writeServeConfig(mkdtempSync(join(directory, 'run-')), {
        port: await freePort(),
        hubspotUrl: emulator.url,
        phoneNumberId: number.phoneNumberId,
        writerThread,
      });
      serve = await startServeChild(configPath, env);

      const stats = await deliverOnboarding(serve, env.META_APP_SECRET, payloads, 4);
      expect(stats.statusCounts['200']).toBe(stats.payloads + stats.duplicatesSent);

      await waitForDrained(serve.url, 45_000);
      const status = await readStatus(serve.url);
      expect(status.deadLetters).toBe(0);
      expect(status.invalidPayloads).toBe(0);
      assertEmulatorState(emulator, expected, seeded);

      // SIGTERM: a clean stop, logged line by line, with no secret and no message body in the log.
      serve.child.kill('SIGTERM');
      expect(await serve.exited).toBe(0);
      const log = serve.log();
      expect(log).toMatch(writerThread === true ? / store=sqlite writer=thread$/m : / store=sqlite$/m);
      expect(log).toMatch(/coexist: shutting down signal=SIGTERM/);
      expect(log).toMatch(/coexist: engine stopped/);
      expect(log).toMatch(/coexist: store closed/);
      for (const secret of Object.values(env)) expect(log).not.toContain(secret);
      const sampleBody = /"body":"([^"]{12,})"/.exec(
        payloads.find((payload) => payload.kind === 'live-messages')!.body,
      )?.[1];
      expect(sampleBody).toBeDefined();
      expect(log).not.toContain(sampleBody);
      serve = undefined;
      await emulator.close();
      emulator = undefined;
    },
  );
});
