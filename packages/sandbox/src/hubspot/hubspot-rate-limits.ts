import { RollingWindow } from '../emulator/index.ts';

/*
 * HubSpot's API limits (https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines, modified
 * 2025-08-22; /work/shared/docs/crm-apis.md §2.4–2.5):
 * - burst: a rolling 10-second window — 100 (Free/Starter private app), 190 (Pro/Enterprise), 110 per installing
 *   account (OAuth app);
 * - daily (private apps only, shared by the account, reset at the account's midnight): 250,000 / 625,000 / 1,000,000;
 *   OAuth apps have no daily cap or daily headers
 *   (https://developers.hubspot.com/changelog/rate-limit-headers-will-now-appear-for-oauth-authenticated-calls);
 * - CRM search: 5 requests per second per account, exempt from the 10-second policy, no rate-limit headers
 *   (https://developers.hubspot.com/docs/api-reference/latest/crm/search-the-crm, [secondary]).
 */

/** A HubSpot subscription tier, or `oauth` for a public (marketplace) app installed in the account. */
export type HubSpotTier = 'free' | 'starter' | 'pro' | 'enterprise' | 'oauth';

/** Requests per rolling 10 s for each tier. */
export const HUBSPOT_TEN_SECONDLY_LIMITS: Readonly<Record<HubSpotTier, number>> = {
  free: 100,
  starter: 100,
  pro: 190,
  enterprise: 190,
  oauth: 110,
};

/** Requests per day for each tier; `undefined` for OAuth apps, which have no daily cap. */
export const HUBSPOT_DAILY_LIMITS: Readonly<Record<HubSpotTier, number | undefined>> = {
  free: 250_000,
  starter: 250_000,
  pro: 625_000,
  enterprise: 1_000_000,
  oauth: undefined,
};

/** Rate-limit settings; every field overrides the tier's documented value. */
export interface HubSpotRateLimitOptions {
  /** Requests per rolling window. @default the tier's value (100, 190 or 110) */
  tenSecondly?: number;
  /** Length of the rolling window in ms. @default 10000 */
  intervalMs?: number;
  /** Requests per day; `null` disables the daily cap. @default the tier's value (250k/625k/1M; none for oauth) */
  daily?: number | null;
  /** CRM search requests per second per account. @default 5 */
  searchPerSecond?: number;
  /**
   * Send `Retry-After` (seconds) on 429s. HubSpot's sending it is unverified (crm-apis.md §2.5), so it is off:
   * a client that needs it would fail in production. @default false
   */
  retryAfter?: boolean;
  /** Offset of the account's time zone from UTC in minutes, for the daily reset at local midnight. @default 0 */
  timeZoneOffsetMinutes?: number;
}

/** The decision of the limiter for one request. */
export type RateLimitDecision =
  | { allowed: true; headers: Record<string, string> }
  | { allowed: false; policy: 'TEN_SECONDLY_ROLLING' | 'DAILY' | 'SECONDLY'; headers: Record<string, string> };

/** Usage counters of one account, for inspection. */
export interface HubSpotRateLimitUsage {
  tier: HubSpotTier;
  tenSecondlyLimit: number;
  intervalMs: number;
  dailyLimit: number | undefined;
  dailyUsed: number;
  searchPerSecond: number;
  rejected: { tenSecondly: number; daily: number; search: number };
}

const DAY_MS = 86_400_000;

/** The rate limits of one HubSpot account: the 10-second window, the daily counter and the search window. */
export class HubSpotRateLimiter {
  readonly tier: HubSpotTier;
  readonly tenSecondlyLimit: number;
  readonly intervalMs: number;
  readonly dailyLimit: number | undefined;
  readonly searchPerSecond: number;
  readonly #retryAfter: boolean;
  readonly #offsetMs: number;
  #burst: RollingWindow;
  #search: RollingWindow;
  #day = Number.NaN;
  #dailyUsed = 0;
  #rejected = { tenSecondly: 0, daily: 0, search: 0 };

  /** Creates the limiter of an account on `tier`, with overrides. */
  constructor(tier: HubSpotTier, options: HubSpotRateLimitOptions = {}) {
    this.tier = tier;
    this.tenSecondlyLimit = positive(options.tenSecondly, HUBSPOT_TEN_SECONDLY_LIMITS[tier], 'limits.tenSecondly');
    this.intervalMs = positive(options.intervalMs, 10_000, 'limits.intervalMs');
    this.dailyLimit =
      options.daily === null
        ? undefined
        : positiveOrUndefined(options.daily, HUBSPOT_DAILY_LIMITS[tier], 'limits.daily');
    this.searchPerSecond = positive(options.searchPerSecond, 5, 'limits.searchPerSecond');
    this.#retryAfter = options.retryAfter ?? false;
    this.#offsetMs = (options.timeZoneOffsetMinutes ?? 0) * 60_000;
    this.#burst = new RollingWindow(this.tenSecondlyLimit, this.intervalMs);
    this.#search = new RollingWindow(this.searchPerSecond, 1_000);
  }

