import { resolve } from 'node:path';
import { DeliverTrafficError, deliverTraffic, readTraffic } from '@coexist/sandbox';
import type { Command } from '../command.ts';
import { parseArguments } from '../parse-arguments.ts';
import { UsageError } from '../usage-error.ts';
import { writeText } from '../write-text.ts';
import { parseSeed, parseWholeNumber } from './generate.ts';

function parsePositiveNumber(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number <= 0)
    throw new UsageError(`--${option} must be a number above 0, got '${value}'`);
  return number;
}

function parseFraction(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !(number >= 0 && number <= 1))
    throw new UsageError(`--${option} must be a fraction from 0 to 1, got '${value}'`);
  return number;
}

/** `coexist replay`: delivers a traffic directory to a webhook URL as signed POSTs, like Meta. */
export const replayCommand: Command = {
  name: 'replay',
  summary: 'Deliver generated traffic files to a webhook URL as signed POSTs, with retries and duplicates like Meta.',
  usage: [
    'coexist replay <dir> --to <url> --app-secret <secret> [--rate <r>] [--duplicates <p>] [options]',
    '',
    'Arguments:',
    '  dir                  a directory written by `coexist generate`',
    '',
    'Options:',
    '  --to <url>           the webhook endpoint (required)',
    '  --app-secret <s>     the Meta app secret that signs the bodies (or META_APP_SECRET)',
    '  --rate <r>           payloads per second (default: as fast as possible)',
    '  --duplicates <p>     fraction 0–1 of payloads delivered twice (default 0)',
    '  --retries <n>        retries of a non-2xx answer (default 5)',
    '  --concurrency <n>    requests in flight; 1 keeps the order (default 1)',
    '  --seed <seed>        which payloads get duplicated (default 1)',
  ].join('\n'),
  async run(argv, io) {
    const { values, positionals } = parseArguments(
      argv,
      {
        to: { type: 'string' },
        'app-secret': { type: 'string' },
        rate: { type: 'string' },
        duplicates: { type: 'string' },
        retries: { type: 'string' },
        concurrency: { type: 'string' },
        seed: { type: 'string' },
      },
      { maxPositionals: 1 },
    );
    const dir = positionals[0];
    if (dir === undefined) throw new UsageError('the traffic directory is required');
    if (values.to === undefined) throw new UsageError('--to <url> is required');
    const appSecret = values['app-secret'] ?? io.env.META_APP_SECRET;
    if (!appSecret) throw new UsageError('--app-secret <secret> (or META_APP_SECRET) is required');
    let target: URL;
    try {
      target = new URL(values.to);
    } catch {
      throw new UsageError(`--to must be an absolute URL, got '${values.to}'`);
    }
    const rate = parsePositiveNumber('rate', values.rate);
    const duplicates = parseFraction('duplicates', values.duplicates);
    const retries = parseWholeNumber('retries', values.retries);
    const concurrency = parseWholeNumber('concurrency', values.concurrency);
    if (concurrency === 0) throw new UsageError('--concurrency must be at least 1');
    const seed = parseSeed(values.seed);

    const traffic = await readTraffic(resolve(io.cwd, dir));
    if (traffic.files.length === 0) {
      await writeText(io.stderr, `coexist replay: no traffic files (NNNNNN-<field>.json) in ${dir}\n`);
      return 1;
    }
    let stats: Awaited<ReturnType<typeof deliverTraffic>>;
    try {
      stats = await deliverTraffic({
        payloads: traffic.payloads,
        url: target,
        appSecret,
        ...(rate === undefined ? {} : { rate }),
        ...(duplicates === undefined ? {} : { duplicates }),
        ...(retries === undefined ? {} : { retries }),
        ...(concurrency === undefined ? {} : { concurrency }),
        ...(seed === undefined ? {} : { seed }),
      });
    } catch (error) {
      if (error instanceof DeliverTrafficError) throw new UsageError(error.message.replace('[coexist/sandbox] ', ''));
      throw error;
    }
    // Only origin and path: a query string may carry tokens.
    const where = `${target.origin}${target.pathname}`;
    await writeText(
      io.stderr,
      `replayed ${stats.payloads.toLocaleString('en-US')} payloads to ${where}: ${stats.delivered.toLocaleString('en-US')} delivered, ` +
        `${stats.duplicatesSent} duplicates, ${stats.retries} retries, ${stats.failed} failed in ${(stats.durationMs / 1000).toFixed(1)}s\n`,
    );
    for (const failure of stats.failures) {
      await writeText(
        io.stderr,
        `  payload ${failure.sequence ?? '?'} failed: ${failure.status ?? failure.error ?? 'unknown error'}\n`,
      );
    }
    return stats.failed > 0 ? 1 : 0;
  },
};
