import type { MessageRecord } from '@coexist/core';
import { describe, expect, it } from 'vitest';
import {
  applyMessageChange,
  communicationStateOf,
  mergeReplayedState,
  readCommunicationState,
  renderCommunicationBody,
  toHubSpotCommunicationProperties,
} from './map-hubspot-communication.ts';

const record: MessageRecord = {
  key: 'wamid.ABC',
  direction: 'outbound',
  actor: 'business_app',
  occurredAt: '2026-03-01T09:30:00.000Z',
  source: 'live',
  contactCrmId: '51',
  businessPhone: '+14155550100',
  conversationKey: '+14155550100|phone:+16505551234',
  content: { kind: 'text', text: 'Price <b>"10 & 20"</b>\nsee you', summary: 'Price', placeholder: false },
  status: 'delivered',
};

describe('toHubSpotCommunicationProperties', () => {
  it('maps a message to exactly these properties, with the body HTML-escaped', () => {
    expect(toHubSpotCommunicationProperties(record, { ownerId: '77' })).toEqual({
      hs_communication_channel_type: 'WHATS_APP',
      hs_communication_logged_from: 'CRM',
      hs_timestamp: '2026-03-01T09:30:00.000Z',
      coexist_message_id: 'wamid.ABC',
      coexist_conversation_key: '+14155550100|phone:+16505551234',
      hs_communication_body:
        '<p><strong>Rep (WhatsApp Business App)</strong> · WhatsApp message sent from +14155550100</p>' +
        '<p>Price &lt;b&gt;&quot;10 &amp; 20&quot;&lt;/b&gt;<br>see you</p>' +
        '<p><small>Status: Delivered</small></p>',
      coexist_direction: 'outbound',
      coexist_actor: 'business_app',
      coexist_revoked: 'false',
      coexist_reactions: '[]',
      coexist_content: JSON.stringify(record.content),
      coexist_status: 'delivered',
      coexist_business_phone: '+14155550100',
      hubspot_owner_id: '77',
    });
  });
});

describe('renderCommunicationBody', () => {
  it('shows media label, caption and only http(s) links', () => {
    const body = renderCommunicationBody({
      key: 'k',
      direction: 'inbound',
      actor: 'customer',
      revoked: false,
      reactions: [{ actor: 'business_app', emoji: '👍' }],
      content: {
        kind: 'document',
        caption: 'Offer',
        media: { id: 'm1', filename: 'offer<1>.pdf', url: 'https://files.example.com/a?b=1&c=2' },
        summary: 'Offer',
        placeholder: false,
      },
    });
    expect(body).toBe(
      '<p><strong>Customer</strong> · WhatsApp message received</p>' +
        '<p>[Document: offer&lt;1&gt;.pdf]</p><p>Offer</p>' +
        '<p><a href="https://files.example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">offer&lt;1&gt;.pdf</a></p>' +
        '<p><small>Reactions: 👍 (Rep (WhatsApp Business App))</small></p>',
    );
    const unsafe = renderCommunicationBody({
      key: 'k',
      direction: 'inbound',
      actor: 'cloud_api',
      revoked: false,
      reactions: [],
      content: { kind: 'image', media: { id: 'm', url: 'javascript:alert(1)' }, summary: '[image]', placeholder: true },
    });
    expect(unsafe).not.toContain('javascript:');
    expect(unsafe).toContain('Media not yet available');
  });

  it('hides the content of a revoked message', () => {
    const state = applyMessageChange(communicationStateOf(record), { kind: 'revoke', at: '2026-03-01T10:00:00Z' });
    expect(renderCommunicationBody(state)).not.toContain('Price');
    expect(renderCommunicationBody(state)).toContain('deleted by the sender');
  });
});

describe('state round trip and changes', () => {
  it('reads back what it wrote, never downgrades a status, replaces reactions per side', () => {
    const state = readCommunicationState(toHubSpotCommunicationProperties(record));
    expect(state).toEqual(communicationStateOf(record));
    const read = applyMessageChange(state, { kind: 'status', status: 'read', at: 'x' });
    expect(applyMessageChange(read, { kind: 'status', status: 'delivered', at: 'x' }).status).toBe('read');
    const reacted = applyMessageChange(read, { kind: 'reaction', actor: 'customer', emoji: '❤️', at: 'x' });
    const changed = applyMessageChange(reacted, { kind: 'reaction', actor: 'customer', emoji: '😂', at: 'x' });
    expect(changed.reactions).toEqual([{ actor: 'customer', emoji: '😂' }]);
    expect(
      applyMessageChange(changed, { kind: 'reaction', actor: 'customer', emoji: null, at: 'x' }).reactions,
    ).toEqual([]);
    expect(mergeReplayedState(read, communicationStateOf({ ...record, status: 'sent' })).status).toBe('read');
  });
});
