/**
 * Coexist as one web-standard object: the Meta webhook handler (acked only after the durable write), the sync
 * engine and its store, the card, health, status and dead-letter routes, and an orderly `close()`. `coexist serve` runs it
 * on a Node server; applications mount `handleWebhook`/`routes`/`fetch` in Express, Hono or Next.js.
 */
import {
  type CoexistStore,
  createMemoryStore,
  createSqliteStore,
  createSyncEngine,
  createWebhookHandler,
  type SyncEngine,
  type SyncRetryOptions,
  type WebhookHandler,
} from '@coexist/core';
import { type AdapterFactory, buildConnections, createDefaultAdapter } from './build-connections.ts';
import { type CardRoute, createCardRoutes } from './card-routes.ts';
import type { CoexistConfig } from './coexist-config.ts';
import { type CoexistLogger, silentLogger } from './coexist-logger.ts';
import { deadLetterResponse, isDeadLetterPath } from './dead-letter-routes.ts';
import { healthResponse, json, statusResponse } from './status-routes.ts';

/** Options of `createCoexist` beyond the configuration. */
export interface CreateCoexistOptions {
  /** Lifecycle and error lines (never bodies or secrets). @default silent */
  logger?: CoexistLogger;
  /** Creates each connection's adapter. @default the `@coexist/<crm>` adapters */
  createAdapter?: AdapterFactory;
  /** Use this store instead of the one the configuration names (it is closed by `close()`). */
  store?: CoexistStore;
  /** Retry policy of the engine. */
  retry?: SyncRetryOptions;
  /**
   * Milliseconds `close()` waits for webhook requests in flight before stopping the engine anyway.
   * @default 10000
   */
  shutdownTimeoutMs?: number;
}

/** A running Coexist: mount `fetch` (or `handleWebhook` and `routes`) in any web framework. */
export interface Coexist {
  /** Meta's webhook endpoint: GET handshake and signed POSTs, answered 200 only after the events are stored. */
  handleWebhook: WebhookHandler;
  /** Answers the webhook path, `/health`, `/status` and `/cards/*`; `undefined` for any other path. */
  routes(request: Request): Promise<Response | undefined>;
  /** Like `routes`, with a 404 for other paths: a complete web-standard handler. */
  fetch(request: Request): Promise<Response>;
  /** The sync engine (status, progress, dead letters, replay). */
  engine: SyncEngine;
  /** The durable store. */
  store: CoexistStore;
  /** Webhook requests being handled right now. */
  readonly inFlight: number;
  /** Refuses new webhooks (503, Meta redelivers), waits for in-flight ones, stops the engine and closes the store. */
  close(): Promise<void>;
}

