import {
  HUBSPOT_EMULATOR_DEFAULT_TOKEN,
  HUBSPOT_TEN_SECONDLY_LIMITS,
  type HubSpotEmulator,
  type HubSpotTier,
  startHubSpotEmulator,
} from '@coexist/sandbox';
import type { DemoCrmCounts, DemoFloor, DemoTarget, SeededCustomer } from './demo-target.ts';

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
      let search = 0;
      let burst = 0;
      for (const [route, count] of Object.entries(stats.byRoute)) {
        if (route.endsWith('/search')) search += count;
        else burst += count;
      }
      // Requests refused with 429 were not needed: take them out of the floor.
      burst = Math.max(0, burst - (stats.byStatus['429'] ?? 0));
      const limit = HUBSPOT_TEN_SECONDLY_LIMITS[options.tier];
      const burstMs = (burst / limit) * 10_000;
      const searchPerSecond = 5; // HubSpot's search limit, the emulator's default (crm-apis.md §2.4)
      const searchMs = (search / searchPerSecond) * 1_000;
      return {
        floorMs: Math.round(Math.max(burstMs, searchMs)),
        arithmetic:
          `max(${burst} requests ÷ ${limit} per 10 s = ${(burstMs / 1000).toFixed(1)} s, ` +
          `${search} searches ÷ ${searchPerSecond}/s = ${(searchMs / 1000).toFixed(1)} s)`,
      };
    },
    async stop() {
      await emulator?.close();
    },
  };
}