  /** Counts a regular (non-search) request at `now` and returns the `X-HubSpot-RateLimit-*` headers to send. */
  takeRequest(now: number): RateLimitDecision {
    this.#rollDay(now);
    // The burst window sees every request that reaches HubSpot, a daily-capped one too; only burst rejections
    // are left uncounted (RollingWindow does not count them).
    const window = this.#burst.take(now);
    if (!window.allowed) {
      this.#rejected.tenSecondly++;
      const headers = this.#headers(0, this.#dailyRemaining());
      if (this.#retryAfter) headers['Retry-After'] = String(Math.max(1, Math.ceil(window.resetMs / 1000)));
      return { allowed: false, policy: 'TEN_SECONDLY_ROLLING', headers };
    }
    if (this.dailyLimit !== undefined && this.#dailyUsed >= this.dailyLimit) {
      this.#rejected.daily++;
      const headers = this.#headers(window.remaining, 0);
      if (this.#retryAfter) headers['Retry-After'] = String(Math.ceil(this.#msToMidnight(now) / 1000));
      return { allowed: false, policy: 'DAILY', headers };
    }
    this.#dailyUsed++;
    return { allowed: true, headers: this.#headers(window.remaining, this.#dailyRemaining()) };
  }

  /** Counts a CRM search request at `now`: 5/s per account, no headers; it still counts toward the daily total. */
  takeSearch(now: number): RateLimitDecision {
    this.#rollDay(now);
    if (this.dailyLimit !== undefined && this.#dailyUsed >= this.dailyLimit) {
      this.#rejected.daily++;
      return { allowed: false, policy: 'DAILY', headers: {} };
    }
    const window = this.#search.take(now);
    if (!window.allowed) {
      this.#rejected.search++;
      const headers: Record<string, string> = {};
      if (this.#retryAfter) headers['Retry-After'] = String(Math.max(1, Math.ceil(window.resetMs / 1000)));
      return { allowed: false, policy: 'SECONDLY', headers };
    }
    this.#dailyUsed++;
    return { allowed: true, headers: {} };
  }

  /** Current counters. */
  usage(): HubSpotRateLimitUsage {
    return {
      tier: this.tier,
      tenSecondlyLimit: this.tenSecondlyLimit,
      intervalMs: this.intervalMs,
      dailyLimit: this.dailyLimit,
      dailyUsed: this.#dailyUsed,
      searchPerSecond: this.searchPerSecond,
      rejected: { ...this.#rejected },
    };
  }

  /** Forgets every counted request. */
  reset(): void {
    this.#burst = new RollingWindow(this.tenSecondlyLimit, this.intervalMs);
    this.#search = new RollingWindow(this.searchPerSecond, 1_000);
    this.#dailyUsed = 0;
    this.#day = Number.NaN;
    this.#rejected = { tenSecondly: 0, daily: 0, search: 0 };
  }

  #headers(remaining: number, dailyRemaining: number | undefined): Record<string, string> {
    const headers: Record<string, string> = {
      'X-HubSpot-RateLimit-Max': String(this.tenSecondlyLimit),
      'X-HubSpot-RateLimit-Remaining': String(remaining),
      'X-HubSpot-RateLimit-Interval-Milliseconds': String(this.intervalMs),
    };
    // Daily headers are sent to private apps only (crm-apis.md §2.5).
    if (this.dailyLimit !== undefined && dailyRemaining !== undefined) {
      headers['X-HubSpot-RateLimit-Daily'] = String(this.dailyLimit);
      headers['X-HubSpot-RateLimit-Daily-Remaining'] = String(dailyRemaining);
    }
    return headers;
  }

  #dailyRemaining(): number | undefined {
    return this.dailyLimit === undefined ? undefined : Math.max(0, this.dailyLimit - this.#dailyUsed);
  }

  #rollDay(now: number): void {
    const day = Math.floor((now + this.#offsetMs) / DAY_MS);
    if (day !== this.#day) {
      this.#day = day;
      this.#dailyUsed = 0;
    }
  }

  #msToMidnight(now: number): number {
    const local = now + this.#offsetMs;
    return (Math.floor(local / DAY_MS) + 1) * DAY_MS - local;
  }
}

function positive(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new TypeError(`[coexist/sandbox] HubSpot emulator: ${field} must be a positive number, got ${value}`);
  }
  return value;
}

function positiveOrUndefined(value: number | undefined, fallback: number | undefined, field: string) {
  return value === undefined ? fallback : positive(value, 0, field);
}
