import type { MessageRecord } from '@coexist/core';
import { describe, expect, it } from 'vitest';
import {
  applyCloseMessageChange,
  type CloseMessageState,
  composeCloseMarkdown,
  escapeWhatsAppMarkdown,
  mergeReplayedState,
  parseCloseMarkdown,
  renderCloseMessageBody,
  toCloseWhatsAppActivityCreate,
} from './map-close-whatsapp-activity.ts';

const base: MessageRecord = {
  key: 'wamid.HBg1',
  direction: 'outbound',
  actor: 'business_app',
  occurredAt: '2026-03-01T09:30:00Z',
  source: 'history',
  contactCrmId: 'cont_1',
  contactParentCrmId: 'lead_1',
  contactPhone: '+491711234567',
  businessPhone: '+4930123456',
  conversationKey: 'conversation:1',
  previousMessageCrmId: 'acti_0',
  content: { kind: 'text', text: 'Hi *there*', summary: 'Hi *there*', placeholder: false },
  status: 'delivered',
  reactions: [{ actor: 'customer', emoji: '❤️' }],
};

describe('toCloseWhatsAppActivityCreate', () => {
  it('maps a record to the exact POST body', () => {
    expect(
      toCloseWhatsAppActivityCreate(base, {
        leadId: 'lead_1',
        integrationLink: 'https://cards.example.com/c?sig=x',
        attachments: [{ url: 'https://app.close.com/go/file/f1/', filename: 'a.jpg', content_type: 'image/jpeg' }],
      }),
    ).toEqual({
      lead_id: 'lead_1',
      contact_id: 'cont_1',
      direction: 'outgoing',
      external_whatsapp_message_id: 'wamid.HBg1',
      activity_at: '2026-03-01T09:30:00.000Z',
      local_phone: '+4930123456',
      remote_phone: '+491711234567',
      message_markdown: 'Hi *there*\n\n_WhatsApp · Business App · Delivered · Reactions: ❤️ Customer_',
      response_to_id: 'acti_0',
      integration_link: 'https://cards.example.com/c?sig=x',
      attachments: [{ url: 'https://app.close.com/go/file/f1/', filename: 'a.jpg', content_type: 'image/jpeg' }],
    });
  });

  it('sends an inbound first message with no thread parent and no optional fields', () => {
    const payload = toCloseWhatsAppActivityCreate(
      {
        ...base,
        direction: 'inbound',
        actor: 'customer',
        previousMessageCrmId: null,
        status: undefined,
        reactions: [],
      },
      { leadId: 'lead_1' },
    );
    expect(payload).toMatchObject({
      direction: 'incoming',
      response_to_id: null,
      message_markdown: 'Hi *there*\n\n_WhatsApp · Customer_',
    });
    expect(Object.keys(payload)).not.toContain('integration_link');
    expect(Object.keys(payload)).not.toContain('attachments');
  });

  it('names the missing field', () => {
    expect(() => toCloseWhatsAppActivityCreate({ ...base, businessPhone: undefined }, { leadId: 'l' })).toThrow(
      'businessPhone',
    );
    expect(() => toCloseWhatsAppActivityCreate({ ...base, occurredAt: 'yesterday' }, { leadId: 'l' })).toThrow(
      'occurredAt',
    );
  });
});

describe('renderCloseMessageBody', () => {
  it('keeps WhatsApp formatting by default and escapes it on request', () => {
    expect(renderCloseMessageBody(base.content)).toBe('Hi *there*');
    expect(renderCloseMessageBody(base.content, { userTextFormatting: 'escaped' })).toBe('Hi \u200B*there\u200B*');
    expect(escapeWhatsAppMarkdown('a_b ~c~ `d`')).toBe('a\u200B_b \u200B~c\u200B~ \u02CBd\u02CB');
  });

  it('labels media, escapes file names, links media when asked, and marks placeholders', () => {
    expect(
      renderCloseMessageBody({
        kind: 'document',
        caption: 'The offer',
        summary: '[Document: _draft_.pdf] The offer',
        placeholder: false,
        media: { id: 'm', filename: '_draft_.pdf' },
      }),
    ).toBe('[Document: \u200B_draft\u200B_.pdf]\nThe offer');
    expect(
      renderCloseMessageBody(
        { kind: 'image', summary: '[Photo]', placeholder: false, media: { id: 'm' } },
        { mediaLink: 'https://media.example.com/m.jpg' },
      ),
    ).toBe('[Photo]\nhttps://media.example.com/m.jpg');
    expect(renderCloseMessageBody({ kind: 'image', summary: '[Photo]', placeholder: true, media: { id: 'm' } })).toBe(
      '[Photo]\n_(media not yet available)_',
    );
    expect(renderCloseMessageBody({ kind: 'location', summary: '[Location: Café]', placeholder: false })).toBe(
      '[Location: Café]',
    );
    expect(renderCloseMessageBody({ kind: 'text', text: '  ', summary: '', placeholder: false })).toBe(
      '[Empty message]',
    );
  });
});

