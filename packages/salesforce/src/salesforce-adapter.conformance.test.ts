import { runAdapterConformance } from '@coexist/core/testing';
import { afterAll, beforeAll } from 'vitest';
import { type SalesforceHarness, startSalesforceHarness } from './__fixtures__/salesforce-emulator-harness.ts';
import { createSalesforceAdapter } from './salesforce-adapter.ts';

let harness: SalesforceHarness;
beforeAll(async () => {
  harness = await startSalesforceHarness();
});
afterAll(() => harness.emulator.close());

// Real jsforce over HTTP against the Salesforce emulator: Collections only (conversations go with their messages in
// one Composite request), then with Bulk API 2.0 enabled (conversations prepared ahead, `prepareConversations`).
for (const [name, bulk] of [
  ['salesforce', {}],
  ['salesforce (Bulk API 2.0 enabled)', { bulkThreshold: 1000, bulkMaxBatchSize: 2000, bulkPollIntervalMs: 20 }],
] as const) {
  runAdapterConformance({
    name,
    createAdapter: () =>
      createSalesforceAdapter({
        instanceUrl: harness.emulator.url,
        accessToken: harness.emulator.accessToken,
        defaultCountry: 'US',
        ...bulk,
      }),
    reset: () => harness.reset(),
    seedContact: ({ phone, name }) => harness.seedContact({ LastName: name, Phone: phone }),
    inspect: {
      messages: async () => harness.messages(),
      contacts: async () => harness.contacts(),
    },
    faults: {
      rateLimitNextRequest: () => {
        const limits = harness.emulator.limits;
        limits.setDailyAllocation(limits.used(Date.now()));
      },
      rejectNextRequestCredentials: () => harness.emulator.sessions.expireAccessTokens(),
    },
  });
}
