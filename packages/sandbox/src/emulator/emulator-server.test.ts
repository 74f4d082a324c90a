import { afterEach, describe, expect, it } from 'vitest';
import { EmulatorRouter } from './emulator-router.ts';
import { type RunningEmulator, startEmulatorServer } from './emulator-server.ts';
import { RollingWindow } from './rolling-window.ts';

describe('startEmulatorServer', () => {
  let emulator: RunningEmulator | undefined;
  afterEach(async () => {
    await emulator?.close();
    emulator = undefined;
  });

  async function start(faults = {}) {
    const items: string[] = [];
    const router = new EmulatorRouter()
      .add('POST', '/things/:kind', (request) => {
        items.push(`${request.params.kind}:${JSON.stringify(request.body)}`);
        return { status: 201, body: { ok: true } };
      })
      .add('GET', '/files/*', (request) => ({ status: 200, body: request.params['*'] }));
    emulator = await startEmulatorServer({
      name: 'test',
      router,
      faults,
      inspectState: () => ({ items }),
      resetState: () => items.splice(0),
    });
    return emulator;
  }

  it('routes with params, counts stats, and exposes admin state and reset', async () => {
    const { url } = await start();
    const response = await fetch(`${url}/things/apple`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: 1 }),
    });
    expect(response.status).toBe(201);
    expect(await (await fetch(`${url}/files/a/b.txt`)).text()).toBe('a/b.txt');
    expect((await fetch(`${url}/things/apple`)).status).toBe(405);
    expect((await fetch(`${url}/nothing`)).status).toBe(404);
    expect(await (await fetch(`${url}/__admin/state`)).json()).toEqual({ items: ['apple:{"a":1}'] });
    expect(emulator!.stats.byRoute['POST /things/:kind']).toBe(1);
    expect(emulator!.stats.byStatus['404']).toBe(1);
    await fetch(`${url}/__admin/reset`, { method: 'POST' });
    expect(await (await fetch(`${url}/__admin/state`)).json()).toEqual({ items: [] });
  });

  it('injects seeded server errors and dropped connections', async () => {
    const { url } = await start({ serverErrorRate: 0.3, dropRate: 0.2 });
    const outcomes = { ok: 0, error: 0, dropped: 0 };
    for (let index = 0; index < 60; index++) {
      try {
        const response = await fetch(`${url}/files/x`);
        if (response.status === 200) outcomes.ok++;
        else outcomes.error++;
      } catch {
        outcomes.dropped++;
      }
    }
    expect(outcomes.ok).toBeGreaterThan(10);
    expect(outcomes.error).toBeGreaterThan(5);
    expect(outcomes.dropped).toBeGreaterThan(2);
    expect(emulator!.stats.byTag.fault).toBe(outcomes.error + outcomes.dropped);
  });
});

describe('RollingWindow', () => {
  it('allows `limit` requests per interval and reports when room frees up', () => {
    const window = new RollingWindow(3, 1000);
    expect(window.take(0)).toMatchObject({ allowed: true, remaining: 2 });
    expect(window.take(100).allowed).toBe(true);
    expect(window.take(200)).toMatchObject({ allowed: true, remaining: 0 });
    expect(window.take(300)).toMatchObject({ allowed: false, resetMs: 700 });
    expect(window.take(1000)).toMatchObject({ allowed: true, remaining: 0 });
    expect(window.take(1001).allowed).toBe(false);
  });
});
