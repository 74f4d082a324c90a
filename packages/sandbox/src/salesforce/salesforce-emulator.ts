/**
 * The Salesforce emulator: a loopback HTTP server that the real jsforce 3.10 client drives unchanged
 * (`new jsforce.Connection({ instanceUrl: emulator.url, accessToken, version: '62.0' })`). It serves the REST API
 * (describe, rows, upsert by External ID, sObject Collections, SOQL, SOSL, limits), Bulk API 2.0 ingest and the
 * OAuth token endpoint, and enforces the org's API limits: a rolling 24 h request allocation and concurrent
 * long-running requests, both answered with 403 `REQUEST_LIMIT_EXCEEDED` and reported in `Sforce-Limit-Info`.
 */
import type { EmulatorRequest, EmulatorResponse } from '../emulator/emulator-router.ts';
import { EmulatorRouter } from '../emulator/emulator-router.ts';
import { type RunningEmulator, startEmulatorServer } from '../emulator/emulator-server.ts';
import type { FaultInjector, FaultOptions } from '../emulator/fault-injector.ts';
import type { LatencyModel, LatencyOptions } from '../emulator/latency-model.ts';
import { Bulk2Jobs } from './bulk2-jobs.ts';
import { responseOfApiError, SalesforceApiError, salesforceErrorResponse } from './salesforce-errors.ts';
import { createSalesforceIdGenerator } from './salesforce-ids.ts';
import {
  type InFlightRequest,
  type SalesforceLimitDecision,
  type SalesforceLimitOptions,
  SalesforceLimits,
} from './salesforce-limits.ts';
import { defaultSalesforceAccessToken, type SalesforceOAuthOptions, SalesforceSessions } from './salesforce-oauth.ts';
import { type ApiRouteAdder, QueryCursors, registerSalesforceRestRoutes } from './salesforce-rest-routes.ts';
import type { SalesforceFieldDefinition, SalesforceObjectDefinition } from './salesforce-schema.ts';
import { SalesforceState, type SalesforceUserSeed } from './salesforce-state.ts';

/** Options of `startSalesforceEmulator`. */
export interface SalesforceEmulatorOptions extends SalesforceLimitOptions {
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Access tokens the REST API accepts. @default [defaultSalesforceAccessToken] */
  tokens?: readonly string[];
  /** The OAuth client and refresh tokens of the token endpoint. */
  oauth?: SalesforceOAuthOptions;
  /** The highest API version served; older versions down to 20.0 are served too. @default '62.0' */
  apiVersion?: string;
  /** Bulk API 2.0 processing time per uploaded row, in ms. @default 0.5 */
  bulkProcessingMsPerRecord?: number;
  /** Injected faults (5xx, timeouts, dropped connections, slow answers). */
  faults?: FaultOptions;
  /** Response latency: a base per call plus a cost per record written. */
  latency?: LatencyOptions;
  /** Seed of ids, tokens, faults and latency. @default 1 */
  seed?: number | string;
  /** The clock (epoch ms) of limits, audit fields, cursors and Bulk processing. @default Date.now */
  now?: () => number;
  /** Users of the org; the first one owns records written through the API. @default one admin user */
  users?: readonly SalesforceUserSeed[];
  /** Extra custom objects (see `defineCustomObject`). */
  objects?: readonly SalesforceObjectDefinition[];
}

/** A running Salesforce emulator. */
export interface SalesforceEmulator extends RunningEmulator {
  /** The org's records, inspectable in-process (`state.records('WhatsApp_Message__c')`). */
  readonly state: SalesforceState;
  /** The API limits: `limits.setDailyAllocation(n)`, `limits.resetUsage()`, `limits.used(now)`. */
  readonly limits: SalesforceLimits;
  /** The Bulk API 2.0 ingest jobs. */
  readonly bulk2: Bulk2Jobs;
  /** Tokens: `sessions.expireAccessTokens()` makes the next call answer 401 `INVALID_SESSION_ID`. */
  readonly sessions: SalesforceSessions;
  /** The highest API version served, e.g. `62.0`. */
  readonly apiVersion: string;
  /** The first configured access token. */
  readonly accessToken: string;
  /** The org id (`00D…`), as in the OAuth identity URL. */
  readonly organizationId: string;
  /** Options for `new jsforce.Connection(...)` pointing at this emulator. */
  connectionOptions(): { instanceUrl: string; accessToken: string; version: string };
  /** Adds a custom object (see `defineCustomObject`). */
  registerObject(definition: SalesforceObjectDefinition): void;
  /** Adds a field to an object. */
  registerField(objectName: string, field: SalesforceFieldDefinition): void;
}

