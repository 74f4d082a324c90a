/**
 * The Composite resource, `POST /services/data/vXX.X/composite`
 * (https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-composite-post.html): a series of
 * REST subrequests executed in order in one call, counted as one call toward the API limits. A subrequest names a
 * `referenceId`; later subrequests use its response in their `url` or `body` with `@{referenceId.field}` (arrays by
 * index: `@{refCollection[0].id}`). Supported resources: the sObject resources, Query and QueryAll, and sObject
 * Collections (API 43.0+). At most 25 subrequests, of which at most 5 sObject Collections or query operations.
 * `allOrNone: true` rolls the whole request back when a subrequest fails (every other subrequest then answers 400);
 * with `false`, the subrequests that do not depend on the failed one still run, the dependent ones do not. The
 * top-level answer is 200 either way, `{ compositeResponse: [{ body, httpHeaders, httpStatusCode, referenceId }] }`
 * (https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-subrequest-result.html).
 */
import {
  type EmulatorRequest,
  type EmulatorResponse,
  EmulatorRouter,
  type RecordCounter,
} from '../emulator/emulator-router.ts';
import { responseOfApiError, SalesforceApiError, salesforceErrorResponse } from './salesforce-errors.ts';
import type { ApiHandler, ApiRouteAdder } from './salesforce-rest-routes.ts';
import type { SalesforceState } from './salesforce-state.ts';

/** Most subrequests one Composite request may carry. */
export const compositeMaxSubrequests = 25;

/** Most of those that may be sObject Collections or query operations. */
export const compositeMaxCollectionsOrQueries = 5;

/** The API version Composite accepts sObject Collections subrequests from. */
const collectionsInCompositeFromVersion = 43;

const REFERENCE_ID = /^[A-Za-z][A-Za-z0-9_]*$/;
/** `@{referenceId}` followed by `.field` and `[index]` steps. */
const REFERENCE = /@\{([A-Za-z][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}/g;

interface SubrequestRoute {
  handler: ApiHandler;
  minimumVersion: number;
  records?: RecordCounter;
}

/** One subrequest as the request body gives it. */
interface Subrequest {
  method: string;
  url: string;
  referenceId: string;
  body?: unknown;
  httpHeaders?: Record<string, string>;
}

/** One entry of `compositeResponse`. */
interface SubrequestResult {
  body: unknown;
  httpHeaders: Record<string, string>;
  httpStatusCode: number;
  referenceId: string;
}

/** The REST routes a Composite subrequest may call, matched without the top-level call's limits and latency. */
export class CompositeSubrequests {
  readonly #router = new EmulatorRouter();
  readonly #routes = new Map<string, SubrequestRoute>();

  /** Registers a route, if Composite supports its resource (sObject resources, Query, QueryAll, sObject Collections). */
  add(
    method: string,
    pattern: string,
    handler: ApiHandler,
    options: { records?: RecordCounter; minimumVersion?: number } = {},
  ): void {
    if (!isSupportedResource(pattern)) return;
    const path = `/services/data/:version/${pattern}`;
    this.#routes.set(`${method.toUpperCase()} ${path}`, {
      handler,
      minimumVersion: Math.max(
        options.minimumVersion ?? 0,
        pattern.startsWith('composite/sobjects') ? collectionsInCompositeFromVersion : 0,
      ),
      ...(options.records === undefined ? {} : { records: options.records }),
    });
    // The router only matches; the route above answers.
    this.#router.add(method, path, () => ({ status: 500 }));
  }

  /** The route a subrequest calls, with its path parameters, or `undefined`. */
  match(method: string, path: string): { route: SubrequestRoute; params: Record<string, string> } | undefined {
    const found = this.#router.match(method, path);
    if (!('route' in found)) return undefined;
    const route = this.#routes.get(found.route);
    return route === undefined ? undefined : { route, params: found.params };
  }
}

