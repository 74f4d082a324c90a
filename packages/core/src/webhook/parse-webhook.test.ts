import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CoexistenceEvent, EventOfType } from '../events/coexistence-event.ts';
import { parseWebhook } from './parse-webhook.ts';
import { WebhookValidationError } from './webhook-validation-error.ts';

const here = dirname(fileURLToPath(import.meta.url));
const META_FIXTURES = join(here, '__fixtures__', 'meta');
const SHARED_FIXTURES = '/work/shared/fixtures/meta';
const RECEIVED_AT = new Date('2026-01-02T03:04:05.000Z');

function load(name: string): unknown {
  return JSON.parse(readFileSync(join(META_FIXTURES, name), 'utf8'));
}

function parse(name: string): CoexistenceEvent[] {
  return parseWebhook(load(name), { receivedAt: RECEIVED_AT });
}

function only<T extends CoexistenceEvent['type']>(events: CoexistenceEvent[], type: T): EventOfType<T> {
  expect(events).toHaveLength(1);
  expect(events[0]!.type).toBe(type);
  return events[0] as EventOfType<T>;
}

/** Meta publishes some payloads as the `value` object only; wrap them the way they arrive. */
function asWebhook(name: string, payload: unknown): unknown {
  if (typeof payload === 'object' && payload !== null && 'entry' in payload) return payload;
  const field = name.split('-')[0]!;
  return {
    object: 'whatsapp_business_account',
    entry: [{ id: '102290129340398', changes: [{ field, value: payload }] }],
  };
}

const SHEENA = { phone: '+16505551234', waId: '16505551234', name: 'Sheena Nelson' };
const BUSINESS = { phoneNumberId: '106540352242922', businessPhone: '+15550783881' };

describe.skipIf(!existsSync(SHARED_FIXTURES))('the shared Meta fixtures folder', () => {
  const files = existsSync(SHARED_FIXTURES)
    ? readdirSync(SHARED_FIXTURES).filter((file) => file.endsWith('.json'))
    : [];

  it.each(files)('%s parses into at least one JSON-clean event', (file) => {
    const payload = JSON.parse(readFileSync(join(SHARED_FIXTURES, file), 'utf8'));
    const events = parseWebhook(asWebhook(file, payload), { receivedAt: RECEIVED_AT });
    expect(events.length).toBeGreaterThan(0);
    expect(JSON.parse(JSON.stringify(events))).toStrictEqual(events);
    expect(events.filter((event) => event.type === 'unknown')).toEqual([]);
  });

  it('has a copy of every shared fixture in __fixtures__/meta', () => {
    for (const file of files) {
      expect(readFileSync(join(META_FIXTURES, file), 'utf8')).toBe(readFileSync(join(SHARED_FIXTURES, file), 'utf8'));
    }
  });
});

