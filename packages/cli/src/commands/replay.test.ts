import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWebhook, verifySignature } from '@coexist/core';
import { generateTraffic, writeTraffic } from '@coexist/sandbox';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../main.ts';
import { createTestIo } from '../test-io.ts';

const SECRET = 'replay-secret';
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function trafficDirectory(): Promise<{ dir: string; count: number; bodies: Set<string> }> {
  const dir = await mkdtemp(join(tmpdir(), 'coexist-replay-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const run = generateTraffic({ messages: 60, seed: 'replay', chunkSize: 20 });
  const result = await writeTraffic(dir, run);
  return { dir, count: result.files, bodies: new Set([...run].map((payload) => payload.body)) };
}

async function receiver(failEvery = 0): Promise<{ url: string; bodies: string[]; rejected: number }> {
  const state = { url: '', bodies: [] as string[], rejected: 0 };
  let requests = 0;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks);
      requests++;
      if (
        !verifySignature({
          rawBody: raw,
          signature: request.headers['x-hub-signature-256'] as string,
          appSecret: SECRET,
        })
      ) {
        state.rejected++;
        response.writeHead(401).end();
        return;
      }
      if (failEvery > 0 && requests % failEvery === 0) {
        response.writeHead(500).end();
        return;
      }
      state.bodies.push(raw.toString('utf8'));
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/whatsapp`;
  return state;
}

describe('coexist replay', () => {
  it('delivers every file signed, with duplicates and retries, and prints a summary without the secret', async () => {
    const { dir, count, bodies } = await trafficDirectory();
    const endpoint = await receiver(9);
    const test = createTestIo();
    const code = await main(
      ['replay', dir, '--to', endpoint.url, '--app-secret', SECRET, '--duplicates', '0.3', '--seed', '4'],
      test.io,
    );
    expect(test.stderr()).toMatch(
      new RegExp(
        `^replayed ${count} payloads to ${endpoint.url}: \\d+ delivered, [1-9]\\d* duplicates, [1-9]\\d* retries, 0 failed`,
      ),
    );
    expect(code).toBe(0);
    expect(test.stderr()).not.toContain(SECRET);
    expect(endpoint.rejected).toBe(0);
    // Generated traffic itself repeats some bodies (a duplicated status batch), so compare sets.
    expect(new Set(endpoint.bodies)).toEqual(bodies);
    expect(endpoint.bodies.length).toBeGreaterThan(count);
    for (const body of endpoint.bodies) expect(() => parseWebhook(JSON.parse(body))).not.toThrow();
  });

  it('reads the app secret from META_APP_SECRET and exits 1 when deliveries fail', async () => {
    const { dir } = await trafficDirectory();
    const test = createTestIo({ env: { META_APP_SECRET: 'wrong-secret' } });
    const endpoint = await receiver();
    expect(await main(['replay', dir, '--to', endpoint.url, '--retries', '0'], test.io)).toBe(1);
    expect(endpoint.rejected).toBeGreaterThan(0);
    expect(test.stderr()).toContain('failed: 401');
  });

  it.each([
    [['replay', '--to', 'http://127.0.0.1:9/', '--app-secret', 's'], 'the traffic directory is required'],
    [['replay', 'dir', '--app-secret', 's'], '--to <url> is required'],
    [['replay', 'dir', '--to', 'http://127.0.0.1:9/'], '--app-secret <secret> (or META_APP_SECRET) is required'],
    [['replay', 'dir', '--to', 'nowhere', '--app-secret', 's'], "--to must be an absolute URL, got 'nowhere'"],
    [
      ['replay', 'dir', '--to', 'http://127.0.0.1:9/', '--app-secret', 's', '--rate', '0'],
      "--rate must be a number above 0, got '0'",
    ],
    [
      ['replay', 'dir', '--to', 'http://127.0.0.1:9/', '--app-secret', 's', '--duplicates', '2'],
      "--duplicates must be a fraction from 0 to 1, got '2'",
    ],
  ])('exits 2 on a usage error: %j', async (argv, message) => {
    const test = createTestIo();
    expect(await main(argv, test.io)).toBe(2);
    expect(test.stderr()).toContain(message);
  });

  it('exits 1 for a directory without traffic', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'coexist-replay-empty-'));
    cleanups.push(() => rm(empty, { recursive: true, force: true }));
    const test = createTestIo();
    expect(await main(['replay', empty, '--to', 'http://127.0.0.1:9/', '--app-secret', 's'], test.io)).toBe(1);
    expect(test.stderr()).toContain('no traffic files');
  });
});
