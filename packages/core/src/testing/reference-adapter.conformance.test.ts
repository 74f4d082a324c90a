import { runAdapterConformance } from './conformance.ts';
import { createReferenceAdapter, type ReferenceAdapter } from './reference-adapter.ts';

for (const threadsMessages of [false, true]) {
  let adapter: ReferenceAdapter;
  runAdapterConformance({
    name: `reference (threadsMessages: ${threadsMessages})`,
    createAdapter: () => {
      adapter = createReferenceAdapter({
        threadsMessages,
        messageBatchSize: threadsMessages ? 1 : 100,
        supportsCards: !threadsMessages,
      });
      return adapter;
    },
    seedContact: (contact) => adapter.seedContact(contact),
    inspect: {
      messages: async () =>
        [...adapter.state.messages.values()]
          .sort((left, right) => left.sequence - right.sequence)
          .map((record) => ({
            crmId: record.crmId,
            key: record.key,
            contactCrmId: record.contactCrmId,
            occurredAt: record.occurredAt,
            text: record.content.summary,
            ...(record.status === undefined ? {} : { status: record.status }),
            edited: record.editedAt !== undefined,
            revoked: record.revoked === true,
            ...(record.previousMessageCrmId === undefined ? {} : { previousMessageCrmId: record.previousMessageCrmId }),
            reactions: (record.reactions ?? []).map((reaction) => `${reaction.emoji} ${reaction.actor}`).join(', '),
            ...(record.statusError === undefined ? {} : { statusError: record.statusError }),
          })),
      contacts: async () => [...adapter.state.contacts.values()],
    },
    ownerIds: ['user-1', 'user-2'],
    faults: {
      rateLimitNextRequest: ({ retryAfterMs }) =>
        adapter.injectFault({ type: 'throw', error: 'rate-limited', retryAfterMs }),
      rejectNextRequestCredentials: () => adapter.injectFault({ type: 'throw', error: 'auth' }),
    },
  });
}
