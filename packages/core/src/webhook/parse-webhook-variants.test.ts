import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CoexistenceEvent, EventOfType } from '../events/coexistence-event.ts';
import { parseWebhook } from './parse-webhook.ts';
import { WebhookValidationError } from './webhook-validation-error.ts';

const here = dirname(fileURLToPath(import.meta.url));
const RECEIVED_AT = new Date('2026-01-02T03:04:05.000Z');
const BSUID = 'US.13491208655302741918';

function load(folder: 'meta' | 'variants', name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(here, '__fixtures__', folder, name), 'utf8'));
}

function parseVariant(name: string): CoexistenceEvent[] {
  return parseWebhook(load('variants', name), { receivedAt: RECEIVED_AT });
}

function ofType<T extends CoexistenceEvent['type']>(event: CoexistenceEvent | undefined, type: T): EventOfType<T> {
  expect(event?.type).toBe(type);
  return event as EventOfType<T>;
}

function validationError(run: () => unknown): WebhookValidationError {
  try {
    run();
  } catch (error) {
    if (error instanceof WebhookValidationError) return error;
    throw error;
  }
  throw new Error('expected a WebhookValidationError');
}

const metadata = { display_phone_number: '15550783881', phone_number_id: '106540352242922' };

function messagesWebhook(messages: unknown[], extra: Record<string, unknown> = {}): unknown {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata, messages, ...extra } }],
      },
    ],
  };
}

function textMessage(index: number, timestamp: string | number = String(1750000000 + index)): unknown {
  return {
    from: '16505551234',
    id: `wamid.BATCH-${index}`,
    timestamp,
    type: 'text',
    text: { body: `message ${index}` },
  };
}

describe('BSUID and empty phone strings', () => {
  it('names the user by BSUID and username, never keeping Meta’s empty strings', () => {
    const [received, status] = parseVariant('messages-bsuid-empty-phones.json');
    const message = ofType(received, 'message.received');
    expect(message.contact).toStrictEqual({
      userId: BSUID,
      parentUserId: 'US.ENT.11815799212886844830',
      username: 'pablo.m',
      name: 'Pablo',
      countryCode: 'US',
    });
    const delivery = ofType(status, 'message.status');
    expect(delivery.status).toBe('read');
    expect(delivery.recipient.userId).toBe(BSUID);
    expect(delivery.recipient).not.toHaveProperty('phone');
    expect(JSON.stringify([received, status])).not.toContain('""');
  });

  it('keys a BSUID-only contact change on the user id', () => {
    const [removed, synced] = parseVariant('smb_app_state_sync-contact-remove-and-bsuid.json');
    expect(synced?.id.startsWith(`contact:106540352242922:add:${BSUID}:1739321200:`)).toBe(true);
    expect(ofType(synced, 'contact.synced')).toMatchObject({
      contact: { userId: BSUID, username: 'pablo.m', name: 'Pablo Morales', firstName: 'Pablo', countryCode: 'US' },
    });
    expect(ofType(synced, 'contact.synced').contact).not.toHaveProperty('phone');
    expect(removed?.type).toBe('contact.removed');
  });
});

describe('echoes', () => {
  it('maps echo text, edit, revoke and reaction with the business as actor and the customer as contact', () => {
    const [text, edit, revoke, reaction] = parseVariant('smb_message_echoes-edit-revoke-reaction.json');
    // `to` is "" here: the customer comes from to_user_id, completed by value.contacts[].
    expect(ofType(text, 'message.echoed')).toMatchObject({
      id: 'message:wamid.ECHO-TEXT-1',
      contact: { userId: BSUID, username: 'pablo.m', countryCode: 'US' },
      occurredAt: '2026-03-31T23:36:40.000Z',
    });
    expect(ofType(text, 'message.echoed').contact).not.toHaveProperty('phone');
    expect(ofType(edit, 'message.edited')).toMatchObject({
      id: 'edit:wamid.ECHO-EDIT-1',
      actor: 'business_app',
      contact: { phone: '+16505551234' },
      originalMessageId: 'wamid.ECHO-TEXT-0',
      message: { id: 'wamid.ECHO-EDIT-1', kind: 'text', text: 'Your order ships tomorrow' },
    });
    expect(ofType(revoke, 'message.revoked')).toMatchObject({
      id: 'revoke:wamid.ECHO-REVOKE-1',
      actor: 'business_app',
      originalMessageId: 'wamid.ECHO-TEXT-0',
      messageId: 'wamid.ECHO-REVOKE-1',
    });
    expect(ofType(reaction, 'message.reaction')).toMatchObject({
      id: 'reaction:wamid.ECHO-REACT-1',
      actor: 'business_app',
      targetMessageId: 'wamid.IN-7',
      emoji: '❤️',
    });
  });

  it('takes `from` as the customer when an echo has from/to swapped (the pywa fixture slip)', () => {
    const [edit] = parseVariant('smb_message_echoes-pywa-swapped-direction.json');
    expect(ofType(edit, 'message.edited').contact).toStrictEqual({ phone: '+16505551234', waId: '16505551234' });
  });
});

