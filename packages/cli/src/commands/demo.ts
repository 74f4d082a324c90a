import type { HubSpotTier } from '@coexist/sandbox';
import type { Command } from '../command.ts';
import type { DemoCrm } from '../demo/demo-target.ts';
import { formatDemoSummary } from '../demo/format-demo-summary.ts';
import { runDemo } from '../demo/run-demo.ts';
import { parseArguments } from '../parse-arguments.ts';
import { UsageError } from '../usage-error.ts';
import { writeText } from '../write-text.ts';

const crms: readonly DemoCrm[] = ['hubspot', 'salesforce', 'close'];
const hubspotTiers: readonly HubSpotTier[] = ['free', 'starter', 'pro', 'enterprise', 'oauth'];

/** `coexist demo`: the whole path — sandbox CRMs, `coexist serve`, a generated onboarding delivered as Meta would. */
export const demoCommand: Command = {
  name: 'demo',
  summary: 'Sync a generated WhatsApp Coexistence onboarding into emulated CRMs through coexist serve, and count.',
  usage: [
    'coexist demo [--crm hubspot|salesforce|close|all] [--messages N] [--numbers N] [--seed S] [--json]',
    '',
    'Starts the CRM emulator(s), runs coexist serve against each, generates an onboarding (contact sync,',
    'a six-month history in phases, live traffic), delivers it signed as Meta would (with duplicates),',
    'draws progress per number and phase, and ends with a summary counted from the CRM itself.',
    '',
    'Options:',
    '  --crm CRM             hubspot (default), salesforce, close, or all (the same traffic into all three)',
    '  --messages N          distinct messages across the numbers (default: 5000)',
    '  --numbers N           business numbers to onboard (default: 2)',
    '  --seed S              seed of the generated traffic and the emulators (default: 1)',
    '  --hubspot-tier TIER   free, starter, pro (default), enterprise or oauth',
    '  --json                print the summary as one JSON object on the last line of stdout',
  ].join('\n'),
  async run(argv, io) {
    const { values } = parseArguments(argv, {
      crm: { type: 'string' },
      messages: { type: 'string' },
      numbers: { type: 'string' },
      seed: { type: 'string' },
      'hubspot-tier': { type: 'string' },
      json: { type: 'boolean' },
    });
    const crm = values.crm ?? 'hubspot';
    if (crm !== 'all' && !crms.includes(crm as DemoCrm)) {
      throw new UsageError(`--crm must be one of ${[...crms, 'all'].join(', ')}, got '${crm}'`);
    }
    const tier = values['hubspot-tier'] ?? 'pro';
    if (!hubspotTiers.includes(tier as HubSpotTier)) {
      throw new UsageError(`--hubspot-tier must be one of ${hubspotTiers.join(', ')}, got '${tier}'`);
    }
    const results = await runDemo({
      crms: crm === 'all' ? crms : [crm as DemoCrm],
      messages: parseCount('--messages', values.messages, 5000, 1, 1_000_000),
      numbers: parseCount('--numbers', values.numbers, 2, 1, 50),
      seed: values.seed ?? 1,
      hubspotTier: tier as HubSpotTier,
      progress: io.stderr,
      signal: io.signal,
    });
    await writeText(io.stdout, formatDemoSummary(results));
    if (values.json) {
      const summary = results.length === 1 ? results[0] : { crm: 'all', results };
      await writeText(io.stdout, `${JSON.stringify(summary)}\n`);
    }
    const complete = results.every(
      (result) => result.messagesWritten === result.messagesExpected && result.duplicates === 0,
    );
    return complete ? 0 : 1;
  },
};

function parseCount(option: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const number = Number(value.replaceAll('_', ''));
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new UsageError(`${option} must be a whole number from ${min} to ${max}, got '${value}'`);
  }
  return number;
}
