import type { MessageRecord } from '@coexist/core';
import { describe, expect, it } from 'vitest';
import { applyMessageChange, parseReactions, toMessageFields } from './map-salesforce-message.ts';

const base: MessageRecord = {
  key: 'wamid.HBgL',
  direction: 'outbound',
  actor: 'business_app',
  occurredAt: '2026-03-01T09:00:00Z',
  source: 'live',
  contactCrmId: '003000000000001AAA',
  conversationKey: 'conversation:1',
  content: { kind: 'text', text: 'Hello', summary: 'Hello', placeholder: false },
  status: 'delivered',
};

const stored = {
  Id: 'a02000000000001AAA',
  Message_Id__c: 'wamid.HBgL',
  Status__c: 'delivered',
  Reactions__c: null,
  Revoked__c: false,
  Media_Url__c: null,
};

describe('toMessageFields', () => {
  it('maps every field of a text message', () => {
    expect(toMessageFields(base, { conversationId: 'a01000000000001AAA', ownerId: '005000000000001AAA' })).toEqual({
      Message_Id__c: 'wamid.HBgL',
      Conversation__c: 'a01000000000001AAA',
      Direction__c: 'outbound',
      Actor__c: 'business_app',
      Sent_At__c: '2026-03-01T09:00:00.000Z',
      Body__c: 'Hello',
      Edited__c: false,
      Revoked__c: false,
      Status__c: 'delivered',
      OwnerId: '005000000000001AAA',
    });
  });

  it('maps media, reactions, edits and revokes, and marks inbound messages received', () => {
    const fields = toMessageFields(
      {
        ...base,
        direction: 'inbound',
        actor: 'customer',
        status: undefined,
        content: {
          kind: 'image',
          caption: 'Look',
          summary: 'Look',
          placeholder: false,
          media: { id: 'm1', mimeType: 'image/jpeg', url: 'https://media.example/m1' },
        },
        reactions: [{ actor: 'business_app', emoji: '👍' }],
        editedAt: '2026-03-01T09:01:00Z',
        revoked: true,
      },
      { conversationId: 'a01000000000001AAA' },
    );
    expect(fields).toEqual({
      Message_Id__c: 'wamid.HBgL',
      Conversation__c: 'a01000000000001AAA',
      Direction__c: 'inbound',
      Actor__c: 'customer',
      Sent_At__c: '2026-03-01T09:00:00.000Z',
      Body__c: 'Look',
      Media_Type__c: 'image/jpeg',
      Media_Url__c: 'https://media.example/m1',
      Edited__c: true,
      Revoked__c: true,
      Status__c: 'received',
      Reactions__c: '[{"actor":"business_app","emoji":"👍"}]',
    });
  });

  it('leaves out an outbound status it does not know and a media URL too long for the field', () => {
    const fields = toMessageFields(
      {
        ...base,
        status: undefined,
        content: {
          kind: 'document',
          summary: '[document]',
          placeholder: false,
          media: { id: 'd', url: `https://x/${'a'.repeat(1000)}` },
        },
      },
      { conversationId: 'a01' },
    );
    expect(fields).not.toHaveProperty('Status__c');
    expect(fields).not.toHaveProperty('Media_Url__c');
    expect(fields.Media_Type__c).toBe('document');
  });

  it('stores only http(s) media URLs, which the chat card links', () => {
    const withUrl = (url: string) =>
      toMessageFields(
        { ...base, content: { kind: 'image', summary: '[image]', placeholder: false, media: { id: 'm', url } } },
        { conversationId: 'a01' },
      );
    expect(withUrl('HTTPS://media.example/m').Media_Url__c).toBe('HTTPS://media.example/m');
    for (const url of ['javascript:alert(document.domain)', 'data:text/html,<b>x</b>', ' https://x/y', 'ftp://x/y']) {
      expect(withUrl(url)).not.toHaveProperty('Media_Url__c');
      expect(withUrl(url).Media_Type__c).toBe('image');
    }
  });
});

describe('applyMessageChange', () => {
  it('upgrades a status but never downgrades it', () => {
    expect(applyMessageChange(stored, { kind: 'status', status: 'read', at: 'x' }).fields).toEqual({
      Status__c: 'read',
    });
    expect(applyMessageChange(stored, { kind: 'status', status: 'sent', at: 'x' }).fields).toEqual({});
    expect(
      applyMessageChange({ ...stored, Status__c: 'received' }, { kind: 'status', status: 'sent', at: 'x' }).fields,
    ).toEqual({
      Status__c: 'sent',
    });
  });

  it('edits content unless revoked, and revokes', () => {
    const content = { kind: 'text', text: 'Edited', summary: 'Edited', placeholder: false };
    expect(applyMessageChange(stored, { kind: 'edit', content, at: 'x' }).fields).toEqual({
      Body__c: 'Edited',
      Edited__c: true,
    });
    expect(applyMessageChange({ ...stored, Revoked__c: true }, { kind: 'edit', content, at: 'x' }).fields).toEqual({});
    expect(applyMessageChange(stored, { kind: 'revoke', at: 'x' })).toEqual({
      record: { ...stored, Revoked__c: true },
      fields: { Revoked__c: true },
    });
  });

  it('keeps one reaction per side and removes it with emoji null', () => {
    const first = applyMessageChange(stored, { kind: 'reaction', actor: 'customer', emoji: '❤️', at: 'x' });
    const second = applyMessageChange(first.record, { kind: 'reaction', actor: 'business_app', emoji: '👍', at: 'x' });
    const replaced = applyMessageChange(second.record, { kind: 'reaction', actor: 'customer', emoji: '😂', at: 'x' });
    expect(parseReactions(replaced.record.Reactions__c)).toEqual([
      { actor: 'business_app', emoji: '👍' },
      { actor: 'customer', emoji: '😂' },
    ]);
    const removed = applyMessageChange(replaced.record, { kind: 'reaction', actor: 'customer', emoji: null, at: 'x' });
    expect(removed.fields).toEqual({ Reactions__c: '[{"actor":"business_app","emoji":"👍"}]' });
  });

  it('fills a placeholder with the media that arrived later', () => {
    const content = {
      kind: 'image',
      summary: '[image]',
      placeholder: false,
      media: { id: 'm', mimeType: 'image/png', url: 'https://media.example/m' },
    };
    expect(applyMessageChange(stored, { kind: 'media', content, at: 'x' }).fields).toEqual({
      Body__c: '[image]',
      Media_Type__c: 'image/png',
      Media_Url__c: 'https://media.example/m',
    });
  });
});
