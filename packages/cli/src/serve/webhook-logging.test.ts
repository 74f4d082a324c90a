/**
 * What `coexist serve` logs about refused and failed webhooks: one kind of line per kind of refusal, and why a
 * delivery could not be stored — so a flood of unsigned requests cannot fold a store failure away.
 */
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createMemoryStore, signWebhookBody } from '@coexist/core';
import { afterEach, expect, it } from 'vitest';
import { parseCoexistConfig } from './coexist-config.ts';
import { createLineLogger } from './coexist-logger.ts';
import { type CoexistServer, startCoexistServer } from './create-coexist-server.ts';

const env = { APP_SECRET: 'logging-test-app-secret', VERIFY_TOKEN: 'logging-test-verify-token' };
const fixture = readFileSync(
  fileURLToPath(new URL('../../../core/src/webhook/__fixtures__/meta/messages-text.json', import.meta.url)),
  'utf8',
);
let server: CoexistServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

it('logs each kind of refusal on its own line, and the cause of a delivery the store could not take', async () => {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).trim().split('\n'));
      done();
    },
  });
  // A disk that fills up: the store's own error, as node:sqlite raises it.
  const store = createMemoryStore();
  let full = false;
  const ingest = store.ingest.bind(store);
  store.ingest = async (input) => {
    if (full)
      throw Object.assign(new Error('disk full while storing'), {
        code: 'ERR_SQLITE_ERROR',
        errstr: 'database or disk is full',
      });
    return ingest(input);
  };
  const config = parseCoexistConfig(
    {
      port: 0,
      store: { type: 'memory' },
      meta: { appSecret: { env: 'APP_SECRET' }, verifyToken: { env: 'VERIFY_TOKEN' } },
      connections: [],
    },
    env,
  );
  server = await startCoexistServer(config, {
    store,
    logger: createLineLogger({ stream, secrets: Object.values(env) }),
  });
  const url = `${server.url}${config.webhookPath}`;
  const signed = (body: string) => ({ 'x-hub-signature-256': signWebhookBody(body, env.APP_SECRET) });
  for (let index = 0; index < 3; index++) {
    expect((await fetch(url, { method: 'POST', body: fixture })).status).toBe(401);
  }
  const invalid = fixture.replace(/"timestamp": ?"\d+"/, '"timestamp":"yesterday"');
  expect((await fetch(url, { method: 'POST', headers: signed(invalid), body: invalid })).status).toBe(400);
  full = true;
  for (let index = 0; index < 2; index++) {
    expect((await fetch(url, { method: 'POST', headers: signed(fixture), body: fixture })).status).toBe(500);
  }
  const problems = lines.filter((line) => line.startsWith('coexist: warn') || line.startsWith('coexist: error'));
  expect(problems).toEqual([
    'coexist: warn: webhook signature refused status=401',
    'coexist: warn: [coexist/core] engine: kept a payload that failed validation payloadId=1',
    'coexist: error: webhook not stored error=Error code=ERR_SQLITE_ERROR reason="database or disk is full"',
  ]);
  // Never the message body, never the error's own message (it may quote a payload).
  const text = lines.join('\n');
  expect(text).not.toContain('disk full while storing');
  expect(text).not.toMatch(/"body":/);
});
