/**
 * The Close card endpoint: a delivery syncs to the Close emulator through the real Close adapter, then a signed
 * card link for the lead (as Close opens it) shows the conversation; a tampered link is refused.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { signCloseCardLink } from '@coexist/close';
import { signWebhookBody } from '@coexist/core';
import {
  type CloseEmulator,
  DEFAULT_CLOSE_API_KEY,
  DEFAULT_CLOSE_ORGANIZATION_ID,
  startCloseEmulator,
} from '@coexist/sandbox';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseCoexistConfig } from './coexist-config.ts';
import { type CoexistServer, startCoexistServer } from './create-coexist-server.ts';

const body = readFileSync(
  fileURLToPath(new URL('../../../core/src/webhook/__fixtures__/meta/messages-text.json', import.meta.url)),
  'utf8',
);
const env = {
  META_APP_SECRET: 'close-test-app-secret',
  META_VERIFY_TOKEN: 'close-test-verify-token',
  CLOSE_API_KEY: DEFAULT_CLOSE_API_KEY,
  CLOSE_LINK_SECRET: 'a-close-link-secret-of-at-least-32-chars',
};
let emulator: CloseEmulator;
let server: CoexistServer;

beforeAll(async () => {
  emulator = await startCloseEmulator();
  const config = parseCoexistConfig(
    {
      port: 0,
      store: { type: 'memory' },
      publicUrl: 'https://coexist.example.com',
      meta: { appSecret: { env: 'META_APP_SECRET' }, verifyToken: { env: 'META_VERIFY_TOKEN' } },
      connections: [
        {
          id: 'close-main',
          crm: 'close',
          phoneNumberIds: ['106540352242922'],
          close: {
            apiKey: { env: 'CLOSE_API_KEY' },
            baseUrl: emulator.apiUrl,
            organizationId: DEFAULT_CLOSE_ORGANIZATION_ID,
            linkSecret: { env: 'CLOSE_LINK_SECRET' },
          },
        },
      ],
    },
    env,
  );
  server = await startCoexistServer(config);
});

afterAll(async () => {
  await server?.close();
  await emulator?.close();
});

it('serves the chat page of a lead to a signed Close link only', async () => {
  const delivered = await fetch(`${server.url}/webhooks/meta`, {
    method: 'POST',
    headers: { 'x-hub-signature-256': signWebhookBody(body, env.META_APP_SECRET) },
    body,
  });
  expect(delivered.status).toBe(200);
  await server.coexist.engine.drain({ timeoutMs: 20_000 });
  const [lead] = [...emulator.state.leads.values()];
  expect(lead).toBeDefined();

  const link = signCloseCardLink({
    baseUrl: `${server.url}/cards/close`,
    secret: env.CLOSE_LINK_SECRET,
    organizationId: DEFAULT_CLOSE_ORGANIZATION_ID,
    leadId: lead!.id,
    expiresAt: Date.now() + 60_000,
  });
  const page = await fetch(link);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toContain('text/html');
  expect(await page.text()).toContain('Does it come in another color?');

  const tampered = new URL(link);
  tampered.searchParams.set('lead', 'lead_someoneelse');
  expect((await fetch(tampered)).status).toBe(403);
});
