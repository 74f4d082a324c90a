import type { LatencyOptions, SalesforceEmulator } from '@coexist/sandbox';
import { startSalesforceEmulator } from '@coexist/sandbox';
import type { DemoCrmCounts, DemoFloor, DemoTarget, SeededCustomer } from './demo-target.ts';

/**
 * The emulator's latency in the demo: about 1 s for a 200-record Collections call (crm-apis.md §5 assumes ~1 s;
 * [inferred] real orgs answer small REST calls in 100–300 ms and spend a few ms per record in triggers and indexes).
 */
export const SALESFORCE_DEMO_LATENCY = { baseMs: 150, jitterMs: 100, perRecordMs: 4 } as const satisfies LatencyOptions;

/** Requests the demo's `coexist serve` keeps in flight against the org (the adapter's default, Salesforce's 25). */
export const SALESFORCE_DEMO_CONCURRENCY = 25;

/**
 * Requests one message needs in sequence, whatever the concurrency: find its contact (SOQL on Contact, SOQL on
 * Lead, SOSL), create it, read the conversation, upsert the conversation, upsert the message.
 */
const CRITICAL_PATH_REQUESTS = 7;

/** Options of `createSalesforceDemoTarget`. */
export interface SalesforceDemoTargetOptions {
  seed: number | string;
  /** The emulator's latency model. @default SALESFORCE_DEMO_LATENCY */
  latency?: LatencyOptions;
  /** Requests in flight at once. @default SALESFORCE_DEMO_CONCURRENCY */
  maxConcurrency?: number;
}

/** The floor of a Salesforce run: the latency the requests made must spend, spread over the concurrency. */
export function salesforceFloor(input: {
  requests: number;
  records: number;
  latency: LatencyOptions;
  maxConcurrency: number;
}): DemoFloor {
  const { baseMs = 0, jitterMs = 0, perRecordMs = 0 } = input.latency;
  // The jitter is uniform in [0, jitterMs]: a call costs its average, jitterMs / 2, on top of the base (as the
  // Salesforce benchmark's floor counts it, docs/salesforce.md § Benchmark).
  const callMs = baseMs + jitterMs / 2;
  const workMs = input.requests * callMs + input.records * perRecordMs;
  const spreadMs = workMs / input.maxConcurrency;
  const chainMs = CRITICAL_PATH_REQUESTS * callMs;
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const call = jitterMs > 0 ? `(${baseMs} + ${jitterMs / 2} jitter) ms` : `${baseMs} ms`;
  return {
    floorMs: Math.round(Math.max(spreadMs, chainMs)),
    arithmetic:
      `max((${input.requests} requests × ${call} + ${input.records} records × ${perRecordMs} ms) ÷ ${input.maxConcurrency} in parallel = ${seconds(spreadMs)}, ` +
      `${CRITICAL_PATH_REQUESTS} calls in sequence × ${call} = ${seconds(chainMs)})`,
  };
}

/**
 * The Salesforce half of the demo: the emulator with a latency model, "existing" Contacts and unconverted Leads
 * stored under other phone formats, and counts read from the org's records.
 */
export function createSalesforceDemoTarget(options: SalesforceDemoTargetOptions): DemoTarget {
  const latency = options.latency ?? SALESFORCE_DEMO_LATENCY;
  const maxConcurrency = options.maxConcurrency ?? SALESFORCE_DEMO_CONCURRENCY;
  let emulator: SalesforceEmulator | undefined;
  const seeded = new Set<string>();
  const running = (): SalesforceEmulator => {
    if (!emulator) throw new Error('[coexist/cli] the Salesforce emulator is not running');
    return emulator;
  };

  return {
    crm: 'salesforce',
    async start() {
      emulator = await startSalesforceEmulator({
        seed: options.seed,
        latency,
        users: [
          { Username: 'ana.rep@example.com', FirstName: 'Ana', LastName: 'Rep', Email: 'ana.rep@example.com' },
          { Username: 'ben.rep@example.com', FirstName: 'Ben', LastName: 'Rep', Email: 'ben.rep@example.com' },
        ],
      });
    },
    seedExistingContacts(customers: readonly SeededCustomer[]) {
      const state = running().state;
      customers.forEach(({ customer, storedAs }, index) => {
        const lastName = customer.fullName.split(' ').slice(1).join(' ') || 'Customer';
        // Reps keep some people as Contacts and some as Leads not yet converted, in Phone or MobilePhone.
        const phoneField = index % 4 < 2 ? 'Phone' : 'MobilePhone';
        const record =
          index % 2 === 0
            ? state.insert('Contact', { FirstName: customer.firstName, LastName: lastName, [phoneField]: storedAs })
            : state.insert('Lead', {
                FirstName: customer.firstName,
                LastName: lastName,
                Company: `${lastName} Ltd`,
                [phoneField]: storedAs,
              });
        seeded.add(String(record.Id));
      });
    },
    connection(phoneNumberIds, businessPhones) {
      const users = running()
        .state.records('User')
        .map((user) => String(user.Id));
      const target = running();
      return {
        id: 'salesforce-demo',
        crm: 'salesforce',
        phoneNumberIds: [...phoneNumberIds],
        owners: Object.fromEntries(businessPhones.map((phone, index) => [phone, users[index % users.length]!])),
        maxConcurrency,
        salesforce: { instanceUrl: target.url, accessToken: target.accessToken, apiVersion: target.apiVersion },
      };
    },
    count(): DemoCrmCounts {
      const target = running();
      const state = target.state;
      const messageIds = new Set<string>();
      let records = 0;
      for (const message of state.scan('WhatsApp_Message__c')) {
        const key = message.Message_Id__c;
        if (typeof key !== 'string') continue;
        records++;
        messageIds.add(key.toLowerCase());
      }
      const withConversations = new Set<string>();
      for (const conversation of state.scan('WhatsApp_Conversation__c')) {
        for (const field of ['Contact__c', 'Lead__c']) {
          const id = conversation[field];
          if (typeof id === 'string') withConversations.add(id);
        }
      }
      let matched = 0;
      for (const id of seeded) if (withConversations.has(id)) matched++;
      const people = state.count('Contact') + state.count('Lead');
      const stats = target.stats;
      return {
        messagesWritten: messageIds.size,
        duplicates: records - messageIds.size,
        contactsMatched: matched,
        contactsCreated: people - seeded.size,
        requests: stats.requests,
        rateLimited: stats.byTag['rate-limited'] ?? 0,
      };
    },
    floor(): DemoFloor {
      const target = running();
      const state = target.state;
      const stats = target.stats;
      // Records every run must write at least once: messages, conversations and the Leads it created.
      const records =
        state.count('WhatsApp_Message__c') +
        state.count('WhatsApp_Conversation__c') +
        state.count('Contact') +
        state.count('Lead') -
        seeded.size;
      const refused = stats.byTag['rate-limited'] ?? 0;
      return salesforceFloor({ requests: stats.requests - refused, records, latency, maxConcurrency });
    },
    async stop() {
      await emulator?.close();
    },
  };
}
