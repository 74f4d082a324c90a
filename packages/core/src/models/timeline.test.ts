import { describe, expect, it } from 'vitest';
import type { CoexistenceEvent, DeliveryStatus } from '../events/coexistence-event.ts';
import { echoed, eventBase, received, status, text } from './__fixtures__/events.ts';
import { applyTimelineEvent, isStatusUpgrade, type TimelineMessage } from './timeline.ts';

function fold(events: CoexistenceEvent[], start?: TimelineMessage): TimelineMessage | undefined {
  return events.reduce<TimelineMessage | undefined>((message, event) => applyTimelineEvent(message, event), start);
}

describe('status progression', () => {
  it.each<[DeliveryStatus | undefined, DeliveryStatus, boolean]>([
    [undefined, 'sent', true],
    ['sent', 'delivered', true],
    ['delivered', 'read', true],
    ['read', 'played', true],
    ['read', 'delivered', false],
    ['played', 'read', false],
    ['delivered', 'delivered', false],
    [undefined, 'failed', true],
    ['sent', 'failed', true],
    ['delivered', 'failed', false],
    ['read', 'failed', false],
    ['failed', 'delivered', false],
  ])('%s → %s is an upgrade: %s', (current, next, expected) => {
    expect(isStatusUpgrade(current, next)).toBe(expected);
  });

  it('keeps read when a late delivered arrives', () => {
    const message = fold([
      echoed('wamid.1', '2026-03-01T09:00:00Z'),
      status('wamid.1', 'read', '2026-03-01T09:02:00Z'),
      status('wamid.1', 'delivered', '2026-03-01T09:01:00Z'),
      status('wamid.1', 'sent', '2026-03-01T09:00:01Z'),
    ]);
    expect(message?.status).toBe('read');
    expect(message?.statusAt).toBe('2026-03-01T09:02:00Z');
  });

  it('records failed with its error code only from sent', () => {
    const failed = fold([
      echoed('wamid.2', '2026-03-01T09:00:00Z'),
      status('wamid.2', 'sent', '2026-03-01T09:00:01Z'),
      status('wamid.2', 'failed', '2026-03-01T09:00:02Z'),
    ]);
    expect(failed).toMatchObject({ status: 'failed', statusErrorCode: 131047 });
    const delivered = fold([
      status('wamid.3', 'delivered', '2026-03-01T09:00:01Z'),
      status('wamid.3', 'failed', '2026-03-01T09:00:02Z'),
    ]);
    expect(delivered?.status).toBe('delivered');
  });
});

describe('messages seen only through a status', () => {
  it('become a Cloud API stub, replaced by the real content when it arrives', () => {
    const stub = fold([status('wamid.api', 'sent', '2026-03-01T09:00:01Z')]);
    expect(stub).toMatchObject({ actor: 'cloud_api', direction: 'outbound', stub: true, status: 'sent' });
    const real = applyTimelineEvent(stub, echoed('wamid.api', '2026-03-01T09:00:00Z'));
    expect(real).toMatchObject({
      actor: 'business_app',
      stub: false,
      status: 'sent',
      content: { text: 'Reply wamid.api' },
    });
  });

  it('take the echo that arrives after an edit or a revoke of the stub: sender, time and original content', () => {
    const update = { ...eventBase, actor: 'business_app' as const, originalMessageId: 'wamid.api' };
    const edited: CoexistenceEvent = {
      ...update,
      id: 'edit',
      type: 'message.edited',
      occurredAt: '2026-03-01T09:05:00Z',
      message: text('wamid.edit', 'Fixed typo'),
    };
    const revoked: CoexistenceEvent = {
      ...update,
      id: 'revoke',
      type: 'message.revoked',
      occurredAt: '2026-03-01T09:06:00Z',
    };
    const sent = status('wamid.api', 'sent', '2026-03-01T09:00:01Z');
    const echo = echoed('wamid.api', '2026-03-01T09:00:00Z');
    for (const order of [
      [sent, edited, echo],
      [echo, sent, edited],
    ]) {
      expect(fold(order)).toMatchObject({
        actor: 'business_app',
        stub: false,
        occurredAt: '2026-03-01T09:00:00Z',
        content: { id: 'wamid.api', text: 'Fixed typo' },
        originalContent: { text: 'Reply wamid.api' },
      });
    }
    expect(fold([sent, revoked, echo])).toMatchObject({
      actor: 'business_app',
      stub: false,
      revoked: true,
      content: { text: 'Reply wamid.api' },
    });
  });
});

