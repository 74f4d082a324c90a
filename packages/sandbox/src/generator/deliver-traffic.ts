/**
 * Delivers webhook payloads to an endpoint the way Meta does: a signed POST per payload
 * (`X-Hub-Signature-256: sha256=<hex>` over the exact bytes sent), retries of any non-2xx answer with
 * growing delays (Meta "will keep trying with decreasing frequency", M-WH/M-EP), and, on request,
 * duplicate deliveries of the same bytes later on (M-WH: retries can duplicate notifications).
 */
import { signWebhookBody } from '@coexist/core';
import { type Seed, SeededRandom } from './seeded-random.ts';

/** A payload to deliver: the exact body bytes (a string is sent as UTF-8), with an optional sequence for reports. */
export interface DeliverablePayload {
  body: string | Uint8Array;
  sequence?: number;
  field?: string;
}

/** The result of one HTTP attempt. */
export interface DeliveryAttempt {
  sequence: number | undefined;
  /** 1 for the first try, 2 for the first retry, … */
  attempt: number;
  duplicate: boolean;
  /** The HTTP status, or `undefined` when the request failed before a response. */
  status: number | undefined;
  error?: string;
}

/** Options of {@link deliverTraffic}. */
export interface DeliverTrafficOptions {
  /** Payloads in delivery order (e.g. `generateTraffic(…)` or `readTraffic(dir).payloads`). */
  payloads: Iterable<DeliverablePayload | string> | AsyncIterable<DeliverablePayload | string>;
  /** The webhook endpoint. */
  url: string | URL;
  /** The Meta app secret that keys the signature. */
  appSecret: string;
  /** Payloads per second (originals and duplicates, not retries); unlimited when omitted. */
  rate?: number;
  /** Fraction (0–1) of payloads delivered a second time, a few payloads later. @default 0 */
  duplicates?: number;
  /** Retries after a failed attempt (non-2xx or network error). @default 5 */
  retries?: number;
  /** Delay before the first retry; doubles with each retry (±20% jitter). @default 250 */
  retryDelayMs?: number;
  /** Upper bound of the retry delay. @default 30000 */
  maxRetryDelayMs?: number;
  /** Requests in flight at once; 1 keeps the delivery order. @default 1 */
  concurrency?: number;
  /** Per-request timeout. @default 30000 */
  timeoutMs?: number;
  /** Stops delivery: no new requests, in-flight ones are aborted; the stats say `aborted: true`. */
  signal?: AbortSignal;
  /** Seeds which payloads get duplicated and the jitter. @default 1 */
  seed?: Seed;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Called after every HTTP attempt (bodies and secrets are never passed). */
  onAttempt?: (attempt: DeliveryAttempt) => void;
}

/** What happened during a delivery. */
export interface DeliveryStats {
  /** Distinct payloads taken from the input. */
  payloads: number;
  /** Payloads (originals and duplicates) that got a 2xx in the end. */
  delivered: number;
  /** Payloads (originals and duplicates) still failing after every retry. */
  failed: number;
  /** HTTP attempts made, retries and duplicates included. */
  requests: number;
  retries: number;
  duplicatesSent: number;
  /** Attempts per HTTP status (`"error"` for network failures and timeouts). */
  statusCounts: Record<string, number>;
  /** Body bytes sent, retries and duplicates included. */
  bytes: number;
  durationMs: number;
  aborted: boolean;
  /** The first failures (at most 20): sequence and last status or error. */
  failures: Array<{ sequence: number | undefined; status: number | undefined; error?: string }>;
}

/** Thrown for invalid delivery options; the message names the option. */
export class DeliverTrafficError extends Error {
  /** The option at fault. */
  readonly option: string;

  /** Creates the error for `option`. */
  constructor(option: string, problem: string) {
    super(`[coexist/sandbox] invalid deliverTraffic option "${option}": ${problem}`);
    this.name = 'DeliverTrafficError';
    this.option = option;
  }
}

interface WorkItem {
  sequence: number | undefined;
  bytes: Uint8Array<ArrayBuffer>;
  signature: string;
  duplicate: boolean;
}

const encoder = new TextEncoder();

