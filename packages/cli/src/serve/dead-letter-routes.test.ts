import type { CoexistenceEvent } from '@coexist/core';
import { createReferenceAdapter, type ReferenceAdapter } from '@coexist/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCoexistConfig } from './coexist-config.ts';
import { type Coexist, createCoexist } from './create-coexist.ts';

const env = {
  META_APP_SECRET: 'meta-secret-value-1234',
  META_VERIFY_TOKEN: 'verify-token-value-5678',
  HUBSPOT_TOKEN: 'pat-na1-secret-token-9999',
  ADMIN_TOKEN: 'admin-token-value-4321',
};
const PHONE_NUMBER_ID = '106540352242922';

let running: Coexist | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

/** A Coexist on the memory store whose CRM (the reference adapter) refuses the first message for good. */
async function withDeadLetter(adminToken: boolean): Promise<{ coexist: Coexist; adapter: ReferenceAdapter }> {
  const config = parseCoexistConfig(
    {
      port: 0,
      store: { type: 'memory' },
      ...(adminToken ? { adminToken: { env: 'ADMIN_TOKEN' } } : {}),
      meta: { appSecret: { env: 'META_APP_SECRET' }, verifyToken: { env: 'META_VERIFY_TOKEN' } },
      connections: [
        {
          id: 'main',
          crm: 'hubspot',
          phoneNumberIds: [PHONE_NUMBER_ID],
          hubspot: { accessToken: { env: 'HUBSPOT_TOKEN' }, tier: 'pro' },
        },
      ],
    },
    env,
  );
  const adapter = createReferenceAdapter({ rateLimits: { buckets: [] } });
  adapter.injectFault({ type: 'fail-item', operation: 'writeMessages', index: 0, error: 'permanent' });
  const coexist = createCoexist(config, { createAdapter: () => adapter });
  running = coexist;
  const message: CoexistenceEvent = {
    id: 'message:wamid.dead',
    type: 'message.received',
    field: 'messages',
    wabaId: 'WABA-1',
    phoneNumberId: PHONE_NUMBER_ID,
    occurredAt: '2026-03-01T09:00:00.000Z',
    contact: { phone: '+16505551234' },
    message: { id: 'wamid.dead', kind: 'text', text: 'a body that must not show' },
    source: 'live',
  };
  await coexist.engine.ingest([message], { rawBody: 'raw' });
  await coexist.engine.drain();
  return { coexist, adapter };
}

const request = (path: string, init: RequestInit & { token?: string } = {}) =>
  new Request(`http://coexist.test${path}`, {
    ...init,
    headers: init.token === undefined ? {} : { authorization: `Bearer ${init.token}` },
  });

describe('dead-letter routes', () => {
  it('lists dead letters and replays one behind the admin token', async () => {
    const { coexist, adapter } = await withDeadLetter(true);
    expect((await coexist.fetch(request('/dead-letters'))).status).toBe(401);
    expect((await coexist.fetch(request('/dead-letters', { token: 'wrong' }))).status).toBe(401);

    const listed = await coexist.fetch(request('/dead-letters', { token: env.ADMIN_TOKEN }));
    expect(listed.status).toBe(200);
    const text = await listed.text();
    expect(text).not.toContain('a body that must not show');
    const { deadLetters } = JSON.parse(text) as { deadLetters: { id: number; eventId: string; reason: string }[] };
    expect(deadLetters).toEqual([
      expect.objectContaining({ eventId: 'message:wamid.dead', reason: expect.any(String) }),
    ]);
    const id = deadLetters[0]!.id;

    expect((await coexist.fetch(request(`/dead-letters/${id}/replay`, { token: env.ADMIN_TOKEN }))).status).toBe(405);
    const replayed = await coexist.fetch(
      request(`/dead-letters/${id}/replay`, { method: 'POST', token: env.ADMIN_TOKEN }),
    );
    expect(replayed.status).toBe(200);
    expect(((await replayed.json()) as { deadLetter: { replayedAt: string | null } }).deadLetter.replayedAt).not.toBe(
      null,
    );
    await coexist.engine.drain();
    expect([...adapter.state.messages.values()].map((record) => record.key)).toEqual(['wamid.dead']);

    const again = await coexist.fetch(
      request(`/dead-letters/${id}/replay`, { method: 'POST', token: env.ADMIN_TOKEN }),
    );
    expect(again.status).toBe(409);
    const missing = await coexist.fetch(
      request('/dead-letters/999/replay', { method: 'POST', token: env.ADMIN_TOKEN }),
    );
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { field: 'id' } });
    const remaining = await coexist.fetch(
      request('/dead-letters?includeReplayed=true&limit=5', { token: env.ADMIN_TOKEN }),
    );
    expect(((await remaining.json()) as { deadLetters: unknown[] }).deadLetters).toHaveLength(1);
    expect((await coexist.fetch(request('/dead-letters?limit=0', { token: env.ADMIN_TOKEN }))).status).toBe(400);
  });

  it('answers 500, not 404, when the store cannot answer', async () => {
    const { coexist } = await withDeadLetter(true);
    const [letter] = await coexist.engine.listDeadLetters();
    await coexist.close();
    running = undefined;
    const replay = await coexist.routes(
      request(`/dead-letters/${letter!.id}/replay`, { method: 'POST', token: env.ADMIN_TOKEN }),
    );
    expect(replay?.status).toBe(500);
  });

  it('is off without an admin token in the configuration', async () => {
    const { coexist } = await withDeadLetter(false);
    expect((await coexist.fetch(request('/dead-letters'))).status).toBe(403);
    expect((await coexist.fetch(request('/dead-letters/1/replay', { method: 'POST' }))).status).toBe(403);
  });
});
