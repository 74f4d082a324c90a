/**
 * The per-connection rate limiter: enforces the adapter's declared `RateLimitPolicy` (rolling windows per
 * bucket, a daily allocation; bounded concurrency is the worker's job) and adapts to what the CRM says at run
 * time — window lengths, remaining counts and reset times from headers, 429s with or without `Retry-After`.
 * Waiters are served by priority (live before history), then in arrival order.
 *
 * Why the accounting looks the way it does: a CRM counts a request when it *arrives* (HubSpot's ten-secondly
 * window, the sandbox's `RollingWindow`), and arrival lies somewhere between the moment we grant the request and
 * the moment its answer comes back (event-loop lag, socket queues and the network all sit in between). So a
 * request in flight holds its slot until it is answered (`permit.release()`), and is then stamped at its answer:
 * it cannot leave our window before it leaves the CRM's. The window is also widened by a small safety margin, so
 * a grant exactly at the edge never lands one request too many in the CRM's window. A permit never released
 * (a caller that forgot) falls back to counting at its grant after `maxInFlightMs`.
 */
import type { RateLimitSignal } from '../adapter/crm-adapter.ts';
import type { CrmOperationName, RateLimitBucket, RateLimitPolicy } from '../adapter/crm-capabilities.ts';
import { fullJitterBackoff } from './backoff.ts';

/** Clock and timer hooks, injectable for tests. */
export interface RateLimiterClock {
  now(): number;
}

/** Options of the `RateLimiter`. */
export interface RateLimiterOptions {
  clock?: RateLimiterClock;
  random?: () => number;
  /**
   * Extra milliseconds added to every bucket's interval before a slot counts as free again.
   * @default 2% of the interval, at least 25 ms and at most 250 ms
   */
  safetyMarginMs?: number | ((bucket: { name: string; intervalMs: number }) => number);
  /**
   * How long an unreleased permit holds its slot; after that it counts as sent at its grant plus this time.
   * @default 60000
   */
  maxInFlightMs?: number;
}

/** A granted request: call `release()` once its answer (or failure) is in, so it is counted at that time. */
export interface RateLimitPermit {
  /** Marks the request answered; its stamp moves from the grant time to now. Safe to call twice. */
  release(): void;
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
  marginMs: number;
  /** Whether `marginMs` was derived from the interval (and follows it when a signal changes the interval). */
  derivedMargin: boolean;
  operations: ReadonlySet<CrmOperationName> | null;
  /** Answer stamps of released requests (and requests the CRM reported) in the window, ascending from `head`. */
  times: number[];
  /** Grant times of requests in flight: each holds a slot until released. */
  inFlight: number[];
  head: number;
  pausedUntil: number;
  /** 429s in a row without a `Retry-After`, for the exponential pause. */
  strikes: number;
  /**
   * When the CRM said the bucket is spent and when to look again (`remaining: 0` with `resetAfterMs`): from then on
   * one request may go even if our own count says the window is full — the CRM may have freed room we cannot see
   * (a rolling window of other clients' requests, a grown allocation). 0 when no such probe is due.
   */
  probeAt: number;
  /** The last `resetAfterMs` of such a signal: how long to wait again when a probe brings no new signal. */
  probeEveryMs: number;
  /** Whether that probe is in flight (only one goes). */
  probing: boolean;
}

/** What a request counts against: every bucket governing an operation, or one named bucket (plus `daily`). */
export type RateLimitTarget = CrmOperationName | { bucket: string };

interface Waiter {
  operation: RateLimitTarget;
  priority: number;
  order: number;
  resolve: (permit: RateLimitPermit) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The default safety margin of a bucket: 2% of its interval, between 25 and 250 ms. */
export function defaultSafetyMarginMs(intervalMs: number): number {
  return Math.min(250, Math.max(25, Math.round(intervalMs * 0.02)));
}

/** Enforces one connection's declared rate limits and adapts them to the CRM's signals. */
export class RateLimiter {
  readonly #buckets: BucketState[];
  readonly #clock: RateLimiterClock;
  readonly #random: () => number;
  readonly #margin: RateLimiterOptions['safetyMarginMs'];
  readonly #maxInFlightMs: number;
  readonly #waiters: Waiter[] = [];
  #order = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = 0;

  /** Creates a limiter for one connection's policy. */
  constructor(policy: RateLimitPolicy, options: RateLimiterOptions = {}) {
    this.#clock = options.clock ?? { now: () => Date.now() };
    this.#random = options.random ?? Math.random;
    this.#margin = options.safetyMarginMs;
    this.#maxInFlightMs = options.maxInFlightMs ?? 60_000;
    this.#buckets = policy.buckets.map((bucket) => this.#toState(bucket));
    if (policy.dailyAllocation !== undefined) {
      // A rolling 24 h window approximates both reset styles; a signal's reset time corrects the midnight style.
      this.#buckets.push(this.#toState({ name: 'daily', limit: policy.dailyAllocation.limit, intervalMs: DAY_MS }));
    }
  }

