import type { CountryCode } from 'libphonenumber-js';
import {
  type EmulatorRequest,
  type EmulatorResponse,
  EmulatorRouter,
  type EmulatorStats,
  type FaultInjector,
  type FaultOptions,
  type LatencyModel,
  type LatencyOptions,
  startEmulatorServer,
} from '../emulator/index.ts';
import { hubSpotAssociationRoutes } from './hubspot-association-routes.ts';
import { createCorrelationIds, HubSpotErrorFactory } from './hubspot-errors.ts';
import { type HubSpotRoute, hubSpotObjectRoutes } from './hubspot-object-routes.ts';
import { type HubSpotObjectType, validatePropertyValues } from './hubspot-properties.ts';
import { hubSpotPropertyRoutes } from './hubspot-property-routes.ts';
import {
  HubSpotRateLimiter,
  type HubSpotRateLimitOptions,
  type HubSpotRateLimitUsage,
  type HubSpotTier,
  type RateLimitDecision,
} from './hubspot-rate-limits.ts';
import type {
  HubSpotAccount,
  HubSpotOwner,
  HubSpotRouteContext,
  HubSpotRouteSettings,
} from './hubspot-route-context.ts';
import { DEFAULT_SEARCH_LIMITS, type HubSpotSearchLimits } from './hubspot-search.ts';
import { type HubSpotAccountSnapshot, HubSpotAccountState, type HubSpotRecord } from './hubspot-state.ts';

/** The token the emulator accepts when `tokens` is not given. */
export const HUBSPOT_EMULATOR_DEFAULT_TOKEN = 'pat-na1-00000000-0000-4000-a000-000000000000';

/** The account (portal) id of tokens given as plain strings. @default '12345678' */
export const HUBSPOT_EMULATOR_DEFAULT_ACCOUNT_ID = '12345678';

/** A token with the account it belongs to and, optionally, that account's tier. */
export interface HubSpotTokenOptions {
  /** The bearer token, e.g. a private-app `pat-…` or an OAuth access token. */
  token: string;
  /** The account (portal) the token belongs to. @default the emulator's `accountId` */
  accountId?: string | number;
  /** The tier of that account. @default the emulator's `tier` */
  tier?: HubSpotTier;
}

/** Limits of the emulator: rate limits, batch sizes, search caps. Every field defaults to HubSpot's documented value. */
export interface HubSpotEmulatorLimits extends HubSpotRateLimitOptions {
  /** Inputs per object batch call (create/read/update/upsert). @default 100 */
  batchSize?: number;
  /** Inputs per associations v4 batch read. [inferred] @default 1000 */
  associationBatchSize?: number;
  /** Search caps (filter groups 5, filters per group 6, filters 18, limit 200, IN values 100, results 10,000). */
  search?: Partial<HubSpotSearchLimits>;
  /** Unique (`hasUniqueValue`) properties per object. @default 10 */
  maxUniquePropertiesPerObject?: number;
}

/** Options of {@link startHubSpotEmulator}. */
export interface HubSpotEmulatorOptions {
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** The tier of every account (rate limits). @default 'free' (the strictest: 100 per 10 s, 250,000 per day) */
  tier?: HubSpotTier;
  /** Accepted bearer tokens. @default [HUBSPOT_EMULATOR_DEFAULT_TOKEN] */
  tokens?: Array<string | HubSpotTokenOptions>;
  /** The account id of tokens given as strings. @default '12345678' */
  accountId?: string | number;
  /** Users that may own records (`hubspot_owner_id` must be one of them). @default [] */
  owners?: HubSpotOwner[];
  faults?: FaultOptions;
  latency?: LatencyOptions;
  /** Seed of ids, correlation ids, faults and latency. @default 1 */
  seed?: number | string;
  /** The clock of the rate limits and timestamps. @default Date.now */
  now?: () => number;
  limits?: HubSpotEmulatorLimits;
  /**
   * Accept `hasUniqueValue: true` on communications properties. Unverified in HubSpot (crm-apis.md §2.3); set
   * `false` to test the fallback path (a local wamid → id map). @default true
   */
  uniquePropertiesOnCommunications?: boolean;
  /** Region for reading phone numbers without `+` into the calculated searchable numbers. @default 'US' */
  defaultPhoneRegion?: CountryCode;
}

/** Options of {@link HubSpotEmulator.findDuplicates}. */
export interface FindDuplicatesOptions {
  /** @default 'communications' */
  objectType?: HubSpotObjectType;
  /**
   * Properties whose equal values make two records duplicates.
   * @default communications: channel type, timestamp, body and the associated contacts; contacts: `phone`
   */
  properties?: string[];
  /** @default the default account */
  accountId?: string | number;
}

