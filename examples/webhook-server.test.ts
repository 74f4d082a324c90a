import { readFile } from 'node:fs/promises';
import { signWebhookBody } from '@coexist/core';
import { afterEach, expect, it } from 'vitest';
import { startWebhookServer, type WebhookServer } from './webhook-server.ts';

const appSecret = 'example-app-secret';
const verifyToken = 'example-verify-token';
let running: WebhookServer | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

it('verifies the handshake, accepts a signed history chunk and logs only types and counts', async () => {
  const lines: string[] = [];
  const received: string[] = [];
  running = await startWebhookServer({
    appSecret,
    verifyToken,
    port: 0,
    log: (line) => lines.push(line),
    onEvents: (events) => {
      received.push(...events.map((event) => event.type));
    },
  });

  const handshake = await fetch(
    `${running.url}/webhook?hub.mode=subscribe&hub.challenge=8472&hub.verify_token=${verifyToken}`,
  );
  expect(handshake.status).toBe(200);
  expect(await handshake.text()).toBe('8472');

  const body = await readFile(new URL('./payloads/history-chunk.json', import.meta.url));
  const response = await fetch(`${running.url}/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signWebhookBody(body, appSecret) },
    body,
  });
  expect(response.status).toBe(200);
  expect(received).toContain('history.chunk');
  expect(received.filter((type) => type === 'message.received' || type === 'message.echoed')).toHaveLength(5);

  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/ \d+ event\(s\): .*history\.chunk×1/);
  // Types and counts only: no message text, no phone numbers.
  expect(lines.join('\n')).not.toMatch(/Saturday|invoice|16505551234/);

  const unsigned = await fetch(`${running.url}/webhook`, { method: 'POST', body });
  expect(unsigned.status).toBe(401);
  expect(lines).toHaveLength(1);
});
