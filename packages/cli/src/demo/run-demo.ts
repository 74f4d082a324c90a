import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { SyncProgress } from '@coexist/core';
import { type DeliveryStats, deliverTraffic, generateTraffic, type HubSpotTier } from '@coexist/sandbox';
import type { CoexistConfig } from '../serve/coexist-config.ts';
import { type CoexistServer, startCoexistServer } from '../serve/create-coexist-server.ts';
import { createCloseDemoTarget } from './close-demo-target.ts';
import { countMessagesWithoutPhone } from './count-messages-without-phone.ts';
import type { DemoCrm, DemoTarget } from './demo-target.ts';
import { createHubSpotDemoTarget } from './hubspot-demo-target.ts';
import { ProgressView } from './progress-view.ts';
import { createSalesforceDemoTarget } from './salesforce-demo-target.ts';
import { pickExistingContacts } from './seed-existing-contacts.ts';

/** Options of `runDemo`. */
export interface DemoOptions {
  /** The CRMs to sync into, at once. @default ['hubspot'] */
  crms?: readonly DemoCrm[];
  /** Business numbers to onboard. @default 2 */
  numbers?: number;
  /** Distinct messages across the numbers (history and live). @default 5000 */
  messages?: number;
  /** @default 1 */
  seed?: number | string;
  /** @default 'pro' */
  hubspotTier?: HubSpotTier;
  /** Fraction of webhook POSTs delivered twice, as Meta does. @default 0.02 */
  duplicates?: number;
  /** Longest wait for the CRMs to catch up after delivery. @default 600000 */
  timeoutMs?: number;
  /** Where progress is drawn. */
  progress?: Writable;
  signal?: AbortSignal;
}

/** The figures of one CRM's run; `messagesWritten`, `duplicates` and the contact counts come from the CRM. */
export interface DemoResult {
  crm: DemoCrm;
  messagesGenerated: number;
  /** The messages this CRM can hold: all generated, less those of BSUID-only customers when it needs a phone. */
  messagesExpected: number;
  messagesWritten: number;
  duplicates: number;
  contactsMatched: number;
  contactsCreated: number;
  requests: number;
  rateLimited: number;
  deadLettered: number;
  elapsedMs: number;
  floorMs: number;
  floorArithmetic: string;
  webhooks: { payloads: number; posts: number; duplicatesSent: number };
}

const APP_SECRET = 'demo-app-secret';

/** Runs the whole demo: sandbox CRMs, `coexist serve` per CRM, a generated onboarding delivered as Meta would, and a count. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult[]> {
  const crms = options.crms ?? ['hubspot'];
  const seed = options.seed ?? 1;
  const traffic = generateTraffic({ numbers: options.numbers ?? 2, messages: options.messages ?? 5000, seed });
  const manifest = traffic.manifest();
  const payloads = [...traffic];
  const phoneNumberIds = traffic.plan.numbers.map((number) => number.phoneNumberId);
  const businessPhones = traffic.plan.numbers.map((number) => `+${number.display.digits}`);
  const expectedByNumber = new Map(manifest.numbers.map((number) => [number.phoneNumberId, number]));
  const existing = pickExistingContacts(traffic.plan);
  const withoutPhone = countMessagesWithoutPhone(payloads);
  const expectedMessages = (target: DemoTarget, phoneNumberId?: string): number => {
    const generated =
      phoneNumberId === undefined ? manifest.totals.messages : (expectedByNumber.get(phoneNumberId)?.messages ?? 0);
    if (target.needsPhone !== true) return generated;
    const missing =
      phoneNumberId === undefined
        ? [...withoutPhone.values()].reduce((sum, count) => sum + count, 0)
        : (withoutPhone.get(phoneNumberId) ?? 0);
    return generated - missing;
  };

  const targets = crms.map((crm) => createTarget(crm, options, seed));
  const servers: CoexistServer[] = [];
  const directory = await mkdtemp(join(tmpdir(), 'coexist-demo-'));
  const view = options.progress ? new ProgressView(options.progress) : undefined;
  const timer = view ? setInterval(() => view.render(), 250) : undefined;
  try {
    for (const target of targets) {
      await target.start();
      target.seedExistingContacts(existing);
      const config: CoexistConfig = {
        port: 0,
        host: '127.0.0.1',
        webhookPath: '/webhooks/meta',
        store: { type: 'sqlite', path: join(directory, `${target.crm}.db`) },
        meta: { appSecret: APP_SECRET, verifyToken: 'demo-verify-token' },
        connections: [target.connection(phoneNumberIds, businessPhones)],
      };
      const server = await startCoexistServer(config);
      servers.push(server);
      server.coexist.engine.on('progress', (progress: SyncProgress) => {
        const expected = expectedByNumber.get(progress.phoneNumberId);
        view?.update({
          crm: target.crm,
          businessPhone: expected ? `+${expected.displayPhoneNumber}` : progress.phoneNumberId,
          phase: progress.phase,
          historyPhase: progress.history.historyPhase,
          chunksSeen: progress.history.chunksSeen,
          metaProgress: progress.history.metaProgress,
          written: progress.messagesWritten,
          expected: expectedMessages(target, progress.phoneNumberId),
          ratePerSecond: progress.ratePerSecond,
          etaSeconds: progress.etaSeconds,
        });
      });
    }

    return await Promise.all(
      targets.map(async (target, index) => {
        const server = servers[index]!;
        const startedAt = performance.now();
        const delivery: DeliveryStats = await deliverTraffic({
          payloads,
          url: `${server.url}/webhooks/meta`,
          appSecret: APP_SECRET,
          duplicates: options.duplicates ?? 0.02,
          concurrency: 2,
          seed,
          signal: options.signal,
        });
        await server.coexist.engine.drain({ timeoutMs: options.timeoutMs ?? 600_000 });
        const elapsedMs = Math.round(performance.now() - startedAt);
        const status = await server.coexist.engine.status();
        const counts = target.count();
        const floor = target.floor();
        return {
          crm: target.crm,
          messagesGenerated: manifest.totals.messages,
          messagesExpected: expectedMessages(target),
          ...counts,
          deadLettered: status.deadLetters,
          elapsedMs,
          floorMs: floor.floorMs,
          floorArithmetic: floor.arithmetic,
          webhooks: { payloads: delivery.payloads, posts: delivery.requests, duplicatesSent: delivery.duplicatesSent },
        } satisfies DemoResult;
      }),
    );
  } finally {
    if (timer) clearInterval(timer);
    view?.finish();
    await Promise.all(servers.map((server) => server.close()));
    await Promise.all(targets.map((target) => target.stop()));
    await rm(directory, { recursive: true, force: true });
  }
}

function createTarget(crm: DemoCrm, options: DemoOptions, seed: number | string): DemoTarget {
  switch (crm) {
    case 'hubspot':
      return createHubSpotDemoTarget({ tier: options.hubspotTier ?? 'pro', seed });
    case 'salesforce':
      return createSalesforceDemoTarget({ seed });
    case 'close':
      return createCloseDemoTarget({ seed });
    default:
      throw new Error(`[coexist/cli] the demo cannot sync into ${crm} yet`);
  }
}