/** Whether Composite accepts subrequests to this route pattern (relative to `/services/data/vXX.X/`). */
function isSupportedResource(pattern: string): boolean {
  return (
    pattern.startsWith('sobjects/') ||
    pattern === 'query' ||
    pattern === 'queryAll' ||
    pattern.startsWith('query/') ||
    pattern.startsWith('queryAll/') ||
    pattern.startsWith('composite/sobjects')
  );
}

/** Whether a subrequest path is an sObject Collections or query operation (5 per request at most). */
function isCollectionOrQuery(path: string): boolean {
  return /^\/services\/data\/v[\d.]+\/(composite\/sobjects|query|queryAll)(\/|$)/.test(path);
}

/** Registers `POST composite`, running subrequests through `subrequests`. */
export function registerCompositeRoute(
  add: ApiRouteAdder,
  subrequests: CompositeSubrequests,
  state: SalesforceState,
  maximumVersion: string,
): void {
  add(
    'POST',
    'composite',
    (request) => {
      const { allOrNone, requests } = compositeBody(request);
      // Without any `@{`, there is nothing to resolve (and 200-record bodies need not be walked).
      const references = request.rawBody.includes('@{');
      const results: SubrequestResult[] = [];
      const failedAt = state.atomically(() => {
        const answered = new Map<string, unknown>();
        for (const subrequest of requests) {
          const result = runSubrequest(
            subrequest,
            request,
            maximumVersion,
            subrequests,
            references ? answered : undefined,
          );
          results.push(result);
          if (result.httpStatusCode < 400) answered.set(subrequest.referenceId, result.body);
          else if (allOrNone) return { commit: false, value: results.length - 1 };
        }
        return { commit: true, value: -1 };
      });
      if (failedAt >= 0) {
        // All or none: the failed subrequest keeps its error; every other one answers 400, rolled back or not run.
        return {
          status: 200,
          body: {
            compositeResponse: requests.map((subrequest, index) =>
              index === failedAt
                ? results[index]!
                : {
                    body: [
                      {
                        errorCode: 'PROCESSING_HALTED',
                        message:
                          'The transaction was rolled back since another operation in the same transaction failed.',
                      },
                    ],
                    httpHeaders: {},
                    httpStatusCode: 400,
                    referenceId: subrequest.referenceId,
                  },
            ),
          },
        };
      }
      return { status: 200, body: { compositeResponse: results } };
    },
    {
      // One call, whose latency counts every record its subrequests write.
      records: (request) => {
        let records = 0;
        try {
          for (const subrequest of compositeBody(request).requests) {
            const { path, query } = splitUrl(subrequest.url);
            const found = subrequests.match(subrequest.method, path);
            if (found?.route.records === undefined) continue;
            records += found.route.records(
              subrequestRequest(subrequest, request, path, query, found.params, subrequest.body),
            );
          }
        } catch {
          // An invalid body is answered by the handler.
        }
        return records;
      },
    },
  );
}

/** Runs one subrequest: references resolved, the route matched and called; errors become the subrequest's answer. */
function runSubrequest(
  subrequest: Subrequest,
  parent: EmulatorRequest,
  maximumVersion: string,
  subrequests: CompositeSubrequests,
  /** Earlier successful answers by reference id; `undefined` when the request has no references. */
  answered: ReadonlyMap<string, unknown> | undefined,
): SubrequestResult {
  const answer = (response: EmulatorResponse): SubrequestResult => ({
    body: response.body ?? null,
    httpHeaders: response.headers ?? {},
    httpStatusCode: response.status,
    referenceId: subrequest.referenceId,
  });
  try {
    const url = answered === undefined ? subrequest.url : (resolveReferences(subrequest.url, answered, true) as string);
    const body =
      subrequest.body === undefined || answered === undefined
        ? subrequest.body
        : resolveReferences(subrequest.body, answered, false);
    const { path, query } = splitUrl(url);
    const version = /^\/services\/data\/v(\d{2,3}\.0)(\/|$)/.exec(path)?.[1];
    const found = subrequests.match(subrequest.method, path);
    if (version === undefined || found === undefined) {
      return answer(
        salesforceErrorResponse(
          400,
          'NOT_FOUND',
          // [inferred] The wording Salesforce uses for a resource Composite does not run.
          `The requested resource does not exist or is not supported in a composite request: ${subrequest.method} ${path}`,
        ),
      );
    }
    if (Number(version) < found.route.minimumVersion || Number(version) > Number(maximumVersion)) {
      return answer(salesforceErrorResponse(404, 'NOT_FOUND', 'The requested resource does not exist'));
    }
    const response = found.route.handler(
      subrequestRequest(subrequest, parent, path, query, found.params, body),
      version,
    );
    if (response instanceof Promise)
      throw new Error('[coexist/sandbox] a Composite subrequest route must answer synchronously');
    return answer(response);
  } catch (error) {
    if (error instanceof UnresolvedReference) {
      return answer(
        salesforceErrorResponse(
          400,
          'PROCESSING_HALTED',
          `Invalid reference specified. No value for ${error.expression} found in ${error.referenceId}. Provided referenceId ('${error.referenceId}') must be a previous successful subrequest.`,
        ),
      );
    }
    if (error instanceof SalesforceApiError) return answer(responseOfApiError(error));
    throw error;
  }
}

