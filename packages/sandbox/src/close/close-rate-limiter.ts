import { RollingWindow } from '../emulator/rolling-window.ts';

/** One endpoint group's limit: at most `limit` requests per API key in any `windowMs`. */
export interface CloseRateLimitRule {
  limit: number;
  windowMs: number;
}

/**
 * Rate limits per endpoint group. Groups are named `METHOD /template/` with `{id}` for ids, e.g.
 * `POST /activity/whatsapp_message/` or `GET /lead/{id}/`.
 */
export interface CloseRateLimitOptions {
  /** The rule of every group not listed in `groups`. @default { limit: 20, windowMs: 1000 } */
  default?: CloseRateLimitRule;
  /**
   * Per-group rules. @default `POST /data/search/` 16 per 1 s and `GET /me/` 160 per 8 s, as observed in `RateLimit`
   * headers by a third party (crm-apis.md §4.4); Close publishes no values, so these are assumptions.
   */
  groups?: Record<string, CloseRateLimitRule>;
  /** The organization-wide limit as a multiple of the per-key limit (documented as 3×). @default 3 */
  organizationMultiplier?: number;
}

/** The default per-group rules (assumptions, see `CloseRateLimitOptions.groups`). */
export const defaultCloseRateLimitGroups: Readonly<Record<string, CloseRateLimitRule>> = {
  'POST /data/search/': { limit: 16, windowMs: 1000 },
  'GET /me/': { limit: 160, windowMs: 8000 },
};

/** The outcome of counting one request against its group. */
export type CloseRateLimitDecision =
  | { allowed: true; header: string }
  | {
      allowed: false;
      header: string;
      /** Seconds until the group accepts this key again (Close's `rate_reset`). */
      rateResetSeconds: number;
      body: {
        error: {
          rate_reset: number;
          message: string;
          rate_limit: number;
          rate_window: number;
          rate_limit_type: 'key' | 'org';
        };
      };
    };

/**
 * Close's per-endpoint-group limits, counted per API key and per organization
 * (https://developer.close.com/api/overview/rate-limits): every answer carries a `RateLimit` header
 * (`limit=20, remaining=19, reset=1`; `separator` `,` or `;` since both have been seen) and a 429 carries
 * `{"error": {"rate_reset": seconds, ...}}`.
 */
export class CloseRateLimiter {
  readonly separator: ',' | ';';
  #default: CloseRateLimitRule;
  #groups: Record<string, CloseRateLimitRule>;
  #multiplier: number;
  #windows = new Map<string, RollingWindow>();

  /** Creates a limiter with the given rules and `RateLimit` header separator. */
  constructor(options: CloseRateLimitOptions = {}, separator: ',' | ';' = ',') {
    this.separator = separator;
    this.#default = options.default ?? { limit: 20, windowMs: 1000 };
    this.#groups = { ...defaultCloseRateLimitGroups, ...options.groups };
    this.#multiplier = options.organizationMultiplier ?? 3;
    for (const [name, rule] of [['default', this.#default] as const, ...Object.entries(this.#groups)]) {
      if (!Number.isInteger(rule.limit) || rule.limit < 1 || !(rule.windowMs > 0)) {
        throw new TypeError(
          `[coexist/sandbox] startCloseEmulator: limits rule \`${name}\` needs an integer limit ≥ 1 and windowMs > 0`,
        );
      }
    }
  }

  /** The rule in force for a group. */
  ruleFor(group: string): CloseRateLimitRule {
    return this.#groups[group] ?? this.#default;
  }

  /** Counts one request of `group` at `now` for a key and its organization. */
  take(group: string, keyBucket: string, organizationId: string, now: number): CloseRateLimitDecision {
    const rule = this.ruleFor(group);
    const keyWindow = this.#window(`${group}\u0000key\u0000${keyBucket}`, rule.limit, rule.windowMs);
    const orgLimit = Math.floor(rule.limit * this.#multiplier);
    const orgWindow = this.#window(`${group}\u0000org\u0000${organizationId}`, orgLimit, rule.windowMs);
    // Refused requests count against neither window, so check both before counting in either.
    const keyPeek = keyWindow.peek(now);
    if (!keyPeek.allowed) return this.#rejected(rule, keyPeek.limit, keyPeek.resetMs, 'key');
    const orgPeek = orgWindow.peek(now);
    if (!orgPeek.allowed) return this.#rejected(rule, orgPeek.limit, orgPeek.resetMs, 'org');
    const key = keyWindow.take(now);
    const org = orgWindow.take(now);
    const tighter = org.remaining < key.remaining ? org : key;
    return { allowed: true, header: this.#header(tighter.limit, tighter.remaining, tighter.resetMs) };
  }

  /** Forgets every count (used by `/__admin/reset`). */
  reset(): void {
    this.#windows.clear();
  }

  #window(id: string, limit: number, windowMs: number): RollingWindow {
    let window = this.#windows.get(id);
    if (window === undefined) {
      window = new RollingWindow(limit, windowMs);
      this.#windows.set(id, window);
    }
    return window;
  }

  #rejected(rule: CloseRateLimitRule, limit: number, resetMs: number, type: 'key' | 'org'): CloseRateLimitDecision {
    const rateResetSeconds = Math.max(0.001, Math.round(resetMs) / 1000);
    return {
      allowed: false,
      header: this.#header(limit, 0, resetMs),
      rateResetSeconds,
      body: {
        error: {
          rate_reset: rateResetSeconds,
          message: 'API call count exceeded for this period',
          rate_limit: limit,
          rate_window: rule.windowMs / 1000,
          rate_limit_type: type,
        },
      },
    };
  }

  #header(limit: number, remaining: number, resetMs: number): string {
    const separator = `${this.separator} `;
    return `limit=${limit}${separator}remaining=${remaining}${separator}reset=${Math.max(1, Math.ceil(resetMs / 1000))}`;
  }
}
