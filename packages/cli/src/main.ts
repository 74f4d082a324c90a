import packageJson from '../package.json' with { type: 'json' };
import type { Command, CommandIo } from './command.ts';
import { commands } from './commands/index.ts';
import { processIo } from './process-io.ts';
import { UsageError } from './usage-error.ts';
import { writeText } from './write-text.ts';

/** Runs the `coexist` command with its arguments and resolves to the exit code (0 ok, 1 failure, 2 usage). */
export async function main(argv: string[], io: CommandIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    const command = rest[0] === undefined ? undefined : findCommand(rest[0]);
    if (rest[0] !== undefined && command === undefined) return unknownCommand(rest[0], io);
    await writeText(io.stdout, command ? commandHelp(command) : generalHelp());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    await writeText(io.stdout, `${packageJson.version}\n`);
    return 0;
  }
  if (name === undefined) {
    await writeText(io.stderr, `coexist: missing command\n\n${generalHelp()}`);
    return 2;
  }
  const command = findCommand(name);
  if (command === undefined) return unknownCommand(name, io);
  if (asksForHelp(rest)) {
    await writeText(io.stdout, commandHelp(command));
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      await writeText(io.stderr, `coexist ${command.name}: ${error.message}\n\nUsage: ${command.usage}\n`);
      return 2;
    }
    // One line, no stack trace, unless asked for while debugging.
    const message = error instanceof Error ? error.message : String(error);
    const stack = io.env.COEXIST_DEBUG && error instanceof Error && error.stack ? `${error.stack}\n` : '';
    await writeText(io.stderr, `coexist ${command.name}: ${firstLine(message)}\n${stack}`);
    return 1;
  }
}

function findCommand(name: string): Command | undefined {
  return commands.find((command) => command.name === name);
}

async function unknownCommand(name: string, io: CommandIo): Promise<number> {
  const what = name.startsWith('-') ? 'option' : 'command';
  await writeText(io.stderr, `coexist: unknown ${what} '${name}'\n\n${generalHelp()}`);
  return 2;
}

/** `--help` or `-h` anywhere before a `--` that ends the options. */
function asksForHelp(argv: string[]): boolean {
  const end = argv.indexOf('--');
  const options = end === -1 ? argv : argv.slice(0, end);
  return options.includes('--help') || options.includes('-h');
}

function generalHelp(): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  const lines = commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return [
    'Usage: coexist <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `coexist <command> --help` for the options of a command.',
    '',
  ].join('\n');
}

function commandHelp(command: Command): string {
  return `${command.summary}\n\nUsage: ${command.usage}\n`;
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? '';
}
