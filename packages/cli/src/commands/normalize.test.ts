import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseWebhook } from '@coexist/core';
import { describe, expect, it } from 'vitest';
import { main } from '../main.ts';
import { createTestIo } from '../test-io.ts';

const repositoryRoot = resolve(fileURLToPath(import.meta.url), '../../../../..');
const historyChunkPath = join(repositoryRoot, 'examples/payloads/history-chunk.json');
const messagesTextPath = join(repositoryRoot, 'examples/payloads/messages-text.json');
const receivedAt = '2026-03-01T12:00:00.000Z';

async function expectedLines(path: string): Promise<string[]> {
  const { readFile } = await import('node:fs/promises');
  const events = parseWebhook(JSON.parse(await readFile(path, 'utf8')), { receivedAt: new Date(receivedAt) });
  return events.map((event) => JSON.stringify(event));
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

const invalidEnvelope = JSON.stringify({
  object: 'whatsapp_business_account',
  entry: [
    {
      id: '102290129340398',
      changes: [
        {
          field: 'messages',
          value: {
            metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
            messages: [
              { from: '16505551234', id: 'wamid.X', timestamp: 'yesterday', type: 'text', text: { body: 'hi' } },
            ],
          },
        },
      ],
    },
  ],
});

describe('coexist normalize (in-process)', () => {
  it('prints one JSON event per line for a file, relative to cwd', async () => {
    const test = createTestIo({ cwd: repositoryRoot });
    expect(
      await main(['normalize', 'examples/payloads/history-chunk.json', '--received-at', receivedAt], test.io),
    ).toBe(0);
    const output = lines(test.stdout());
    expect(output).toEqual(await expectedLines(historyChunkPath));
    expect(output.map((line) => JSON.parse(line).type)).toContain('history.chunk');
    expect(test.stderr()).toBe('');
  });

  it('reads stdin when no file (or "-") is given', async () => {
    const { readFile } = await import('node:fs/promises');
    const payload = await readFile(messagesTextPath, 'utf8');
    for (const argv of [['normalize'], ['normalize', '-']]) {
      const test = createTestIo({ stdin: payload });
      expect(await main([...argv, '--received-at', receivedAt], test.io)).toBe(0);
      const output = lines(test.stdout());
      expect(output).toEqual(await expectedLines(messagesTextPath));
      expect(JSON.parse(output[0]!)).toMatchObject({ type: 'message.received', message: { kind: 'text' } });
    }
  });

  it('exits 1 with one line naming the path at fault for an invalid webhook', async () => {
    const test = createTestIo({ stdin: invalidEnvelope });
    expect(await main(['normalize'], test.io)).toBe(1);
    const stderr = test.stderr();
    expect(lines(stderr)).toHaveLength(1);
    expect(stderr).toMatch(
      /^coexist: invalid webhook at entry\[0\]\.changes\[0\]\.value\.messages\[0\]\.timestamp: .+\n$/,
    );
    expect(stderr).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
    expect(test.stdout()).toBe('');
  });

  it('exits 1 with one line for invalid JSON, showing where but not the content', async () => {
    const test = createTestIo({ stdin: '{\n  "object": "whatsapp_business_account",\n  "entry": [secret-text\n' });
    expect(await main(['normalize'], test.io)).toBe(1);
    expect(test.stderr()).toBe('coexist: invalid JSON in stdin at line 3, column 13\n');
    const empty = createTestIo({ stdin: '  \n' });
    expect(await main(['normalize'], empty.io)).toBe(1);
    expect(empty.stderr()).toBe('coexist: invalid JSON in stdin: the input is empty\n');
  });

  it('reads bytes as the webhook handler does: a leading BOM dropped, invalid UTF-8 refused', async () => {
    const { readFile } = await import('node:fs/promises');
    const payload = await readFile(messagesTextPath);
    const directory = await mkdtemp(join(tmpdir(), 'coexist-normalize-bytes-'));
    const bom = join(directory, 'bom.json');
    await writeFile(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), payload]));
    const withBom = createTestIo({ cwd: directory });
    expect(await main(['normalize', 'bom.json', '--received-at', receivedAt], withBom.io)).toBe(0);
    expect(lines(withBom.stdout())).toEqual(await expectedLines(messagesTextPath));
    const text = payload.indexOf(Buffer.from('"body"'));
    const broken = join(directory, 'broken.json');
    await writeFile(
      broken,
      Buffer.concat([payload.subarray(0, text + 10), Buffer.from([0xff]), payload.subarray(text + 10)]),
    );
    const invalid = createTestIo({ cwd: directory });
    expect(await main(['normalize', 'broken.json'], invalid.io)).toBe(1);
    expect(invalid.stderr()).toBe('coexist: broken.json is not valid UTF-8\n');
  });

  it('exits 1 with a clear line for a file it cannot read', async () => {
    const test = createTestIo({ cwd: repositoryRoot });
    expect(await main(['normalize', 'does/not/exist.json'], test.io)).toBe(1);
    expect(test.stderr()).toBe('coexist: cannot read does/not/exist.json: no such file\n');
    const directory = createTestIo({ cwd: repositoryRoot });
    expect(await main(['normalize', 'examples'], directory.io)).toBe(1);
    expect(directory.stderr()).toBe('coexist: cannot read examples: it is a directory\n');
  });

  it('exits 2 for usage errors', async () => {
    for (const argv of [
      ['normalize', 'a.json', 'b.json'],
      ['normalize', '--received-at', 'yesterday'],
      ['normalize', '--received-at'],
    ]) {
      const test = createTestIo({ stdin: '{}' });
      expect(await main(argv, test.io), argv.join(' ')).toBe(2);
      expect(test.stderr()).toMatch(/^coexist normalize: .+\n\nUsage: coexist normalize/);
    }
  });
});

describe('coexist normalize (real process)', () => {
  const run = promisify(execFile);

  it('prints the events of a file and exits 0', async () => {
    const { stdout, stderr } = await run(
      process.execPath,
      [
        '--conditions=@coexist/source',
        'packages/cli/src/bin.ts',
        'normalize',
        historyChunkPath,
        '--received-at',
        receivedAt,
      ],
      { cwd: repositoryRoot },
    );
    expect(lines(stdout)).toEqual(await expectedLines(historyChunkPath));
    expect(stderr).not.toMatch(/coexist:/);
  });

  it('exits 1 with one line on stderr for an invalid webhook', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'coexist-normalize-'));
    const file = join(directory, 'invalid.json');
    await writeFile(file, invalidEnvelope);
    const failure = await run(
      process.execPath,
      [
        '--conditions=@coexist/source',
        '--disable-warning=ExperimentalWarning',
        'packages/cli/src/bin.ts',
        'normalize',
        file,
      ],
      { cwd: repositoryRoot },
    ).catch((error: { code: number; stdout: string; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 1, stdout: '' });
    expect((failure as { stderr: string }).stderr).toMatch(
      /^coexist: invalid webhook at entry\[0\]\.changes\[0\]\.value\.messages\[0\]\.timestamp: .+\n$/,
    );
  });
});
