/**
 * `createHubSpotAdapter`: the CRM adapter contract v1 for HubSpot on `@hubspot/api-client` 14. Contacts are
 * HubSpot contacts matched by phone in every stored format; messages are native WhatsApp communications on the
 * contact's timeline. The engine owns pacing and retries, so the client's own retries and limiter stay off
 * (`numberOfApiCallRetries: 0`, no `limiterOptions`; crm-apis.md §2.1) and 429s surface as `CrmRateLimitedError`.
 */
import {
  type ChatCard,
  type ContactFindRequest,
  type ContactFindResult,
  type ContactInput,
  type CountryCode,
  type CrmAdapter,
  CrmAuthError,
  type CrmCapabilities,
  type CrmCardRendering,
  CrmPermanentError,
  type CrmWriteResult,
  type IdempotencyStrategy,
  type MessageRecord,
  type MessageUpdate,
  normalizeOwnerMap,
  type OperationContext,
  type RateLimitPolicy,
} from '@coexist/core';
import { Client } from '@hubspot/api-client';
import { renderHubSpotCard } from './hubspot-card.ts';
import { findHubSpotContacts, readHubSpotContacts, writeHubSpotContacts } from './hubspot-contacts.ts';
import { HUBSPOT_BUCKETS, HUBSPOT_CRM } from './hubspot-errors.ts';
import { createMemoryMessageIdMap, type HubSpotMessageIdMap } from './hubspot-message-ids.ts';
import { type HubSpotMessageEnvironment, updateHubSpotMessages, writeHubSpotMessages } from './hubspot-messages.ts';
import { CONTACT_IDENTITY_PROPERTY, type HubSpotSetupReport, setupHubSpotProperties } from './hubspot-setup.ts';
import { createHubSpotTransport, type HubSpotTransport } from './hubspot-transport.ts';

/** A HubSpot subscription tier, or `oauth` for a marketplace (OAuth) app. */
export type HubSpotTier = 'free' | 'starter' | 'pro' | 'enterprise' | 'oauth';

/**
 * Requests per rolling 10 s (crm-apis.md §1, §2.5; https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines):
 * 100 for Free/Starter private apps, 190 for Pro/Enterprise, 110 per installing account for OAuth apps.
 */
export const HUBSPOT_TEN_SECONDLY_LIMITS: Readonly<Record<HubSpotTier, number>> = {
  free: 100,
  starter: 100,
  pro: 190,
  enterprise: 190,
  oauth: 110,
};

/** Daily requests of private apps (250k / 625k / 1M, reset at the account's midnight); OAuth apps have no daily cap. */
export const HUBSPOT_DAILY_LIMITS: Readonly<Record<HubSpotTier, number | undefined>> = {
  free: 250_000,
  starter: 250_000,
  pro: 625_000,
  enterprise: 1_000_000,
  oauth: undefined,
};

/** CRM search: 5 requests per second per account, a bucket of its own (crm-apis.md §2.4 [secondary]). */
export const HUBSPOT_SEARCH_PER_SECOND = 5;

/** Options of `createHubSpotAdapter`. Give one of `accessToken`, `getAccessToken` or `client`. */
export interface HubSpotAdapterOptions {
  /** A private-app token (`pat-…`) or an OAuth access token. */
  accessToken?: string;
  /** Returns a valid access token before each request (OAuth refresh lives here). */
  getAccessToken?: () => Promise<string>;
  /** A configured `@hubspot/api-client` `Client` to use instead of creating one; keep its retries off. */
  client?: Client;
  /**
   * The API base URL (the sandbox emulator in tests).
   * @default 'https://api.hubapi.com'
   */
  basePath?: string;
  /**
   * The account's tier, which sets the declared ten-secondly and daily limits.
   * @default 'oauth' with `getAccessToken`, else 'free' (the strictest private-app limits)
   */
  tier?: HubSpotTier;
  /** Business number (E.164) → HubSpot owner id, for messages whose record carries no `ownerId`. */
  owners?: Readonly<Record<string, string>>;
  /** Country to read national phone formats in (`(650) 555-1234`). */
  defaultCountry?: CountryCode;
  /**
   * How message writes stay idempotent: `auto` asks for a unique `coexist_message_id` in `setup()` and falls back
   * to `lookup-before-retry` when HubSpot refuses it; `lookup-before-retry` never asks.
   * @default 'auto'
   */
  messageIdempotency?: 'auto' | 'lookup-before-retry';
  /** The wamid → communication id map of the look-up path; pass a durable one. @default in memory */
  messageIdMap?: HubSpotMessageIdMap;
  /**
   * Most values per `IN` filter in a phone search; halved automatically when HubSpot answers 400.
   * @default 100
   */
  searchInValues?: number;
  /**
   * Run `setup()` before the first write when it has not run.
   * @default true
   */
  autoSetup?: boolean;
  /** Offset of the account's time zone from UTC in minutes, for the daily reset. @default 0 */
  timeZoneOffsetMinutes?: number;
  /** Clock. @default Date.now */
  now?: () => number;
}

