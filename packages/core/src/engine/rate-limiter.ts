/**
 * The per-connection rate limiter: enforces the adapter's declared `RateLimitPolicy` (rolling windows per
 * bucket, a daily allocation, bounded concurrency is the worker's job) and adapts to what the CRM says at run
 * time — remaining counts and reset times from headers, 429s with or without `Retry-After`. Waiters are served
 * by priority (live before history), then in arrival order.
 */
import type { RateLimitSignal } from '../adapter/crm-adapter.ts';
import type { CrmOperationName, RateLimitBucket, RateLimitPolicy } from '../adapter/crm-capabilities.ts';
import { fullJitterBackoff } from './backoff.ts';

/** Clock and timer hooks, injectable for tests. */
export interface RateLimiterClock {
  now(): number;
}

/** A snapshot of one bucket, for `engine.status()`. */
export interface RateLimitBucketStatus {
  name: string;
  limit: number;
  intervalMs: number;
  /** Requests counted in the current window. */
  used: number;
  /** Epoch ms until which the CRM asked us to pause this bucket, when it did. */
  pausedUntil: number | null;
}

interface BucketState {
  name: string;
  limit: number;
  intervalMs: number;
  operations: ReadonlySet<CrmOperationName> | null;
  /** Start times of requests in the rolling window, oldest first, from `head`. */
  times: number[];
  head: number;
  pausedUntil: number;
  /** 429s in a row without a `Retry-After`, for the exponential pause. */
  strikes: number;
}

interface Waiter {
  operation: CrmOperationName;
  priority: number;
  order: number;
  resolve: () => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Enforces one connection's declared rate limits and adapts them to the CRM's signals. */
export class RateLimiter {
  readonly #buckets: BucketState[];
  readonly #clock: RateLimiterClock;
  readonly #random: () => number;
  readonly #waiters: Waiter[] = [];
  #order = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = 0;

  /** Creates a limiter for one connection's policy. */
  constructor(policy: RateLimitPolicy, options: { clock?: RateLimiterClock; random?: () => number } = {}) {
    this.#clock = options.clock ?? { now: () => Date.now() };
    this.#random = options.random ?? Math.random;
    this.#buckets = policy.buckets.map((bucket) => toState(bucket));
    if (policy.dailyAllocation !== undefined) {
      // A rolling 24 h window approximates both reset styles; a signal's reset time corrects the midnight style.
      this.#buckets.push(toState({ name: 'daily', limit: policy.dailyAllocation.limit, intervalMs: DAY_MS }));
    }
  }

  /** Waits until a request of `operation` may start and counts it; lower `priority` is served first. */
  acquire(operation: CrmOperationName, priority = 0, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#waiters.length === 0 && this.#delayFor(operation) === 0) {
      this.#take(operation);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        operation,
        priority,
        order: this.#order++,
        resolve,
        reject,
        signal,
        onAbort: undefined,
      };
      if (signal !== undefined) {
        waiter.onAbort = () => {
          const index = this.#waiters.indexOf(waiter);
          if (index >= 0) this.#waiters.splice(index, 1);
          reject(signal.reason);
          this.#pump();
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#waiters.push(waiter);
      this.#waiters.sort((a, b) => a.priority - b.priority || a.order - b.order);
      this.#pump();
    });
  }

  /** Milliseconds until a request of `operation` could start (0 when it could now). */
  delayFor(operation: CrmOperationName): number {
    return this.#delayFor(operation);
  }

  /** Applies what a CRM response said about a bucket: real limit, remaining count, reset time, pause. */
  observe(signal: RateLimitSignal): void {
    const now = this.#clock.now();
    for (const bucket of this.#named(signal.bucket)) {
      if (signal.limit !== undefined && signal.limit > 0) bucket.limit = signal.limit;
      if (signal.retryAfterMs !== undefined)
        bucket.pausedUntil = Math.max(bucket.pausedUntil, now + signal.retryAfterMs);
      if (signal.remaining !== undefined && signal.remaining <= 0) {
        const reset = signal.resetAfterMs ?? bucket.intervalMs;
        bucket.pausedUntil = Math.max(bucket.pausedUntil, now + reset);
      } else if (signal.remaining !== undefined) {
        // The CRM counts other clients too: never believe we have more room than it says.
        this.#prune(bucket, now);
        const used = bucket.times.length - bucket.head;
        const room = bucket.limit - used;
        if (signal.remaining < room) {
          const filler = room - signal.remaining;
          const stamp = signal.resetAfterMs === undefined ? now : now + signal.resetAfterMs - bucket.intervalMs;
          for (let index = 0; index < filler; index++) bucket.times.push(stamp);
          bucket.times.sort((a, b) => a - b);
        }
      }
    }
    this.#pump();
  }