  /**
   * Waits until a request of `operation` may start and counts it; lower `priority` is served first. The permit's
   * `release()` should be called when the request is answered (it is counted at its grant time until then).
   */
  acquire(operation: RateLimitTarget, priority = 0, signal?: AbortSignal): Promise<RateLimitPermit> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#waiters.length === 0 && this.#delayFor(operation) === 0) {
      return Promise.resolve(this.#take(operation));
    }
    return new Promise<RateLimitPermit>((resolve, reject) => {
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
  delayFor(operation: RateLimitTarget): number {
    return this.#delayFor(operation);
  }

  /** Applies what a CRM response said about a bucket: window length, real limit, remaining count, reset, pause. */
  observe(signal: RateLimitSignal): void {
    const now = this.#clock.now();
    for (const bucket of this.#named(signal.bucket)) {
      if (signal.limit !== undefined && signal.limit > 0) bucket.limit = signal.limit;
      if (signal.intervalMs !== undefined && signal.intervalMs > 0 && signal.intervalMs !== bucket.intervalMs) {
        bucket.intervalMs = signal.intervalMs;
        if (bucket.derivedMargin) bucket.marginMs = this.#marginFor(bucket.name, bucket.intervalMs);
      }
      if (signal.retryAfterMs !== undefined)
        bucket.pausedUntil = Math.max(bucket.pausedUntil, now + signal.retryAfterMs);
      if (signal.remaining !== undefined && signal.remaining <= 0 && signal.resetAfterMs !== undefined) {
        bucket.pausedUntil = Math.max(bucket.pausedUntil, now + signal.resetAfterMs);
        bucket.probeAt = now + signal.resetAfterMs;
        bucket.probeEveryMs = signal.resetAfterMs;
      } else if (signal.remaining !== undefined) {
        const probed = bucket.probeAt > 0;
        bucket.probeAt = 0;
        // Nothing remaining without a reset time is a full rolling window, not a pause: a slot frees when the
        // oldest request leaves it, which our own stamps (plus fillers for requests we did not count) tell.
        // The CRM counts requests we did not (other clients, calls that sent several requests): never believe we
        // have more room than it says. The missing requests are stamped now, the latest they can have arrived.
        this.#prune(bucket, now);
        const used = bucket.times.length - bucket.head + bucket.inFlight.length;
        const room = bucket.limit - used;
        if (signal.remaining < room) {
          const stamp =
            signal.resetAfterMs === undefined ? now : Math.min(now, now + signal.resetAfterMs - bucket.intervalMs);
          for (let index = signal.remaining; index < room; index++) insertSorted(bucket.times, stamp, bucket.head);
        } else if (probed && signal.remaining > room) {
          // The answer to a probe: the CRM's count wins both ways. Ours may hold calls refused before they were
          // sent (an adapter's own budget), which would otherwise keep the window full for a whole interval.
          bucket.head = Math.min(bucket.times.length, bucket.head + (signal.remaining - room));
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
    // A hint of 0 (or one not a number) says nothing: a CRM answering 429 with it again and again would be called
    // again at once each time, so it backs off as if there were no hint.
    if (retryAfterMs !== undefined && !(Number.isFinite(retryAfterMs) && retryAfterMs > 0)) retryAfterMs = undefined;
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
      if (retryAfterMs !== undefined) {
        // The CRM (or the adapter on its behalf) names when to try again: one request goes then even if our own
        // count fills the window (it may count refusals that never reached the CRM), and its answer resyncs us.
        bucket.probeAt = Math.max(bucket.probeAt, now + wait);
        bucket.probeEveryMs = wait;
      }
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
        used: bucket.times.length - bucket.head + bucket.inFlight.length,
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

  #marginFor(name: string, intervalMs: number): number {
    const margin = this.#margin;
    if (margin === undefined) return defaultSafetyMarginMs(intervalMs);
    const value = typeof margin === 'number' ? margin : margin({ name, intervalMs });
    if (!(value >= 0) || !Number.isFinite(value)) {
      throw new TypeError(`[coexist/core] RateLimiter: safetyMarginMs must be a non-negative number, got ${value}`);
    }
    return value;
  }

  #toState(bucket: RateLimitBucket): BucketState {
    if (!(bucket.limit > 0) || !(bucket.intervalMs > 0)) {
      throw new TypeError(
        `[coexist/core] capabilities.rateLimits.buckets["${bucket.name}"]: limit and intervalMs must be positive numbers`,
      );
    }
    return {
      name: bucket.name,
      limit: bucket.limit,
      intervalMs: bucket.intervalMs,
      marginMs: this.#marginFor(bucket.name, bucket.intervalMs),
      derivedMargin: typeof this.#margin !== 'number',
      operations: bucket.operations === undefined ? null : new Set(bucket.operations),
      times: [],
      inFlight: [],
      head: 0,
      pausedUntil: 0,
      strikes: 0,
      probeAt: 0,
      probeEveryMs: 0,
      probing: false,
    };
  }

  #named(name: string): BucketState[] {
    return this.#buckets.filter((bucket) => bucket.name === name);
  }

  #governing(target: RateLimitTarget): BucketState[] {
    if (typeof target === 'object') {
      return this.#buckets.filter((bucket) => bucket.operations === null || bucket.name === target.bucket);
    }
    return this.#buckets.filter((bucket) => bucket.operations === null || bucket.operations.has(target));
  }

  #prune(bucket: BucketState, now: number): void {
    if (bucket.inFlight.length > 0) {
      const stale = now - this.#maxInFlightMs;
      for (let index = bucket.inFlight.length - 1; index >= 0; index--) {
        const granted = bucket.inFlight[index]!;
        if (granted > stale) continue;
        bucket.inFlight.splice(index, 1);
        insertSorted(bucket.times, granted + this.#maxInFlightMs, bucket.head);
      }
    }
    const horizon = now - bucket.intervalMs - bucket.marginMs;
    while (bucket.head < bucket.times.length && bucket.times[bucket.head]! <= horizon) bucket.head++;
    if (bucket.head > 1024 && bucket.head * 2 > bucket.times.length) {
      bucket.times = bucket.times.slice(bucket.head);
      bucket.head = 0;
    }
  }

  #delayFor(operation: RateLimitTarget): number {
    const now = this.#clock.now();
    let delay = 0;
    for (const bucket of this.#governing(operation)) delay = Math.max(delay, this.#bucketDelay(bucket, now));
    return delay;
  }

  /** Milliseconds until `bucket` has a free slot (0 when it has one now). */
  #bucketDelay(bucket: BucketState, now: number): number {
    let delay = bucket.pausedUntil > now ? bucket.pausedUntil - now : 0;
    this.#prune(bucket, now);
    const answered = bucket.times.length - bucket.head;
    const used = answered + bucket.inFlight.length;
    if (used >= bucket.limit) {
      if (bucket.probeAt > 0 && !bucket.probing) return Math.max(delay, bucket.probeAt - now, 0);
      // The answered request that frees a slot is the one `used - limit` places after the oldest; when only
      // requests in flight could free one, it frees an interval after their release at the earliest (which pumps).
      const index = used - bucket.limit;
      const freeing = index < answered ? bucket.times[bucket.head + index]! : now;
      delay = Math.max(delay, freeing + bucket.intervalMs + bucket.marginMs - now + 1);
    }
    return delay;
  }

  /** Whether a request granted now would go as `bucket`'s probe (the bucket is full by our count, a probe is due). */
  #isProbe(bucket: BucketState, now: number): boolean {
    return (
      bucket.probeAt > 0 &&
      !bucket.probing &&
      now >= bucket.probeAt &&
      bucket.times.length - bucket.head + bucket.inFlight.length >= bucket.limit
    );
  }