class UnresolvedReference extends Error {
  readonly referenceId: string;
  readonly expression: string;
  constructor(referenceId: string, expression: string) {
    super(`[coexist/sandbox] unresolved Composite reference @{${referenceId}${expression}}`);
    this.referenceId = referenceId;
    this.expression = expression;
  }
}

/** Replaces `@{ref.path}` references with values from earlier successful subrequests (deeply in a body). */
function resolveReferences(value: unknown, answered: ReadonlyMap<string, unknown>, inUrl: boolean): unknown {
  if (typeof value === 'string') {
    const whole = new RegExp(`^${REFERENCE.source}$`).exec(value);
    // A string that is one reference takes the referenced value as it is (a number stays a number).
    if (whole && !inUrl) return lookup(whole[1]!, whole[2]!, answered);
    return value.replace(REFERENCE, (_, referenceId: string, expression: string) => {
      const found = lookup(referenceId, expression, answered);
      return inUrl ? encodeURIComponent(String(found)) : String(found);
    });
  }
  if (Array.isArray(value)) return value.map((entry) => resolveReferences(entry, answered, inUrl));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, entry]) => [key, resolveReferences(entry, answered, inUrl)]),
    );
  }
  return value;
}

function lookup(referenceId: string, expression: string, answered: ReadonlyMap<string, unknown>): unknown {
  if (!answered.has(referenceId)) throw new UnresolvedReference(referenceId, expression);
  let current = answered.get(referenceId);
  for (const step of expression.matchAll(/\.([A-Za-z0-9_]+)|\[(\d+)\]/g)) {
    if (current === null || typeof current !== 'object') throw new UnresolvedReference(referenceId, expression);
    current =
      step[1] !== undefined
        ? (current as Record<string, unknown>)[step[1]]
        : Array.isArray(current)
          ? current[Number(step[2])]
          : undefined;
  }
  if (current === undefined || current === null) throw new UnresolvedReference(referenceId, expression);
  return current;
}

function splitUrl(url: string): { path: string; query: URLSearchParams } {
  const parsed = new URL(url, 'http://composite.invalid');
  return { path: parsed.pathname, query: parsed.searchParams };
}

function subrequestRequest(
  subrequest: Subrequest,
  parent: EmulatorRequest,
  path: string,
  query: URLSearchParams,
  params: Record<string, string>,
  body: unknown,
): EmulatorRequest {
  return {
    method: subrequest.method,
    path,
    params,
    query,
    // Accept, Authorization and Content-Type come from the top-level request.
    headers: { ...parent.headers, ...lowerCaseKeys(subrequest.httpHeaders ?? {}) },
    // Routes read the parsed body; the raw bytes are not serialized again.
    rawBody: Buffer.alloc(0),
    body,
  };
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([key, value]) => [key.toLowerCase(), value]));
}