describe('edits, revokes and reactions', () => {
  const edit = (id: string, at: string, body: string): CoexistenceEvent => ({
    ...eventBase,
    id: `edit:${id}`,
    type: 'message.edited',
    occurredAt: at,
    actor: 'customer',
    originalMessageId: 'wamid.m',
    message: text(id, body),
  });

  it('applies edits in time order, keeps the history and the original wamid, and is idempotent', () => {
    const message = fold([
      received('wamid.m', '2026-03-01T09:00:00Z'),
      edit('wamid.e2', '2026-03-01T09:05:00Z', 'second'),
      edit('wamid.e1', '2026-03-01T09:01:00Z', 'first'),
      edit('wamid.e2', '2026-03-01T09:05:00Z', 'second'),
    ]);
    expect(message?.content).toEqual({ id: 'wamid.m', kind: 'text', text: 'second' });
    expect(message?.edits.map((entry) => entry.id)).toEqual(['wamid.e1', 'wamid.e2']);
    expect(message?.originalContent?.text).toBe('Hello wamid.m');
    expect(message?.editedAt).toBe('2026-03-01T09:05:00Z');
  });

  it('marks a revoke and ignores later edits', () => {
    const revoke: CoexistenceEvent = {
      ...eventBase,
      id: 'revoke',
      type: 'message.revoked',
      occurredAt: '2026-03-01T09:02:00Z',
      actor: 'customer',
      originalMessageId: 'wamid.m',
    };
    const message = fold([
      received('wamid.m', '2026-03-01T09:00:00Z'),
      revoke,
      edit('wamid.e3', '2026-03-01T09:03:00Z', 'too late'),
    ]);
    expect(message).toMatchObject({
      revoked: true,
      revokedAt: '2026-03-01T09:02:00Z',
      content: { text: 'Hello wamid.m' },
    });
  });

  it('keeps one reaction per side, removal as null, and ignores an older reaction arriving late', () => {
    const reaction = (actor: 'customer' | 'business_app', emoji: string | null, at: string): CoexistenceEvent => ({
      ...eventBase,
      id: `reaction:${actor}:${at}`,
      type: 'message.reaction',
      occurredAt: at,
      actor,
      targetMessageId: 'wamid.m',
      emoji,
    });
    const message = fold([
      received('wamid.m', '2026-03-01T09:00:00Z'),
      reaction('customer', '👍', '2026-03-01T09:01:00Z'),
      reaction('business_app', '❤️', '2026-03-01T09:02:00Z'),
      reaction('customer', null, '2026-03-01T09:03:00Z'),
      reaction('customer', '😂', '2026-03-01T09:02:30Z'),
    ]);
    expect(message?.reactions).toEqual({
      customer: { emoji: null, at: '2026-03-01T09:03:00Z' },
      business_app: { emoji: '❤️', at: '2026-03-01T09:02:00Z' },
    });
  });

  it('returns undefined for an update whose message is not known yet', () => {
    expect(applyTimelineEvent(undefined, edit('wamid.e9', '2026-03-01T09:01:00Z', 'x'))).toBeUndefined();
  });
});

describe('history', () => {
  const placeholder = { id: 'wamid.h', kind: 'media_placeholder' };
  const media = { id: 'wamid.h', kind: 'image', caption: 'Beach', media: { id: 'media-1', mimeType: 'image/jpeg' } };
  const followUp: CoexistenceEvent = {
    ...eventBase,
    id: 'media',
    type: 'media.available',
    occurredAt: '2026-03-01T10:00:00Z',
    messageId: 'wamid.h',
    actor: 'customer',
    message: media,
  };

  it('replaces a placeholder by its media follow-up', () => {
    const message = fold([
      received('wamid.h', '2026-02-20T09:00:00Z', { source: 'history', content: placeholder }),
      followUp,
    ]);
    expect(message).toMatchObject({
      placeholder: false,
      content: { kind: 'image', caption: 'Beach' },
      occurredAt: '2026-02-20T09:00:00Z',
    });
  });

  it('keeps the media when the follow-up overtakes its placeholder', () => {
    const message = fold([
      followUp,
      received('wamid.h', '2026-02-20T09:00:00Z', { source: 'history', content: placeholder }),
    ]);
    expect(message).toMatchObject({ placeholder: false, direction: 'inbound', content: { kind: 'image' } });
  });

  it('takes sender, direction and time from the placeholder whichever of the two arrives first', () => {
    // The follow-up says less about the message than its placeholder: here another sender and a later time.
    const sentByApp = echoed('wamid.h', '2026-02-20T09:00:00Z', { source: 'history', content: placeholder });
    const expected = {
      direction: 'outbound',
      actor: 'business_app',
      occurredAt: '2026-02-20T09:00:00Z',
      placeholder: false,
      content: { kind: 'image', caption: 'Beach' },
    };
    expect(fold([sentByApp, followUp])).toMatchObject(expected);
    const overtaken = fold([followUp, sentByApp]);
    expect(overtaken).toMatchObject(expected);
    expect(overtaken?.fromMediaFollowUp).toBeUndefined();
  });

  it('never lets a history copy overwrite the richer live copy', () => {
    const live = received('wamid.l', '2026-03-01T09:00:00Z', {
      content: { id: 'wamid.l', kind: 'image', caption: 'live', media: { id: 'm' } },
    });
    const history = received('wamid.l', '2026-03-01T09:00:00Z', {
      source: 'history',
      content: { id: 'wamid.l', kind: 'media_placeholder' },
    });
    const message = fold([live, history]);
    expect(message).toMatchObject({ source: 'live', placeholder: false, content: { caption: 'live' } });
  });

  it('takes the live copy over an earlier history copy but keeps its status', () => {
    const history = echoed('wamid.x', '2026-03-01T09:00:00Z', {
      source: 'history',
      content: { ...text('wamid.x', 'old'), historyStatus: 'read' },
    });
    const message = fold([history, echoed('wamid.x', '2026-03-01T09:00:00Z', { content: text('wamid.x', 'new') })]);
    expect(message).toMatchObject({ source: 'live', status: 'read', content: { text: 'new' } });
  });
});
