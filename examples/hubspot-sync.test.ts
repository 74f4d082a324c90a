import { describe, expect, it } from 'vitest';
import { runHubSpotSync } from './hubspot-sync.ts';

describe('examples/hubspot-sync', () => {
  it('matches the hand-typed contact, writes six communications and duplicates nothing on replay', async () => {
    const lines: string[] = [];
    const summary = await runHubSpotSync((line) => lines.push(line));
    expect(summary).toMatchObject({
      propertiesCreated: 12,
      idempotency: 'upsert-by-external-id',
      messagesWritten: 6,
      replaysCreated: 0,
      communicationsInHubSpot: 6,
      searchRequests: 1,
    });
    expect(lines.join('\n')).not.toContain('offer');
  });
});