const parsedBodies = new WeakMap<EmulatorRequest, { allOrNone: boolean; requests: Subrequest[] }>();

/** Validates the Composite request body (shape, limits, reference ids), once per request. */
function compositeBody(request: EmulatorRequest): { allOrNone: boolean; requests: Subrequest[] } {
  let parsed = parsedBodies.get(request);
  if (parsed === undefined) {
    parsed = parseCompositeBody(request);
    parsedBodies.set(request, parsed);
  }
  return parsed;
}

function parseCompositeBody(request: EmulatorRequest): { allOrNone: boolean; requests: Subrequest[] } {
  if (request.bodyError)
    throw new SalesforceApiError(
      400,
      'JSON_PARSER_ERROR',
      `Unexpected character in the JSON body: ${request.bodyError}`,
    );
  const body = request.body as { allOrNone?: unknown; compositeRequest?: unknown } | undefined;
  if (
    body === null ||
    typeof body !== 'object' ||
    !Array.isArray(body.compositeRequest) ||
    body.compositeRequest.length === 0
  )
    throw new SalesforceApiError(
      400,
      'JSON_PARSER_ERROR',
      'The request body must have a non-empty compositeRequest array',
    );
  if (body.allOrNone !== undefined && typeof body.allOrNone !== 'boolean')
    throw new SalesforceApiError(400, 'JSON_PARSER_ERROR', 'allOrNone must be a boolean');
  if (body.compositeRequest.length > compositeMaxSubrequests)
    throw new SalesforceApiError(
      400,
      'INVALID_BATCH_REQUEST',
      // [inferred] The error code; the limit is documented.
      `A composite request can contain at most ${compositeMaxSubrequests} subrequests`,
    );
  const seen = new Set<string>();
  let collectionsOrQueries = 0;
  const requests = body.compositeRequest.map((entry: unknown, index: number): Subrequest => {
    const field = `compositeRequest[${index}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
      throw new SalesforceApiError(400, 'JSON_PARSER_ERROR', `${field} must be an object`);
    const { method, url, referenceId, body: subrequestBody, httpHeaders } = entry as Record<string, unknown>;
    if (typeof method !== 'string' || !['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(method))
      throw new SalesforceApiError(400, 'JSON_PARSER_ERROR', `${field}.method must be GET, POST, PUT, PATCH or DELETE`);
    if (typeof url !== 'string' || !url.startsWith('/services/data/'))
      throw new SalesforceApiError(400, 'JSON_PARSER_ERROR', `${field}.url must start with /services/data/`);
    if (typeof referenceId !== 'string' || !REFERENCE_ID.test(referenceId))
      throw new SalesforceApiError(
        400,
        'JSON_PARSER_ERROR',
        `${field}.referenceId must be letters, numbers and underscores, starting with a letter`,
      );
    if (seen.has(referenceId))
      throw new SalesforceApiError(
        400,
        'JSON_PARSER_ERROR',
        `Duplicate referenceId provided in the request: ${referenceId}`,
      );
    seen.add(referenceId);
    if (
      httpHeaders !== undefined &&
      (httpHeaders === null || typeof httpHeaders !== 'object' || Array.isArray(httpHeaders))
    )
      throw new SalesforceApiError(400, 'JSON_PARSER_ERROR', `${field}.httpHeaders must be an object`);
    if (isCollectionOrQuery(splitUrl(url).path)) collectionsOrQueries++;
    return {
      method,
      url,
      referenceId,
      ...(subrequestBody === undefined ? {} : { body: subrequestBody }),
      ...(httpHeaders === undefined ? {} : { httpHeaders: httpHeaders as Record<string, string> }),
    };
  });
  if (collectionsOrQueries > compositeMaxCollectionsOrQueries)
    throw new SalesforceApiError(
      400,
      'INVALID_BATCH_REQUEST',
      // [inferred] The error code; the limit is documented.
      `A composite request can contain at most ${compositeMaxCollectionsOrQueries} sObject Collections or query subrequests`,
    );
  return { allOrNone: body.allOrNone === true, requests };
}
