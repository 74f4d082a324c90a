import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { UsageError } from './usage-error.ts';

/** The parsed options and positionals of a command line. */
export type ParsedArguments<Options extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: Options; allowPositionals: true; strict: true }>
>;

/**
 * Parses a command's arguments strictly with `node:util` `parseArgs`, turning every mistake (unknown
 * option, missing value, too many positionals) into a `UsageError`.
 */
export function parseArguments<const Options extends ParseArgsOptionsConfig>(
  argv: string[],
  options: Options,
  { maxPositionals = 0 }: { maxPositionals?: number } = {},
): ParsedArguments<Options> {
  let parsed: ParsedArguments<Options>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
  const extra = parsed.positionals[maxPositionals];
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
  return parsed;
}

function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // Node's messages carry advice about `--` that reads oddly in a usage line; keep the first sentence.
  const option = /^Unknown option '([^']+)'/.exec(message)?.[1];
  if (option !== undefined) return `unknown option '${option}'`;
  return message.replace(/\.\s.*$/s, '').replace(/\.$/, '');
}
