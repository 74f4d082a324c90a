import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateTraffic } from './generate-traffic.ts';
import { readTraffic, TrafficFilesError, writeTraffic } from './traffic-files.ts';

const directories: string[] = [];
afterEach(async () => {
  await Promise.all(directories.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});
async function temporaryDirectory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'coexist-traffic-'));
  directories.push(dir);
  return dir;
}

describe('writeTraffic / readTraffic', () => {
  it('writes one file per payload in delivery order plus the manifest, and reads the exact bytes back', async () => {
    const dir = await temporaryDirectory();
    const run = generateTraffic({ messages: 80, seed: 'files', chunkSize: 20 });
    const payloads = [...run];
    const result = await writeTraffic(dir, run);
    expect(result.files).toBe(payloads.length);
    const names = (await readdir(dir)).sort();
    expect(names).toContain('manifest.json');
    expect(names[0]).toMatch(/^000001-smb_app_state_sync\.json$/);
    const stored = await readTraffic(dir);
    expect(stored.manifest).toEqual(JSON.parse(JSON.stringify(run.manifest())));
    const read = [];
    for await (const payload of stored.payloads) read.push(payload);
    expect(read.map((payload) => payload.sequence)).toEqual(payloads.map((payload) => payload.sequence));
    expect(read.map((payload) => payload.field)).toEqual(payloads.map((payload) => payload.field));
    expect(read.map((payload) => payload.body.toString('utf8'))).toEqual(payloads.map((payload) => payload.body));
    expect(await readFile(join(dir, stored.files[0]!), 'utf8')).toBe(payloads[0]!.body);
  });

  it('refuses to mix runs unless told to overwrite, and sorts by sequence beyond six digits', async () => {
    const dir = await temporaryDirectory();
    await writeTraffic(dir, generateTraffic({ messages: 40, seed: 1 }));
    await expect(writeTraffic(dir, generateTraffic({ messages: 20, seed: 2 }))).rejects.toBeInstanceOf(
      TrafficFilesError,
    );
    const second = await writeTraffic(dir, generateTraffic({ messages: 20, seed: 2 }), { overwrite: true });
    expect((await readTraffic(dir)).files).toHaveLength(second.files);
    const other = await temporaryDirectory();
    await writeFile(join(other, '1000000-messages.json'), '{}');
    await writeFile(join(other, '999999-history.json'), '{}');
    expect((await readTraffic(other)).files).toEqual(['999999-history.json', '1000000-messages.json']);
    expect((await readTraffic(other)).manifest).toBeUndefined();
  });

  it('names a missing directory in its error', async () => {
    await expect(readTraffic('/nonexistent/coexist-traffic')).rejects.toThrow(
      '[coexist/sandbox] traffic directory does not exist: /nonexistent/coexist-traffic',
    );
  });
});
