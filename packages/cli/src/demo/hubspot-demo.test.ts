import { describe, expect, it } from 'vitest';
import { hubspotFloor } from './hubspot-demo-target.ts';

describe('hubspotFloor', () => {
  it('lets a rolling window start full: requests under one window need no waiting', () => {
    // The demo's own figures: 174 requests under Pro's 190 per 10 s, 27 searches at 5 per second.
    const floor = hubspotFloor({ requests: 174, searches: 27, tenSecondlyLimit: 190 });
    expect(floor.floorMs).toBe(5_000);
    expect(floor.arithmetic).toBe(
      'max((⌈174 requests ÷ 190⌉ − 1) × 10 s = 0.0 s, (⌈27 searches ÷ 5⌉ − 1) × 1 s = 5.0 s)',
    );
  });

  it('counts whole windows beyond the first', () => {
    expect(hubspotFloor({ requests: 191, searches: 0, tenSecondlyLimit: 190 }).floorMs).toBe(10_000);
    expect(hubspotFloor({ requests: 1_145, searches: 5, tenSecondlyLimit: 190 }).floorMs).toBe(60_000);
    expect(hubspotFloor({ requests: 100, searches: 6, tenSecondlyLimit: 100 }).floorMs).toBe(1_000);
    expect(hubspotFloor({ requests: 0, searches: 0, tenSecondlyLimit: 100 }).floorMs).toBe(0);
  });
});