describe('footer round trip', () => {
  const state: CloseMessageState = {
    actor: 'cloud_api',
    status: 'read',
    edited: true,
    revoked: false,
    reactions: [
      { actor: 'customer', emoji: '👍' },
      { actor: 'business_app', emoji: '🎉' },
    ],
  };

  it('parses what it composes, even when the body itself ends with a look-alike footer', () => {
    const body = 'Quote:\n\n_WhatsApp · Customer · Read_';
    const markdown = composeCloseMarkdown(body, state);
    expect(markdown).toBe(
      `${body}\n\n_WhatsApp · Cloud API · Read · Edited · Reactions: 👍 Customer, 🎉 Business App_`,
    );
    expect(parseCloseMarkdown(markdown, 'customer')).toEqual({ body, state, recognized: true });
  });

  it('keeps why a message failed through a later update, without footer separators in it', () => {
    const sent: { body: string; state: CloseMessageState } = {
      body: 'Hello',
      state: { actor: 'cloud_api', status: 'sent', edited: false, revoked: false, reactions: [] },
    };
    const failed = applyCloseMessageChange(sent, {
      kind: 'status',
      status: 'failed',
      at: '2026-03-01T10:00:00Z',
      errorCode: 131047,
      errorTitle: 'Re-engagement · message_',
    });
    const markdown = composeCloseMarkdown(failed.body, failed.state);
    expect(markdown).toBe('Hello\n\n_WhatsApp · Cloud API · Failed (131047: Re-engagement message)_');
    const parsed = parseCloseMarkdown(markdown, 'customer');
    expect(parsed.state).toMatchObject({ status: 'failed', statusError: '131047: Re-engagement message' });
    const reacted = applyCloseMessageChange(parsed, {
      kind: 'reaction',
      actor: 'customer',
      emoji: '👍',
      at: '2026-03-01T10:01:00Z',
    });
    expect(composeCloseMarkdown(reacted.body, reacted.state)).toContain('Failed (131047: Re-engagement message)');
  });

  it('falls back to the whole text for an activity edited by hand', () => {
    expect(parseCloseMarkdown('Typed in Close', 'customer')).toEqual({
      body: 'Typed in Close',
      state: { actor: 'customer', edited: false, revoked: false, reactions: [] },
      recognized: false,
    });
    expect(parseCloseMarkdown('x\n\n_WhatsApp · Robot_', 'business_app').recognized).toBe(false);
  });
});

describe('applyCloseMessageChange / mergeReplayedState', () => {
  const stored = {
    body: 'Hello',
    state: { actor: 'business_app', status: 'read', edited: false, revoked: false, reactions: [] } as CloseMessageState,
  };

  it('never moves a status backwards and replaces reactions per side', () => {
    expect(applyCloseMessageChange(stored, { kind: 'status', status: 'delivered', at: 't' }).state.status).toBe('read');
    const reacted = applyCloseMessageChange(stored, { kind: 'reaction', actor: 'customer', emoji: '👍', at: 't' });
    const replaced = applyCloseMessageChange(reacted, { kind: 'reaction', actor: 'customer', emoji: '😂', at: 't' });
    expect(replaced.state.reactions).toEqual([{ actor: 'customer', emoji: '😂' }]);
    expect(
      applyCloseMessageChange(replaced, { kind: 'reaction', actor: 'customer', emoji: null, at: 't' }).state.reactions,
    ).toEqual([]);
  });

  it('edits, revokes, and ignores an edit after a revoke', () => {
    const content = { kind: 'text', text: 'Hello!', summary: 'Hello!', placeholder: false };
    const edited = applyCloseMessageChange(stored, { kind: 'edit', content, at: 't' });
    expect(edited).toEqual({ body: 'Hello!', state: { ...stored.state, edited: true }, contentChanged: true });
    const revoked = applyCloseMessageChange(edited, { kind: 'revoke', at: 't' });
    expect(composeCloseMarkdown(revoked.body, revoked.state)).toBe(
      '_This message was deleted_\n\n_WhatsApp · Business App · Read · Edited · Deleted_',
    );
    expect(applyCloseMessageChange(revoked, { kind: 'edit', content, at: 't' }).body).toBe(
      '_This message was deleted_',
    );
  });

  it('merges a replay: status only upgrades, revoke and edit stick', () => {
    expect(
      mergeReplayedState(
        { actor: 'business_app', status: 'read', edited: true, revoked: true, reactions: [] },
        {
          actor: 'business_app',
          status: 'delivered',
          edited: false,
          revoked: false,
          reactions: [{ actor: 'customer', emoji: '👍' }],
        },
      ),
    ).toEqual({
      actor: 'business_app',
      status: 'read',
      edited: true,
      revoked: true,
      reactions: [{ actor: 'customer', emoji: '👍' }],
    });
  });
});
