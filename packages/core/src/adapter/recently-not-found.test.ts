import { describe, expect, it } from 'vitest';
import { isRecentlyNotFound, RECENT_NOT_FOUND_MS } from './recently-not-found.ts';

describe('isRecentlyNotFound', () => {
  const now = Date.parse('2026-03-01T09:00:00Z');
  it('accepts a "not found" from the last 30 s only', () => {
    expect(isRecentlyNotFound({ notFoundAt: '2026-03-01T08:59:50Z' }, { now })).toBe(true);
    expect(isRecentlyNotFound({ notFoundAt: new Date(now - RECENT_NOT_FOUND_MS - 1).toISOString() }, { now })).toBe(
      false,
    );
    expect(isRecentlyNotFound({ notFoundAt: '2026-03-01T08:59:50Z' }, { now, withinMs: 5_000 })).toBe(false);
  });

  it('refuses a missing, unreadable or future time', () => {
    expect(isRecentlyNotFound({}, { now })).toBe(false);
    expect(isRecentlyNotFound({ notFoundAt: 'yesterday' }, { now })).toBe(false);
    expect(isRecentlyNotFound({ notFoundAt: '2026-03-01T09:05:00Z' }, { now })).toBe(false);
  });
});