  /**
   * Records a 429: pauses the named bucket (or every bucket of the operation) for `retryAfterMs`, else for an
   * exponentially growing, jittered pause bounded by the bucket's interval. Returns the pause in milliseconds.
   */
  penalize(operation: CrmOperationName, bucketName?: string, retryAfterMs?: number): number {
    const now = this.#clock.now();
    let buckets = bucketName === undefined ? [] : this.#named(bucketName);
    if (buckets.length === 0) buckets = this.#governing(operation);
    let pause = retryAfterMs ?? 0;
    if (buckets.length === 0) {
      // No declared bucket matches: still slow down, with the same jittered growth.
      return retryAfterMs ?? 1000 + fullJitterBackoff(1, { baseMs: 1000, capMs: 10_000, random: this.#random });
    }
    for (const bucket of buckets) {
      bucket.strikes++;
      const wait =
        retryAfterMs ??
        Math.min(bucket.intervalMs, 250 * 2 ** Math.min(bucket.strikes, 10)) +
          fullJitterBackoff(bucket.strikes, { baseMs: 250, capMs: bucket.intervalMs, random: this.#random });
      bucket.pausedUntil = Math.max(bucket.pausedUntil, now + wait);
      pause = Math.max(pause, wait);
    }
    this.#pump();
    return pause;
  }

  /** Records a successful call: the 429 streak of its buckets ends. */
  succeeded(operation: CrmOperationName): void {
    for (const bucket of this.#governing(operation)) bucket.strikes = 0;
  }

  /** The current state of every bucket. */
  snapshot(): RateLimitBucketStatus[] {
    const now = this.#clock.now();
    return this.#buckets.map((bucket) => {
      this.#prune(bucket, now);
      return {
        name: bucket.name,
        limit: bucket.limit,
        intervalMs: bucket.intervalMs,
        used: bucket.times.length - bucket.head,
        pausedUntil: bucket.pausedUntil > now ? bucket.pausedUntil : null,
      };
    });
  }

  /** Rejects every waiter (shutdown). */
  close(reason: unknown): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const waiter of this.#waiters.splice(0)) {
      if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.reject(reason);
    }
  }

  #named(name: string): BucketState[] {
    return this.#buckets.filter((bucket) => bucket.name === name);
  }

  #governing(operation: CrmOperationName): BucketState[] {
    return this.#buckets.filter((bucket) => bucket.operations === null || bucket.operations.has(operation));
  }

  #prune(bucket: BucketState, now: number): void {
    const horizon = now - bucket.intervalMs;
    while (bucket.head < bucket.times.length && bucket.times[bucket.head]! <= horizon) bucket.head++;
    if (bucket.head > 1024 && bucket.head * 2 > bucket.times.length) {
      bucket.times = bucket.times.slice(bucket.head);
      bucket.head = 0;
    }
  }

  #delayFor(operation: CrmOperationName): number {
    const now = this.#clock.now();
    let delay = 0;
    for (const bucket of this.#governing(operation)) {
      if (bucket.pausedUntil > now) delay = Math.max(delay, bucket.pausedUntil - now);
      this.#prune(bucket, now);
      const used = bucket.times.length - bucket.head;
      if (used >= bucket.limit) {
        // The request that frees a slot is the one `used - limit` places after the oldest.
        const freeing = bucket.times[bucket.head + (used - bucket.limit)]!;
        delay = Math.max(delay, freeing + bucket.intervalMs - now + 1);
      }
    }
    return delay;
  }

  #take(operation: CrmOperationName): void {
    const now = this.#clock.now();
    for (const bucket of this.#governing(operation)) bucket.times.push(now);
  }

  #pump(): void {
    while (this.#waiters.length > 0) {
      const first = this.#waiters[0]!;
      const delay = this.#delayFor(first.operation);
      if (delay > 0) {
        this.#schedule(delay);
        return;
      }
      this.#waiters.shift();
      if (first.onAbort !== undefined) first.signal?.removeEventListener('abort', first.onAbort);
      this.#take(first.operation);
      first.resolve();
    }
  }

  #schedule(delay: number): void {
    const at = this.#clock.now() + delay;
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, delay);
  }
}

function toState(bucket: RateLimitBucket): BucketState {
  if (!(bucket.limit > 0) || !(bucket.intervalMs > 0)) {
    throw new TypeError(
      `[coexist/core] capabilities.rateLimits.buckets["${bucket.name}"]: limit and intervalMs must be positive numbers`,
    );
  }
  return {
    name: bucket.name,
    limit: bucket.limit,
    intervalMs: bucket.intervalMs,
    operations: bucket.operations === undefined ? null : new Set(bucket.operations),
    times: [],
    head: 0,
    pausedUntil: 0,
    strikes: 0,
  };
}
