import {
  HUBSPOT_EMULATOR_DEFAULT_TOKEN,
  HUBSPOT_TEN_SECONDLY_LIMITS,
  type HubSpotEmulator,
  type HubSpotTier,
  startHubSpotEmulator,
} from '@coexist/sandbox';
import type { DemoCrmCounts, DemoFloor, DemoTarget, SeededCustomer } from './demo-target.ts';

/** HubSpot's search limit, the emulator's default (crm-apis.md §2.4): 5 requests per second. */
const SEARCHES_PER_SECOND = 5;

/**
 * The floor of a HubSpot run: the least time its requests need under HubSpot's rolling limits — `tenSecondlyLimit`
 * requests in any 10 s, and 5 searches in any second. A rolling window lets its first `limit` requests go at once,
 * so `n` requests need `(⌈n ÷ limit⌉ − 1)` whole windows, not `n ÷ limit` of them: 174 requests under a limit of 190
 * need no waiting at all. (For long runs the two differ by less than one window.)
 */
export function hubspotFloor(input: { requests: number; searches: number; tenSecondlyLimit: number }): DemoFloor {
  const windowsMs = (count: number, limit: number, windowMs: number) =>
    count <= 0 ? 0 : (Math.ceil(count / limit) - 1) * windowMs;
  const requestsMs = windowsMs(input.requests, input.tenSecondlyLimit, 10_000);
  const searchesMs = windowsMs(input.searches, SEARCHES_PER_SECOND, 1_000);
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return {
    floorMs: Math.max(requestsMs, searchesMs),
    arithmetic:
      `max((⌈${input.requests} requests ÷ ${input.tenSecondlyLimit}⌉ − 1) × 10 s = ${seconds(requestsMs)}, ` +
      `(⌈${input.searches} searches ÷ ${SEARCHES_PER_SECOND}⌉ − 1) × 1 s = ${seconds(searchesMs)})`,
  };
}

/** The HubSpot demo target, with its running emulator (for benchmarks that watch its state). */
export interface HubSpotDemoTarget extends DemoTarget {
  /** The running emulator; throws before `start()`. */
  readonly emulator: HubSpotEmulator;
}

/** The HubSpot half of the demo: the emulator at a tier, seeded contacts, and counts from its state. */
export function createHubSpotDemoTarget(options: { tier: HubSpotTier; seed: number | string }): HubSpotDemoTarget {
  let emulator: HubSpotEmulator | undefined;
  const seededIds = new Set<string>();
  const running = (): HubSpotEmulator => {
    if (!emulator) throw new Error('[coexist/cli] the HubSpot emulator is not running');
    return emulator;
  };

  return {
    crm: 'hubspot',
    get emulator() {
      return running();
    },
    async start() {
      emulator = await startHubSpotEmulator({
        tier: options.tier,
        seed: options.seed,
        owners: [
          { id: 7001, email: 'ana.rep@example.com', firstName: 'Ana', lastName: 'Rep' },
          { id: 7002, email: 'ben.rep@example.com', firstName: 'Ben', lastName: 'Rep' },
        ],
      });
    },
    seedExistingContacts(customers: readonly SeededCustomer[]) {
      const records = running().seedContacts(
        customers.map(({ customer, storedAs }, index) => ({
          firstname: customer.firstName,
          lastname: customer.fullName.split(' ').slice(1).join(' ') || 'Customer',
          // Reps type numbers in every format; half in `phone`, half in `mobilephone`.
          [index % 2 === 0 ? 'phone' : 'mobilephone']: storedAs,
        })),
      );
      for (const record of records) seededIds.add(record.id);
    },
    connection(phoneNumberIds, businessPhones) {
      return {
        id: 'hubspot-demo',
        crm: 'hubspot',
        phoneNumberIds: [...phoneNumberIds],
        owners: Object.fromEntries(businessPhones.map((phone, index) => [phone, String(7001 + (index % 2))])),
        hubspot: { accessToken: HUBSPOT_EMULATOR_DEFAULT_TOKEN, basePath: running().url, tier: options.tier },
      };
    },
    count(): DemoCrmCounts {
      const state = running().state;
      const messageIds = new Set<string>();
      let records = 0;
      for (const communication of state.communications.values()) {
        const key = communication.properties.coexist_message_id;
        if (!key || communication.archived) continue;
        records++;
        messageIds.add(key);
      }
      let matched = 0;
      for (const id of seededIds) if (running().countCommunications({ contactId: id }) > 0) matched++;
      const stats = running().stats;
      return {
        messagesWritten: messageIds.size,
        duplicates: records - messageIds.size,
        contactsMatched: matched,
        contactsCreated: state.contacts.size - seededIds.size,
        requests: stats.requests,
        rateLimited: stats.byStatus['429'] ?? 0,
      };
    },
    floor(): DemoFloor {
      const stats = running().stats;
      let searches = 0;
      let requests = 0;
      for (const [route, count] of Object.entries(stats.byRoute)) {
        if (route.endsWith('/search')) searches += count;
        else requests += count;
      }
      // Requests refused with 429 were not needed: take them out of the floor.
      requests = Math.max(0, requests - (stats.byStatus['429'] ?? 0));
      return hubspotFloor({ requests, searches, tenSecondlyLimit: HUBSPOT_TEN_SECONDLY_LIMITS[options.tier] });
    },
    async stop() {
      await emulator?.close();
    },
  };
}
