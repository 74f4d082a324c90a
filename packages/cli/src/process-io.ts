import type { CommandIo } from './command.ts';

/** The real process's streams, environment and working directory. */
export function processIo(): CommandIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}
