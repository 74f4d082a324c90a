import { type CloseEmulator, startCloseEmulator } from './close/index.ts';
import type { FaultOptions } from './emulator/fault-injector.ts';
import { type HubSpotEmulator, type HubSpotTier, startHubSpotEmulator } from './hubspot/index.ts';
import { type MetaEmulator, type MetaNumberOptions, startMetaEmulator } from './meta/index.ts';
import { type SalesforceEmulator, startSalesforceEmulator } from './salesforce/index.ts';

/** Options of `startSandbox`: one set of knobs for all four emulators. */
export interface SandboxOptions {
  /** First port; the emulators listen on `portBase` (Meta), +1 (HubSpot), +2 (Salesforce), +3 (Close). 0 picks free ports. @default 0 */
  portBase?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** HubSpot's rate-limit tier. @default 'pro' */
  hubspotTier?: HubSpotTier;
  /** Fraction of requests (per emulator) answered with a 5xx. @default 0 */
  faultRate?: number;
  /** Finer fault control, applied to every emulator (overrides `faultRate`). */
  faults?: FaultOptions;
  /** Seed of every emulator's random draws. @default 1 */
  seed?: number | string;
  /** The Meta app secret the Meta emulator signs its webhooks with. @default 'sandbox-app-secret' */
  metaAppSecret?: string;
  /** Where the Meta emulator sends the webhooks its actions cause. */
  metaWebhookUrl?: string;
  /** The Coexistence numbers the Meta emulator knows. @default one number onboarded now */
  metaNumbers?: MetaNumberOptions[];
}

/** The base URLs of a running sandbox, as `coexist sandbox` prints them. */
export interface SandboxUrls {
  meta: string;
  hubspot: string;
  salesforce: string;
  close: string;
}

/** All four emulators, running. */
export interface Sandbox {
  readonly urls: SandboxUrls;
  readonly meta: MetaEmulator;
  readonly hubspot: HubSpotEmulator;
  readonly salesforce: SalesforceEmulator;
  readonly close: CloseEmulator;
  /** Stops every emulator. */
  stop(): Promise<void>;
}

/** Starts the Meta, HubSpot, Salesforce and Close emulators together on loopback. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const portBase = options.portBase ?? 0;
  const port = (offset: number) => (portBase === 0 ? 0 : portBase + offset);
  const host = options.host ?? '127.0.0.1';
  const seed = options.seed ?? 1;
  const faults = options.faults ?? (options.faultRate ? { serverErrorRate: options.faultRate } : undefined);
  const started: Array<{ close(): Promise<void> }> = [];
  try {
    const meta = await startMetaEmulator({
      port: port(0),
      host,
      seed,
      faults,
      appSecret: options.metaAppSecret ?? 'sandbox-app-secret',
      webhookUrl: options.metaWebhookUrl,
      numbers: options.metaNumbers ?? [
        {
          phoneNumberId: '106540352242922',
          displayPhoneNumber: '15550783881',
          wabaId: '102290129340398',
          onboardedAt: Date.now(),
        },
      ],
    });
    started.push(meta);
    const hubspot = await startHubSpotEmulator({
      port: port(1),
      host,
      seed,
      faults,
      tier: options.hubspotTier ?? 'pro',
    });
    started.push(hubspot);
    const salesforce = await startSalesforceEmulator({ port: port(2), host, seed, faults });
    started.push(salesforce);
    const close = await startCloseEmulator({ port: port(3), host, seed, faults });
    started.push(close);
    return {
      urls: { meta: meta.url, hubspot: hubspot.url, salesforce: salesforce.url, close: close.url },
      meta,
      hubspot,
      salesforce,
      close,
      stop: async () => {
        await Promise.all(started.map((emulator) => emulator.close()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((emulator) => emulator.close()));
    throw error;
  }
}