describe('reactions and interactive replies', () => {
  it('maps a reaction and its removal (no emoji) to message.reaction, the removal with emoji null', () => {
    const [added, removed] = parseVariant('messages-reaction-and-removal.json');
    expect(ofType(added, 'message.reaction')).toMatchObject({
      actor: 'customer',
      emoji: '👍',
      targetMessageId: 'wamid.OUT-1',
    });
    expect(ofType(removed, 'message.reaction')).toMatchObject({
      id: 'reaction:wamid.REACT-2',
      emoji: null,
      targetMessageId: 'wamid.OUT-1',
      contact: { name: 'Sheena Nelson' },
    });
  });

  it('maps button_reply, list_reply and nfm_reply', () => {
    const events = parseVariant('messages-interactive-replies.json').map(
      (event) => ofType(event, 'message.received').message,
    );
    expect(events[0]!.interactive).toStrictEqual({ kind: 'button_reply', replyId: 'confirm', title: 'Confirm order' });
    expect(events[0]!.context?.repliedToId).toBe('wamid.OUT-BUTTONS');
    expect(events[1]!.interactive).toStrictEqual({
      kind: 'list_reply',
      replyId: 'slot-3',
      title: 'Tuesday 10:00',
      description: 'In store, Palo Alto',
    });
    expect(events[2]!.interactive).toMatchObject({ kind: 'nfm_reply', responseJson: '{"flow_token":"abc"}' });
  });
});

