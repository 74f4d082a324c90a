import type { CountryCode } from 'libphonenumber-js';
import { EmulatorRouter } from '../emulator/emulator-router.ts';
import { type RunningEmulator, startEmulatorServer } from '../emulator/emulator-server.ts';
import type { FaultOptions } from '../emulator/fault-injector.ts';
import type { LatencyOptions } from '../emulator/latency-model.ts';
import { authenticateClose, type CloseCredential, type ClosePrincipal } from './close-auth.ts';
import { registerCloseFileRoutes } from './close-file-routes.ts';
import { registerCloseIntegrationLinkRoutes } from './close-integration-link-routes.ts';
import { registerCloseLeadRoutes } from './close-lead-routes.ts';
import { normalizeClosePhone } from './close-phone.ts';
import { CloseRateLimiter, type CloseRateLimitOptions } from './close-rate-limiter.ts';
import { closeUnauthorized } from './close-responses.ts';
import type { CloseRouteContext, CloseRouteHandler } from './close-route-context.ts';
import { registerCloseSearchRoute } from './close-search.ts';
import {
  type CloseContact,
  type CloseDuplicateGroup,
  type CloseLead,
  CloseState,
  type CloseUser,
} from './close-state.ts';
import { registerCloseWhatsAppRoutes } from './close-whatsapp-routes.ts';

/** The API key accepted when `apiKeys` is not given. */
export const DEFAULT_CLOSE_API_KEY = 'api_emulator_close_key';
/** The organization credentials belong to unless they name one. */
export const DEFAULT_CLOSE_ORGANIZATION_ID = 'orga_emulator';

/** Options of `startCloseEmulator`. */
export interface CloseEmulatorOptions {
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** API keys accepted as the HTTP Basic username (empty password). @default [DEFAULT_CLOSE_API_KEY] */
  apiKeys?: Array<string | CloseCredential>;
  /** OAuth access tokens accepted as `Authorization: Bearer`. @default [] */
  oauthTokens?: Array<string | CloseCredential>;
  /** Users (`/me/`, `/user/`, `created_by`); an organization without one gets a generated user. @default [] */
  users?: CloseUser[];
  /** Rate limits per endpoint group. */
  limits?: CloseRateLimitOptions;
  /** Separator of the `RateLimit` header fields: `limit=20, remaining=19, reset=1` or `limit=20; …`. @default ',' */
  rateLimitSeparator?: ',' | ';';
  /** Also send `Retry-After` (whole seconds) on a 429. Close does not document it, so it is off. @default false */
  retryAfterHeader?: boolean;
  /** Country that national phone formats are read in, like a Close organization's default. @default 'US' */
  defaultCountry?: CountryCode;
  /** Whether a WhatsApp activity needs `contact_id` (unverified for Close). @default true */
  contactIdRequired?: boolean;
  faults?: FaultOptions;
  latency?: LatencyOptions;
  /** Seed of ids, faults and latency. @default 1 */
  seed?: number | string;
  /** The clock (epoch ms) of rate limits and dates. @default Date.now */
  now?: () => number;
}

/** A lead to seed with `emulator.seedLead`. */
export interface SeedLeadInput {
  name: string;
  /** The phone as a rep typed it, e.g. `(650) 555-1234`. */
  phone: string;
  /** @default 'office' */
  phoneType?: string;
  /** Country national formats are read in. @default the emulator's `defaultCountry`, else 'US' */
  defaultCountry?: CountryCode;
}

/** A running Close emulator. */
export interface CloseEmulator extends RunningEmulator {
  /** The API base URL, `url + '/api/v1'`, for `axios.create({ baseURL })`. */
  readonly apiUrl: string;
  /** The live state, for assertions. */
  readonly state: CloseState;
  /** Activities sharing an `external_whatsapp_message_id` (Close does not dedupe; tests use this to catch doubles). */
  findDuplicates(): CloseDuplicateGroup[];
  /**
   * Creates a lead with one contact directly (no HTTP, no rate limit), as if a rep had typed it in: the phone is
   * normalized the way Close stores it, read in `defaultCountry` for national formats.
   */
  seedLead(input: SeedLeadInput): { lead: CloseLead; contact: CloseContact };
  /** Empties the data and the rate-limit windows (same as `POST /__admin/reset`). */
  reset(): void;
}

/**
 * Starts a Close API emulator (https://developer.close.com/api/) on loopback: leads, contacts, users, advanced
 * filtering, WhatsApp message activities, files and integration links, with Close's auth and per-endpoint-group
 * rate limits. Point axios at `emulator.apiUrl`.
 */
