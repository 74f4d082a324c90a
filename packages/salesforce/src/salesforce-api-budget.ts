/**
 * The adapter's share of the org's rolling 24 h API allocation (crm-apis.md §3.5). Salesforce has no per-second
 * limit and sends no `Retry-After`; it reports `Sforce-Limit-Info: api-usage=used/max` on every answer, which jsforce
 * parses into `conn.limitInfo`. The budget is the allocation minus a reserve kept for the customer's other
 * integrations; an operation that would cross it is refused before any request, with a long `retryAfterMs`, so the
 * engine checkpoints and pauses instead of spinning into 403 `REQUEST_LIMIT_EXCEEDED`.
 */
import { CrmRateLimitedError, type RateLimitSignal } from '@coexist/core';
import { SALESFORCE_BUCKETS, SALESFORCE_CRM } from './salesforce-errors.ts';

/** Options of `SalesforceApiBudget`. */
export interface SalesforceApiBudgetOptions {
  /** A fraction (< 1) or a count (≥ 1) of the allocation the adapter leaves unused. */
  reserve: number;
  /** How long to pause once the budget is spent, in ms. */
  pauseMs: number;
  /** The clock. */
  now: () => number;
}

/** Longest time calls wait for the answer of the probe that follows a pause. */
const PROBE_WAIT_MS = 1_000;

/** The last usage Salesforce reported. */
interface Usage {
  used: number;
  limit: number;
}

/** Tracks reported API usage and refuses operations that would spend the reserve. */
export class SalesforceApiBudget {
  readonly #options: SalesforceApiBudgetOptions;
  #usage: Usage | undefined;
  #pausedUntil: number | undefined;
  /** When the call that probes the usage after a pause started; other calls wait for its answer. */
  #probeStartedAt: number | undefined;

  /** Creates a budget; nothing is known until the first answer reports usage. */
  constructor(options: SalesforceApiBudgetOptions) {
    this.#options = options;
  }

  /** Requests the reserve keeps free out of an allocation of `limit`. */
  reserveOf(limit: number): number {
    const reserve = this.#options.reserve;
    return reserve < 1 ? Math.ceil(limit * reserve) : Math.min(limit, Math.floor(reserve));
  }

  /** The last reported usage, when any. */
  get usage(): Readonly<Usage> | undefined {
    return this.#usage;
  }

  /** Records `conn.limitInfo.apiUsage` after an answer and returns the signal to report, when there was one. */
  observe(apiUsage: { used: number; limit: number } | undefined): RateLimitSignal | undefined {
    if (apiUsage === undefined) return undefined;
    this.#usage = { used: apiUsage.used, limit: apiUsage.limit };
    this.#probeStartedAt = undefined;
    const budget = apiUsage.limit - this.reserveOf(apiUsage.limit);
    // The window is rolling and Salesforce does not say when the requests it counts (ours and other clients') turn
    // 24 h old, so `resetAfterMs` is when the adapter probes again. Without it the engine would take every request it
    // did not count itself as made just now and wait a whole day, even after the window frees or the allocation
    // grows (a new licence); the budget above still refuses calls while the usage is known to be too high.
    return {
      bucket: SALESFORCE_BUCKETS.daily,
      limit: budget,
      remaining: Math.max(0, budget - apiUsage.used),
      resetAfterMs: this.#options.pauseMs,
    };
  }

  /** Marks the allocation as used up (Salesforce answered 403 `REQUEST_LIMIT_EXCEEDED`). */
  exhausted(): void {
    this.#pausedUntil = this.#options.now() + this.#options.pauseMs;
  }

  /**
   * Throws `CrmRateLimitedError` (bucket `daily`) when `planned` more requests would spend the reserve, or while a
   * pause is running. When a pause ends the stale usage is forgotten, so the next call probes the real one; calls
   * made while that probe is unanswered are refused for a moment (at most a second), so a pause ends with one
   * request, not one per call in flight.
   */
  ensure(planned: number, operation: string): void {
    const now = this.#options.now();
    if (this.#pausedUntil !== undefined) {
      if (now < this.#pausedUntil) throw this.#error(operation, this.#pausedUntil - now);
      this.#pausedUntil = undefined;
      this.#usage = undefined;
      this.#probeStartedAt = now;
      return;
    }
    const usage = this.#usage;
    if (usage === undefined) {
      const probeWaitMs = Math.min(this.#options.pauseMs, PROBE_WAIT_MS);
      // A probe that never reported (a network failure) stops holding the others back after the wait.
      if (this.#probeStartedAt !== undefined && now - this.#probeStartedAt < probeWaitMs) {
        throw this.#error(operation, probeWaitMs - (now - this.#probeStartedAt));
      }
      this.#probeStartedAt = undefined;
      return;
    }
    const budget = usage.limit - this.reserveOf(usage.limit);
    if (usage.used + planned > budget) {
      this.exhausted();
      throw this.#error(operation, this.#options.pauseMs, usage, planned, budget);
    }
  }

  #error(operation: string, retryAfterMs: number, usage?: Usage, planned?: number, budget?: number) {
    const detail =
      usage === undefined
        ? 'the adapter is pausing after the allocation ran out'
        : `${usage.used} of ${usage.limit} requests used in the rolling 24 h window; ${planned} more would pass the adapter's budget of ${budget} (the rest is reserved by \`dailyReserve\`)`;
    return new CrmRateLimitedError({
      crm: SALESFORCE_CRM,
      message: `${operation}: daily API budget reached: ${detail}; checkpoint and resume later`,
      code: 'daily_budget',
      bucket: SALESFORCE_BUCKETS.daily,
      retryAfterMs,
    });
  }
}