/** Creates Coexist from a validated configuration (see `loadCoexistConfig`); starts the engine's workers. */
export function createCoexist(config: CoexistConfig, options: CreateCoexistOptions = {}): Coexist {
  const logger = options.logger ?? silentLogger;
  const connections = buildConnections(
    config.connections,
    options.createAdapter ?? createDefaultAdapter,
    config.publicUrl === undefined ? {} : { publicUrl: config.publicUrl },
  );
  const store =
    options.store ??
    (config.store.type === 'memory'
      ? createMemoryStore()
      : createSqliteStore({
          path: config.store.path,
          writerThread: config.store.writerThread === true,
          ...(config.store.synchronous === undefined ? {} : { synchronous: config.store.synchronous }),
        }));
  let engine: SyncEngine;
  try {
    engine = createSyncEngine({
      store,
      connections,
      logger,
      ...(options.retry === undefined ? {} : { retry: options.retry }),
    });
  } catch (error) {
    void store.close();
    throw error;
  }
  const secrets = collectSecrets(config);

  let inFlight = 0;
  let closing: Promise<void> | undefined;
  const drained = new Set<() => void>();
  const webhook = createWebhookHandler({
    appSecret: config.meta.appSecret,
    verifyToken: config.meta.verifyToken,
    // The ack waits for this: the raw body and its events are in the store before Meta hears 200.
    onEvents: async (events, delivery) => {
      await engine.ingest(events, { rawBody: delivery.rawBody, receivedAt: delivery.receivedAt }).catch(logNotStored);
    },
    onInvalid: async (delivery) => {
      await engine
        .recordInvalidPayload({ rawBody: delivery.rawBody, error: delivery.error, receivedAt: delivery.receivedAt })
        .catch(logNotStored);
    },
  });
  /** Logs why a delivery could not be stored (its 500 tells Meta only to retry), then lets the handler answer. */
  function logNotStored(error: unknown): never {
    logger.error('webhook not stored', errorKind(error));
    throw error;
  }
  const handleWebhook: WebhookHandler = async (request) => {
    if (closing !== undefined) {
      return json({ error: { message: 'shutting down; retry later' } }, 503, {
        'retry-after': '5',
        connection: 'close',
      });
    }
    inFlight++;
    try {
      const response = await webhook(request);
      // One kind of line per kind of refusal, so a flood of one (unsigned requests) cannot fold away another.
      const rejection = request.method === 'POST' ? WEBHOOK_REJECTIONS[response.status] : undefined;
      if (rejection !== undefined) logger.warn(rejection, { status: response.status });
      return response;
    } finally {
      inFlight--;
      if (inFlight === 0) for (const resolve of drained) resolve();
    }
  };

  const cards: CardRoute[] = createCardRoutes({ config, connections, store, logger });
  const routes = async (request: Request): Promise<Response | undefined> => {
    const path = new URL(request.url).pathname;
    if (path === config.webhookPath) return handleWebhook(request);
    try {
      if (path === '/health') return request.method === 'GET' ? await healthResponse(store, engine) : notAllowed();
      if (path === '/status') {
        return request.method === 'GET'
          ? await statusResponse(request, engine, { adminToken: config.adminToken, secrets })
          : notAllowed();
      }
      if (isDeadLetterPath(path)) {
        return await deadLetterResponse(request, engine, { adminToken: config.adminToken, secrets });
      }
      for (const card of cards) if (path === card.path) return await card.handle(request);
    } catch (error) {
      logger.error('request failed', { path, error: error instanceof Error ? error.name : 'error' });
      return json({ error: { message: 'internal error' } }, 500);
    }
    return undefined;
  };

  const close = (): Promise<void> => {
    closing ??= (async () => {
      const timeoutMs = options.shutdownTimeoutMs ?? 10_000;
      if (inFlight > 0) {
        logger.info('waiting for webhook requests in flight', { inFlight });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, timeoutMs);
          function done(): void {
            clearTimeout(timer);
            drained.delete(done);
            resolve();
          }
          drained.add(done);
        });
      }
      await engine.stop();
      logger.info('engine stopped');
      await store.close();
      logger.info('store closed');
    })();
    return closing;
  };

  return {
    handleWebhook,
    routes,
    fetch: async (request) => (await routes(request)) ?? json({ error: { message: 'not found' } }, 404),
    engine,
    store,
    get inFlight() {
      return inFlight;
    },
    close,
  };
}

/**
 * The warning for each refusal of a webhook POST. A 400 is logged by the engine as it keeps the payload, a 500 with
 * its cause where it happens, a 503 is the shutdown.
 */
const WEBHOOK_REJECTIONS: Partial<Record<number, string>> = {
  401: 'webhook signature refused',
  405: 'webhook method refused',
  413: 'webhook body too large',
};

/** What kind of error it was, never its message (which may quote a payload): class, code, SQLite's reason. */
function errorKind(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { error: typeof error };
  const { code, errstr, field } = error as Error & { code?: unknown; errstr?: unknown; field?: unknown };
  return {
    error: error.name,
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof errstr === 'string' ? { reason: errstr } : {}),
    ...(typeof field === 'string' ? { field } : {}),
  };
}

function notAllowed(): Response {
  return json({ error: { message: 'method not allowed' } }, 405, { allow: 'GET' });
}

/** Every secret value of a configuration, for redaction. */
export function collectSecrets(config: CoexistConfig): string[] {
  const secrets = [config.meta.appSecret, config.meta.verifyToken];
  if (config.adminToken !== undefined) secrets.push(config.adminToken);
  for (const connection of config.connections) {
    if (connection.crm === 'hubspot')
      secrets.push(connection.hubspot.accessToken, connection.hubspot.clientSecret ?? '');
    if (connection.crm === 'salesforce') {
      const { accessToken, clientId, clientSecret, refreshToken } = connection.salesforce;
      secrets.push(accessToken ?? '', clientId ?? '', clientSecret ?? '', refreshToken ?? '');
    }
    if (connection.crm === 'close') secrets.push(connection.close.apiKey, connection.close.linkSecret ?? '');
  }
  return secrets.filter((secret) => secret !== '');
}
