/**
 * One HTTP call to HubSpot through `@hubspot/api-client`'s `Client.apiRequest` (its auth, base path and
 * decorators; retries and limiter stay off so the engine owns pacing). Reports `X-HubSpot-RateLimit-*` headers
 * through `context.onRateLimitSignal` and turns every non-2xx answer into a typed core error.
 */
import type { OperationContext } from '@coexist/core';
import { CrmAuthError, CrmRateLimitedError, CrmTransientError, isCrmError } from '@coexist/core';
import type { Client } from '@hubspot/api-client';
import { HUBSPOT_BUCKETS, HUBSPOT_CRM, readRateLimitSignals, toHubSpotError } from './hubspot-errors.ts';

/** One request to HubSpot. */
export interface HubSpotRequest {
  /** The adapter operation, for error messages (`writeMessages`, `setup`). */
  operation: string;
  method: 'GET' | 'POST' | 'PATCH';
  /** Path below the base URL, e.g. `/crm/v3/objects/communications/batch/create`. */
  path: string;
  body?: unknown;
  query?: Record<string, string>;
  /** The CRM search endpoint: its own 5/s bucket, no rate-limit headers. */
  search?: boolean;
  context?: OperationContext;
  /** Statuses answered instead of thrown (e.g. 404 when probing a property). */
  accept?: readonly number[];
}

/** HubSpot's answer: status, parsed JSON body (or `undefined`) and headers. */
export interface HubSpotAnswer {
  status: number;
  body: unknown;
  headers: Headers;
}

/** Sends requests to one HubSpot account. */
export type HubSpotTransport = (request: HubSpotRequest) => Promise<HubSpotAnswer>;

/** Options of `createHubSpotTransport`. */
export interface HubSpotTransportOptions {
  client: Client;
  /** Called before every request when set (OAuth refresh); the token goes in the `Authorization` header. */
  getAccessToken?: () => Promise<string>;
  /** Clock for daily-reset arithmetic. */
  now: () => number;
  timeZoneOffsetMinutes?: number;
}

/** Creates the transport over a configured `Client`. */
export function createHubSpotTransport(options: HubSpotTransportOptions): HubSpotTransport {
  /** Requests sent per engine call: the engine counted the first, later ones ask it for a slot. */
  const sent = new WeakMap<OperationContext, number>();
  return async (request) => {
    request.context?.signal.throwIfAborted();
    const context = request.context;
    if (context !== undefined) {
      const count = sent.get(context) ?? 0;
      sent.set(context, count + 1);
      if (count > 0 && context.acquireRequestSlot !== undefined) {
        await context.acquireRequestSlot(
          request.search === true ? HUBSPOT_BUCKETS.search : HUBSPOT_BUCKETS.tenSecondly,
        );
        context.signal.throwIfAborted();
      }
    }
    const headers: Record<string, string> = {};
    let authType: string | undefined;
    if (options.getAccessToken !== undefined) {
      let token: string;
      try {
        token = await options.getAccessToken();
      } catch (cause) {
        throw new CrmAuthError({ crm: HUBSPOT_CRM, message: `${request.operation}: getAccessToken() failed`, cause });
      }
      if (typeof token !== 'string' || token === '') {
        throw new CrmAuthError({
          crm: HUBSPOT_CRM,
          message: `${request.operation}: getAccessToken() returned no token`,
          field: 'getAccessToken',
        });
      }
      headers.Authorization = `Bearer ${token}`;
      authType = 'none';
    }
    let response: Response;
    try {
      response = await options.client.apiRequest({
        method: request.method,
        path: request.path,
        ...(request.body === undefined ? {} : { body: request.body }),
        ...(request.query === undefined ? {} : { qs: request.query }),
        headers,
        ...(authType === undefined ? {} : { authType }),
      });
    } catch (cause) {
      if (isCrmError(cause)) throw cause;
      // The cause may carry the URL but never the token (it travels in a header).
      throw new CrmTransientError({
        crm: HUBSPOT_CRM,
        message: `${request.operation}: network error calling HubSpot`,
        cause,
      });
    }
    const text = await response.text();
    let body: unknown;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
    }
    if (request.context?.onRateLimitSignal !== undefined) {
      for (const signal of readRateLimitSignals(response.headers)) request.context.onRateLimitSignal(signal);
    }
    const accepted = response.ok || (request.accept ?? []).includes(response.status);
    if (!accepted) {
      const error = toHubSpotError({
        operation: request.operation,
        status: response.status,
        headers: response.headers,
        body,
        search: request.search ?? false,
        now: options.now(),
        ...(options.timeZoneOffsetMinutes === undefined
          ? {}
          : { timeZoneOffsetMinutes: options.timeZoneOffsetMinutes }),
      });
      if (error instanceof CrmRateLimitedError && request.context?.onRateLimitSignal !== undefined) {
        request.context.onRateLimitSignal({
          bucket: error.bucket ?? 'ten-secondly',
          remaining: 0,
          ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
        });
      }
      throw error;
    }
    return { status: response.status, body, headers: response.headers };
  };
}
