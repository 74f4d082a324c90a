/**
 * One HTTP call to Close through axios: authentication (API key as the Basic username with an empty password, or an
 * OAuth Bearer token refreshed once on a 401), the `RateLimit` header reported per endpoint group, and every failure
 * mapped to a typed `CrmError`. No retries here: the engine owns retries and pacing.
 */
import type { OperationContext, RateLimitSignal } from '@coexist/core';
import { CrmAuthError, CrmTransientError } from '@coexist/core';
import { type AxiosInstance, type AxiosResponse, isAxiosError } from 'axios';
import type { z } from 'zod';
import { CLOSE_CRM, toCloseHttpError, toCloseNetworkError, toRateLimitSignal } from './close-errors.ts';

/** How the adapter authenticates: an API key, or an OAuth access-token source. */
export interface CloseCredentialOptions {
  /** A Close API key (HTTP Basic username, empty password). */
  apiKey?: string;
  /**
   * Returns an OAuth access token (Bearer). Called once and cached; called again with `forceRefresh: true` after a
   * 401, and the refused request is retried once with the new token.
   */
  getAccessToken?: (options: { forceRefresh: boolean }) => Promise<string>;
}

/** Options of `createCloseTransport`. */
export interface CloseTransportOptions extends CloseCredentialOptions {
  /** The API base URL, e.g. `https://api.close.com/api/v1`. */
  baseUrl: string;
  /** The axios instance to send with. */
  axios: AxiosInstance;
  /** Per-request timeout in milliseconds; `undefined` keeps the instance's own. */
  timeoutMs?: number;
}

/** One call: method, path, endpoint group, body and the schema of a 2xx answer. */
export interface CloseCall<T> {
  method: 'GET' | 'POST' | 'PUT';
  /** The path under the base URL, ids filled in (`/activity/whatsapp_message/acti_1/`). */
  path: string;
  /** The endpoint group (`PUT /activity/whatsapp_message/{id}/`): the rate-limit bucket. */
  group: string;
  query?: Record<string, string>;
  body?: unknown;
  schema: z.ZodType<T>;
  context: OperationContext;
  /** The input field the call serves, named in errors (`messages[2]`). */
  field?: string;
}

/** Sends Close calls; every failure is a `CrmError`. */
export interface CloseTransport {
  /** Sends one call and returns its parsed 2xx answer. */
  request<T>(call: CloseCall<T>): Promise<T>;
}

/** Creates the transport; no I/O until the first call. */
export function createCloseTransport(options: CloseTransportOptions): CloseTransport {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  let token: Promise<string> | undefined;

  /** The current token; a refresh replaces it, and calls refused with an older one reuse the new one. */
  const bearer = (refusedToken?: Promise<string>): Promise<string> => {
    const refresh = refusedToken !== undefined && refusedToken === token;
    if (token === undefined || refresh) {
      const getAccessToken = options.getAccessToken!;
      const next = getAccessToken({ forceRefresh: refresh }).then((value) => {
        if (typeof value !== 'string' || value === '') {
          throw new CrmAuthError({
            crm: CLOSE_CRM,
            message: 'getAccessToken returned no token',
            field: 'getAccessToken',
          });
        }
        return value;
      });
      token = next;
      next.catch(() => {
        if (token === next) token = undefined;
      });
    }
    return token!;
  };

  const authorization = async (
    refusedToken?: Promise<string>,
  ): Promise<{ header: string; token?: Promise<string> }> => {
    if (options.apiKey !== undefined && options.apiKey !== '') {
      return { header: `Basic ${Buffer.from(`${options.apiKey}:`).toString('base64')}` };
    }
    if (options.getAccessToken !== undefined) {
      const used = bearer(refusedToken);
      return { header: `Bearer ${await used}`, token: used };
    }
    throw new CrmAuthError({
      crm: CLOSE_CRM,
      message: 'createCloseAdapter needs `apiKey` or `getAccessToken`',
      field: 'options.apiKey',
    });
  };

  const send = async <T>(
    call: CloseCall<T>,
    refusedToken?: Promise<string>,
  ): Promise<{ response: AxiosResponse; token?: Promise<string> }> => {
    const { header, token: used } = await authorization(refusedToken);
    try {
      const response = await options.axios.request({
        method: call.method,
        url: `${baseUrl}${call.path}`,
        ...(call.query === undefined ? {} : { params: call.query }),
        ...(call.body === undefined ? {} : { data: call.body }),
        headers: { Authorization: header, Accept: 'application/json' },
        signal: call.context.signal,
        ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
        validateStatus: () => true,
        // Redirects would resend the Authorization header elsewhere; Close's API does not redirect.
        maxRedirects: 0,
      });
      return { response, ...(used === undefined ? {} : { token: used }) };
    } catch (error) {
      throw toCloseNetworkError(call.group, isAxiosError(error) ? error.code : undefined);
    }
  };

  return {
    async request<T>(call: CloseCall<T>): Promise<T> {
      const first = await send(call);
      let response = first.response;
      if (response.status === 401 && first.token !== undefined) {
        // A 401 means Close did not process the request, so resending it (even a POST) cannot duplicate anything.
        // Only the first call refused with a token refreshes it; concurrent ones reuse the refreshed token.
        response = (await send(call, first.token)).response;
      }
      const rateLimitHeader = headerOf(response, 'ratelimit');
      const signal = toRateLimitSignal(call.group, rateLimitHeader);
      if (response.status < 200 || response.status >= 300) {
        const error = toCloseHttpError({
          group: call.group,
          status: response.status,
          body: response.data,
          rateLimitHeader,
          ...(call.field === undefined ? {} : { field: call.field }),
        });
        if (signal !== undefined || error.kind === 'rate-limited') {
          const retryAfterMs = (error as { retryAfterMs?: number }).retryAfterMs;
          call.context.onRateLimitSignal?.({
            ...(signal ?? { bucket: call.group }),
            ...(error.kind === 'rate-limited' ? { remaining: 0 } : {}),
            ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
          });
        }
        throw error;
      }
      if (signal !== undefined) call.context.onRateLimitSignal?.(answeredSignal(signal));
      const parsed = call.schema.safeParse(response.data);
      if (!parsed.success) {
        // The call was applied but its answer is unreadable: transient, so a retry looks the record up first.
        throw new CrmTransientError({
          crm: CLOSE_CRM,
          message: `${call.group}: unexpected answer shape (${parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ')})`,
          code: 'unexpected_response',
          status: response.status,
          ...(call.field === undefined ? {} : { field: call.field }),
        });
      }
      return parsed.data;
    },
  };
}

function headerOf(response: AxiosResponse, name: string): string | undefined {
  const value = (response.headers as Record<string, unknown>)[name];
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.join(', ');
  return undefined;
}

/**
 * The signal of an answered (2xx) request. `remaining=0` there means this request took the window's last slot, not
 * that the group refuses: Close's `reset` is in whole seconds, so pausing until it would idle the group for up to a
 * second more than a rolling window needs on every full window. The engine's own window already holds the next
 * request until a slot frees, and a 429's `rate_reset` (fractional) says exactly how long to wait when another client
 * of the key filled it. So only the limit is reported then.
 */
function answeredSignal(signal: RateLimitSignal): RateLimitSignal {
  if (signal.remaining === undefined || signal.remaining > 0) return signal;
  const { remaining: _remaining, resetAfterMs: _resetAfterMs, ...rest } = signal;
  return rest;
}