  #take(operation: RateLimitTarget): RateLimitPermit {
    const granted = this.#clock.now();
    const buckets = this.#governing(operation);
    const probed = buckets.filter((bucket) => this.#isProbe(bucket, granted));
    for (const bucket of probed) bucket.probing = true;
    for (const bucket of buckets) bucket.inFlight.push(granted);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const answered = Math.max(granted, this.#clock.now());
        for (const bucket of buckets) {
          const index = bucket.inFlight.lastIndexOf(granted);
          if (index >= 0) bucket.inFlight.splice(index, 1);
          // Past `maxInFlightMs` it was already counted at its grant plus that time; counting again is the safe side.
          insertSorted(bucket.times, answered, bucket.head);
        }
        for (const bucket of probed) {
          bucket.probing = false;
          // Answered without news of the bucket (a failure, say): the next probe waits as long again, never spins.
          if (bucket.probeAt > 0 && bucket.probeAt <= granted) bucket.probeAt = answered + bucket.probeEveryMs;
        }
        this.#pump();
      },
    };
  }

  /**
   * Grants every waiter that may start now, in priority order. Buckets are independent (HubSpot's search bucket
   * runs beside its ten-secondly one), so a waiter held by one bucket only holds back later waiters that need
   * that same bucket, never the others.
   */
  #pump(): void {
    const held = new Set<BucketState>();
    let soonest = Number.POSITIVE_INFINITY;
    for (let index = 0; index < this.#waiters.length; ) {
      const waiter = this.#waiters[index]!;
      const buckets = this.#governing(waiter.operation);
      if (buckets.some((bucket) => held.has(bucket))) {
        index++;
        continue;
      }
      const now = this.#clock.now();
      let delay = 0;
      for (const bucket of buckets) {
        const bucketDelay = this.#bucketDelay(bucket, now);
        // Only the buckets that are full hold later waiters back (not, say, a daily allocation with room).
        if (bucketDelay > 0) held.add(bucket);
        delay = Math.max(delay, bucketDelay);
      }
      if (delay > 0) {
        soonest = Math.min(soonest, delay);
        index++;
        continue;
      }
      this.#waiters.splice(index, 1);
      if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.resolve(this.#take(waiter.operation));
    }
    if (soonest < Number.POSITIVE_INFINITY) this.#schedule(soonest);
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

/** Inserts `value` into the ascending `times` (from `head`), after any equal values; stamps mostly arrive last. */
function insertSorted(times: number[], value: number, head: number): void {
  let index = times.length;
  while (index > head && times[index - 1]! > value) index--;
  times.splice(index, 0, value);
}
