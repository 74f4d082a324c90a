import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { parseWebhook, WebhookValidationError } from '@coexist/core';
import type { Command, CommandIo } from '../command.ts';
import { locateJsonSyntaxError } from '../locate-json-syntax-error.ts';
import { parseArguments } from '../parse-arguments.ts';
import { UsageError } from '../usage-error.ts';
import { writeText } from '../write-text.ts';

/** `coexist normalize [file]`: parses one Meta webhook payload and prints one Coexist event per line. */
export const normalizeCommand: Command = {
  name: 'normalize',
  summary: 'Parse a Meta webhook payload (a file, or stdin) and print one Coexist event per line as JSON.',
  usage: [
    'coexist normalize [file] [--received-at <iso-date>]',
    '',
    'Arguments:',
    '  file                      a JSON webhook body as Meta POSTs it; stdin when omitted or "-"',
    '',
    'Options:',
    '  --received-at <iso-date>  the receive time for events without their own timestamp (default: now)',
  ].join('\n'),
  async run(argv, io) {
    const { values, positionals } = parseArguments(argv, { 'received-at': { type: 'string' } }, { maxPositionals: 1 });
    const receivedAt = parseReceivedAt(values['received-at']);
    const file = positionals[0] === '-' ? undefined : positionals[0];
    if (file === undefined && (io.stdin as Readable & { isTTY?: boolean }).isTTY) {
      throw new UsageError('no file given and stdin is a terminal; pass a file or pipe a payload in');
    }
    const source = file ?? 'stdin';

    let bytes: Uint8Array;
    try {
      bytes = file === undefined ? await readAll(io.stdin) : await readFile(resolve(io.cwd, file));
    } catch (error) {
      return fail(io, `cannot read ${source}: ${describeReadError(error)}`);
    }
    let text: string;
    try {
      // As the webhook handler reads a body: UTF-8 only (no replacement characters), a leading BOM dropped.
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return fail(io, `${source} is not valid UTF-8`);
    }

    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return fail(io, `invalid JSON in ${source}${describeJsonErrorPosition(text)}`);
    }

    let events: ReturnType<typeof parseWebhook>;
    try {
      events = parseWebhook(body, { receivedAt });
    } catch (error) {
      if (!(error instanceof WebhookValidationError)) throw error;
      const reason = error.issues[0]?.message ?? error.message;
      return fail(io, `invalid webhook at ${error.path === '' ? '(body)' : error.path}: ${reason}`);
    }

    if (events.length > 0) await writeText(io.stdout, events.map((event) => JSON.stringify(event)).join('\n') + '\n');
    return 0;
  },
};

async function fail(io: CommandIo, message: string): Promise<number> {
  await writeText(io.stderr, `coexist: ${message}\n`);
  return 1;
}

function parseReceivedAt(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new UsageError(`--received-at must be an ISO-8601 date, got '${value}'`);
  return date;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

function describeReadError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return error instanceof Error ? error.message : String(error);
}

/** Where the JSON breaks, as line and column; V8's own message can quote the payload, so it is not shown. */
function describeJsonErrorPosition(text: string): string {
  const position = locateJsonSyntaxError(text);
  if (position === undefined) return '';
  if (text.trim() === '') return ': the input is empty';
  return ` at line ${position.line}, column ${position.column}`;
}