/** The HubSpot adapter: the contract plus `setup()` and the underlying client. */
export interface HubSpotAdapter extends CrmAdapter {
  /** Creates the custom properties the mapping needs; safe to run twice (the second run only reads). */
  setup(context?: OperationContext): Promise<HubSpotSetupReport>;
  /** The `@hubspot/api-client` client the adapter calls through. */
  readonly client: Client;
}

/** The declared rate-limit policy of a tier. */
export function hubSpotRateLimitPolicy(tier: HubSpotTier, idempotency: IdempotencyStrategy): RateLimitPolicy {
  const daily = HUBSPOT_DAILY_LIMITS[tier];
  return {
    buckets: [
      {
        name: HUBSPOT_BUCKETS.tenSecondly,
        limit: HUBSPOT_TEN_SECONDLY_LIMITS[tier],
        intervalMs: 10_000,
        operations: ['createContacts', 'upsertContacts', 'writeMessages', 'updateMessages'],
        dynamic: true,
      },
      {
        name: HUBSPOT_BUCKETS.search,
        limit: HUBSPOT_SEARCH_PER_SECOND,
        intervalMs: 1_000,
        // The look-up path searches communications before writes.
        operations:
          idempotency === 'lookup-before-retry'
            ? ['findContacts', 'writeMessages', 'updateMessages']
            : ['findContacts'],
      },
    ],
    ...(daily === undefined ? {} : { dailyAllocation: { limit: daily, reset: 'midnight' as const } }),
  };
}

const TIERS: readonly HubSpotTier[] = ['free', 'starter', 'pro', 'enterprise', 'oauth'];