describe('parseWebhook on the Meta fixtures (copies in __fixtures__/meta)', () => {
  it('maps an inbound text to message.received with the profile name and E.164 phones', () => {
    const event = only(parse('messages-text.json'), 'message.received');
    expect(event).toStrictEqual({
      type: 'message.received',
      id: 'message:wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
      field: 'messages',
      wabaId: '102290129340398',
      occurredAt: '2025-06-08T20:59:43.000Z',
      ...BUSINESS,
      contact: SHEENA,
      message: {
        id: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
        kind: 'text',
        text: 'Does it come in another color?',
      },
      source: 'live',
    });
  });

  it.each<[string, string, { caption?: string; mediaId: string }]>([
    ['messages-image.json', 'image', { caption: 'Taj Mahal', mediaId: '1003383421387256' }],
    ['messages-video.json', 'video', { caption: 'Timelapse of growth', mediaId: '731675419373506' }],
    ['messages-document.json', 'document', { caption: 'my receipt', mediaId: '622684793477189' }],
    ['messages-audio.json', 'audio', { mediaId: '1908647269898587' }],
    ['messages-sticker.json', 'sticker', { mediaId: '1908647269898587' }],
  ])('maps %s to a %s message with its media', (file, kind, expected) => {
    const event = only(parse(file), 'message.received');
    expect(event.message.kind).toBe(kind);
    expect(event.message.caption).toBe(expected.caption);
    expect(event.message.media?.id).toBe(expected.mediaId);
    expect(event.contact).toStrictEqual(SHEENA);
  });

  it('keeps media details: voice notes, animated stickers, document filenames', () => {
    expect(only(parse('messages-audio.json'), 'message.received').message.media).toMatchObject({
      mimeType: 'audio/ogg; codecs=opus',
      voice: true,
    });
    expect(only(parse('messages-sticker.json'), 'message.received').message.media?.animated).toBe(true);
    expect(only(parse('messages-document.json'), 'message.received').message.media?.filename).toBe('receipt.pdf');
  });

  it('maps location, contacts, button, order and system messages', () => {
    expect(only(parse('messages-location.json'), 'message.received').message.location).toStrictEqual({
      latitude: 37.44221496582,
      longitude: -122.16165924072,
      name: 'Philz Coffee',
      address: '101 Forest Ave, Palo Alto, CA 94301',
      url: 'https://philzcoffee.com/',
    });
    const cards = only(parse('messages-contacts.json'), 'message.received').message.contacts as { org: unknown }[];
    expect(cards[0]!.org).toStrictEqual({ company: 'Social Tsunami' });
    const button = only(parse('messages-button-template-quick-reply.json'), 'message.received').message;
    expect(button.button).toStrictEqual({ text: 'Unsubscribe', payload: 'Unsubscribe' });
    expect(button.context?.repliedToId).toBe('wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=');
    expect(only(parse('messages-order.json'), 'message.received').message.order).toMatchObject({
      catalog_id: '194836987003835',
    });
    const system = only(parse('messages-system-user_changed_number.json'), 'message.received');
    expect(system.message.system).toMatchObject({ type: 'user_changed_number', wa_id: '12195555358' });
    // No value.contacts[] here: the contact is the sender without a name.
    expect(system.contact).toStrictEqual({ phone: '+16505551234', waId: '16505551234' });
  });

  it('keeps the CTWA referral and the referred product as message context', () => {
    const ad = only(parse('messages-text-ctwa-referral.json'), 'message.received').message.context;
    expect(ad?.referral).toMatchObject({ source_type: 'ad', ctwa_clid: expect.stringMatching(/^Aff-/) });
    const product = only(parse('messages-text-product-inquiry-context.json'), 'message.received').message.context;
    expect(product).toStrictEqual({
      repliedToId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGA9wcm9kdWN0X2lucXVpcnkA',
      referral: { catalog_id: '194836987003835', product_retailer_id: 'di9ozbzfi4' },
    });
  });

  it('maps an inbound edit to message.edited with the new content under the edit wamid', () => {
    const event = only(parse('messages-edit-image.json'), 'message.edited');
    expect(event.id).toBe('edit:wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=');
    expect(event.actor).toBe('customer');
    expect(event.contact).toStrictEqual(SHEENA);
    expect(event.originalMessageId).toBe('wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=');
    expect(event.message).toMatchObject({
      id: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=',
      kind: 'image',
      caption: 'Updated image caption',
      media: { id: '1234567890' },
    });
  });

  it('maps the older unsupported-edit to message.edited without content', () => {
    const event = only(parse('messages-unsupported.json'), 'message.edited');
    expect(event.actor).toBe('customer');
    expect(event.originalMessageId).toBeUndefined();
    expect(event.message).toBeUndefined();
    expect('message' in event).toBe(false);
  });

  it('maps a revoke to message.revoked', () => {
    const event = only(parse('messages-revoke.json'), 'message.revoked');
    expect(event).toMatchObject({
      id: 'revoke:wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=',
      actor: 'customer',
      originalMessageId: 'wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=',
      messageId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=',
      contact: SHEENA,
    });
  });

  it('maps value-level errors to webhook.error, dated by receipt when Meta gives no time', () => {
    const event = only(parse('messages-value-errors.json'), 'webhook.error');
    expect(event).toMatchObject({ code: 130429, title: 'Rate limit hit', occurredAt: RECEIVED_AT.toISOString() });
    expect(event.details).toMatch(/too many messages/);
    expect(event.id).toMatch(/^webhook-error:[0-9a-f]{64}$/);
  });

  it('maps statuses with pricing, conversation, errors and the recipient', () => {
    const delivered = only(parse('statuses-delivered-cbp.json'), 'message.status');
    expect(delivered).toStrictEqual({
      type: 'message.status',
      id: 'status:wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MTE5MjVBOTE3MDk5QUVFM0YA:delivered',
      field: 'messages',
      wabaId: '102290129340398',
      occurredAt: '2025-06-18T16:22:53.000Z',
      ...BUSINESS,
      messageId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MTE5MjVBOTE3MDk5QUVFM0YA',
      status: 'delivered',
      recipient: { phone: '+16505551234', waId: '16505551234' },
      pricing: { billable: true, pricingModel: 'CBP', category: 'service' },
      conversationId: '6ceb9d929c9bdc4f90e967a32f8639b4',
    });
    expect(only(parse('statuses-sent-pmp.json'), 'message.status').pricing).toStrictEqual({
      billable: true,
      pricingModel: 'PMP',
      category: 'marketing',
      type: 'regular',
    });
    const bare = only(parse('statuses-sent-v24-no-conversation-no-pricing.json'), 'message.status');
    expect(Object.keys(bare)).not.toContain('pricing');
    expect(Object.keys(bare)).not.toContain('conversationId');
    const failed = only(parse('statuses-failed.json'), 'message.status');
    expect(failed.status).toBe('failed');
    expect(failed.errors).toStrictEqual([
      {
        code: 131049,
        title: 'This message was not delivered to maintain healthy ecosystem engagement.',
        message: 'This message was not delivered to maintain healthy ecosystem engagement.',
        details: 'In order to maintain a healthy ecosystem engagement, the message failed to be delivered.',
        href: '/documentation/business-messaging/whatsapp/support/error-codes',
      },
    ]);
  });

  it('maps an echo to message.echoed with the customer (`to`) as contact', () => {
    const event = only(parse('smb_message_echoes-text.json'), 'message.echoed');
    expect(event).toMatchObject({
      id: 'message:wamid.HBgLMTY0NjcwNDM1OTUVAgARGBIyNDlBOEI5QUQ4NDc0N0FCNjMA',
      contact: { phone: '+16505551234', waId: '16505551234' },
      source: 'live',
      occurredAt: '2025-02-12T00:43:44.000Z',
    });
  });

  it('maps a Business App contact add to contact.synced', () => {
    const event = only(parse('smb_app_state_sync-contact-add.json'), 'contact.synced');
    expect(event.id).toMatch(/^contact:106540352242922:add:\+16505551234:1739321024:[0-9a-f]{16}$/);
    expect(event.contact).toStrictEqual({
      phone: '+16505551234',
      waId: '16505551234',
      name: 'Pablo Morales',
      firstName: 'Pablo',
    });
  });

  it('maps a history chunk to history.chunk followed by each message in direction', () => {
    const events = parse('history-phase0-chunk.json');
    expect(events.map((event) => event.type)).toEqual([
      'history.chunk',
      'message.echoed',
      'message.echoed',
      'message.received',
      'message.echoed',
    ]);
    expect(events[0]).toStrictEqual({
      type: 'history.chunk',
      id: 'history:106540352242922:0:1',
      field: 'history',
      wabaId: '102290129340398',
      occurredAt: RECEIVED_AT.toISOString(),
      ...BUSINESS,
      phase: 0,
      chunkOrder: 1,
      progress: 55,
      threadCount: 2,
      messageCount: 4,
    });
    const placeholder = events[2] as EventOfType<'message.echoed'>;
    expect(placeholder.message).toStrictEqual({
      id: 'wamid.QyNUEHBgLMTY0NjcwNDM1OTUVAgARGBI1Rj3NEYxMzAzMzQ5MkEA',
      kind: 'media_placeholder',
      historyStatus: 'played',
    });
    const received = events[3] as EventOfType<'message.received'>;
    expect(received).toMatchObject({ source: 'history', contact: { phone: '+16505551234' } });
    expect(received.message.historyStatus).toBe('read');
    expect((events[4] as EventOfType<'message.echoed'>).contact.phone).toBe('+12125557890');
  });

  it('maps the history media follow-up to media.available keyed by the placeholder wamid', () => {
    const event = only(parse('history-media-asset-followup.json'), 'media.available');
    expect(event).toMatchObject({
      id: 'media:wamid.QyNUEHBgLMTY0NjcwNDM1OTUVAgARGBI1Rj3NEYxMzAzMzQ5MkEA',
      messageId: 'wamid.QyNUEHBgLMTY0NjcwNDM1OTUVAgARGBI1Rj3NEYxMzAzMzQ5MkEA',
      actor: 'customer',
      contact: { phone: '+16505551234' },
      message: { kind: 'image', caption: 'Black Prince echeveria', media: { id: '24230790383178626' } },
    });
  });

  it('maps account_update events, routed by the WABA id and dated by entry.time', () => {
    const deleted = only(parse('account_update-account_deleted.json'), 'account.updated');
    expect(deleted).toMatchObject({
      event: 'ACCOUNT_DELETED',
      wabaId: '102290129340398',
      occurredAt: '2025-03-31T20:11:43.000Z',
      raw: { event: 'ACCOUNT_DELETED' },
    });
    expect(deleted.id).toMatch(/^account:102290129340398:ACCOUNT_DELETED:1743451903:[0-9a-f]{16}$/);
    expect(only(parse('account_update-disabled_update.json'), 'account.updated').raw).toMatchObject({
      ban_info: { waba_ban_state: 'REINSTATE' },
    });
    expect(only(parse('account_update-partner_added.json'), 'account.updated').event).toBe('PARTNER_ADDED');
    const removed = only(parse('account_update-partner_removed-with-phone_number.json'), 'account.disconnected');
    expect(removed.businessPhone).toBe('+15550783881');
    expect(removed.reason).toBeUndefined();
  });

  it('reads account_update changes whose field/object Meta misplaced onto the entry or into the value', () => {
    const installed = only(parse('account_update-partner_app_installed-misplaced-field.json'), 'account.updated');
    expect(installed).toMatchObject({
      field: 'account_update',
      event: 'PARTNER_APP_INSTALLED',
      wabaId: '2949482758682047',
    });
    const uninstalled = only(parse('account_update-partner_app_uninstalled-misplaced-field.json'), 'account.updated');
    expect(uninstalled).toMatchObject({ field: 'account_update', event: 'PARTNER_APP_UNINSTALLED' });
  });

  it('emits only JSON-clean events (no undefined-valued keys) for every copied fixture', () => {
    for (const file of readdirSync(META_FIXTURES)) {
      const events = parseWebhook(asWebhook(file, load(file)), { receivedAt: RECEIVED_AT });
      expect(JSON.parse(JSON.stringify(events))).toStrictEqual(events);
    }
  });
});

describe('parseWebhook input checks', () => {
  it('rejects a body that is not a webhook with a WebhookValidationError at the body or `entry`', () => {
    for (const body of [null, 'text', 42, [], {}]) {
      expect(() => parseWebhook(body)).toThrow(WebhookValidationError);
    }
    const error = catchValidationError(() => parseWebhook({ object: 'whatsapp_business_account' }));
    expect(error.path).toBe('entry');
    expect(error.message).toMatch(/^\[coexist\/core\] Invalid webhook at entry: /);
  });

  it('rejects an invalid receivedAt', () => {
    expect(() => parseWebhook(load('messages-text.json'), { receivedAt: new Date('nope') })).toThrow(
      /options\.receivedAt must be a valid Date/,
    );
  });

  it('does not modify the body', () => {
    const body = load('history-phase0-chunk.json');
    const before = JSON.stringify(body);
    parseWebhook(body);
    expect(JSON.stringify(body)).toBe(before);
  });
});

function catchValidationError(run: () => unknown): WebhookValidationError {
  try {
    run();
  } catch (error) {
    if (error instanceof WebhookValidationError) return error;
    throw error;
  }
  throw new Error('expected a WebhookValidationError');
}
