import type { IncomingHttpHeaders } from 'node:http';

/** One request as an emulator route sees it. */
export interface EmulatorRequest {
  method: string;
  /** The path without the query string, e.g. `/crm/v3/objects/contacts/batch/create`. */
  path: string;
  /** Values of the `:name` segments of the matched route pattern. */
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  /** The body parsed as JSON when it is JSON; `undefined` when empty or not JSON. */
  body: unknown;
  /** Set when the body claimed to be JSON but could not be parsed. */
  bodyError?: string;
}

/** What an emulator route answers. */
export interface EmulatorResponse {
  status: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string as text; a `Uint8Array` (or `Buffer`) as raw bytes; `undefined` as an empty body. */
  body?: unknown;
  /** Tags counted in the emulator's stats, e.g. `rate-limited`. */
  tags?: string[];
}

/** A route handler. */
export type RouteHandler = (request: EmulatorRequest) => EmulatorResponse | Promise<EmulatorResponse>;

/** How to count a request's records for the latency model. */
export type RecordCounter = (request: EmulatorRequest) => number;

interface Route {
  method: string;
  pattern: string;
  segments: string[];
  handler: RouteHandler;
  records?: RecordCounter;
}

/** A matched route. */
export interface RouteMatch {
  route: string;
  params: Record<string, string>;
  handler: RouteHandler;
  records?: RecordCounter;
}

/** A small method + path-pattern router (`/crm/v3/objects/:objectType/batch/create`). */
export class EmulatorRouter {
  #routes: Route[] = [];

  /** Adds a route; `:name` segments capture, a trailing `*` segment captures the rest as `params['*']`. */
  add(method: string, pattern: string, handler: RouteHandler, options: { records?: RecordCounter } = {}): this {
    const segments = pattern.split('/').filter(Boolean);
    this.#routes.push({ method: method.toUpperCase(), pattern, segments, handler, records: options.records });
    return this;
  }

  /** Finds the first route matching a method and path, or says whether the path exists under another method. */
  match(method: string, path: string): RouteMatch | { methodNotAllowed: boolean } {
    const parts = path.split('/').filter(Boolean);
    let pathMatched = false;
    for (const route of this.#routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      if (route.method !== method.toUpperCase()) {
        pathMatched = true;
        continue;
      }
      return { route: `${route.method} ${route.pattern}`, params, handler: route.handler, records: route.records };
    }
    return { methodNotAllowed: pathMatched };
  }
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let index = 0; index < pattern.length; index++) {
    const segment = pattern[index]!;
    if (segment === '*') {
      params['*'] = parts.slice(index).map(decodeURIComponent).join('/');
      return params;
    }
    const part = parts[index];
    if (part === undefined) return undefined;
    if (segment.startsWith(':')) params[segment.slice(1)] = decodeURIComponent(part);
    else if (segment !== part) return undefined;
  }
  return parts.length === pattern.length ? params : undefined;
}