/** A running HubSpot emulator. */
export interface HubSpotEmulator {
  /** The base URL to pass as `basePath` to `@hubspot/api-client`. */
  readonly url: string;
  readonly port: number;
  readonly faults: FaultInjector;
  readonly latency: LatencyModel;
  readonly stats: EmulatorStats;
  /** The first accepted token. */
  readonly token: string;
  /** The data of the default account. */
  readonly state: HubSpotAccountState;
  /** Every account by id. */
  readonly accounts: ReadonlyMap<string, HubSpotAccount>;
  /** One account by id (default: the default account); throws for an unknown id. */
  account(accountId?: string | number): HubSpotAccount;
  /** Rate-limit counters of an account. */
  usage(accountId?: string | number): HubSpotRateLimitUsage;
  /** Communications in an account, optionally only those associated with one contact. */
  countCommunications(options?: { contactId?: string; accountId?: string | number }): number;
  /** Groups of records that look the same (see {@link FindDuplicatesOptions}); empty when there are none. */
  findDuplicates(options?: FindDuplicatesOptions): Array<{ key: string; ids: string[] }>;
  /** Creates contacts directly (no HTTP, no rate limit), validating their properties like the API does. */
  seedContacts(contacts: Array<Record<string, string>>, accountId?: string | number): HubSpotRecord[];
  /** Empties every account and resets the rate limits. */
  reset(): void;
  resetStats(): void;
  close(): Promise<void>;
}

