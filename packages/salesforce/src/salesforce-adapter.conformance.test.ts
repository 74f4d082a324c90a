import { runAdapterConformance } from '@coexist/core/testing';
import { afterAll, beforeAll } from 'vitest';
import { type SalesforceHarness, startSalesforceHarness } from './__fixtures__/salesforce-emulator-harness.ts';
import { createSalesforceAdapter } from './salesforce-adapter.ts';

const REPS = ['005000000000091AAA', '005000000000092AAA'] as const;
let harness: SalesforceHarness;
beforeAll(async () => {
  // The API user first (it owns what is created without an owner), then two reps for the owner tests.
  harness = await startSalesforceHarness({
    users: [
      { Username: 'api@acme.test', LastName: 'Integration', Email: 'api@acme.test' },
      { Id: REPS[0], Username: 'rep-one@acme.test', LastName: 'One', Email: 'rep-one@acme.test' },
      { Id: REPS[1], Username: 'rep-two@acme.test', LastName: 'Two', Email: 'rep-two@acme.test' },
    ],
  });
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
    ownerIds: REPS,
    // Salesforce never leaves OwnerId empty (the API user owns a record created without one), and the adapter never
    // changes an owner (docs/salesforce.md § 3): the check that an upsert fills an empty owner does not apply.
    recordsAlwaysOwned: true,
    faults: {
      // The org's rolling 24 h allocation is spent, so the next request gets Salesforce's real
      // 403 REQUEST_LIMIT_EXCEEDED ("TotalRequests Limit exceeded."). Salesforce sends no Retry-After
      // (crm-apis.md §3.5), so `retryAfterMs` cannot be asked for: the adapter answers its `dailyLimitPauseMs`.
      rateLimitNextRequest: () => {
        const limits = harness.emulator.limits;
        limits.setDailyAllocation(limits.used(Date.now()));
      },
      // A session timeout: the next request gets 401 INVALID_SESSION_ID (no refresh token here, so CrmAuthError).
      rejectNextRequestCredentials: () => harness.emulator.sessions.expireAccessTokens(),
    },
  });
}