const sessionExpired: EmulatorResponse = {
  status: 401,
  body: [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }],
};

/** Starts the Salesforce emulator on loopback. */
export async function startSalesforceEmulator(options: SalesforceEmulatorOptions = {}): Promise<SalesforceEmulator> {
  const apiVersion = options.apiVersion ?? '62.0';
  if (!/^\d{2}\.0$/.test(apiVersion)) {
    throw new Error(
      `[coexist/sandbox] Salesforce emulator option apiVersion must look like "62.0", got "${apiVersion}"`,
    );
  }
  const now = options.now ?? Date.now;
  const seed = options.seed ?? 1;
  const state = new SalesforceState({ seed, now, users: options.users, objects: options.objects });
  const limits = new SalesforceLimits(options);
  const jobs = new Bulk2Jobs({ state, now, apiVersion, msPerRecord: options.bulkProcessingMsPerRecord, seed });
  const sessions = new SalesforceSessions(options.tokens, options.oauth, seed);
  const cursors = new QueryCursors();
  const organizationId = createSalesforceIdGenerator(`${seed}:org`).next('00D');
  const arrivals = new WeakMap<EmulatorRequest, { decision: SalesforceLimitDecision; request?: InFlightRequest }>();
  const router = new EmulatorRouter();
  let instanceUrl = '';
  const limitHeader = () => ({ 'Sforce-Limit-Info': limits.header(now()) });
  const maximumVersion = Number(apiVersion);

  const addApi: ApiRouteAdder = (method, pattern, handler, routeOptions = {}) => {
    router.add(
      method,
      `/services/data/:version${pattern ? `/${pattern}` : ''}`,
      async (request) => {
        const arrival = arrivals.get(request);
        arrivals.delete(request);
        let response: EmulatorResponse;
        try {
          const version = /^v(\d{2,3}\.0)$/.exec(request.params.version!)?.[1];
          if (
            !version ||
            Number(version) < Math.max(20, routeOptions.minimumVersion ?? 0) ||
            Number(version) > maximumVersion
          ) {
            response = salesforceErrorResponse(404, 'NOT_FOUND', 'The requested resource does not exist');
          } else if (!sessions.isAuthorized(request.headers.authorization)) {
            response = sessionExpired;
          } else if (arrival && !arrival.decision.allowed) {
            response = {
              ...salesforceErrorResponse(403, arrival.decision.errorCode, arrival.decision.message),
              tags: ['rate-limited'],
            };
          } else {
            const decision = limits.takeRequest(now());
            response = decision.allowed
              ? await handler(request, version)
              : { ...salesforceErrorResponse(403, decision.errorCode, decision.message), tags: ['rate-limited'] };
          }
        } catch (error) {
          if (!(error instanceof SalesforceApiError)) throw error;
          response = responseOfApiError(error);
        } finally {
          limits.endRequest(arrival?.request);
        }
        return { ...response, headers: { ...response.headers, ...limitHeader() } };
      },
      {
        // Called when the request arrives, before the latency wait: the concurrency limit counts from here.
        records: (request) => {
          arrivals.set(request, limits.beginRequest(now()));
          return routeOptions.records?.(request) ?? 0;
        },
      },
    );
  };

  const versions = () => {
    const list = [];
    for (let version = 20; version <= maximumVersion; version++) {
      list.push({ label: `v${version}.0`, url: `/services/data/v${version}.0`, version: `${version}.0` });
    }
    return { status: 200, body: list, headers: limitHeader() };
  };
  router.add('GET', '/services/data', versions);

  router.add('POST', '/services/oauth2/token', (request) =>
    sessions.token(
      request.rawBody,
      instanceUrl,
      {
        organizationId,
        userId: state.defaultUserId,
        usernames: () => state.records('User').map((user) => String(user.Username)),
      },
      now(),
    ),
  );
  router.add('POST', '/services/oauth2/revoke', (request) => {
    const token = new URLSearchParams(request.rawBody.toString('utf8')).get('token') ?? request.query.get('token');
    if (token) sessions.revoke(token);
    return { status: 200 };
  });
  router.add('GET', '/id/:organizationId/:userId', (request) => {
    if (!sessions.isAuthorized(request.headers.authorization)) return { status: 403, body: 'Bad_OAuth_Token' };
    const user = state.get('User', request.params.userId!);
    if (!user || request.params.organizationId !== organizationId) return { status: 404, body: 'Bad_Id' };
    return {
      status: 200,
      body: {
        id: `${instanceUrl}/id/${organizationId}/${user.Id}`,
        user_id: user.Id,
        organization_id: organizationId,
        username: user.Username,
        display_name: user.Name,
        email: user.Email,
      },
    };
  });

  registerSalesforceRestRoutes(addApi, { state, jobs, limits, now, apiVersion }, cursors);
  registerBulk2Routes(addApi, jobs);

  const server = await startEmulatorServer({
    name: 'salesforce',
    router,
    port: options.port,
    host: options.host,
    faults: options.faults,
    latency: options.latency,
    seed,
    serverErrorResponse: () => ({
      status: 500,
      body: [
        {
          message:
            'An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)',
          errorCode: 'UNKNOWN_EXCEPTION',
        },
      ],
      headers: limitHeader(),
    }),
    notFoundResponse: () => ({
      ...salesforceErrorResponse(404, 'NOT_FOUND', 'The requested resource does not exist'),
      headers: limitHeader(),
    }),
    inspectState: () => ({
      organizationId,
      apiVersion,
      counts: state.counts(),
      duplicateMessageIds: state.duplicates('WhatsApp_Message__c', 'Message_Id__c'),
      duplicateThreadKeys: state.duplicates('WhatsApp_Conversation__c', 'Thread_Key__c'),
      limits: {
        apiUsage: limits.used(now()),
        dailyAllocation: limits.dailyAllocation,
        concurrentLimit: limits.concurrentLimit,
        longRunningMs: limits.longRunningMs,
        inFlight: limits.inFlight,
      },
      bulk2Jobs: jobs.summary(),
    }),
    resetState: () => {
      state.reset();
      jobs.reset();
      cursors.reset();
      limits.resetUsage();
      sessions.reset();
    },
  });
  instanceUrl = server.url;
  const accessToken = options.tokens?.[0] ?? defaultSalesforceAccessToken;

  return {
    get url() {
      return server.url;
    },
    get port() {
      return server.port;
    },
    get faults(): FaultInjector {
      return server.faults;
    },
    get latency(): LatencyModel {
      return server.latency;
    },
    get stats() {
      return server.stats;
    },
    resetStats: () => server.resetStats(),
    close: async () => {
      jobs.close();
      await server.close();
    },
    state,
    limits,
    bulk2: jobs,
    sessions,
    apiVersion,
    accessToken,
    organizationId,
    connectionOptions: () => ({ instanceUrl: server.url, accessToken, version: apiVersion }),
    registerObject: (definition) => state.registerObject(definition),
    registerField: (objectName, field) => state.registerField(objectName, field),
  };
}

