import { PassThrough, Readable, Writable } from 'node:stream';
import type { CommandIo } from './command.ts';

/** A `CommandIo` over in-memory streams, plus what the command wrote, for in-process command tests. */
export interface TestIo {
  /** The io to pass to `main` or `command.run`. */
  io: CommandIo;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
}

/** Creates in-memory streams for a command: `stdin` holds the given text (empty when omitted). */
export function createTestIo(
  options: { stdin?: string; env?: Record<string, string | undefined>; cwd?: string } = {},
): TestIo {
  const stdout = collect();
  const stderr = collect();
  const stdin = options.stdin === undefined ? new PassThrough().end() : Readable.from([Buffer.from(options.stdin)]);
  return {
    io: {
      stdin,
      stdout: stdout.stream,
      stderr: stderr.stream,
      env: options.env ?? {},
      cwd: options.cwd ?? process.cwd(),
    },
    stdout: stdout.text,
    stderr: stderr.text,
  };
}

function collect(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      callback();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}
