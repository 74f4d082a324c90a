/**
 * The rate limiter on a fake clock (vitest's fake timers drive both `Date.now` and `setTimeout`): every figure
 * below is exact, none depends on the machine's speed.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RateLimitPolicy } from '../adapter/crm-capabilities.ts';
import { defaultSafetyMarginMs, RateLimiter, type RateLimitPermit } from './rate-limiter.ts';

const search: RateLimitPolicy = {
  buckets: [{ name: 'search', limit: 5, intervalMs: 1_000, operations: ['findContacts'] }],
};
const tenSecondly: RateLimitPolicy = {
  buckets: [{ name: 'ten-secondly', limit: 10, intervalMs: 10_000, operations: ['writeMessages'] }],
};

/** A deterministic pseudo-random sequence (LCG), so "random" latencies are the same on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

/** The most requests any window of `intervalMs` holds, counting each at `time` as the CRM's `RollingWindow` does. */
function busiestWindow(times: readonly number[], intervalMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    // RollingWindow evicts stamps `<= now - intervalMs`: a window is (t - interval, t].
    while (sorted[start]! <= sorted[end]! - intervalMs) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

/** Granted-at times of the acquisitions that resolved so far; `answer: true` releases each permit at once. */
function track(
  limiter: RateLimiter,
  count: number,
  operation: 'findContacts' | 'writeMessages',
  { priority = 0, answer = true }: { priority?: number; answer?: boolean } = {},
) {
  const granted: number[] = [];
  const permits: RateLimitPermit[] = [];
  for (let index = 0; index < count; index++) {
    void limiter.acquire(operation, priority).then((permit) => {
      granted.push(Date.now());
      permits.push(permit);
      if (answer) permit.release();
    });
  }
  return { granted, permits };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('RateLimiter', () => {
  it('never lets a rolling window of the CRM hold more than the limit, whatever the send and answer delays', async () => {
    const limiter = new RateLimiter(search);
    const random = seeded(7);
    const arrivals: number[] = [];
    const answers: number[] = [];
    // Six callers in parallel; each request reaches the CRM 0–300 ms after its grant (event-loop lag, sockets)
    // and is answered 0–400 ms after that. The CRM counts it at arrival.
    const caller = async (requests: number) => {
      for (let index = 0; index < requests; index++) {
        const permit = await limiter.acquire('findContacts');
        await vi.advanceTimersByTimeAsync(0);
        const sendDelay = Math.floor(random() * 300);
        const answerDelay = Math.floor(random() * 400);
        await new Promise((resolve) => setTimeout(resolve, sendDelay));
        arrivals.push(Date.now());
        await new Promise((resolve) => setTimeout(resolve, answerDelay));
        answers.push(Date.now());
        permit.release();
      }
    };
    const callers = Promise.all(Array.from({ length: 6 }, () => caller(20)));
    while (answers.length < 120) await vi.advanceTimersByTimeAsync(10);
    await callers;
    expect(arrivals).toHaveLength(120);
    expect(busiestWindow(arrivals, 1_000)).toBeLessThanOrEqual(5);
    // And it is not trivially slow: 120 requests at 5/s need 24 s; latency and the margin may add to that.
    const elapsed = Math.max(...answers) - 1_000_000;
    expect(elapsed).toBeLessThan(24_000 * 1.5);
  });

  it('spaces requests answered at once by the interval plus the safety margin', async () => {
    const limiter = new RateLimiter(search);
    const { granted } = track(limiter, 11, 'findContacts');
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toHaveLength(5);
    const margin = defaultSafetyMarginMs(1_000);
    expect(margin).toBe(25);
    await vi.advanceTimersByTimeAsync(1_000 + margin);
    expect(granted).toHaveLength(5);
    await vi.advanceTimersByTimeAsync(1);
    expect(granted).toHaveLength(10);
    expect(granted.slice(5).every((time) => time === 1_000_000 + 1_000 + margin + 1)).toBe(true);
    await vi.advanceTimersByTimeAsync(1_000 + margin + 1);
    expect(granted).toHaveLength(11);
    expect(busiestWindow(granted, 1_000)).toBeLessThanOrEqual(5);
  });

  it('holds a slot while its request is in flight, whatever the interval, up to maxInFlightMs', async () => {
    const limiter = new RateLimiter(search, { maxInFlightMs: 5_000 });
    const first = track(limiter, 5, 'findContacts', { answer: false });
    const second = track(limiter, 2, 'findContacts');
    await vi.advanceTimersByTimeAsync(3_000);
    // Three seconds in flight (event-loop lag, a slow socket): the CRM may not even have counted them yet.
    expect(second.granted).toHaveLength(0);
    first.permits[0]!.release();
    await vi.advanceTimersByTimeAsync(1_025);
    expect(second.granted).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(second.granted).toEqual([1_000_000 + 4_026]);
    // A permit nobody releases counts as sent at grant + maxInFlightMs, so a forgetful caller cannot wedge the bucket.
    await vi.advanceTimersByTimeAsync(5_000 + 1_025 - 4_026 + 1);
    expect(second.granted).toHaveLength(2);
  });

  it('counts a released request at its answer, so a slow send cannot leave our window before the CRM’s', async () => {
    const limiter = new RateLimiter(search, { safetyMarginMs: 0 });
    const first = track(limiter, 5, 'findContacts', { answer: false });
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(300);
    // Answered 300 ms after the grant: the CRM may have counted them as late as that.
    for (const permit of first.permits) permit.release();
    const second = track(limiter, 1, 'findContacts');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(second.granted).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(301);
    expect(second.granted).toEqual([1_000_000 + 1_300 + 1]);
    // Releasing twice changes nothing.
    for (const permit of first.permits) permit.release();
    expect(limiter.snapshot()[0]).toMatchObject({ used: 1 });
  });

  it('believes the CRM when it reports less room than we counted (X-HubSpot-RateLimit-Remaining)', async () => {
    const limiter = new RateLimiter(tenSecondly);
    // Another integration used 7 of the 10 requests: the response says 3 remain.
    limiter.observe({ bucket: 'ten-secondly', remaining: 3, limit: 10 });
    const { granted } = track(limiter, 4, 'writeMessages');
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toHaveLength(3);
    expect(limiter.snapshot()[0]).toMatchObject({ used: 10, limit: 10 });
    // The unknown requests are counted at the latest time they can have happened: now.
    await vi.advanceTimersByTimeAsync(10_000 + defaultSafetyMarginMs(10_000));
    expect(granted).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(granted).toHaveLength(4);
  });

  it('takes the real limit and window length from the signal (Max, Interval-Milliseconds)', async () => {
    const limiter = new RateLimiter(tenSecondly);
    limiter.observe({ bucket: 'ten-secondly', limit: 2, intervalMs: 2_000, remaining: 2 });
    expect(limiter.snapshot()[0]).toMatchObject({ limit: 2, intervalMs: 2_000 });
    const { granted } = track(limiter, 3, 'writeMessages');
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(2_000 + defaultSafetyMarginMs(2_000) + 1);
    expect(granted).toHaveLength(3);
  });

  it('reads "nothing remaining" without a reset as a full rolling window, not as a pause', async () => {
    const limiter = new RateLimiter(tenSecondly);
    const first = track(limiter, 10, 'writeMessages');
    await vi.advanceTimersByTimeAsync(5_000);
    // Our own ten requests filled the window: the slot frees when the oldest leaves it, not 10 s from now.
    limiter.observe({ bucket: 'ten-secondly', remaining: 0, limit: 10 });
    const second = track(limiter, 1, 'writeMessages');
    await vi.advanceTimersByTimeAsync(5_000 + defaultSafetyMarginMs(10_000) + 1);
    expect(first.granted).toHaveLength(10);
    expect(second.granted).toEqual([1_000_000 + 10_000 + defaultSafetyMarginMs(10_000) + 1]);
  });

  it('pauses the bucket when the CRM reports nothing remaining, until its reset', async () => {
    const limiter = new RateLimiter(tenSecondly);
    limiter.observe({ bucket: 'ten-secondly', remaining: 0, resetAfterMs: 4_000 });
    const { granted } = track(limiter, 1, 'writeMessages');
    await vi.advanceTimersByTimeAsync(3_999);
    expect(granted).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(granted).toHaveLength(1);
  });

  it('honours Retry-After on a 429, for the named bucket only', async () => {
    // A daily allocation governs every operation; with room left it must not couple the other two buckets.
    const limiter = new RateLimiter({
      buckets: [...tenSecondly.buckets, ...search.buckets],
      dailyAllocation: { limit: 1_000, reset: 'midnight' },
    });
    expect(limiter.penalize('writeMessages', 'ten-secondly', 1_500)).toBe(1_500);
    const writes = track(limiter, 1, 'writeMessages');
    const searches = track(limiter, 1, 'findContacts');
    await vi.advanceTimersByTimeAsync(0);
    expect(searches.granted).toEqual([1_000_000]);
    expect(writes.granted).toHaveLength(0);
    expect(limiter.snapshot()[0]!.pausedUntil).toBe(1_001_500);
    await vi.advanceTimersByTimeAsync(1_499);
    expect(writes.granted).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(writes.granted).toEqual([1_001_500]);
    // The same through a signal (the adapter reports the 429's Retry-After).
    limiter.observe({ bucket: 'search', retryAfterMs: 700 });
    expect(limiter.delayFor('findContacts')).toBe(700);
  });

  it('backs off exponentially, jittered and bounded by the interval, on 429s without Retry-After', () => {
    const limiter = new RateLimiter(search, { random: () => 0.5 });
    const pauses = [1, 2, 3, 4, 5].map(() => limiter.penalize('findContacts', 'search'));
    expect(pauses[0]).toBeGreaterThan(0);
    expect(pauses.every((pause, index) => index === 0 || pause >= pauses[index - 1]!)).toBe(true);
    expect(Math.max(...pauses)).toBeLessThanOrEqual(2_000);
    limiter.succeeded('findContacts');
    expect(limiter.penalize('findContacts', 'search')).toBe(pauses[0]);
  });

  it('backs off on 429s whose Retry-After is 0 or not a number, as without one', () => {
    const limiter = new RateLimiter(search, { random: () => 0.5 });
    const pauses = [0, Number.NaN, -5, Number.POSITIVE_INFINITY].map((hint) =>
      limiter.penalize('findContacts', 'search', hint),
    );
    expect(pauses.every((pause) => Number.isFinite(pause) && pause > 0)).toBe(true);
    expect(pauses.every((pause, index) => index === 0 || pause >= pauses[index - 1]!)).toBe(true);
    expect(Number.isFinite(limiter.snapshot().find((bucket) => bucket.name === 'search')!.pausedUntil)).toBe(true);
  });

  it('serves live (priority 0) before history (priority 1) when a slot frees', async () => {
    const limiter = new RateLimiter(search);
    track(limiter, 5, 'findContacts');
    const order: string[] = [];
    void limiter.acquire('findContacts', 1).then((permit) => {
      order.push('history');
      permit.release();
    });
    void limiter.acquire('findContacts', 0).then((permit) => {
      order.push('live');
      permit.release();
    });
    await vi.advanceTimersByTimeAsync(1_100);
    expect(order).toEqual(['live', 'history']);
  });

  it('rejects a waiter whose signal aborts, and every waiter on close', async () => {
    const limiter = new RateLimiter(search);
    track(limiter, 5, 'findContacts');
    const controller = new AbortController();
    const aborted = limiter.acquire('findContacts', 0, controller.signal);
    const closed = limiter.acquire('findContacts');
    controller.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    limiter.close(new Error('closed'));
    await expect(closed).rejects.toThrow('closed');
  });

  it('refuses a bucket without a positive limit, naming it', () => {
    expect(() => new RateLimiter({ buckets: [{ name: 'broken', limit: 0, intervalMs: 1_000 }] })).toThrow(
      /\[coexist\/core\] capabilities\.rateLimits\.buckets\["broken"\]/,
    );
  });
});

describe('a spent allocation the CRM says to look at again', () => {
  const daily: RateLimitPolicy = { buckets: [], dailyAllocation: { limit: 30, reset: 'rolling-24h' } };

  it('lets one probe through when the CRM says, though our own count fills the day, and resumes on its answer', async () => {
    const limiter = new RateLimiter(daily);
    // 30 requests today: our own count says the rolling day is full.
    const first = track(limiter, 30, 'writeMessages');
    await vi.advanceTimersByTimeAsync(0);
    expect(first.granted).toHaveLength(30);
    limiter.observe({ bucket: 'daily', limit: 30, remaining: 0, resetAfterMs: 1_000 });
    const waiting = track(limiter, 3, 'writeMessages', { answer: false });
    await vi.advanceTimersByTimeAsync(999);
    expect(waiting.granted).toHaveLength(0);
    // Due: exactly one request goes, the others wait for its answer.
    await vi.advanceTimersByTimeAsync(1);
    expect(waiting.granted).toEqual([1_001_000]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(waiting.granted).toHaveLength(1);
    // Its answer: the allocation grew (the admin bought more). Everything waiting goes at once.
    limiter.observe({ bucket: 'daily', limit: 100_000, remaining: 99_969 });
    waiting.permits[0]!.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(waiting.granted).toHaveLength(3);
  });

  it('probes after a refusal that names when to try again, though our count fills the day, and resyncs on the answer', async () => {
    const limiter = new RateLimiter(daily);
    // 30 calls today by our count, some of them refused by the adapter before they reached the CRM.
    track(limiter, 30, 'writeMessages');
    await vi.advanceTimersByTimeAsync(0);
    expect(limiter.penalize('writeMessages', 'daily', 60_000)).toBe(60_000);
    const waiting = track(limiter, 1, 'writeMessages', { answer: false });
    await vi.advanceTimersByTimeAsync(59_999);
    expect(waiting.granted).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(waiting.granted).toEqual([1_060_000]);
    // The CRM counts 20 of the 30, and the probe: 9 remain, and they go at once; the 10th waits.
    limiter.observe({ bucket: 'daily', limit: 30, remaining: 9 });
    waiting.permits[0]!.release();
    const after = track(limiter, 10, 'writeMessages');
    await vi.advanceTimersByTimeAsync(0);
    expect(after.granted).toHaveLength(9);
  });

  it('waits as long again when a probe brings no news, and again when the CRM says it is still spent', async () => {
    const limiter = new RateLimiter(daily);
    track(limiter, 30, 'writeMessages');
    await vi.advanceTimersByTimeAsync(0);
    limiter.observe({ bucket: 'daily', limit: 30, remaining: 0, resetAfterMs: 1_000 });
    const waiting = track(limiter, 2, 'writeMessages', { answer: false });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(waiting.granted).toEqual([1_001_000]);
    // The probe failed without an answer from the CRM: the next one goes 1 s after it ended, not at once.
    await vi.advanceTimersByTimeAsync(200);
    waiting.permits[0]!.release();
    await vi.advanceTimersByTimeAsync(999);
    expect(waiting.granted).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(waiting.granted).toEqual([1_001_000, 1_002_200]);
    // Still spent: the CRM names the next look.
    limiter.observe({ bucket: 'daily', limit: 30, remaining: 0, resetAfterMs: 1_000 });
    waiting.permits[1]!.release();
    const later = track(limiter, 1, 'writeMessages');
    await vi.advanceTimersByTimeAsync(999);
    expect(later.granted).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(later.granted).toEqual([1_003_200]);
  });
});
