import { describe, expect, it } from 'vitest';
import { normalizeOwnerMap, resolveContactOwner } from './owner.ts';

const owners = { '+1 (415) 555-0100': 'alice', '0044 7911 123456': 'bob' };

describe('resolveContactOwner', () => {
  it('gives the contact to the first rep number that touched it', () => {
    const first = resolveContactOwner(
      undefined,
      { businessPhone: '+14155550100', at: '2026-03-01T09:00:00Z' },
      { owners },
    );
    expect(first).toEqual({ ownerId: 'alice', businessPhone: '+14155550100', assignedAt: '2026-03-01T09:00:00Z' });
    expect(resolveContactOwner(first, { businessPhone: '+447911123456', at: '2026-03-02T09:00:00Z' }, { owners })).toBe(
      first,
    );
  });

  it('lets an earlier touch arriving late (history) win under first-touch', () => {
    const later = resolveContactOwner(
      undefined,
      { businessPhone: '+14155550100', at: '2026-03-02T09:00:00Z' },
      { owners },
    );
    const earlier = resolveContactOwner(
      later,
      { businessPhone: '+447911123456', at: '2026-01-01T09:00:00Z' },
      { owners },
    );
    expect(earlier?.ownerId).toBe('bob');
  });

  it('hands over to the latest rep under latest-touch', () => {
    const first = resolveContactOwner(
      undefined,
      { businessPhone: '+14155550100', at: '2026-03-01T09:00:00Z' },
      { owners, assignment: 'latest-touch' },
    );
    const latest = resolveContactOwner(
      first,
      { businessPhone: '+447911123456', at: '2026-03-02T09:00:00Z' },
      { owners, assignment: 'latest-touch' },
    );
    expect(latest?.ownerId).toBe('bob');
    const stale = resolveContactOwner(
      latest,
      { businessPhone: '+14155550100', at: '2026-03-01T12:00:00Z' },
      { owners, assignment: 'latest-touch' },
    );
    expect(stale?.ownerId).toBe('bob');
  });

  it('uses the default owner for unmapped numbers, else leaves the contact unowned', () => {
    expect(
      resolveContactOwner(undefined, { businessPhone: '+15550000000', at: '2026-03-01T09:00:00Z' }, { owners }),
    ).toBeUndefined();
    expect(
      resolveContactOwner(
        undefined,
        { businessPhone: '+15550000000', at: '2026-03-01T09:00:00Z' },
        { owners, defaultOwnerId: 'queue' },
      )?.ownerId,
    ).toBe('queue');
  });

  it('throws naming the owner-map key that is not a phone number', () => {
    expect(() => normalizeOwnerMap({ 'not a phone': 'x' })).toThrow('[coexist/core] owners["not a phone"]');
  });
});
