import {
  type CloseEmulator,
  type CloseRateLimitOptions,
  DEFAULT_CLOSE_API_KEY,
  DEFAULT_CLOSE_ORGANIZATION_ID,
  normalizeClosePhone,
  startCloseEmulator,
} from '@coexist/sandbox';
import type { DemoCrmCounts, DemoFloor, DemoTarget, SeededCustomer } from './demo-target.ts';

/**
 * How many times Close's documented example limits the demo's emulator allows. Close publishes no values; its docs
 * show 20 requests/s per endpoint group, a third party saw 16/s on search (crm-apis.md §4.4). At those rates one POST
 * per message makes a 5,000-message demo take over four minutes, so the demo keeps the shape (one window per endpoint
 * group, search tighter than writes, the organization at 3× the key) and scales every limit by this factor.
 */
export const CLOSE_DEMO_SPEEDUP = 5;

/** The emulator's limits for a speed-up factor: Close's example limits, each multiplied, windows unchanged. */
export function closeDemoLimits(speedup: number = CLOSE_DEMO_SPEEDUP): Required<CloseRateLimitOptions> {
  if (!(speedup > 0) || !Number.isFinite(speedup)) {
    throw new TypeError(`[coexist/cli] closeDemoLimits: speedup must be a positive number, got ${speedup}`);
  }
  const scaled = (limit: number) => Math.max(1, Math.round(limit * speedup));
  return {
    default: { limit: scaled(20), windowMs: 1_000 },
    groups: {
      'POST /data/search/': { limit: scaled(16), windowMs: 1_000 },
      'GET /me/': { limit: scaled(160), windowMs: 8_000 },
    },
    organizationMultiplier: 3,
  };
}

/** One endpoint group's share of a run: the requests it answered and the rate it allows. */
export interface CloseGroupLoad {
  /** `METHOD /template/`, e.g. `POST /activity/whatsapp_message/`. */
  group: string;
  /** Requests the run needed in this group (refused ones left out). */
  requests: number;
  /** Requests per second the group allows one API key. */
  perSecond: number;
}

/**
 * The floor of a Close run: Close has no batch create, so every message is one POST and every group is paced on its
 * own; the run can end no sooner than its busiest group allows (`messages ÷ allowed rate` for the activity POSTs).
 */
export function closeFloor(loads: readonly CloseGroupLoad[]): DemoFloor {
  const terms = loads
    .filter((load) => load.requests > 0 && load.perSecond > 0)
    .map((load) => ({ ...load, ms: (load.requests / load.perSecond) * 1_000 }))
    .sort((left, right) => right.ms - left.ms || left.group.localeCompare(right.group));
  if (terms.length === 0) return { floorMs: 0, arithmetic: 'no requests' };
  const number = (value: number) => value.toLocaleString('en-US');
  const rate = (value: number) => number(Math.round(value * 100) / 100);
  const described = terms
    .slice(0, 3)
    .map(
      (term) =>
        `${number(term.requests)} × ${term.group} ÷ ${rate(term.perSecond)}/s = ${(term.ms / 1000).toFixed(1)} s`,
    );
  const rest = terms.length > 3 ? `, ${terms.length - 3} smaller` : '';
  return {
    floorMs: Math.round(terms[0]!.ms),
    arithmetic: terms.length === 1 ? described[0]! : `max(${described.join(', ')}${rest})`,
  };
}

/** Options of `createCloseDemoTarget`. */
export interface CloseDemoTargetOptions {
  seed: number | string;
  /** Multiplies Close's example limits. @default CLOSE_DEMO_SPEEDUP */
  speedup?: number;
  /** Calls the demo's `coexist serve` keeps in flight. @default the adapter's (8) */
  maxConcurrency?: number;
}

const ACTIVITY_GROUP = 'POST /activity/whatsapp_message/';

/**
 * The Close half of the demo: the emulator with scaled limits, "existing" leads whose contacts carry the customer's
 * number as a rep typed it, and counts read from the emulator's leads, contacts and activities.
 */
