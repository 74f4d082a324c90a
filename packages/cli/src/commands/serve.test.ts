import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HubSpotEmulator, startHubSpotEmulator } from '@coexist/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.ts';
import { createTestIo } from '../test-io.ts';

const directory = mkdtempSync(join(tmpdir(), 'coexist-serve-command-'));
let emulator: HubSpotEmulator;

beforeAll(async () => {
  emulator = await startHubSpotEmulator({ tier: 'pro' });
});
afterAll(async () => {
  await emulator.close();
  rmSync(directory, { recursive: true, force: true });
});

function writeConfig(name: string, config: unknown): string {
  const path = join(directory, name);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

function config(overrides: Record<string, unknown> = {}) {
  return {
    port: 0,
    store: { type: 'memory' },
    meta: { appSecret: { env: 'META_APP_SECRET' }, verifyToken: { env: 'META_VERIFY_TOKEN' } },
    connections: [
      {
        id: 'hubspot',
        crm: 'hubspot',
        phoneNumberIds: ['106540352242922'],
        hubspot: { accessToken: { env: 'HUBSPOT_TOKEN' }, tier: 'pro', basePath: emulator.url },
      },
    ],
    ...overrides,
  };
}

const secrets = { META_APP_SECRET: 'cmd-app-secret-1', META_VERIFY_TOKEN: 'cmd-verify-token-2' };

describe('coexist serve', () => {
  it('prints one line per wrong field and exits 1, naming missing variables but no secret', async () => {
    const path = writeConfig('bad.json', config({ port: -1, webhookPath: 'no-slash' }));
    const test = createTestIo({ env: { META_APP_SECRET: secrets.META_APP_SECRET }, cwd: directory });
    expect(await main(['serve', '--config', 'bad.json'], test.io)).toBe(1);
    const lines = test.stderr().trim().split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^coexist: config error at port: /),
        expect.stringMatching(/^coexist: config error at webhookPath: expected a path starting with "\/"/),
        'coexist: config error at meta.verifyToken: environment variable META_VERIFY_TOKEN is not set',
        'coexist: config error at connections[0].hubspot.accessToken: environment variable HUBSPOT_TOKEN is not set',
      ]),
    );
    expect(lines).toHaveLength(4);
    expect(test.stderr()).not.toContain(secrets.META_APP_SECRET);
    expect(path).toContain(directory);
  });

  it('requires --config', async () => {
    const test = createTestIo();
    expect(await main(['serve'], test.io)).toBe(2);
    expect(test.stderr()).toContain('--config is required');
  });

  it('refuses a --port that is not digits from 0 to 65535, naming it', async () => {
    for (const port of ['', '0x1F90', '1e3', '65536', '80.5']) {
      const test = createTestIo();
      expect(await main(['serve', '--config', 'x.json', '--port', port], test.io)).toBe(2);
      expect(test.stderr()).toContain(`--port must be a whole number from 0 to 65535, got '${port}'`);
    }
  });

  it('serves until its signal aborts, logging lifecycle lines without secrets; --quiet keeps only problems', async () => {
    writeConfig('good.json', config());
    for (const quiet of [false, true]) {
      const controller = new AbortController();
      const test = createTestIo({ env: { ...secrets, HUBSPOT_TOKEN: emulator.token }, cwd: directory });
      test.io.signal = controller.signal;
      const running = main(['serve', '--config', 'good.json', ...(quiet ? ['--quiet'] : [])], test.io);
      if (!quiet) {
        while (!test.stderr().includes('listening')) await new Promise((resolve) => setTimeout(resolve, 10));
        const url = /url=(\S+)/.exec(test.stderr())![1]!;
        expect((await fetch(`${url}/health`)).status).toBe(200);
        // Status is open without an admin token.
        expect((await fetch(`${url}/status`)).status).toBe(200);
      } else {
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      controller.abort();
      expect(await running).toBe(0);
      const log = test.stderr();
      if (quiet) {
        expect(log).toBe('');
      } else {
        expect(log).toMatch(
          /^coexist: listening url=http:\/\/127\.0\.0\.1:\d+ webhook=\/webhooks\/meta connections=1 store=memory$/m,
        );
        expect(log).toMatch(/^coexist: shutting down signal=abort$/m);
        expect(log).toMatch(/^coexist: engine stopped$/m);
        expect(log).toMatch(/^coexist: stopped$/m);
        for (const secret of [...Object.values(secrets), emulator.token]) expect(log).not.toContain(secret);
      }
    }
  });
});
