/**
 * Salesforce's API limits as the emulator enforces them
 * (https://developer.salesforce.com/docs/platform/salesforce-app-limits-cheatsheet/guide/salesforce-app-limits-platform-api.html):
 * - a rolling 24-hour allocation of API requests: 100,000 + 1,000 per licence (Enterprise) or 5,000 per licence
 *   (Unlimited); Developer Edition 15,000 [third-party: api-evangelist/salesforce];
 * - at most 25 concurrent long-running requests (lasting 20 s or more; 5 on Developer Edition).
 * There is no per-second limit and no `Retry-After`; usage is reported in `Sforce-Limit-Info: api-usage=used/max`
 * (https://developer.salesforce.com/docs/atlas.en-us.234.0.api_rest.meta/api/headers_api_usage.htm).
 */

/** The org editions whose limits the emulator knows. */
export type SalesforceEdition = 'developer' | 'enterprise' | 'unlimited';

/** Limit options of the emulator. */
export interface SalesforceLimitOptions {
  /** The org edition: picks the default allocation and concurrency limit. @default 'enterprise' */
  edition?: SalesforceEdition;
  /** Licences counted into the allocation (Enterprise +1,000 each, Unlimited +5,000 each). @default 0 */
  licences?: number;
  /** The rolling 24 h allocation of API requests; overrides the edition's. */
  dailyAllocation?: number;
  /** Long-running requests allowed in flight at once. @default 25 (developer: 5) */
  concurrentLimit?: number;
  /** How long a request must be in flight to count as long-running, in ms. @default 20000 */
  longRunningMs?: number;
}

const dayMs = 24 * 60 * 60 * 1000;

/** The allocation an edition and licence count give. */
export function defaultDailyAllocation(edition: SalesforceEdition, licences: number): number {
  if (edition === 'developer') return 15_000;
  return 100_000 + licences * (edition === 'unlimited' ? 5_000 : 1_000);
}

/** The answer of the limits to one request. */
export type SalesforceLimitDecision =
  | { allowed: true }
  | { allowed: false; errorCode: 'REQUEST_LIMIT_EXCEEDED'; message: string };

/** A request in flight, as the concurrency limit counts it. */
export interface InFlightRequest {
  readonly startedAt: number;
}

/** Rolling daily usage and in-flight long-running requests of one org. */
export class SalesforceLimits {
  #allocation: number;
  #concurrentLimit: number;
  #longRunningMs: number;
  #timestamps: number[] = [];
  #head = 0;
  #inFlight = new Set<InFlightRequest>();
  #peakInFlight = 0;

  /** Creates the limits from the emulator's options. */
  constructor(options: SalesforceLimitOptions = {}) {
    const edition = options.edition ?? 'enterprise';
    for (const [name, value] of Object.entries({
      licences: options.licences,
      dailyAllocation: options.dailyAllocation,
      concurrentLimit: options.concurrentLimit,
      longRunningMs: options.longRunningMs,
    })) {
      if (value !== undefined && (!Number.isFinite(value) || value < 0)) {
        throw new Error(
          `[coexist/sandbox] Salesforce emulator option ${name} must be a non-negative number, got ${value}`,
        );
      }
    }
    this.#allocation = options.dailyAllocation ?? defaultDailyAllocation(edition, options.licences ?? 0);
    this.#concurrentLimit = options.concurrentLimit ?? (edition === 'developer' ? 5 : 25);
    this.#longRunningMs = options.longRunningMs ?? 20_000;
  }

  /** The rolling 24 h allocation. */
  get dailyAllocation(): number {
    return this.#allocation;
  }

  /** The concurrent long-running request limit. */
  get concurrentLimit(): number {
    return this.#concurrentLimit;
  }

  /** The long-running threshold in ms. */
  get longRunningMs(): number {
    return this.#longRunningMs;
  }

  /** Changes the allocation (usage so far is kept). */
  setDailyAllocation(allocation: number): void {
    if (!Number.isFinite(allocation) || allocation < 0) {
      throw new Error(
        `[coexist/sandbox] setDailyAllocation: allocation must be a non-negative number, got ${allocation}`,
      );
    }
    this.#allocation = allocation;
  }

  /** Changes the concurrency limit and, optionally, the long-running threshold. */
  setConcurrency(limit: number, longRunningMs = this.#longRunningMs): void {
    if (!Number.isFinite(limit) || limit < 0 || !Number.isFinite(longRunningMs) || longRunningMs < 0) {
      throw new Error('[coexist/sandbox] setConcurrency: limit and longRunningMs must be non-negative numbers');
    }
    this.#concurrentLimit = limit;
    this.#longRunningMs = longRunningMs;
  }

  /** Forgets every counted request (a new day, or a test's fresh start). */
  resetUsage(): void {
    this.#timestamps = [];
    this.#head = 0;
  }

  /** Requests counted in the 24 h before `now`. */
  used(now: number): number {
    this.#evict(now);
    return this.#timestamps.length - this.#head;
  }

  /** Counts `count` requests at `now` without checking the allocation (test set-up: "the org already used 14,990"). */
  consume(now: number, count: number): void {
    for (let index = 0; index < count; index++) this.#timestamps.push(now);
  }

  /** Counts one request if the allocation has room; rejected requests are not counted. */
  takeRequest(now: number): SalesforceLimitDecision {
    if (this.used(now) >= this.#allocation) {
      return { allowed: false, errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' };
    }
    this.#timestamps.push(now);
    return { allowed: true };
  }

  /** Requests in flight for at least the long-running threshold at `now`. */
  longRunningInFlight(now: number): number {
    let count = 0;
    for (const request of this.#inFlight) if (now - request.startedAt >= this.#longRunningMs) count++;
    return count;
  }

  /** Admits a request arriving at `now` unless the long-running requests in flight already fill the limit. */
  beginRequest(now: number): { decision: SalesforceLimitDecision; request?: InFlightRequest } {
    if (this.longRunningInFlight(now) >= this.#concurrentLimit) {
      return {
        decision: {
          allowed: false,
          errorCode: 'REQUEST_LIMIT_EXCEEDED',
          message: 'ConcurrentRequests (Concurrent API Requests) Limit exceeded.',
        },
      };
    }
    const request = { startedAt: now };
    this.#inFlight.add(request);
    this.#peakInFlight = Math.max(this.#peakInFlight, this.#inFlight.size);
    return { decision: { allowed: true }, request };
  }

  /** Marks a request admitted by `beginRequest` as finished. */
  endRequest(request: InFlightRequest | undefined): void {
    if (request) this.#inFlight.delete(request);
  }

  /** Requests in flight now, long-running or not. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** The most requests that were in flight at once (a benchmark checks it against its concurrency). */
  get peakInFlight(): number {
    return this.#peakInFlight;
  }

  /** The `Sforce-Limit-Info` header value. */
  header(now: number): string {
    return `api-usage=${this.used(now)}/${this.#allocation}`;
  }

  #evict(now: number): void {
    while (this.#head < this.#timestamps.length && this.#timestamps[this.#head]! <= now - dayMs) this.#head++;
    if (this.#head > 4096 && this.#head * 2 > this.#timestamps.length) {
      this.#timestamps = this.#timestamps.slice(this.#head);
      this.#head = 0;
    }
  }
}
