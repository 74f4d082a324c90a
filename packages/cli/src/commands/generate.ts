import { resolve } from 'node:path';
import {
  generateTraffic,
  TrafficFilesError,
  type TrafficOptions,
  TrafficOptionsError,
  writeTraffic,
} from '@coexist/sandbox';
import type { Command } from '../command.ts';
import { parseArguments } from '../parse-arguments.ts';
import { UsageError } from '../usage-error.ts';
import { writeText } from '../write-text.ts';

/** Parses a whole-number option value or throws a usage error naming the option. */
export function parseWholeNumber(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${option} must be a whole number, got '${value}'`);
  return Number(value);
}

/** A seed from the command line: digits become a number, anything else stays a string. */
export function parseSeed(value: string | undefined): number | string | undefined {
  if (value === undefined) return undefined;
  return /^\d{1,15}$/.test(value) ? Number(value) : value;
}

const formatNumber = (value: number) => value.toLocaleString('en-US');

/** `coexist generate`: writes a realistic, seeded Coexistence webhook run to a directory. */
export const generateCommand: Command = {
  name: 'generate',
  summary: 'Generate realistic Coexistence webhook traffic (onboarding, history, live) as files in delivery order.',
  usage: [
    'coexist generate --out <dir> [--numbers <n>] [--messages <n>] [--seed <seed>] [options]',
    '',
    'Options:',
    '  --out <dir>               directory for 000001-<field>.json files and manifest.json (required)',
    '  --numbers <n>             business numbers, each with its own WABA (default 1)',
    '  --messages <n>            distinct messages across all numbers, history + live (default 200)',
    '  --seed <seed>             same seed and options give byte-identical files (default 1)',
    '  --contacts <n>            customers across all numbers',
    '  --live-messages <n>       how many of the messages arrive live after onboarding (default 10%)',
    '  --onboarded-at <iso>      when the first number was onboarded (default 2026-03-02T09:00:00Z)',
    '  --declined-history <list> zero-based numbers whose business declined history sharing, e.g. 1,3',
    '  --chunk-size <n>          maximum messages per history chunk (default 250)',
    '  --max-batch-size <n>      maximum updates per live POST, up to 1000 (default 1000)',
    '  --history-encoding <e>    meta-docs, from-me or mixed (default mixed)',
    '  --json-style <s>          meta (escaped like Meta) or plain (default meta)',
    '  --force                   replace traffic files already in --out',
  ].join('\n'),
  async run(argv, io) {
    const { values } = parseArguments(argv, {
      out: { type: 'string' },
      numbers: { type: 'string' },
      messages: { type: 'string' },
      seed: { type: 'string' },
      contacts: { type: 'string' },
      'live-messages': { type: 'string' },
      'onboarded-at': { type: 'string' },
      'declined-history': { type: 'string' },
      'chunk-size': { type: 'string' },
      'max-batch-size': { type: 'string' },
      'history-encoding': { type: 'string' },
      'json-style': { type: 'string' },
      force: { type: 'boolean' },
    });
    if (values.out === undefined) throw new UsageError('--out <dir> is required');
    const declined = values['declined-history'];
    const options: TrafficOptions = {
      numbers: parseWholeNumber('numbers', values.numbers),
      messages: parseWholeNumber('messages', values.messages),
      seed: parseSeed(values.seed),
      contacts: parseWholeNumber('contacts', values.contacts),
      liveMessages: parseWholeNumber('live-messages', values['live-messages']),
      onboardedAt: values['onboarded-at'],
      declinedHistoryNumbers:
        declined === undefined
          ? undefined
          : declined.split(',').map((item) => parseWholeNumber('declined-history', item.trim())!),
      chunkSize: parseWholeNumber('chunk-size', values['chunk-size']),
      maxBatchSize: parseWholeNumber('max-batch-size', values['max-batch-size']),
      historyEncoding: values['history-encoding'] as TrafficOptions['historyEncoding'],
      jsonStyle: values['json-style'] as TrafficOptions['jsonStyle'],
    };
    for (const key of Object.keys(options) as Array<keyof TrafficOptions>)
      if (options[key] === undefined) delete options[key];
    let run: ReturnType<typeof generateTraffic>;
    try {
      run = generateTraffic(options);
    } catch (error) {
      if (error instanceof TrafficOptionsError) throw new UsageError(error.message.replace('[coexist/sandbox] ', ''));
      throw error;
    }
    const dir = resolve(io.cwd, values.out);
    const started = performance.now();
    let result: Awaited<ReturnType<typeof writeTraffic>>;
    try {
      result = await writeTraffic(dir, run, { overwrite: values.force ?? false });
    } catch (error) {
      if (error instanceof TrafficFilesError) {
        await writeText(
          io.stderr,
          `coexist generate: ${values.out} already holds traffic files; pass --force to replace them\n`,
        );
        return 1;
      }
      throw error;
    }
    const manifest = result.manifest!;
    const totals = manifest.totals;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    await writeText(
      io.stderr,
      `generated ${formatNumber(result.files)} payloads (${(result.bytes / 1e6).toFixed(1)} MB) for ${manifest.numbers.length} number(s): ` +
        `${formatNumber(totals.messages)} messages (${formatNumber(totals.historyMessages)} history, ${formatNumber(totals.liveMessages)} live), ` +
        `${formatNumber(totals.threads)} threads, ${formatNumber(totals.mediaFollowUps)} media follow-ups, ` +
        `${formatNumber(totals.statuses)} statuses (${formatNumber(totals.duplicateStatuses)} duplicates) → ${values.out} in ${seconds}s\n`,
    );
    return 0;
  },
};