/** Registers the Bulk API 2.0 ingest resources. */
function registerBulk2Routes(add: ApiRouteAdder, jobs: Bulk2Jobs): void {
  const minimumVersion = 41;
  add('POST', 'jobs/ingest', (request) => ({ status: 200, body: jobs.create(parseJson(request)) }), { minimumVersion });
  add('GET', 'jobs/ingest', () => ({ status: 200, body: jobs.list() }), { minimumVersion });
  add('GET', 'jobs/ingest/:id', (request) => ({ status: 200, body: jobs.info(request.params.id!) }), {
    minimumVersion,
  });
  add(
    'PATCH',
    'jobs/ingest/:id',
    (request) => ({ status: 200, body: jobs.setState(request.params.id!, parseJson(request)) }),
    {
      minimumVersion,
    },
  );
  add(
    'DELETE',
    'jobs/ingest/:id',
    (request) => {
      jobs.delete(request.params.id!);
      return { status: 204 };
    },
    { minimumVersion },
  );
  add(
    'PUT',
    'jobs/ingest/:id/batches',
    (request) => {
      jobs.upload(request.params.id!, request.rawBody);
      return { status: 201 };
    },
    { minimumVersion },
  );
  for (const kind of ['successfulResults', 'failedResults', 'unprocessedrecords'] as const) {
    add(
      'GET',
      `jobs/ingest/:id/${kind}`,
      (request) => ({
        status: 200,
        body: jobs.results(request.params.id!, kind),
        headers: { 'content-type': 'text/csv; charset=utf-8' },
      }),
      { minimumVersion },
    );
  }
}

function parseJson(request: EmulatorRequest): unknown {
  if (request.body !== undefined) return request.body;
  if (request.rawBody.length === 0) return undefined;
  try {
    return JSON.parse(request.rawBody.toString('utf8'));
  } catch (error) {
    throw new SalesforceApiError(
      400,
      'JSON_PARSER_ERROR',
      `The request body is not valid JSON: ${(error as Error).message}`,
    );
  }
}
