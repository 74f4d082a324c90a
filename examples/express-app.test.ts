import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseCoexistConfig } from '@coexist/cli';
import { signWebhookBody } from '@coexist/core';
import { type HubSpotEmulator, startHubSpotEmulator } from '@coexist/sandbox';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ExpressApp, startExpressApp } from './express-app.ts';

const env = { META_APP_SECRET: 'express-app-secret', META_VERIFY_TOKEN: 'express-verify-token', HUBSPOT_TOKEN: '' };
let emulator: HubSpotEmulator;
let app: ExpressApp;

beforeAll(async () => {
  // The example maps the business number to HubSpot owner 75190283: the emulator knows that user.
  emulator = await startHubSpotEmulator({ tier: 'pro', owners: [{ id: '75190283', email: 'rep@example.com' }] });
  env.HUBSPOT_TOKEN = emulator.token;
  // The shipped example config, pointed at the emulator and an in-memory store.
  const example = JSON.parse(readFileSync(fileURLToPath(new URL('./coexist.config.json', import.meta.url)), 'utf8'));
  const hubspot = example.connections.find((connection: { crm: string }) => connection.crm === 'hubspot');
  hubspot.phoneNumberIds = ['106540352242922'];
  hubspot.hubspot.basePath = emulator.url;
  delete hubspot.hubspot.clientSecret;
  example.connections = [hubspot];
  example.store = { type: 'memory' };
  delete example.adminToken;
  app = await startExpressApp(parseCoexistConfig(example, env), 0);
});

afterAll(async () => {
  await app?.close();
  await emulator?.close();
});

it('mounts the webhook before express.json(), so signed deliveries verify and sync to HubSpot', async () => {
  const body = readFileSync(
    fileURLToPath(new URL('../packages/core/src/webhook/__fixtures__/meta/messages-text.json', import.meta.url)),
    'utf8',
  );
  const response = await fetch(`${app.url}/webhooks/meta`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signWebhookBody(body, env.META_APP_SECRET) },
    body,
  });
  expect(response.status).toBe(200);
  await app.coexist.engine.drain({ timeoutMs: 20_000 });
  expect(emulator.state.communications.size).toBe(1);
  // The contact first met on the rep's number is owned by that rep.
  expect([...emulator.state.contacts.values()][0]!.properties.hubspot_owner_id).toBe('75190283');

  expect((await fetch(`${app.url}/health`)).status).toBe(200);
  const backfill = await (await fetch(`${app.url}/api/backfill`)).json();
  expect(backfill).toEqual([{ phoneNumberId: '106540352242922', progress: 0 }]);
  // Express's own 404 for paths neither Coexist nor the app serve.
  expect((await fetch(`${app.url}/elsewhere`)).status).toBe(404);
});
