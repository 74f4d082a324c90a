import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from '@hubspot/api-client';
import { describe, expect, it } from 'vitest';
import { main } from '../main.ts';
import { createTestIo } from '../test-io.ts';

const bin = fileURLToPath(new URL('../bin.ts', import.meta.url));

describe('coexist sandbox', () => {
  it('prints the four base URLs as the first stdout line and serves until stopped', async () => {
    const child = spawn(
      process.execPath,
      ['--conditions=@coexist/source', bin, 'sandbox', '--hubspot-tier', 'starter'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const firstLine = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`sandbox exited with ${code}`)));
      });
      const urls = JSON.parse(firstLine) as Record<string, string>;
      expect(Object.keys(urls).sort()).toEqual(['close', 'hubspot', 'meta', 'salesforce']);
      for (const url of Object.values(urls)) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      // The real HubSpot client works against it, and the starter tier's limit shows in the headers.
      const hubspot = new Client({
        accessToken: 'pat-na1-00000000-0000-4000-a000-000000000000',
        basePath: urls.hubspot,
      });
      const created = await hubspot.crm.contacts.basicApi.create({
        properties: { firstname: 'Ada' },
        associations: [],
      });
      expect(created.id).toBeTruthy();
      const raw = await fetch(`${urls.hubspot}/crm/v3/objects/contacts/${created.id}`, {
        headers: { authorization: 'Bearer pat-na1-00000000-0000-4000-a000-000000000000' },
      });
      expect(raw.headers.get('x-hubspot-ratelimit-max')).toBe('100');
      // Every emulator answers its admin endpoint.
      for (const url of Object.values(urls)) expect((await fetch(`${url}/__admin/stats`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
  });

  it('rejects a bad tier or fault rate as a usage error', async () => {
    const bad = createTestIo();
    expect(await main(['sandbox', '--hubspot-tier', 'gold'], bad.io)).toBe(2);
    expect(bad.stderr()).toContain('--hubspot-tier must be one of');
    const badFaults = createTestIo();
    expect(await main(['sandbox', '--faults', '2'], badFaults.io)).toBe(2);
  });
});