/** Starts a HubSpot CRM emulator on loopback that `@hubspot/api-client` 14 can use unchanged via `basePath`. */
export async function startHubSpotEmulator(options: HubSpotEmulatorOptions = {}): Promise<HubSpotEmulator> {
  const now = options.now ?? Date.now;
  const seed = options.seed ?? 1;
  const defaultTier = options.tier ?? 'free';
  const defaultAccountId = String(options.accountId ?? HUBSPOT_EMULATOR_DEFAULT_ACCOUNT_ID);
  const limits = options.limits ?? {};
  const settings: HubSpotRouteSettings = {
    batchSize: limits.batchSize ?? 100,
    associationBatchSize: limits.associationBatchSize ?? 1000,
    search: { ...DEFAULT_SEARCH_LIMITS, ...limits.search },
    maxUniquePropertiesPerObject: limits.maxUniquePropertiesPerObject ?? 10,
    uniquePropertiesOnCommunications: options.uniquePropertiesOnCommunications ?? true,
    owners: options.owners ?? [],
    defaultPhoneRegion: options.defaultPhoneRegion ?? 'US',
  };
  const errors = new HubSpotErrorFactory(createCorrelationIds(seed));

  const accounts = new Map<string, HubSpotAccount>();
  const tokens = new Map<string, HubSpotAccount>();
  const tokenList = options.tokens ?? [HUBSPOT_EMULATOR_DEFAULT_TOKEN];
  if (tokenList.length === 0) throw new TypeError('[coexist/sandbox] HubSpot emulator: tokens must not be empty');
  for (const entry of tokenList) {
    const spec = typeof entry === 'string' ? { token: entry } : entry;
    if (!spec.token)
      throw new TypeError('[coexist/sandbox] HubSpot emulator: tokens[].token must be a non-empty string');
    const accountId = String(spec.accountId ?? defaultAccountId);
    const tier = spec.tier ?? defaultTier;
    let account = accounts.get(accountId);
    if (!account) {
      account = {
        accountId,
        tier,
        state: new HubSpotAccountState(accountId, seed, settings.defaultPhoneRegion),
        limiter: new HubSpotRateLimiter(tier, limits),
      };
      accounts.set(accountId, account);
    } else if (account.tier !== tier) {
      throw new TypeError(
        `[coexist/sandbox] HubSpot emulator: tokens[].tier conflicts for account ${accountId} (${account.tier} vs ${tier})`,
      );
    }
    tokens.set(spec.token, account);
  }
  const firstToken = typeof tokenList[0] === 'string' ? tokenList[0] : tokenList[0]!.token;
  const defaultAccount = tokens.get(firstToken)!;

  const router = new EmulatorRouter();
  for (const route of [...hubSpotObjectRoutes, ...hubSpotPropertyRoutes, ...hubSpotAssociationRoutes]) {
    router.add(route.method, route.pattern, guard(route), route.records ? { records: route.records } : {});
  }

  function guard(route: HubSpotRoute) {
    return async (request: EmulatorRequest): Promise<EmulatorResponse> => {
      const account = authenticate(request);
      if (!account) return errors.unauthorized();
      const decision = route.search ? account.limiter.takeSearch(now()) : account.limiter.takeRequest(now());
      if (!decision.allowed) return rateLimited(decision, account);
      const context: HubSpotRouteContext = { account, errors, settings, now };
      const response = await route.handler(request, context);
      return { ...response, headers: { ...decision.headers, ...response.headers } };
    };
  }

  function authenticate(request: EmulatorRequest): HubSpotAccount | undefined {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
    return match ? tokens.get(match[1]!) : undefined;
  }

  function rateLimited(decision: Extract<RateLimitDecision, { allowed: false }>, account: HubSpotAccount) {
    // Bodies per crm-apis.md §2.5: TEN_SECONDLY_ROLLING from HubSpot/hubspot-api-python#117 [third-party], DAILY the
    // documented example [secondary], search's "secondly" message as the v14 client's RetryDecorator expects it.
    // `category: RATE_LIMITS` per https://developers.hubspot.com/changelog/upcoming-changes-to-error-responses.
    const app = account.tier === 'oauth' ? 'oauth' : 'private-app';
    const bodies = {
      TEN_SECONDLY_ROLLING: {
        message: 'You have reached your ten_secondly_rolling limit.',
        groupName: `publicapi:${app}-ten-secondly:${account.accountId}`,
      },
      DAILY: {
        message: 'You have reached your daily limit.',
        groupName: `publicapi:${app}-daily:${account.accountId}`,
      },
      SECONDLY: {
        message: 'You have reached your secondly limit.',
        groupName: `publicapi:search-secondly:${account.accountId}`,
      },
    } as const;
    const chosen = bodies[decision.policy];
    return {
      status: 429,
      headers: decision.headers,
      body: {
        status: 'error',
        message: chosen.message,
        errorType: 'RATE_LIMIT',
        correlationId: errors.correlationId(),
        policyName: decision.policy,
        groupName: chosen.groupName,
        category: 'RATE_LIMITS',
      },
      tags: ['rate-limited', `rate-limited:${decision.policy}`],
    };
  }

  function account(accountId?: string | number): HubSpotAccount {
    if (accountId === undefined) return defaultAccount;
    const found = accounts.get(String(accountId));
    if (!found) throw new RangeError(`[coexist/sandbox] HubSpot emulator: unknown accountId ${accountId}`);
    return found;
  }

  function reset(): void {
    for (const entry of accounts.values()) {
      entry.state.reset();
      entry.limiter.reset();
    }
  }

  const server = await startEmulatorServer({
    name: 'hubspot',
    router,
    port: options.port,
    host: options.host,
    faults: options.faults,
    latency: options.latency,
    seed,
    serverErrorResponse: () => errors.error(502, 'INTERNAL_ERROR', 'Bad Gateway: the request could not be completed.'),
    notFoundResponse: (request) =>
      errors.notFound(`No route for ${request.method} ${request.path} in the HubSpot emulator.`),
    inspectState: () => ({
      accounts: Object.fromEntries(
        [...accounts.values()].map((entry): [string, HubSpotAccountSnapshot & { usage: HubSpotRateLimitUsage }] => [
          entry.accountId,
          { ...entry.state.snapshot(), usage: entry.limiter.usage() },
        ]),
      ),
    }),
    resetState: reset,
  });

  return {
    url: server.url,
    port: server.port,
    faults: server.faults,
    latency: server.latency,
    get stats() {
      return server.stats;
    },
    token: firstToken,
    state: defaultAccount.state,
    accounts,
    account,
    usage: (accountId) => account(accountId).limiter.usage(),
    countCommunications(countOptions = {}) {
      const state = account(countOptions.accountId).state;
      if (countOptions.contactId === undefined) return state.communications.size;
      return state.associationsOf('contacts', countOptions.contactId, 'communications').length;
    },
    findDuplicates(findOptions = {}) {
      const objectType = findOptions.objectType ?? 'communications';
      const state = account(findOptions.accountId).state;
      const properties =
        findOptions.properties ??
        (objectType === 'communications'
          ? ['hs_communication_channel_type', 'hs_timestamp', 'hs_communication_body']
          : ['phone']);
      const groups = new Map<string, string[]>();
      for (const record of state.records(objectType).values()) {
        const values = properties.map((name) => record.properties[name] ?? '');
        if (values.every((value) => value === '')) continue;
        if (objectType === 'communications' && findOptions.properties === undefined) {
          const contacts = state
            .associationsOf('communications', record.id, 'contacts')
            .map((entry) => entry.toObjectId);
          values.push(contacts.join(','));
        }
        const key = JSON.stringify(values);
        const list = groups.get(key) ?? [];
        list.push(record.id);
        groups.set(key, list);
      }
      return [...groups.entries()].filter(([, ids]) => ids.length > 1).map(([key, ids]) => ({ key, ids }));
    },
    seedContacts(contacts, accountId) {
      const target = account(accountId);
      return contacts.map((properties, index) => {
        const { values, problems } = validatePropertyValues(properties, {
          definitions: target.state.properties('contacts'),
          ownerIds: new Set(settings.owners.map((owner) => String(owner.id))),
        });
        if (problems.length > 0) {
          throw new TypeError(
            `[coexist/sandbox] HubSpot emulator: seedContacts[${index}] ${problems.map((problem) => `${problem.name}: ${problem.message}`).join('; ')}`,
          );
        }
        return target.state.insert('contacts', values, now());
      });
    },
    reset,
    resetStats: () => server.resetStats(),
    close: () => server.close(),
  };
}
