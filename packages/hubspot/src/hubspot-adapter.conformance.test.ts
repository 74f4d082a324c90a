import { runAdapterConformance } from '@coexist/core/testing';
import { type HubSpotEmulator, startHubSpotEmulator } from '@coexist/sandbox';
import { afterAll, beforeAll } from 'vitest';
import { createHubSpotAdapter } from './hubspot-adapter.ts';

let emulator: HubSpotEmulator;
/** Set by the credentials fault: the token provider answers a revoked token once. */
let rejectNextToken = false;

beforeAll(async () => {
  emulator = await startHubSpotEmulator({
    tier: 'free',
    seed: 'conformance',
    owners: [
      { id: '7001', email: 'rep-one@example.com' },
      { id: '7002', email: 'rep-two@example.com' },
    ],
  });
});
afterAll(() => emulator.close());

runAdapterConformance({
  name: 'hubspot (emulator, @hubspot/api-client)',
  createAdapter: async () => {
    const adapter = createHubSpotAdapter({
      basePath: emulator.url,
      tier: 'free',
      defaultCountry: 'US',
      // A token provider (the OAuth path) so the credentials fault can hand out a revoked token.
      getAccessToken: async () => {
        if (rejectNextToken) {
          rejectNextToken = false;
          return 'revoked-token';
        }
        return emulator.token;
      },
    });
    await adapter.setup();
    return adapter;
  },
  reset: () => emulator.reset(),
  seedContact: ({ phone, name }) => emulator.seedContacts([{ phone, firstname: name }])[0]!.id,
  inspect: {
    messages: async () =>
      [...emulator.state.communications.values()]
        .sort((left, right) => Number(left.id) - Number(right.id))
        .map((record) => ({
          crmId: record.id,
          key: record.properties.coexist_message_id ?? '',
          contactCrmId: emulator.state.associationsOf('communications', record.id, 'contacts')[0]?.toObjectId,
          occurredAt: record.properties.hs_timestamp,
          text: record.properties.hs_communication_body,
          ...(record.properties.coexist_status
            ? { status: record.properties.coexist_status as 'sent' | 'delivered' | 'read' | 'played' | 'failed' }
            : {}),
          edited: Boolean(record.properties.coexist_edited_at),
          revoked: record.properties.coexist_revoked === 'true',
        })),
    contacts: async () =>
      [...emulator.state.contacts.values()].map((record) => ({
        crmId: record.id,
        phone: record.properties.phone,
        name: [record.properties.firstname, record.properties.lastname].filter(Boolean).join(' '),
        ...(record.properties.hubspot_owner_id ? { ownerId: record.properties.hubspot_owner_id } : {}),
      })),
  },
  ownerIds: ['7001', '7002'],
  faults: {
    // Exhausts the account's real ten-secondly window in-process, so the next request gets HubSpot's real 429.
    rateLimitNextRequest: () => {
      const limiter = emulator.account().limiter;
      while (limiter.takeRequest(Date.now()).allowed) {}
    },
    rejectNextRequestCredentials: () => {
      rejectNextToken = true;
    },
  },
});