function validate(options: DeliverTrafficOptions): URL {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new DeliverTrafficError(
      'url',
      `expected an absolute http(s) URL, got ${JSON.stringify(String(options.url))}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new DeliverTrafficError('url', `expected http or https, got ${url.protocol}`);
  if (typeof options.appSecret !== 'string' || options.appSecret.length === 0)
    throw new DeliverTrafficError('appSecret', 'expected a non-empty string');
  const positive = (
    name: keyof DeliverTrafficOptions,
    value: number | undefined,
    integer: boolean,
    minimum: number,
  ) => {
    if (value === undefined) return;
    if (
      typeof value !== 'number' ||
      !Number.isFinite(value) ||
      value < minimum ||
      (integer && !Number.isInteger(value))
    ) {
      throw new DeliverTrafficError(
        name,
        `expected ${integer ? 'an integer' : 'a number'} ≥ ${minimum}, got ${JSON.stringify(value)}`,
      );
    }
  };
  positive('rate', options.rate, false, Number.MIN_VALUE);
  positive('retries', options.retries, true, 0);
  positive('retryDelayMs', options.retryDelayMs, false, 0);
  positive('maxRetryDelayMs', options.maxRetryDelayMs, false, 0);
  positive('concurrency', options.concurrency, true, 1);
  positive('timeoutMs', options.timeoutMs, false, 1);
  if (
    options.duplicates !== undefined &&
    (typeof options.duplicates !== 'number' || !(options.duplicates >= 0 && options.duplicates <= 1))
  ) {
    throw new DeliverTrafficError(
      'duplicates',
      `expected a fraction from 0 to 1, got ${JSON.stringify(options.duplicates)}`,
    );
  }
  return url;
}

function sleep(milliseconds: number, signal: AbortSignal | undefined): Promise<void> {
  if (milliseconds <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, milliseconds);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Sends payloads as signed webhook POSTs with Meta's retry and duplicate behaviour, and returns what happened. */
export async function deliverTraffic(options: DeliverTrafficOptions): Promise<DeliveryStats> {
  const url = validate(options);
  const retries = options.retries ?? 5;
  const retryDelayMs = options.retryDelayMs ?? 250;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
  const concurrency = options.concurrency ?? 1;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const duplicateShare = options.duplicates ?? 0;
  const signal = options.signal;
  const random = SeededRandom.from(options.seed ?? 1, 'deliver-traffic');
  const started = performance.now();
  const stats: DeliveryStats = {
    payloads: 0,
    delivered: 0,
    failed: 0,
    requests: 0,
    retries: 0,
    duplicatesSent: 0,
    statusCounts: {},
    bytes: 0,
    durationMs: 0,
    aborted: false,
    failures: [],
  };

  const source = (
    Symbol.asyncIterator in options.payloads
      ? (options.payloads as AsyncIterable<DeliverablePayload | string>)[Symbol.asyncIterator]()
      : (options.payloads as Iterable<DeliverablePayload | string>)[Symbol.iterator]()
  ) as Iterator<DeliverablePayload | string> | AsyncIterator<DeliverablePayload | string>;
  let sourceDone = false;
  // Duplicates wait in a queue until a few more originals were taken.
  const pendingDuplicates: Array<{ dueAfter: number; item: WorkItem }> = [];
  let sends = 0;
  let taking: Promise<WorkItem | undefined> = Promise.resolve(undefined);

  const takeNext = async (): Promise<WorkItem | undefined> => {
    if (signal?.aborted) return undefined;
    const due = pendingDuplicates.findIndex((pending) => pending.dueAfter <= stats.payloads || sourceDone);
    if (due !== -1) return pendingDuplicates.splice(due, 1)[0]!.item;
    if (!sourceDone) {
      const next = await source.next();
      if (next.done) {
        sourceDone = true;
        return takeNext();
      }
      const payload = typeof next.value === 'string' ? { body: next.value } : next.value;
      const bytes = typeof payload.body === 'string' ? encoder.encode(payload.body) : new Uint8Array(payload.body);
      const item: WorkItem = {
        sequence: payload.sequence,
        bytes,
        signature: signWebhookBody(bytes, options.appSecret),
        duplicate: false,
      };
      stats.payloads++;
      if (duplicateShare > 0 && random.chance(duplicateShare)) {
        pendingDuplicates.push({ dueAfter: stats.payloads + random.int(1, 10), item: { ...item, duplicate: true } });
      }
      return item;
    }
    return undefined;
  };
  // Serialize takes so concurrent workers never call `next()` on the source at the same time.
  const take = (): Promise<WorkItem | undefined> => {
    taking = taking.then(takeNext, takeNext);
    return taking;
  };

  const attempt = async (item: WorkItem, number: number): Promise<{ status: number | undefined; error?: string }> => {
    stats.requests++;
    stats.bytes += item.bytes.byteLength;
    const requestSignal = signal
      ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)])
      : AbortSignal.timeout(timeoutMs);
    let result: { status: number | undefined; error?: string };
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'facebookexternalua',
          'x-hub-signature-256': item.signature,
          ...options.headers,
        },
        body: item.bytes,
        signal: requestSignal,
      });
      await response.arrayBuffer().catch(() => undefined);
      result = { status: response.status };
    } catch (error) {
      result = { status: undefined, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
    }
    const key = result.status === undefined ? 'error' : String(result.status);
    stats.statusCounts[key] = (stats.statusCounts[key] ?? 0) + 1;
    options.onAttempt?.({ sequence: item.sequence, attempt: number, duplicate: item.duplicate, ...result });
    return result;
  };

  const deliver = async (item: WorkItem): Promise<void> => {
    for (let number = 1; ; number++) {
      const result = await attempt(item, number);
      if (result.status !== undefined && result.status >= 200 && result.status < 300) {
        stats.delivered++;
        return;
      }
      if (number > retries || signal?.aborted) {
        stats.failed++;
        if (stats.failures.length < 20) stats.failures.push({ sequence: item.sequence, ...result });
        return;
      }
      stats.retries++;
      const delay = Math.min(maxRetryDelayMs, retryDelayMs * 2 ** (number - 1)) * random.float(0.8, 1.2);
      await sleep(delay, signal);
    }
  };

  const worker = async (): Promise<void> => {
    for (;;) {
      const item = await take();
      if (!item) return;
      if (options.rate !== undefined) {
        // Pace starts at `rate` per second from the beginning of the delivery.
        const startAt = started + (sends * 1000) / options.rate;
        sends++;
        await sleep(startAt - performance.now(), signal);
        if (signal?.aborted) return;
      }
      if (item.duplicate) stats.duplicatesSent++;
      await deliver(item);
    }
  };

  await Promise.all(Array.from({ length: concurrency }, worker));
  if (!sourceDone && 'return' in source && typeof source.return === 'function') await source.return();
  stats.aborted = signal?.aborted ?? false;
  stats.durationMs = Math.round(performance.now() - started);
  return stats;
}
