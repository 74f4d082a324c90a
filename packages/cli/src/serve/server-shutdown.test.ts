/**
 * `startCoexistServer(...).close()` under steady webhook traffic on a keep-alive connection (as Meta sends it):
 * new webhooks are answered 503 with `Connection: close` from the start of the shutdown, the ones in flight finish
 * with 200, and nothing is cut — every 200 was stored.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { type CoexistStore, createMemoryStore, signWebhookBody } from '@coexist/core';
import { afterEach, expect, it } from 'vitest';
import { parseCoexistConfig } from './coexist-config.ts';
import { type CoexistServer, startCoexistServer } from './create-coexist-server.ts';

const env = { APP_SECRET: 'shutdown-test-app-secret', VERIFY_TOKEN: 'shutdown-test-verify-token' };
const fixture = readFileSync(
  fileURLToPath(new URL('../../../core/src/webhook/__fixtures__/meta/messages-text.json', import.meta.url)),
  'utf8',
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
  const config = parseCoexistConfig(
    {
      port: 0,
      host: '127.0.0.1',
      store: { type: 'memory' },
      meta: { appSecret: { env: 'APP_SECRET' }, verifyToken: { env: 'VERIFY_TOKEN' } },
      connections: [],
    },
    env,
  );
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
