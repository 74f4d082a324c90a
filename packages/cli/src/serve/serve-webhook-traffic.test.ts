/**
 * `coexist serve` (memory store, no CRM connection) under webhook traffic: a shutdown under steady keep-alive traffic
 * (as Meta sends it) refuses new webhooks 503 with `Connection: close` from its start, lets the ones in flight finish
 * and cuts none; and the log has one kind of line per kind of refusal plus the cause of a delivery the store could not
 * take, so a flood of unsigned requests cannot fold a store failure away.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { type CoexistStore, createMemoryStore, signWebhookBody } from '@coexist/core';
import { afterEach, expect, it } from 'vitest';
import { type CoexistConfig, parseCoexistConfig } from './coexist-config.ts';
import { createLineLogger } from './coexist-logger.ts';
import { type CoexistServer, startCoexistServer } from './create-coexist-server.ts';

const env = { APP_SECRET: 'traffic-test-app-secret', VERIFY_TOKEN: 'traffic-test-verify-token' };
const fixture = readFileSync(
  fileURLToPath(new URL('../../../core/src/webhook/__fixtures__/meta/messages-text.json', import.meta.url)),
  'utf8',
);
const config: CoexistConfig = parseCoexistConfig(
  {
    port: 0,
    host: '127.0.0.1',
    store: { type: 'memory' },
    meta: { appSecret: { env: 'APP_SECRET' }, verifyToken: { env: 'VERIFY_TOKEN' } },
    connections: [],
  },
  env,
);
let server: CoexistServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A memory store whose ingest takes `delayMs` (a slow disk): deliveries are in flight when the shutdown starts. */
function slowIngestStore(delayMs: number, committed: Set<string>): CoexistStore {
  const store = createMemoryStore();
  const ingest = store.ingest.bind(store);
  store.ingest = async (input) => {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    const result = await ingest(input);
    for (const planned of input.events) committed.add(planned.event.id);
    return result;
  };
  return store;
}

interface Answer {
  status: number | 'error';
  connection?: string;
  wamid: string;
}

function post(url: string, agent: Agent, wamid: string): Promise<Answer> {
  const body = fixture.replace(/"id": ?"wamid\.[^"]+"/, `"id":"${wamid}"`);
  return new Promise((resolve) => {
    const outgoing = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': signWebhookBody(body, env.APP_SECRET) },
      },
      (response) => {
        response.resume();
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, connection: response.headers.connection, wamid }),
        );
      },
    );
    outgoing.on('error', () => resolve({ status: 'error', wamid }));
    outgoing.end(body);
  });
}

it('answers new webhooks 503 from the start of a shutdown and lets the ones in flight finish, cutting none', async () => {
  const committed = new Set<string>();
  server = await startCoexistServer(config, { store: slowIngestStore(150, committed), shutdownTimeoutMs: 5_000 });
  const url = `${server.url}${config.webhookPath}`;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const answers: Answer[] = [];
  let stopping = false;
  const traffic = (async () => {
    for (let index = 0; index < 40 && !(stopping && answers.at(-1)?.status === 503); index++) {
      answers.push(await post(url, agent, `wamid.SHUTDOWN${index}`));
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 400));
  stopping = true;
  const started = performance.now();
  await server.close();
  const closeMs = performance.now() - started;
  server = undefined;
  await traffic;
  agent.destroy();
  expect(answers.some((answer) => answer.status === 'error')).toBe(false);
  const refused = answers.filter((answer) => answer.status === 503);
  expect(refused.length).toBeGreaterThan(0);
  expect(refused.every((answer) => answer.connection === 'close')).toBe(true);
  // Each acknowledged delivery was stored before its 200.
  const acked = answers.filter((answer) => answer.status === 200);
  expect(acked.length).toBeGreaterThan(0);
  const ackedIds = acked.map((answer) => answer.wamid);
  expect([...committed].filter((id) => ackedIds.some((wamid) => id.includes(wamid)))).toHaveLength(acked.length);
  // Not held to the timeout: the keep-alive connection ended with the 503.
  expect(closeMs).toBeLessThan(2_000);
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
