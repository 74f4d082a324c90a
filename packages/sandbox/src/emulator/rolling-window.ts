/** The answer of a rate-limit window to one request. */
export interface WindowDecision {
  allowed: boolean;
  limit: number;
  /** Requests left in the window after this one. */
  remaining: number;
  /** Milliseconds until the oldest counted request leaves the window. */
  resetMs: number;
}

/**
 * A rolling-window request counter: at most `limit` requests in any `intervalMs`, as HubSpot's
 * ten-secondly policy and Close's endpoint groups count them. Rejected requests are not counted.
 */
export class RollingWindow {
  readonly limit: number;
  readonly intervalMs: number;
  #timestamps: number[] = [];
  #head = 0;

  /** Creates a window allowing `limit` requests per `intervalMs`. */
  constructor(limit: number, intervalMs: number) {
    this.limit = limit;
    this.intervalMs = intervalMs;
  }

  /** Counts a request at `now` if the window has room, and says whether it was allowed. */
  take(now: number): WindowDecision {
    this.#evict(now);
    const used = this.#timestamps.length - this.#head;
    if (used >= this.limit) {
      const oldest = this.#timestamps[this.#head]!;
      return { allowed: false, limit: this.limit, remaining: 0, resetMs: Math.max(0, oldest + this.intervalMs - now) };
    }
    this.#timestamps.push(now);
    const oldest = this.#timestamps[this.#head]!;
    return {
      allowed: true,
      limit: this.limit,
      remaining: this.limit - used - 1,
      resetMs: Math.max(0, oldest + this.intervalMs - now),
    };
  }

  /** Says whether a request at `now` would be allowed, without counting it. */
  peek(now: number): WindowDecision {
    this.#evict(now);
    const used = this.#timestamps.length - this.#head;
    const oldest = this.#timestamps[this.#head];
    const resetMs = oldest === undefined ? this.intervalMs : Math.max(0, oldest + this.intervalMs - now);
    return { allowed: used < this.limit, limit: this.limit, remaining: Math.max(0, this.limit - used), resetMs };
  }

  #evict(now: number): void {
    while (this.#head < this.#timestamps.length && this.#timestamps[this.#head]! <= now - this.intervalMs) this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#timestamps.length) {
      this.#timestamps = this.#timestamps.slice(this.#head);
      this.#head = 0;
    }
  }
}
