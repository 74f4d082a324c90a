import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../main.ts';
import { createTestIo } from '../test-io.ts';

const bin = fileURLToPath(new URL('../bin.ts', import.meta.url));

function runProcess(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=@coexist/source', bin, ...args], { stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('coexist demo', () => {
  it('syncs a generated onboarding into the HubSpot emulator and prints the summary as JSON on the last line', async () => {
    const { code, stdout } = await runProcess(['demo', '--messages', '400', '--numbers', '1', '--json']);
    const lines = stdout.trim().split('\n');
    const summary = JSON.parse(lines.at(-1)!) as Record<string, number | string>;
    expect(summary).toMatchObject({ crm: 'hubspot', messagesGenerated: 400, messagesWritten: 400, duplicates: 0 });
    for (const field of [
      'contactsMatched',
      'contactsCreated',
      'requests',
      'rateLimited',
      'deadLettered',
      'elapsedMs',
      'floorMs',
    ]) {
      expect(typeof summary[field]).toBe('number');
    }
    expect(summary.contactsMatched).toBeGreaterThan(0);
    expect(summary.deadLettered).toBe(0);
    expect(stdout).toContain('hubspot: 400 of 400 messages in the CRM, 0 duplicates');
    expect(code).toBe(0);
  });

  it('rejects an unknown CRM and a bad count as usage errors', async () => {
    const unknownCrm = createTestIo();
    expect(await main(['demo', '--crm', 'pipedrive'], unknownCrm.io)).toBe(2);
    expect(unknownCrm.stderr()).toContain('--crm must be one of');
    const badCount = createTestIo();
    expect(await main(['demo', '--messages', 'lots'], badCount.io)).toBe(2);
  });
});
