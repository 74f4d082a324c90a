import { runAdapterConformance } from '@coexist/core/testing';
import { afterAll, beforeAll } from 'vitest';
import {
  type CloseHarness,
  exhaustGroup,
  seedCloseContact,
  startCloseHarness,
  storedMessages,
  TEST_API_KEY,
} from './__fixtures__/close-test-harness.ts';
import { createCloseAdapter } from './close-adapter.ts';

let harness: CloseHarness;
beforeAll(async () => {
  harness = await startCloseHarness();
});
afterAll(() => harness.emulator.close());

runAdapterConformance({
  name: 'close',
  createAdapter: () =>
    createCloseAdapter({ baseUrl: harness.emulator.apiUrl, apiKey: TEST_API_KEY, axios: harness.http }),
  reset: () => harness.emulator.reset(),
  seedContact: (contact) => seedCloseContact(harness.emulator, contact),
  inspect: {
    messages: async () => storedMessages(harness.emulator),
    contacts: async () =>
      [...harness.emulator.state.contacts.values()].map((contact) => ({
        crmId: contact.id,
        ...(contact.phones[0] === undefined ? {} : { phone: contact.phones[0].phone }),
        name: contact.name,
      })),
  },
  faults: {
    // The adapter's first request of a write is the lookup: fill that group's real window so Close answers 429.
    rateLimitNextRequest: () => exhaustGroup(harness.emulator, '/activity/whatsapp_message/'),
    rejectNextRequestCredentials: () => harness.refuseNextCredentials(),
  },
});