export async function startCloseEmulator(options: CloseEmulatorOptions = {}): Promise<CloseEmulator> {
  const now = options.now ?? Date.now;
  const users = [...(options.users ?? [])];
  const apiKeys = toPrincipals(options.apiKeys ?? [DEFAULT_CLOSE_API_KEY], 'key', users, 'apiKeys');
  const oauthTokens = toPrincipals(options.oauthTokens ?? [], 'oauth', users, 'oauthTokens');
  const state = new CloseState(users, options.seed ?? 1, now);
  const limiter = new CloseRateLimiter(options.limits, options.rateLimitSeparator ?? ',');
  const router = new EmulatorRouter();

  const authenticated =
    (handler: CloseRouteHandler, group: string | undefined): Parameters<EmulatorRouter['add']>[2] =>
    async (request) => {
      const principal = authenticateClose(request.headers, apiKeys, oauthTokens);
      if (principal === undefined) return closeUnauthorized();
      if (group === undefined) return handler(request, principal);
      const decision = limiter.take(group, principal.secret, principal.organizationId, now());
      if (!decision.allowed) {
        const headers: Record<string, string> = { RateLimit: decision.header };
        if (options.retryAfterHeader) headers['Retry-After'] = String(Math.ceil(decision.rateResetSeconds));
        // The second tag counts refusals per endpoint group (`stats.byTag['rate-limited:POST /lead/']`).
        return { status: 429, headers, body: decision.body, tags: ['rate-limited', `rate-limited:${group}`] };
      }
      const response = await handler(request, principal);
      return { ...response, headers: { ...response.headers, RateLimit: decision.header } };
    };

  const context: CloseRouteContext = {
    state,
    defaultCountry: options.defaultCountry ?? 'US',
    route(method, template, handler) {
      const pattern = `/api/v1${template.replace(/\{(\w+)\}/g, ':$1')}`;
      router.add(method, pattern, authenticated(handler, `${method.toUpperCase()} ${template}`));
    },
    unversionedRoute(method, pattern, handler) {
      router.add(method, pattern, authenticated(handler, undefined));
    },
  };
  registerCloseLeadRoutes(context);
  registerCloseSearchRoute(context);
  registerCloseWhatsAppRoutes(context, { contactIdRequired: options.contactIdRequired ?? true });
  registerCloseFileRoutes(context, router);
  registerCloseIntegrationLinkRoutes(context);

  const reset = (): void => {
    state.reset();
    limiter.reset();
  };
  const running = await startEmulatorServer({
    name: 'close',
    router,
    port: options.port,
    host: options.host,
    faults: options.faults,
    latency: options.latency,
    seed: options.seed,
    serverErrorResponse: () => ({ status: 503, body: { error: 'Service temporarily unavailable.' } }),
    notFoundResponse: (request) => ({
      status: 404,
      body: { error: `Unknown endpoint ${request.method} ${request.path}` },
    }),
    inspectState: () => state.snapshot(),
    resetState: reset,
  });
  return Object.assign(running, {
    apiUrl: `${running.url}/api/v1`,
    state,
    findDuplicates: () => state.findDuplicates(),
    seedLead: (input: SeedLeadInput) => seedLead(state, input, options.defaultCountry ?? 'US'),
    reset,
  });
}

function seedLead(
  state: CloseState,
  input: SeedLeadInput,
  defaultCountry: CountryCode,
): { lead: CloseLead; contact: CloseContact } {
  const phone = normalizeClosePhone(input.phone, input.defaultCountry ?? defaultCountry);
  if (phone === undefined)
    throw new TypeError(`[coexist/sandbox] seedLead: \`phone\` is not a phone number Close accepts`);
  const userId = state.users[0]?.id ?? '';
  const now = state.timestamp();
  const common = {
    organization_id: state.users[0]?.organization_id ?? DEFAULT_CLOSE_ORGANIZATION_ID,
    created_by: userId,
    updated_by: userId,
    date_created: now,
    date_updated: now,
  };
  const lead: CloseLead = {
    ...common,
    id: state.nextId('lead'),
    name: input.name,
    display_name: input.name,
    description: '',
    url: null,
    status_label: 'Potential',
    custom: {},
  };
  state.leads.set(lead.id, lead);
  const contact: CloseContact = {
    ...common,
    id: state.nextId('cont'),
    lead_id: lead.id,
    name: input.name,
    display_name: input.name,
    title: '',
    phones: [{ ...phone, type: input.phoneType ?? 'office' }],
    emails: [],
  };
  state.contacts.set(contact.id, contact);
  return { lead, contact };
}

function toPrincipals(
  credentials: Array<string | CloseCredential>,
  kind: 'key' | 'oauth',
  users: CloseUser[],
  option: string,
): Map<string, ClosePrincipal> {
  const principals = new Map<string, ClosePrincipal>();
  for (const credential of credentials) {
    const entry = typeof credential === 'string' ? { secret: credential } : credential;
    if (typeof entry.secret !== 'string' || entry.secret === '') {
      throw new TypeError(`[coexist/sandbox] startCloseEmulator: every \`${option}\` entry needs a non-empty secret`);
    }
    const organizationId = entry.organizationId ?? DEFAULT_CLOSE_ORGANIZATION_ID;
    let userId = entry.userId;
    if (userId === undefined) {
      let user = users.find((candidate) => candidate.organization_id === organizationId);
      if (user === undefined) {
        const suffix = organizationId.replace(/^orga_/, '');
        user = {
          id: `user_${suffix}`,
          organization_id: organizationId,
          first_name: 'Emulator',
          last_name: 'User',
          email: `user@${suffix}.example.com`,
        };
        users.push(user);
      }
      userId = user.id;
    } else if (!users.some((user) => user.id === userId && user.organization_id === organizationId)) {
      throw new TypeError(
        `[coexist/sandbox] startCloseEmulator: \`${option}\` names userId ${userId}, which is not a user of ${organizationId}`,
      );
    }
    principals.set(entry.secret, { kind, secret: entry.secret, organizationId, userId });
  }
  return principals;
}
