import { describe, expect, it } from 'vitest';
import { commands } from './commands/index.ts';
import { main } from './main.ts';
import { createTestIo } from './test-io.ts';

describe('main', () => {
  it('prints the command list for --help, -h and help, exit 0', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const test = createTestIo();
      expect(await main([flag], test.io)).toBe(0);
      expect(test.stdout()).toMatch(/^Usage: coexist <command> \[options\]/);
      for (const command of commands) expect(test.stdout()).toContain(`  ${command.name}`);
      expect(test.stderr()).toBe('');
    }
  });

  it('prints a command’s usage for `coexist <cmd> --help` and `coexist help <cmd>`', async () => {
    for (const argv of [
      ['normalize', '--help'],
      ['normalize', 'file.json', '-h'],
      ['help', 'normalize'],
    ]) {
      const test = createTestIo();
      expect(await main(argv, test.io)).toBe(0);
      expect(test.stdout()).toContain('Usage: coexist normalize [file]');
    }
  });

  it('exits 2 with the usage on stderr for an unknown command, an unknown option or no command', async () => {
    for (const [argv, first] of [
      [['frobnicate'], "coexist: unknown command 'frobnicate'"],
      [['--frobnicate'], "coexist: unknown option '--frobnicate'"],
      [[], 'coexist: missing command'],
    ] as const) {
      const test = createTestIo();
      expect(await main([...argv], test.io)).toBe(2);
      expect(test.stderr().split('\n')[0]).toBe(first);
      expect(test.stderr()).toContain('Usage: coexist <command>');
      expect(test.stdout()).toBe('');
    }
  });

  it('exits 2 with the command’s usage for a command-line mistake', async () => {
    const test = createTestIo();
    expect(await main(['normalize', '--bogus'], test.io)).toBe(2);
    expect(test.stderr()).toMatch(/^coexist normalize: unknown option '--bogus'\n\nUsage: coexist normalize/);
  });

  it('prints the version', async () => {
    const test = createTestIo();
    expect(await main(['--version'], test.io)).toBe(0);
    expect(test.stdout()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('has one command per name', () => {
    const names = commands.map((command) => command.name);
    expect(new Set(names).size).toBe(names.length);
  });
});