describe('history variants', () => {
  it('reads lowercase statuses, from_me, string counters and BSUID threads', () => {
    const events = parseVariant('history-lowercase-from-me-string-counters.json');
    expect(events.map((event) => event.type)).toEqual([
      'history.chunk',
      'message.received',
      'message.echoed',
      'message.reaction',
      'message.received',
      'message.echoed',
    ]);
    expect(ofType(events[0], 'history.chunk')).toMatchObject({
      id: 'history:106540352242922:1:2',
      phase: 1,
      chunkOrder: 2,
      progress: 100,
      threadCount: 2,
      messageCount: 5,
    });
    expect(ofType(events[1], 'message.received').message.historyStatus).toBe('read');
    const fromMe = ofType(events[2], 'message.echoed');
    expect(fromMe).toMatchObject({ source: 'history', contact: { phone: '+16505551234' } });
    expect(fromMe.message.historyStatus).toBe('delivered');
    expect(ofType(events[3], 'message.reaction').actor).toBe('customer');
    const username = ofType(events[4], 'message.received');
    expect(username.contact).toStrictEqual({ userId: BSUID, username: 'pablo.m', countryCode: 'US' });
    expect(username.message.historyStatus).toBe('read');
    // from_me decides even when `from` is not the display number.
    expect(ofType(events[5], 'message.echoed').message).toMatchObject({
      kind: 'media_placeholder',
      historyStatus: 'sent',
    });
  });

  it('gives a history message the same id as the same message seen live, so overlaps dedupe', () => {
    const history = parseWebhook(load('meta', 'history-phase0-chunk.json'));
    const live = parseWebhook(load('meta', 'smb_message_echoes-text.json'));
    expect(history[1]!.id).toBe(live[0]!.id);
  });

  it('maps a declined history inside the normal envelope to history.declined', () => {
    const [declined] = parseVariant('history-declined-in-envelope.json');
    expect(ofType(declined, 'history.declined')).toStrictEqual({
      type: 'history.declined',
      id: 'history-declined:106540352242922:2593109',
      field: 'history',
      wabaId: '102290129340398',
      occurredAt: RECEIVED_AT.toISOString(),
      phoneNumberId: '106540352242922',
      businessPhone: '+15550783881',
      code: 2593109,
      details: 'History sharing is turned off by the business',
    });
  });

  it('maps business-sent media follow-ups (message_echoes under history) to media.available', () => {
    const [media] = parseVariant('history-media-followup-echoes-bsuid.json');
    expect(ofType(media, 'media.available')).toMatchObject({
      id: 'media:wamid.GUP-5',
      messageId: 'wamid.GUP-5',
      actor: 'business_app',
      contact: { userId: BSUID, username: 'pablo.m' },
      message: { kind: 'image', media: { id: '555000111' } },
    });
  });

  it('rejects a history item that is neither a chunk nor errors, naming what the chunk it resembles lacks', () => {
    const body = load('variants', 'history-declined-in-envelope.json');
    const value = (body.entry as { changes: { value: { history: unknown[] } }[] }[])[0]!.changes[0]!.value;
    value.history = [{ threads: [] }];
    expect(validationError(() => parseWebhook(body)).path).toBe('entry[0].changes[0].value.history[0].metadata');
  });

  it('names the counter when a chunk’s phase is not a number', () => {
    const body = load('meta', 'history-phase0-chunk.json');
    const value = (body.entry as { changes: { value: { history: { metadata: { phase: unknown } }[] } }[] }[])[0]!
      .changes[0]!.value;
    value.history[0]!.metadata.phase = 'first';
    const error = validationError(() => parseWebhook(body));
    expect(error.path).toBe('entry[0].changes[0].value.history[0].metadata.phase');
  });

  it('names the field deep inside a chunk: a thread message without a type, a chunk without its progress', () => {
    type Chunk = { metadata: Record<string, unknown>; threads: { messages: Record<string, unknown>[] }[] };
    const chunkOf = (body: Record<string, unknown>) =>
      (body.entry as { changes: { value: { history: Chunk[] } }[] }[])[0]!.changes[0]!.value.history[0]!;
    const untyped = load('meta', 'history-phase0-chunk.json');
    delete chunkOf(untyped).threads[0]!.messages[0]!.type;
    const error = validationError(() => parseWebhook(untyped));
    expect(error.path).toBe('entry[0].changes[0].value.history[0].threads[0].messages[0].type');
    expect(error.message).toMatch(/expected string/);
    const unmeasured = load('meta', 'history-phase0-chunk.json');
    delete chunkOf(unmeasured).metadata.progress;
    expect(validationError(() => parseWebhook(unmeasured)).path).toBe(
      'entry[0].changes[0].value.history[0].metadata.progress',
    );
  });
});

describe('account lifecycle', () => {
  it('maps PARTNER_REMOVED with disconnection_info to account.disconnected with reason and initiator', () => {
    const [event] = parseVariant('account_update-partner_removed-disconnection_info.json');
    expect(ofType(event, 'account.disconnected')).toMatchObject({
      reason: 'PRIMARY_INACTIVITY',
      initiatedBy: 'SYSTEM',
      occurredAt: '2026-05-17T06:40:00.000Z',
    });
  });

  it('maps ACCOUNT_OFFBOARDED and ACCOUNT_RECONNECTED', () => {
    expect(parseVariant('account_update-account_offboarded.json')[0]?.type).toBe('account.offboarded');
    expect(parseVariant('account_update-account_reconnected.json')[0]?.type).toBe('account.reconnected');
  });
});