/** Creates the HubSpot adapter; does no I/O and defers option errors to the first call. */
export function createHubSpotAdapter(options: HubSpotAdapterOptions): HubSpotAdapter {
  const now = options.now ?? Date.now;
  const tier: HubSpotTier = options.tier ?? (options.getAccessToken === undefined ? 'free' : 'oauth');
  const client =
    options.client ??
    new Client({
      ...(options.accessToken === undefined ? {} : { accessToken: options.accessToken }),
      ...(options.basePath === undefined ? {} : { basePath: options.basePath }),
      numberOfApiCallRetries: 0,
    });
  const transport: HubSpotTransport = createHubSpotTransport({
    client,
    ...(options.getAccessToken === undefined ? {} : { getAccessToken: options.getAccessToken }),
    now,
    ...(options.timeZoneOffsetMinutes === undefined ? {} : { timeZoneOffsetMinutes: options.timeZoneOffsetMinutes }),
  });
  const searchInValues = options.searchInValues ?? 100;
  let idempotency: IdempotencyStrategy =
    options.messageIdempotency === 'lookup-before-retry' ? 'lookup-before-retry' : 'upsert-by-external-id';
  let setupRun: Promise<HubSpotSetupReport> | undefined;
  let owners: Map<string, string> | undefined;
  const inValues = { current: searchInValues };

  /** Option errors surface here, on the first call, as typed errors naming the option. */
  function checkOptions(): void {
    if (options.accessToken === undefined && options.getAccessToken === undefined && options.client === undefined) {
      throw new CrmAuthError({
        crm: HUBSPOT_CRM,
        field: 'accessToken',
        message: 'createHubSpotAdapter: give `accessToken`, `getAccessToken` or `client`',
      });
    }
    if (!TIERS.includes(tier)) {
      throw new CrmPermanentError({
        crm: HUBSPOT_CRM,
        field: 'tier',
        message: `createHubSpotAdapter: \`tier\` must be one of ${TIERS.join(', ')}`,
      });
    }
    if (!Number.isInteger(searchInValues) || searchInValues < 1) {
      throw new CrmPermanentError({
        crm: HUBSPOT_CRM,
        field: 'searchInValues',
        message: 'createHubSpotAdapter: `searchInValues` must be a positive integer',
      });
    }
    if (owners === undefined) {
      try {
        owners = normalizeOwnerMap(options.owners ?? {});
      } catch (cause) {
        throw new CrmPermanentError({
          crm: HUBSPOT_CRM,
          field: 'owners',
          message: 'createHubSpotAdapter: `owners` keys must be international phone numbers',
          cause,
        });
      }
    }
  }

  function setup(context?: OperationContext): Promise<HubSpotSetupReport> {
    checkOptions();
    setupRun ??= setupHubSpotProperties(transport, {
      preferUniqueMessageId: options.messageIdempotency !== 'lookup-before-retry',
      ...(context === undefined ? {} : { context }),
    }).then(
      (report) => {
        idempotency = report.messageIdempotency;
        return report;
      },
      (error: unknown) => {
        setupRun = undefined;
        throw error;
      },
    );
    return setupRun;
  }

  async function prepare(context: OperationContext, size: number, limit: number, field: string, operation: string) {
    context.signal.throwIfAborted();
    checkOptions();
    if (size > limit) {
      throw new CrmPermanentError({
        crm: HUBSPOT_CRM,
        field,
        code: 'batch_too_large',
        message: `${operation}: \`${field}\` has ${size} items, more than the declared batch size ${limit}`,
      });
    }
    if (options.autoSetup !== false && size > 0) await setup(context);
  }

  const capabilities = (): CrmCapabilities => ({
    contactBatchSize: 100,
    messageBatchSize: 100,
    // A phone searches as about five values per `IN` list, so one request carries `searchInValues / 5` phones.
    searchBatchSize: Math.max(1, Math.floor(searchInValues / 5)),
    rateLimits: hubSpotRateLimitPolicy(TIERS.includes(tier) ? tier : 'free', idempotency),
    idempotency,
    threadsMessages: false,
    supportsCards: true,
  });

  const messageEnvironment: HubSpotMessageEnvironment = {
    transport,
    idempotency: () => idempotency,
    idMap: options.messageIdMap ?? createMemoryMessageIdMap(),
    ownerFor: (record) =>
      record.ownerId ?? (record.businessPhone === undefined ? undefined : owners?.get(record.businessPhone)),
  };

  return {
    specificationVersion: 'v1',
    crm: HUBSPOT_CRM,
    get capabilities() {
      return capabilities();
    },
    client,
    setup,
    async findContacts(
      requests: readonly ContactFindRequest[],
      context: OperationContext,
    ): Promise<ContactFindResult[]> {
      context.signal.throwIfAborted();
      checkOptions();
      const limit = capabilities().searchBatchSize;
      if (requests.length > limit) {
        throw new CrmPermanentError({
          crm: HUBSPOT_CRM,
          field: 'requests',
          code: 'batch_too_large',
          message: `findContacts: \`requests\` has ${requests.length} items, more than the declared batch size ${limit}`,
        });
      }
      return findHubSpotContacts(
        {
          transport,
          inValues,
          ...(options.defaultCountry === undefined ? {} : { defaultCountry: options.defaultCountry }),
        },
        requests,
        context,
        async (keys) => {
          if (options.autoSetup !== false) await setup(context);
          return readHubSpotContacts(transport, keys, CONTACT_IDENTITY_PROPERTY, 'findContacts', context);
        },
      );
    },
    async createContacts(contacts: readonly ContactInput[], context: OperationContext): Promise<CrmWriteResult[]> {
      await prepare(context, contacts.length, 100, 'contacts', 'createContacts');
      return writeHubSpotContacts(transport, contacts, false, context);
    },
    async upsertContacts(contacts: readonly ContactInput[], context: OperationContext): Promise<CrmWriteResult[]> {
      await prepare(context, contacts.length, 100, 'contacts', 'upsertContacts');
      return writeHubSpotContacts(transport, contacts, true, context);
    },
    async writeMessages(messages: readonly MessageRecord[], context: OperationContext): Promise<CrmWriteResult[]> {
      await prepare(context, messages.length, 100, 'messages', 'writeMessages');
      return writeHubSpotMessages(messageEnvironment, messages, context);
    },
    async updateMessages(updates: readonly MessageUpdate[], context: OperationContext): Promise<CrmWriteResult[]> {
      await prepare(context, updates.length, 100, 'updates', 'updateMessages');
      return updateHubSpotMessages(messageEnvironment, updates, context);
    },
    async renderCard(card: ChatCard, context: OperationContext): Promise<CrmCardRendering> {
      context.signal.throwIfAborted();
      return renderHubSpotCard(card);
    },
  };
}
