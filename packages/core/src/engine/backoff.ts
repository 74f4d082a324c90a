/** Exponential back-off with full jitter, as the retry policy of the sync engine. */

/** Options of `fullJitterBackoff`. */
export interface BackoffOptions {
  /**
   * Delay scale of the first retry, in milliseconds.
   * @default 500
   */
  baseMs?: number;
  /**
   * Largest delay, in milliseconds.
   * @default 60000
   */
  capMs?: number;
  /**
   * Random source in `[0, 1)`.
   * @default Math.random
   */
  random?: () => number;
}

/**
 * The delay before retry number `attempt` (1 for the first retry): a uniform draw in
 * `[0, min(capMs, baseMs × 2^(attempt−1)))` ("full jitter"), so many failing items spread out instead of
 * retrying in lockstep.
 */
export function fullJitterBackoff(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? 500;
  const cap = options.capMs ?? 60_000;
  const random = options.random ?? Math.random;
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const ceiling = Math.min(cap, base * 2 ** exponent);
  return Math.floor(random() * ceiling);
}
