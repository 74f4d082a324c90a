import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { EmulatorRequest, EmulatorResponse, EmulatorRouter } from './emulator-router.ts';
import { FaultInjector, type FaultOptions } from './fault-injector.ts';
import { LatencyModel, type LatencyOptions } from './latency-model.ts';

/** Counters every emulator keeps, readable in-process and at `GET /__admin/stats`. */
export interface EmulatorStats {
  /** Requests handled, admin requests excluded. */
  requests: number;
  /** Requests per route (`METHOD /pattern`). */
  byRoute: Record<string, number>;
  /** Responses per HTTP status. */
  byStatus: Record<string, number>;
  /** Responses per tag (`rate-limited`, `fault`, …). */
  byTag: Record<string, number>;
}

/** Options shared by every emulator server. */
export interface EmulatorServerOptions {
  /** The emulator's name, used in errors and logs. */
  name: string;
  router: EmulatorRouter;
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  faults?: FaultOptions;
  latency?: LatencyOptions;
  /** Seed of the fault and latency draws. @default 1 */
  seed?: number | string;
  /** The body of an injected 5xx, shaped like the vendor's. */
  serverErrorResponse?: () => EmulatorResponse;
  /** The answer for an unknown path, shaped like the vendor's. */
  notFoundResponse?: (request: EmulatorRequest) => EmulatorResponse;
  /** What `GET /__admin/state` returns. */
  inspectState: () => unknown;
  /** What `POST /__admin/reset` does. */
  resetState: () => void;
}

/** A running emulator. */
export interface RunningEmulator {
  /** The base URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  readonly port: number;
  readonly faults: FaultInjector;
  readonly latency: LatencyModel;
  /** Live counters. */
  readonly stats: EmulatorStats;
  /** Zeroes the counters. */
  resetStats(): void;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/** Starts an emulator's HTTP server on loopback with faults, latency, stats and admin endpoints. */
export async function startEmulatorServer(options: EmulatorServerOptions): Promise<RunningEmulator> {
  const faults = new FaultInjector(options.faults, options.seed ?? 1);
  const latency = new LatencyModel(options.latency, options.seed ?? 1);
  let stats = emptyStats();

  const server = createServer((incoming, outgoing) => {
    handle(incoming, outgoing).catch((error: unknown) => {
      if (!outgoing.headersSent) {
        outgoing.writeHead(500, { 'content-type': 'application/json' });
        outgoing.end(JSON.stringify({ message: `[coexist/sandbox] ${options.name} emulator error: ${String(error)}` }));
      } else outgoing.destroy();
    });
  });

  async function handle(incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
    const url = new URL(incoming.url ?? '/', 'http://emulator.local');
    const rawBody = await readBody(incoming);
    if (url.pathname.startsWith('/__admin/')) {
      send(outgoing, handleAdmin(incoming.method ?? 'GET', url.pathname, rawBody));
      return;
    }
    stats.requests++;
    const request = toRequest(incoming, url, rawBody);
    const match = options.router.match(request.method, request.path);
    const fault = faults.next();
    if (fault.kind === 'drop') {
      count(stats.byTag, 'fault');
      incoming.socket.destroy();
      return;
    }
    if (fault.kind === 'timeout') {
      count(stats.byTag, 'fault');
      await delay(fault.holdMs);
      incoming.socket.destroy();
      return;
    }
    if (fault.kind === 'slow') await delay(fault.delayMs);
    let response: EmulatorResponse;
    if (fault.kind === 'server-error') {
      response = options.serverErrorResponse?.() ?? { status: 503, body: { message: 'Service Unavailable' } };
      response = { ...response, tags: [...(response.tags ?? []), 'fault'] };
    } else if ('handler' in match) {
      request.params = match.params;
      count(stats.byRoute, match.route);
      const wait = latency.delayFor(match.records?.(request) ?? 0);
      if (wait > 0) await delay(wait);
      response = await match.handler(request);
    } else if (match.methodNotAllowed) {
      response = { status: 405, body: { message: `Method ${request.method} not allowed on ${request.path}` } };
    } else {
      response = options.notFoundResponse?.(request) ?? {
        status: 404,
        body: { message: `Not found: ${request.path}` },
      };
    }
    count(stats.byStatus, String(response.status));
    for (const tag of response.tags ?? []) count(stats.byTag, tag);
    send(outgoing, response);
  }

  function handleAdmin(method: string, path: string, rawBody: Buffer): EmulatorResponse {
    const body = rawBody.length > 0 ? (JSON.parse(rawBody.toString('utf8')) as unknown) : undefined;
    if (path === '/__admin/state' && method === 'GET') return { status: 200, body: options.inspectState() };
    if (path === '/__admin/stats' && method === 'GET') return { status: 200, body: stats };
    if (path === '/__admin/reset' && method === 'POST') {
      options.resetState();
      stats = emptyStats();
      return { status: 204 };
    }
    if (path === '/__admin/faults' && method === 'GET') return { status: 200, body: faults.options };
    if (path === '/__admin/faults' && method === 'PUT') {
      faults.configure((body ?? {}) as FaultOptions);
      return { status: 200, body: faults.options };
    }
    if (path === '/__admin/latency' && method === 'PUT') {
      latency.configure((body ?? {}) as LatencyOptions);
      return { status: 200, body: latency.options };
    }
    return { status: 404, body: { message: `Unknown admin endpoint ${method} ${path}` } };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    port: address.port,
    faults,
    latency,
    get stats() {
      return stats;
    },
    resetStats() {
      stats = emptyStats();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function emptyStats(): EmulatorStats {
  return { requests: 0, byRoute: {}, byStatus: {}, byTag: {} };
}

function count(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

function readBody(incoming: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => resolve(Buffer.concat(chunks)));
    incoming.on('error', reject);
  });
}

function toRequest(incoming: IncomingMessage, url: URL, rawBody: Buffer): EmulatorRequest {
  const request: EmulatorRequest = {
    method: (incoming.method ?? 'GET').toUpperCase(),
    path: url.pathname,
    params: {},
    query: url.searchParams,
    headers: incoming.headers,
    rawBody,
    body: undefined,
  };
  const contentType = incoming.headers['content-type'] ?? '';
  if (rawBody.length > 0 && (contentType.includes('json') || contentType === '')) {
    try {
      request.body = JSON.parse(rawBody.toString('utf8'));
    } catch (error) {
      if (contentType.includes('json')) request.bodyError = (error as Error).message;
    }
  }
  return request;
}

function send(outgoing: ServerResponse, response: EmulatorResponse): void {
  const headers: Record<string, string> = { ...response.headers };
  let payload: string | Uint8Array | undefined;
  if (response.body instanceof Uint8Array) {
    // Bytes (a file or media download) go out as they are.
    payload = response.body;
    headers['content-type'] ??= 'application/octet-stream';
  } else if (typeof response.body === 'string') {
    payload = response.body;
    headers['content-type'] ??= 'text/plain; charset=utf-8';
  } else if (response.body !== undefined) {
    payload = JSON.stringify(response.body);
    headers['content-type'] ??= 'application/json;charset=utf-8';
  }
  outgoing.writeHead(response.status, headers);
  outgoing.end(payload);
}