describe('unknown fields and message types', () => {
  it('turns an unknown field, an unknown message type and an unknown array into unknown events carrying the raw item', () => {
    const [field, messageType, preferences] = parseVariant('unknown-field-and-message-type.json');
    expect(ofType(field, 'unknown')).toMatchObject({
      field: 'calls',
      path: 'entry[0].changes[0].value',
      phoneNumberId: '106540352242922',
      raw: { calls: [{ id: 'wacid.1', event: 'connect' }] },
    });
    expect(ofType(messageType, 'unknown')).toMatchObject({
      field: 'messages',
      path: 'entry[0].changes[1].value.messages[0]',
      raw: { type: 'poll_vote', poll_vote: { option: 'B' } },
      contact: { phone: '+16505551234', name: 'Sheena Nelson' },
      occurredAt: '2025-06-15T15:13:20.000Z',
    });
    expect(ofType(preferences, 'unknown')).toMatchObject({
      path: 'entry[0].changes[1].value.user_preferences[0]',
      raw: { category: 'marketing_messages', value: 'stop' },
    });
    for (const event of [field, messageType, preferences]) expect(event!.id).toMatch(/^unknown:[0-9a-f]{64}$/);
  });

  it('turns an unknown status value and an unknown state_sync action into unknown events', () => {
    const events = parseWebhook(
      messagesWebhook([], {
        statuses: [{ id: 'wamid.X', status: 'deleted', timestamp: '1750000000', recipient_id: '16505551234' }],
        state_sync: [{ type: 'contact', action: 'merge', contact: { phone_number: '16505551234' } }],
      }),
    );
    expect(events.map((event) => event.type)).toEqual(['unknown', 'unknown']);
    expect(ofType(events[0], 'unknown').contact?.phone).toBe('+16505551234');
  });

  it('keeps a known field whose value has nothing to read as one unknown event', () => {
    const body = {
      entry: [
        { id: '1', changes: [{ field: 'smb_message_echoes', value: { messaging_product: 'whatsapp', metadata } }] },
      ],
    };
    const [event] = parseWebhook(body);
    expect(ofType(event, 'unknown').path).toBe('entry[0].changes[0].value');
  });
});

describe('batches', () => {
  it('yields one event per update in a 1,000-message batch, in payload order', () => {
    const messages = Array.from({ length: 1000 }, (_, index) => textMessage(index));
    const events = parseWebhook(messagesWebhook(messages));
    expect(events).toHaveLength(1000);
    expect(events.map((event) => event.id)).toEqual(messages.map((_, index) => `message:wamid.BATCH-${index}`));
  });

  it('reads every entry and every change, not only the first', () => {
    const change = (index: number) => ({
      field: 'messages',
      value: { messaging_product: 'whatsapp', metadata, messages: [textMessage(index), textMessage(index + 100)] },
    });
    const body = {
      object: 'whatsapp_business_account',
      entry: [
        { id: 'A', changes: [change(1), change(2)] },
        { id: 'B', changes: [change(3)] },
      ],
    };
    const events = parseWebhook(body);
    expect(events.map((event) => `${event.wabaId}:${event.id}`)).toEqual([
      'A:message:wamid.BATCH-1',
      'A:message:wamid.BATCH-101',
      'A:message:wamid.BATCH-2',
      'A:message:wamid.BATCH-102',
      'B:message:wamid.BATCH-3',
      'B:message:wamid.BATCH-103',
    ]);
  });

  it('follows the payload’s own key order inside a value (statuses before messages when Meta sends them so)', () => {
    const body = messagesWebhook([textMessage(1)]) as { entry: { changes: { value: Record<string, unknown> }[] }[] };
    const value = body.entry[0]!.changes[0]!.value;
    body.entry[0]!.changes[0]!.value = {
      statuses: [{ id: 'wamid.S', status: 'read', timestamp: '1', recipient_id: '1' }],
      ...value,
    };
    expect(parseWebhook(body).map((event) => event.type)).toEqual(['message.status', 'message.received']);
  });
});

