import { describe, expect, it } from 'vitest';
import type { CoexistenceEvent, MessageContent } from '../events/coexistence-event.ts';
import { CarriedUpdates, isCarriableUpdate } from './carried-updates.ts';

const common = {
  field: 'history',
  wabaId: 'WABA-1',
  phoneNumberId: 'PN-1',
  businessPhone: '+15550001001',
  occurredAt: '2026-03-01T09:00:00.000Z',
} as const;

function followUp(messageId: string): CoexistenceEvent {
  return {
    ...common,
    id: `media:${messageId}`,
    type: 'media.available',
    messageId,
    contact: { phone: '+15550002002' },
    actor: 'customer',
    message: { id: messageId, kind: 'image', media: { id: `media-${messageId}` } },
  };
}

function status(messageId: string, value: 'read' | 'failed', withError = false): CoexistenceEvent {
  return {
    ...common,
    field: 'messages',
    id: `status:${messageId}:${value}`,
    type: 'message.status',
    messageId,
    status: value,
    recipient: { phone: '+15550002002' },
    ...(withError ? { errors: [{ code: 131_026, title: 'Message undeliverable' }] } : {}),
  };
}

const placeholder: MessageContent = { id: 'wamid.1', kind: 'media_placeholder' };
const text: MessageContent = { id: 'wamid.1', kind: 'text', text: 'hi' };

describe('CarriedUpdates', () => {
  it('carries media follow-ups of placeholders and statuses other than failed, nothing else', () => {
    expect(isCarriableUpdate(followUp('wamid.1'), placeholder)).toBe(true);
    expect(isCarriableUpdate(followUp('wamid.1'), text)).toBe(false);
    expect(isCarriableUpdate(status('wamid.1', 'read'))).toBe(true);
    expect(isCarriableUpdate(status('wamid.1', 'failed'))).toBe(false);
    expect(isCarriableUpdate(status('wamid.1', 'failed', true))).toBe(false);
  });

  it('answers the updates of a message until a write carried them, then each carried one once', () => {
    const updates = new CarriedUpdates();
    const media = followUp('wamid.1');
    const read = status('wamid.1', 'read');
    updates.expect('wamid.1', media);
    updates.expect('wamid.1', read);
    updates.expect('wamid.1', read);
    updates.expect('wamid.1', status('wamid.1', 'failed', true));
    expect(updates.waiting).toBe(2);
    expect(updates.of('wamid.1', placeholder)).toEqual([media, read]);
    expect(updates.of('wamid.1', text)).toEqual([read]);
    expect(updates.of('wamid.2', placeholder)).toEqual([]);

    updates.carried('wamid.1', [media, read]);
    expect(updates.waiting).toBe(0);
    expect(updates.of('wamid.1', placeholder)).toEqual([]);
    expect(updates.consume(media.id)).toBe(true);
    expect(updates.consume(media.id)).toBe(false);
    expect(updates.consume(read.id)).toBe(true);
  });

  it('forgets an update applied on its own, and the oldest beyond its capacity', () => {
    const updates = new CarriedUpdates(2);
    updates.expect('wamid.1', followUp('wamid.1'));
    updates.forget('wamid.1', 'media:wamid.1');
    expect(updates.waiting).toBe(0);
    expect(updates.consume('media:wamid.1')).toBe(false);
    // Updates whose message never comes (a status of a message another app sent) must not keep new ones out.
    for (const id of ['wamid.2', 'wamid.3', 'wamid.4']) updates.expect(id, followUp(id));
    expect(updates.waiting).toBe(2);
    expect(updates.of('wamid.2', placeholder)).toEqual([]);
    expect(updates.of('wamid.4', placeholder)).toEqual([followUp('wamid.4')]);
    for (const id of ['wamid.3', 'wamid.4']) updates.carried(id, [followUp(id)]);
    updates.expect('wamid.5', followUp('wamid.5'));
    updates.carried('wamid.5', [followUp('wamid.5')]);
    expect(updates.consume('media:wamid.3')).toBe(false);
    expect(updates.consume('media:wamid.5')).toBe(true);
    updates.clear();
    expect(updates.of('wamid.4', placeholder)).toEqual([]);
  });
});
