import { type HubSpotTier, startSandbox } from '@coexist/sandbox';
import type { Command, CommandIo } from '../command.ts';
import { parseArguments } from '../parse-arguments.ts';
import { UsageError } from '../usage-error.ts';
import { writeText } from '../write-text.ts';

const hubspotTiers: readonly HubSpotTier[] = ['free', 'starter', 'pro', 'enterprise', 'oauth'];

/** `coexist sandbox`: starts the four emulators and prints their base URLs as one JSON line. */
export const sandboxCommand: Command = {
  name: 'sandbox',
  summary: 'Start the Meta, HubSpot, Salesforce and Close emulators and print their base URLs as JSON.',
  usage: [
    'coexist sandbox [--port-base N] [--hubspot-tier free|starter|pro|enterprise|oauth] [--faults RATE] [--seed S]',
    '',
    'Prints {"meta","hubspot","salesforce","close"} base URLs as the first line on stdout, then runs until',
    'interrupted (Ctrl-C / SIGTERM).',
    '',
    'Options:',
    '  --port-base N         Meta on N, HubSpot on N+1, Salesforce on N+2, Close on N+3 (default: free ports)',
    '  --hubspot-tier TIER   HubSpot rate-limit tier (default: pro)',
    '  --faults RATE         fraction of requests answered with a 5xx, 0..1 (default: 0)',
    "  --seed S              seed of the emulators' random draws (default: 1)",
    '  --app-secret SECRET   app secret the Meta emulator signs webhooks with (default: sandbox-app-secret)',
    '  --webhook-url URL     where the Meta emulator sends status webhooks',
  ].join('\n'),
  async run(argv, io) {
    const { values } = parseArguments(argv, {
      'port-base': { type: 'string' },
      'hubspot-tier': { type: 'string' },
      faults: { type: 'string' },
      seed: { type: 'string' },
      'app-secret': { type: 'string' },
      'webhook-url': { type: 'string' },
    });
    const portBase = values['port-base'] === undefined ? 0 : parseInteger('--port-base', values['port-base'], 1, 65532);
    const tier = values['hubspot-tier'] ?? 'pro';
    if (!hubspotTiers.includes(tier as HubSpotTier)) {
      throw new UsageError(`--hubspot-tier must be one of ${hubspotTiers.join(', ')}, got '${tier}'`);
    }
    const faultRate = values.faults === undefined ? 0 : Number(values.faults);
    if (!(faultRate >= 0 && faultRate <= 1))
      throw new UsageError(`--faults must be a number from 0 to 1, got '${values.faults}'`);
    const sandbox = await startSandbox({
      portBase,
      hubspotTier: tier as HubSpotTier,
      faultRate,
      seed: values.seed ?? 1,
      metaAppSecret: values['app-secret'],
      metaWebhookUrl: values['webhook-url'],
    });
    await writeText(io.stdout, `${JSON.stringify(sandbox.urls)}\n`);
    await waitForStop(io);
    await sandbox.stop();
    return 0;
  },
};

function parseInteger(option: string, value: string, min: number, max: number): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new UsageError(`${option} must be a whole number from ${min} to ${max}, got '${value}'`);
  }
  return number;
}

/** Resolves on SIGINT/SIGTERM, or when the injected io says to stop (tests). */
function waitForStop(io: CommandIo): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    io.signal?.addEventListener('abort', stop, { once: true });
  });
}
