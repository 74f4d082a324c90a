import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTraffic } from '@coexist/sandbox';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../main.ts';
import { createTestIo } from '../test-io.ts';

const directories: string[] = [];
afterEach(async () => {
  await Promise.all(directories.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function temporaryDirectory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'coexist-generate-'));
  directories.push(dir);
  return dir;
}

describe('coexist generate', () => {
  it('writes the seeded run as files in delivery order with a manifest and prints a summary to stderr', async () => {
    const cwd = await temporaryDirectory();
    const test = createTestIo({ cwd });
    const code = await main(
      ['generate', '--numbers', '2', '--messages', '150', '--seed', '9', '--chunk-size', '40', '--out', 'traffic'],
      test.io,
    );
    expect(test.stderr()).toMatch(/^generated \d+ payloads .* for 2 number\(s\): 150 messages /);
    expect(code).toBe(0);
    expect(test.stdout()).toBe('');
    const files = (await readdir(join(cwd, 'traffic'))).filter((name) => name !== 'manifest.json').sort();
    const expected = [...generateTraffic({ numbers: 2, messages: 150, seed: 9, chunkSize: 40 })];
    expect(files).toHaveLength(expected.length);
    expect(await readFile(join(cwd, 'traffic', files[5]!), 'utf8')).toBe(expected[5]!.body);
    const manifest = JSON.parse(await readFile(join(cwd, 'traffic', 'manifest.json'), 'utf8'));
    expect(manifest.totals.messages).toBe(150);
  });

  it('refuses to overwrite without --force', async () => {
    const cwd = await temporaryDirectory();
    expect(await main(['generate', '--messages', '20', '--out', 'traffic'], createTestIo({ cwd }).io)).toBe(0);
    const again = createTestIo({ cwd });
    expect(await main(['generate', '--messages', '20', '--out', 'traffic'], again.io)).toBe(1);
    expect(again.stderr()).toContain('--force');
    expect(await main(['generate', '--messages', '20', '--out', 'traffic', '--force'], createTestIo({ cwd }).io)).toBe(
      0,
    );
  });

  it.each([
    [['generate', '--messages', '20'], '--out <dir> is required'],
    [['generate', '--numbers', 'two', '--out', 'x'], "--numbers must be a whole number, got 'two'"],
    [['generate', '--numbers', '2', '--declined-history', '4', '--out', 'x'], 'declinedHistoryNumbers[0]'],
    [['generate', '--history-encoding', 'xml', '--out', 'x'], 'historyEncoding'],
    [['generate', '--bogus', '--out', 'x'], "unknown option '--bogus'"],
  ])('exits 2 on a usage error: %j', async (argv, message) => {
    const test = createTestIo({ cwd: await temporaryDirectory() });
    expect(await main(argv, test.io)).toBe(2);
    expect(test.stderr()).toContain(message);
    expect(test.stderr()).toContain('Usage: coexist generate');
  });
});