describe('timestamps', () => {
  it('accepts numeric and string timestamps alike', () => {
    const [fromString] = parseWebhook(messagesWebhook([textMessage(1, '1750000000')]));
    const [fromNumber] = parseWebhook(messagesWebhook([textMessage(1, 1750000000)]));
    expect(fromNumber).toStrictEqual(fromString);
    expect(fromString!.occurredAt).toBe('2025-06-15T15:06:40.000Z');
  });

  it('falls back to entry.time, then to receivedAt', () => {
    const withTime = { entry: [{ id: '1', time: 1739321024, changes: [{ field: 'x', value: {} }] }] };
    expect(parseWebhook(withTime, { receivedAt: RECEIVED_AT })[0]!.occurredAt).toBe('2025-02-12T00:43:44.000Z');
    const withoutTime = { entry: [{ id: '1', changes: [{ field: 'x', value: {} }] }] };
    expect(parseWebhook(withoutTime, { receivedAt: RECEIVED_AT })[0]!.occurredAt).toBe(RECEIVED_AT.toISOString());
  });

  it('rejects a timestamp that is not a number with a WebhookValidationError naming its exact path', () => {
    const messages = [textMessage(0), textMessage(1, 'yesterday')];
    const error = validationError(() => parseWebhook(messagesWebhook(messages)));
    expect(error.name).toBe('WebhookValidationError');
    expect(error.path).toBe('entry[0].changes[0].value.messages[1].timestamp');
    expect(error.message).toBe(
      '[coexist/core] Invalid webhook at entry[0].changes[0].value.messages[1].timestamp: expected Unix seconds as a number or a string of digits',
    );
    expect(error.issues[0]).toStrictEqual({
      path: error.path,
      message: 'expected Unix seconds as a number or a string of digits',
    });
  });

  it.each([
    ['a boolean', true],
    ['a negative number', -5],
    ['a date string', '2025-06-15T15:06:40Z'],
    ['beyond what a Date holds', '99999999999999'],
  ])('rejects a timestamp that is %s', (_, timestamp) => {
    const error = validationError(() => parseWebhook(messagesWebhook([textMessage(0, timestamp as string)])));
    expect(error.path).toBe('entry[0].changes[0].value.messages[0].timestamp');
  });

  it('names the path of a wrong status timestamp, entry.time and state_sync timestamp', () => {
    const status = messagesWebhook([], { statuses: [{ id: 'w', status: 'sent', timestamp: 'x', recipient_id: '1' }] });
    expect(validationError(() => parseWebhook(status)).path).toBe('entry[0].changes[0].value.statuses[0].timestamp');
    const entryTime = { entry: [{ id: '1', time: 'noon', changes: [] }] };
    expect(validationError(() => parseWebhook(entryTime)).path).toBe('entry[0].time');
    const sync = load('meta', 'smb_app_state_sync-contact-add.json');
    const item = (sync.entry as { changes: { value: { state_sync: { metadata: { timestamp: unknown } }[] } }[] }[])[0]!
      .changes[0]!.value.state_sync[0]!;
    item.metadata.timestamp = { seconds: 1 };
    expect(validationError(() => parseWebhook(sync)).path).toBe(
      'entry[0].changes[0].value.state_sync[0].metadata.timestamp',
    );
  });
});

describe('ids', () => {
  it('gives a redelivered webhook identical events, ids included', () => {
    for (const [folder, file] of [
      ['meta', 'history-phase0-chunk.json'],
      ['meta', 'messages-value-errors.json'],
      ['meta', 'account_update-partner_app_installed-misplaced-field.json'],
      ['variants', 'unknown-field-and-message-type.json'],
      ['variants', 'smb_app_state_sync-contact-remove-and-bsuid.json'],
    ] as const) {
      const first = parseWebhook(load(folder, file), { receivedAt: RECEIVED_AT });
      const redelivered = parseWebhook(load(folder, file), { receivedAt: new Date('2026-01-09T00:00:00.000Z') });
      expect(redelivered.map((event) => event.id)).toEqual(first.map((event) => event.id));
    }
  });

  it('gives each status its own id and the same status the same id', () => {
    const status = (value: string) => ({ id: 'wamid.S', status: value, timestamp: '1750000000', recipient_id: '1' });
    const events = parseWebhook(
      messagesWebhook([], { statuses: [status('sent'), status('delivered'), status('read'), status('READ')] }),
    );
    expect(events.map((event) => event.id)).toEqual([
      'status:wamid.S:sent',
      'status:wamid.S:delivered',
      'status:wamid.S:read',
      'status:wamid.S:read',
    ]);
  });

  it('never gives two different events of one payload the same id', () => {
    const unknownItems = [{ kind: 'a' }, { kind: 'a' }, { kind: 'b' }];
    const events = parseWebhook(
      messagesWebhook(
        [
          textMessage(1),
          {
            from: '16505551234',
            id: 'wamid.R',
            timestamp: '1',
            type: 'reaction',
            reaction: { message_id: 'wamid.BATCH-1' },
          },
          {
            from: '16505551234',
            id: 'wamid.E',
            timestamp: '1',
            type: 'edit',
            edit: { original_message_id: 'wamid.BATCH-1' },
          },
          {
            from: '16505551234',
            id: 'wamid.V',
            timestamp: '1',
            type: 'revoke',
            revoke: { original_message_id: 'wamid.BATCH-1' },
          },
        ],
        {
          statuses: [{ id: 'wamid.BATCH-1', status: 'sent', timestamp: '1', recipient_id: '1' }],
          errors: [{ code: 1 }, { code: 1 }],
          future_things: unknownItems,
        },
      ),
    );
    expect(events).toHaveLength(10);
    expect(new Set(events.map((event) => event.id)).size).toBe(events.length);
  });
});
