import type { Command } from '../command.ts';
import { demoCommand } from './demo.ts';
import { generateCommand } from './generate.ts';
import { normalizeCommand } from './normalize.ts';
import { replayCommand } from './replay.ts';
import { sandboxCommand } from './sandbox.ts';
import { serveCommand } from './serve.ts';

/** Every `coexist` subcommand, in the order `coexist --help` lists them; add one line per command. */
export const commands: Command[] = [
  demoCommand,
  normalizeCommand,
  generateCommand,
  replayCommand,
  sandboxCommand,
  serveCommand,
];
