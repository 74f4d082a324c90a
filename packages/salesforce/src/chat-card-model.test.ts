/**
 * Tests the LWC's view logic (`force-app/.../lwc/coexistChatCard/chatCardModel.js`, plain JS deployed to Salesforce)
 * and checks every binding of `coexistChatCard.html` resolves on the model it builds. The module is loaded through a
 * computed path: it is platform JS without type declarations, and the LWC bundle must not carry a `.d.ts`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const bundle = join(import.meta.dirname, '..', 'force-app', 'main', 'default', 'lwc', 'coexistChatCard');
type Model = Record<string, unknown> & { messages: Record<string, unknown>[] };
let buildChatCardModel: (data: unknown, now?: number, options?: object) => Model;

beforeAll(async () => {
  const modulePath: string = pathToFileURL(join(bundle, 'chatCardModel.js')).href;
  ({ buildChatCardModel } = await import(modulePath));
});

const now = Date.parse('2026-03-01T12:00:00Z');
const data = {
  conversation: {
    Id: 'a01000000000001AAA',
    Business_Phone__c: '+14155550100',
    Customer_Phone__c: '+16505551234',
    Owner_Side__c: 'business_app',
    Window_Expires_At__c: '2026-03-01T15:30:00.000+0000',
  },
  olderMessageCount: 4,
  // Newest first, as the controller returns them.
  messages: [
    {
      Id: 'a02000000000003AAA',
      Direction__c: 'outbound',
      Actor__c: 'business_app',
      Body__c: 'See you then',
      Sent_At__c: '2026-03-01T11:00:00.000+0000',
      Status__c: 'read',
      Edited__c: true,
      Reactions__c: '[{"actor":"customer","emoji":"👍"}]',
    },
    {
      Id: 'a02000000000002AAA',
      Direction__c: 'inbound',
      Actor__c: 'customer',
      Body__c: 'secret words',
      Sent_At__c: '2026-03-01T10:30:00.000+0000',
      Status__c: 'received',
      Revoked__c: true,
    },
    {
      Id: 'a02000000000001AAA',
      Direction__c: 'inbound',
      Actor__c: 'customer',
      Body__c: 'Look',
      Sent_At__c: '2026-03-01T10:00:00.000+0000',
      Status__c: 'received',
      Media_Type__c: 'image/jpeg',
      Media_Url__c: 'https://media.example/1',
    },
  ],
};

describe('chatCardModel.js', () => {
  it('builds the thread oldest first with actor, status, edits, revokes, media and reactions', () => {
    const model = buildChatCardModel(data, now, { timeZone: 'UTC' });
    expect(model.messages.map((message) => message.id)).toEqual([
      'a02000000000001AAA',
      'a02000000000002AAA',
      'a02000000000003AAA',
    ]);
    expect(model.messages[0]).toMatchObject({
      text: 'Look',
      mediaUrl: 'https://media.example/1',
      mediaLabel: 'Media: image/jpeg',
      actorLabel: 'Customer',
      statusLabel: '',
      bubbleClass: 'bubble bubble_inbound',
    });
    expect(model.messages[1]).toMatchObject({
      text: 'This message was deleted.',
      bubbleClass: 'bubble bubble_inbound bubble_revoked',
    });
    expect(JSON.stringify(model)).not.toContain('secret words');
    expect(model.messages[2]).toMatchObject({
      statusLabel: 'Read',
      reactions: '👍',
      meta: 'Rep (WhatsApp Business app) · Mar 1, 2026, 11:00 AM · Read · Edited',
      bubbleClass: 'bubble bubble_outbound',
    });
    expect(model).toMatchObject({
      hasConversation: true,
      title: 'WhatsApp · +16505551234',
      ownerLabel: 'Owned by: WhatsApp Business app',
      olderLabel: '4 older messages not shown',
    });
  });

  it('links media only by an http(s) URL', () => {
    const withUrl = (url: string | null) =>
      buildChatCardModel(
        { ...data, messages: [{ ...data.messages[2], Media_Type__c: 'image/jpeg', Media_Url__c: url }] },
        now,
        { timeZone: 'UTC' },
      ).messages[0];
    expect(withUrl('https://media.example/2')).toMatchObject({ mediaUrl: 'https://media.example/2' });
    for (const url of ['javascript:alert(document.domain)', 'JavaScript:alert(1)', 'data:text/html,x', null]) {
      expect(withUrl(url)?.mediaUrl).toBeUndefined();
      expect(withUrl(url)?.mediaLabel).toBe('Media: image/jpeg');
    }
  });

  it('shows the service window open with the time left, or closed with a template required', () => {
    expect(buildChatCardModel(data, now, { timeZone: 'UTC' }).window).toEqual({
      open: true,
      variant: 'open',
      className: 'window window_open',
      label: 'Service window open for 3 h 30 min (until Mar 1, 2026, 3:30 PM): free-form replies allowed.',
    });
    const later = buildChatCardModel(data, Date.parse('2026-03-02T00:00:00Z'), { timeZone: 'UTC' });
    expect(later.window).toMatchObject({ open: false, className: 'window window_closed' });
    expect(String((later.window as { label: string }).label)).toContain('Send a template');
    const never = buildChatCardModel(
      { ...data, conversation: { ...data.conversation, Window_Expires_At__c: null } },
      now,
    );
    expect(never.window).toMatchObject({ open: false });
  });

  it('warns about the number link when the Business app has not been used for days', () => {
    expect(buildChatCardModel(data, now).health).toMatchObject({ variant: 'ok' });
    expect(buildChatCardModel(data, now + 11 * 86_400_000).health).toMatchObject({
      variant: 'warning',
      label: 'Business app not used for 11 days: open WhatsApp Business within 3 days to keep the link.',
    });
    expect(buildChatCardModel(data, now + 15 * 86_400_000).health).toMatchObject({ variant: 'error' });
    expect(buildChatCardModel({ ...data, messages: [] }, now).health).toMatchObject({ variant: 'unknown' });
  });

  it('shows an empty state without a conversation', () => {
    expect(buildChatCardModel(null, now)).toEqual({
      hasConversation: false,
      emptyLabel: 'No WhatsApp conversation with this record yet.',
      messages: [],
    });
  });

  it('resolves every binding of the template on the model', () => {
    const html = readFileSync(join(bundle, 'coexistChatCard.html'), 'utf8');
    const model = buildChatCardModel(data, now);
    const component: Record<string, unknown> = { model, errorMessage: undefined };
    const iterators = new Map(
      [...html.matchAll(/for:each=\{([\w.]+)\}\s+for:item="(\w+)"/g)].map((match) => [match[2]!, match[1]!]),
    );
    const resolve = (target: unknown, path: string[]) =>
      path.reduce<{ found: boolean; value: unknown }>(
        (state, part) =>
          state.found && state.value !== null && typeof state.value === 'object' && part in (state.value as object)
            ? { found: true, value: (state.value as Record<string, unknown>)[part] }
            : { found: false, value: undefined },
        { found: true, value: target },
      );
    const bindings = [...html.matchAll(/\{([\w.]+)\}/g)].map((match) => match[1]!);
    expect(bindings.length).toBeGreaterThan(10);
    for (const binding of bindings) {
      const [head, ...rest] = binding.split('.');
      if (iterators.has(head!)) {
        const list = resolve(component, iterators.get(head!)!.split('.')).value as Record<string, unknown>[];
        for (const item of list) {
          const keys = Object.keys(item);
          expect(keys, `${binding} on every ${head}`).toContain(rest[0]);
        }
      } else if (head === 'errorMessage') {
        expect(head in component).toBe(true);
      } else {
        expect(resolve(component, binding.split('.')).found, binding).toBe(true);
      }
    }
  });
});
