import { timingSafeEqual } from 'node:crypto';
import type { CoexistenceEvent } from '../events/coexistence-event.ts';
import { parseWebhook } from './parse-webhook.ts';
import { readLimitedBody } from './read-limited-body.ts';
import { verifySignature } from './verify-signature.ts';
import { WebhookValidationError } from './webhook-validation-error.ts';

/** A web-standard request handler, usable directly by Hono, Next.js route handlers, Bun, Deno and Workers. */
export type WebhookHandler = (request: Request) => Promise<Response>;

/** What `onEvents` receives beside the events: the signed raw body and when it arrived. */
export interface WebhookDelivery {
  /** The request body exactly as Meta sent it (the bytes the signature covers). */
  rawBody: Uint8Array;
  /** When the handler started receiving the request; events without a timestamp of their own use it. */
  receivedAt: Date;
}

/** A correctly signed payload that is not valid JSON or not a valid webhook envelope. */
export interface InvalidWebhookDelivery extends WebhookDelivery {
  /** Why the payload was rejected; `error.path` names the field at fault (`""` for the whole body). */
  error: WebhookValidationError;
}

/** Options of `createWebhookHandler`. */
export interface CreateWebhookHandlerOptions {
  /** The Meta app secret that signs every POST (`X-Hub-Signature-256`). */
  appSecret: string;
  /** The verify token you entered in the App Dashboard, echoed back by Meta's GET handshake. */
  verifyToken: string;
  /** Receives the events of every valid, signed POST; a throw answers 500 so Meta redelivers. */
  onEvents: (events: CoexistenceEvent[], delivery: WebhookDelivery) => void | Promise<void>;
  /** Receives a signed payload that fails JSON parsing or validation, before the 400, so it can be kept for replay. */
  onInvalid?: (delivery: InvalidWebhookDelivery) => void | Promise<void>;
  /**
   * Largest accepted body in bytes, enforced while the body streams in; Meta payloads reach 3 MB.
   * @default 8388608 (8 MiB)
   */
  maxBodyBytes?: number;
}

/** The default `maxBodyBytes`: 8 MiB, well above Meta's documented 3 MB payloads. */
export const DEFAULT_MAX_WEBHOOK_BODY_BYTES = 8 * 1024 * 1024;

const SIGNATURE_HEADER = 'x-hub-signature-256';

/**
 * Creates the web-standard handler for Meta's webhook endpoint: the GET verification handshake and
 * signed POST deliveries, parsed into Coexist events.
 *
 * | answer | when |
 * | --- | --- |
 * | 200 | handshake accepted, or a delivery handed to `onEvents` |
 * | 400 | signed body that is not JSON or not a valid envelope (after `onInvalid`) |
 * | 401 | missing or wrong `X-Hub-Signature-256` |
 * | 403 | handshake with a wrong verify token or mode |
 * | 405 | any other method |
 * | 413 | body larger than `maxBodyBytes` |
 * | 500 | `onEvents` or `onInvalid` threw; Meta redelivers |
 */
export function createWebhookHandler(options: CreateWebhookHandlerOptions): WebhookHandler {
  const { appSecret, verifyToken, onEvents, onInvalid } = options;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_WEBHOOK_BODY_BYTES;
  if (typeof appSecret !== 'string' || appSecret.length === 0) {
    throw new TypeError('[coexist/core] createWebhookHandler: options.appSecret must be a non-empty string');
  }
  if (typeof verifyToken !== 'string' || verifyToken.length === 0) {
    throw new TypeError('[coexist/core] createWebhookHandler: options.verifyToken must be a non-empty string');
  }
  if (typeof onEvents !== 'function') {
    throw new TypeError('[coexist/core] createWebhookHandler: options.onEvents must be a function');
  }
  if (onInvalid !== undefined && typeof onInvalid !== 'function') {
    throw new TypeError('[coexist/core] createWebhookHandler: options.onInvalid must be a function');
  }
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes <= 0) {
    throw new TypeError('[coexist/core] createWebhookHandler: options.maxBodyBytes must be a positive integer');
  }

  const handleVerification = (request: Request): Response => {
    const parameters = new URL(request.url).searchParams;
    const challenge = parameters.get('hub.challenge');
    if (parameters.get('hub.mode') !== 'subscribe' || !tokensMatch(parameters.get('hub.verify_token'), verifyToken)) {
      return errorResponse(403, 'verification failed: hub.mode must be "subscribe" and hub.verify_token must match');
    }
    if (challenge === null) return errorResponse(400, 'verification failed: hub.challenge is missing');
    // Meta expects the challenge back verbatim as the whole body.
    return new Response(challenge, { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  };

  const handleDelivery = async (request: Request): Promise<Response> => {
    const receivedAt = new Date();
    const signature = request.headers.get(SIGNATURE_HEADER);
    // Refuse unsigned requests before reading a byte of their body.
    if (signature === null || signature.trim() === '') return errorResponse(401, 'missing X-Hub-Signature-256 header');

    const rawBody = await readLimitedBody(request, maxBodyBytes);
    if (rawBody === undefined) return errorResponse(413, `body exceeds maxBodyBytes (${maxBodyBytes} bytes)`);

    if (!verifySignature({ rawBody, signature, appSecret })) {
      return errorResponse(401, 'X-Hub-Signature-256 does not match the body');
    }

    let events: CoexistenceEvent[];
    try {
      events = parseWebhook(parseJson(rawBody), { receivedAt });
    } catch (thrown) {
      // A signed body that cannot be read for any other reason (a nesting too deep for the parser) is kept as
      // invalid too, for an operator to replay after a fix: Meta has no replay API. Only the error's class is kept
      // (its message could quote the body).
      const error =
        thrown instanceof WebhookValidationError
          ? thrown
          : new WebhookValidationError('', `the payload could not be read (${errorName(thrown)})`);
      if (onInvalid) {
        try {
          await onInvalid({ rawBody, error, receivedAt });
        } catch {
          return errorResponse(500, 'onInvalid failed; the delivery was not stored');
        }
      }
      return errorResponse(400, error.message, error.path);
    }

    try {
      await onEvents(events, { rawBody, receivedAt });
    } catch {
      // The error may carry customer data, so it stays in the application; Meta only needs to retry.
      return errorResponse(500, 'onEvents failed; the delivery was not processed');
    }
    return new Response(null, { status: 200 });
  };

  return async (request) => {
    try {
      if (request.method === 'GET') return handleVerification(request);
      if (request.method === 'POST') return await handleDelivery(request);
      return errorResponse(405, `method ${request.method} is not allowed`, undefined, { allow: 'GET, POST' });
    } catch {
      return errorResponse(500, 'internal error while handling the webhook');
    }
  };
}

function parseJson(rawBody: Uint8Array): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(rawBody);
  } catch {
    throw new WebhookValidationError('', 'body is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    // V8's message can quote part of the body; keep only the position.
    const position = /position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
    throw new WebhookValidationError('', `body is not valid JSON${position ? ` (at position ${position})` : ''}`);
  }
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

function tokensMatch(provided: string | null, expected: string): boolean {
  if (provided === null) return false;
  const providedBytes = Buffer.from(provided);
  const expectedBytes = Buffer.from(expected);
  return providedBytes.length === expectedBytes.length && timingSafeEqual(providedBytes, expectedBytes);
}

function errorResponse(status: number, message: string, path?: string, headers?: Record<string, string>): Response {
  return Response.json(
    { error: path === undefined ? { message } : { message, path } },
    { status, headers: { ...headers, 'cache-control': 'no-store' } },
  );
}
