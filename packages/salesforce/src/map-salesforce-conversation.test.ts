import type { MessageRecord } from '@coexist/core';
import { describe, expect, it } from 'vitest';
import { toConversationFields } from './map-salesforce-conversation.ts';

const contactId = '003000000000001AAA';

function message(overrides: Partial<MessageRecord>): MessageRecord {
  return {
    key: 'wamid.1',
    direction: 'inbound',
    actor: 'customer',
    occurredAt: '2026-03-01T09:00:00.000Z',
    source: 'live',
    contactCrmId: contactId,
    contactPhone: '+16505551234',
    businessPhone: '+14155550100',
    conversationKey: 'conversation:+14155550100:+16505551234',
    content: { kind: 'text', text: 'Hi', summary: 'Hi', placeholder: false },
    ...overrides,
  };
}

describe('toConversationFields', () => {
  it('maps a new conversation: key, contact lookup, phones, owner side, window and last message', () => {
    expect(
      toConversationFields(
        [
          message({}),
          message({
            key: 'wamid.2',
            direction: 'outbound',
            actor: 'business_app',
            occurredAt: '2026-03-01T09:05:00.000Z',
          }),
        ],
        undefined,
        { ownerId: '005000000000001AAA' },
      ),
    ).toEqual({
      Thread_Key__c: 'conversation:+14155550100:+16505551234',
      Contact__c: contactId,
      Business_Phone__c: '+14155550100',
      Customer_Phone__c: '+16505551234',
      OwnerId: '005000000000001AAA',
      Last_Message_At__c: '2026-03-01T09:05:00.000Z',
      Owner_Side__c: 'business_app',
      Window_Expires_At__c: '2026-03-02T09:00:00.000Z',
    });
  });

  it('fills Lead__c and Account__c by id prefix; history and echoes never open the window', () => {
    const fields = toConversationFields(
      [
        message({ contactCrmId: '00Q000000000001AAA', contactParentCrmId: '001000000000001AAA', source: 'history' }),
        message({ key: 'wamid.2', direction: 'outbound', actor: 'cloud_api', occurredAt: '2026-03-01T09:01:00.000Z' }),
      ],
      undefined,
    );
    expect(fields).toMatchObject({
      Lead__c: '00Q000000000001AAA',
      Account__c: '001000000000001AAA',
      Owner_Side__c: 'cloud_api',
    });
    expect(fields).not.toHaveProperty('Window_Expires_At__c');
    expect(fields).not.toHaveProperty('Contact__c');
  });

  it('never moves a stored record backwards and answers undefined when nothing changes', () => {
    const stored = {
      Id: 'a01000000000001AAA',
      Thread_Key__c: 'conversation:+14155550100:+16505551234',
      Owner_Side__c: 'cloud_api',
      Window_Expires_At__c: '2026-03-05T09:00:00.000+0000',
      Last_Message_At__c: '2026-03-04T09:00:00.000+0000',
    };
    const older = [
      message({ occurredAt: '2026-03-01T09:00:00.000Z' }),
      message({ key: 'wamid.2', direction: 'outbound', actor: 'business_app', occurredAt: '2026-03-01T10:00:00.000Z' }),
    ];
    expect(toConversationFields(older, stored)).toBeUndefined();
    expect(
      toConversationFields(
        [message({ direction: 'outbound', actor: 'business_app', occurredAt: '2026-03-06T09:00:00.000Z' })],
        stored,
      ),
    ).toEqual({
      Thread_Key__c: stored.Thread_Key__c,
      Last_Message_At__c: '2026-03-06T09:00:00.000Z',
      Owner_Side__c: 'business_app',
    });
  });

  it('rejects an empty batch', () => {
    expect(() => toConversationFields([], undefined)).toThrow(/messages/);
  });
});
