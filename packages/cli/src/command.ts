import type { Readable, Writable } from 'node:stream';

/** The streams and environment a command runs with, injected so commands are testable in-process. */
export interface CommandIo {
  /** Standard input (`process.stdin` when run as a process). */
  stdin: Readable;
  /** Standard output: results only, so they can be piped. */
  stdout: Writable;
  /** Standard error: diagnostics, one line per problem, never a stack trace. */
  stderr: Writable;
  /** Environment variables (`process.env` when run as a process). */
  env: Record<string, string | undefined>;
  /** The directory relative paths resolve against. */
  cwd: string;
  /** Aborted to stop a long-running command (`sandbox`, `serve`) as SIGINT/SIGTERM would; for in-process use. */
  signal?: AbortSignal;
}

/** One `coexist <name>` subcommand. */
export interface Command {
  /** The word after `coexist`, e.g. `normalize`. */
  name: string;
  /** One sentence, shown in `coexist --help`. */
  summary: string;
  /** The synopsis and option lines shown by `coexist <name> --help`, e.g. `coexist normalize [file]`. */
  usage: string;
  /** Runs the command with the arguments after its name and resolves to the exit code (0 ok, 1 failure, 2 usage). */
  run(argv: string[], io: CommandIo): Promise<number>;
}
