import { describe, expect, it } from 'vitest';
import { echoed, received, status } from './__fixtures__/events.ts';
import { applyOwnershipEvent, type ConversationOwnership, recordReply } from './conversation-ownership.ts';

describe('conversation ownership', () => {
  const known = new Set(['wamid.in', 'wamid.echo']);
  const context = { isKnownMessage: (id: string) => known.has(id) };

  it('flips between app and API with the last business reply', () => {
    let ownership: ConversationOwnership = {};
    ownership = applyOwnershipEvent(ownership, received('wamid.in', '2026-03-01T09:00:00Z'), context);
    expect(ownership).toEqual({});
    ownership = applyOwnershipEvent(ownership, echoed('wamid.echo', '2026-03-01T09:01:00Z'), context);
    expect(ownership).toEqual({ owner: 'app', since: '2026-03-01T09:01:00Z', messageId: 'wamid.echo' });
    ownership = applyOwnershipEvent(ownership, status('wamid.api', 'sent', '2026-03-01T09:05:00Z'), context);
    expect(ownership).toEqual({ owner: 'api', since: '2026-03-01T09:05:00Z', messageId: 'wamid.api' });
    ownership = applyOwnershipEvent(ownership, echoed('wamid.echo2', '2026-03-01T09:06:00Z'), context);
    expect(ownership.owner).toBe('app');
  });

  it('gives the conversation back to the app when the echo of a message arrives after its sent status', () => {
    // The status overtook the echo (1 s later on the clock): it looked like an API reply until the echo came.
    const unknown = { isKnownMessage: () => false };
    let ownership = applyOwnershipEvent({}, status('wamid.app', 'sent', '2026-03-01T09:00:01Z'), unknown);
    expect(ownership.owner).toBe('api');
    ownership = applyOwnershipEvent(ownership, echoed('wamid.app', '2026-03-01T09:00:00Z'), unknown);
    expect(ownership).toEqual({ owner: 'app', since: '2026-03-01T09:00:00Z', messageId: 'wamid.app' });
  });

  it('ignores statuses of known messages and later statuses of an API message', () => {
    const appOwned: ConversationOwnership = { owner: 'app', since: '2026-03-01T09:10:00Z', messageId: 'wamid.echo' };
    expect(applyOwnershipEvent(appOwned, status('wamid.echo', 'sent', '2026-03-01T09:11:00Z'), context)).toBe(appOwned);
    expect(applyOwnershipEvent(appOwned, status('wamid.api', 'read', '2026-03-01T09:12:00Z'), context)).toBe(appOwned);
  });

  it('lets a message the CRM sent through Coexist take ownership, and an older reply arriving late change nothing', () => {
    const api = recordReply({}, { side: 'api', at: '2026-03-01T09:05:00Z', messageId: 'wamid.crm' });
    expect(api.owner).toBe('api');
    expect(applyOwnershipEvent(api, echoed('wamid.old', '2026-03-01T08:00:00Z', { source: 'history' }), context)).toBe(
      api,
    );
  });
});