export function createCloseDemoTarget(options: CloseDemoTargetOptions): DemoTarget {
  const limits = closeDemoLimits(options.speedup ?? CLOSE_DEMO_SPEEDUP);
  let emulator: CloseEmulator | undefined;
  const seededContacts = new Set<string>();
  const running = (): CloseEmulator => {
    if (!emulator) throw new Error('[coexist/cli] the Close emulator is not running');
    return emulator;
  };
  const ruleOf = (group: string) => limits.groups[group] ?? limits.default;

  return {
    crm: 'close',
    // Close's WhatsApp activity requires `remote_phone` and contacts are found by phone.
    needsPhone: true,
    async start() {
      emulator = await startCloseEmulator({
        seed: options.seed,
        limits,
        users: [
          {
            id: 'user_ana',
            organization_id: DEFAULT_CLOSE_ORGANIZATION_ID,
            first_name: 'Ana',
            last_name: 'Rep',
            email: 'ana.rep@example.com',
          },
          {
            id: 'user_ben',
            organization_id: DEFAULT_CLOSE_ORGANIZATION_ID,
            first_name: 'Ben',
            last_name: 'Rep',
            email: 'ben.rep@example.com',
          },
        ],
      });
    },
    seedExistingContacts(customers: readonly SeededCustomer[]) {
      const target = running();
      for (const { customer, e164, storedAs } of customers) {
        // Close normalizes what a rep types (crm-apis.md §4.3), reading national formats in the org's country (US
        // here). Bare digits of a foreign number do not parse there and Close refuses them, so the rep would have
        // added the `+`.
        const phone = normalizeClosePhone(storedAs, 'US') ? storedAs : e164;
        const { contact } = target.seedLead({
          name: customer.fullName,
          phone,
          phoneType: seededContacts.size % 2 === 0 ? 'mobile' : 'office',
        });
        seededContacts.add(contact.id);
      }
    },
    connection(phoneNumberIds, businessPhones) {
      const users = running().state.users.map((user) => user.id);
      return {
        id: 'close-demo',
        crm: 'close',
        phoneNumberIds: [...phoneNumberIds],
        owners: Object.fromEntries(businessPhones.map((phone, index) => [phone, users[index % users.length]!])),
        ...(options.maxConcurrency === undefined ? {} : { maxConcurrency: options.maxConcurrency }),
        close: {
          apiKey: DEFAULT_CLOSE_API_KEY,
          baseUrl: running().apiUrl,
          organizationId: DEFAULT_CLOSE_ORGANIZATION_ID,
          defaultCountry: 'US',
        },
      };
    },
    count(): DemoCrmCounts {
      const target = running();
      const state = target.state;
      const messageIds = new Set<string>();
      const contactsWithMessages = new Set<string>();
      for (const activity of state.activities.values()) {
        messageIds.add(activity.external_whatsapp_message_id);
        if (activity.contact_id !== null) contactsWithMessages.add(activity.contact_id);
      }
      // Close does not dedupe: every activity beyond the first of a WhatsApp message id is a duplicate.
      const duplicates = target.findDuplicates().reduce((total, group) => total + group.activityIds.length - 1, 0);
      let matched = 0;
      for (const id of seededContacts) if (contactsWithMessages.has(id)) matched++;
      const stats = target.stats;
      return {
        messagesWritten: messageIds.size,
        duplicates,
        contactsMatched: matched,
        contactsCreated: state.contacts.size - seededContacts.size,
        requests: stats.requests,
        rateLimited: stats.byTag['rate-limited'] ?? 0,
      };
    },
    floor(): DemoFloor {
      const target = running();
      const stats = target.stats;
      const loads = new Map<string, CloseGroupLoad>();
      for (const [route, count] of Object.entries(stats.byRoute)) {
        const group = routeGroup(route);
        if (group === undefined) continue;
        const rule = ruleOf(group);
        // Requests refused with 429 were not needed: take them out of the floor.
        const refused = stats.byTag[`rate-limited:${group}`] ?? 0;
        loads.set(group, { group, requests: count - refused, perSecond: (rule.limit * 1_000) / rule.windowMs });
      }
      // Each activity is one POST the run could not avoid (refused POSTs are not in the state).
      const activityRule = ruleOf(ACTIVITY_GROUP);
      loads.set(ACTIVITY_GROUP, {
        group: ACTIVITY_GROUP,
        requests: target.state.activities.size,
        perSecond: (activityRule.limit * 1_000) / activityRule.windowMs,
      });
      return closeFloor([...loads.values()]);
    },
    async stop() {
      await emulator?.close();
    },
  };
}

/** The endpoint group of an emulator route (`POST /api/v1/lead/:id/` → `POST /lead/{id}/`); others are not limited. */
function routeGroup(route: string): string | undefined {
  const match = /^([A-Z]+) \/api\/v1(\/.*)$/.exec(route);
  if (match === null) return undefined;
  return `${match[1]} ${match[2]!.replace(/:(\w+)/g, '{$1}')}`;
}
