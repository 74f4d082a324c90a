import { describe, expect, it } from 'vitest';
import { echoed, received, status } from './__fixtures__/events.ts';
import { buildChatCard } from './chat-card.ts';
import { applyContactEvent } from './contact.ts';
import { createNumberHealthState, recordOnboarding } from './number-health.ts';
import { applyTimelineEvent, type TimelineMessage } from './timeline.ts';

describe('buildChatCard', () => {
  const contact = applyContactEvent(undefined, received('wamid.0', '2026-03-01T09:00:00Z'))!;
  const events = [
    received('wamid.1', '2026-03-01T09:00:00.000Z'),
    echoed('wamid.2', '2026-03-01T09:01:00.000Z'),
    status('wamid.2', 'read', '2026-03-01T09:02:00.000Z'),
    received('wamid.3', '2026-03-01T09:03:00.000Z', {
      content: { id: 'wamid.3', kind: 'image', caption: 'Look', media: { id: 'm' } },
    }),
  ];
  const byId = new Map<string, TimelineMessage>();
  for (const event of events) {
    const id = event.type === 'message.status' ? event.messageId : event.message.id;
    byId.set(id, applyTimelineEvent(byId.get(id), event)!);
  }

  it('shows the latest messages oldest first with status, media label and the window and owner state', () => {
    const card = buildChatCard({
      contact,
      messages: [...byId.values()].reverse(),
      ownership: { owner: 'app', since: '2026-03-01T09:01:00.000Z', messageId: 'wamid.2' },
      serviceWindow: { lastCustomerMessageAt: '2026-03-01T09:03:00.000Z' },
      numberHealth: recordOnboarding(createNumberHealthState(), '2026-03-01T08:00:00.000Z'),
      now: new Date('2026-03-01T10:00:00.000Z'),
      limit: 2,
    });
    expect(card.olderMessageCount).toBe(1);
    expect(card.messages).toEqual([
      {
        id: 'wamid.2',
        direction: 'outbound',
        actor: 'business_app',
        occurredAt: '2026-03-01T09:01:00.000Z',
        status: 'read',
        text: 'Reply wamid.2',
        edited: false,
        revoked: false,
        placeholder: false,
        reactions: [],
      },
      {
        id: 'wamid.3',
        direction: 'inbound',
        actor: 'customer',
        occurredAt: '2026-03-01T09:03:00.000Z',
        text: 'Look',
        mediaLabel: 'Photo',
        edited: false,
        revoked: false,
        placeholder: false,
        reactions: [],
      },
    ]);
    expect(card.contact).toEqual({ name: 'Sheena Nelson', phone: '+16505551234' });
    expect(card.serviceWindow).toMatchObject({ open: true, expiresAt: '2026-03-02T09:03:00.000Z' });
    expect(card.numberHealth).toMatchObject({ connection: 'connected', backfillProgress: 0 });
  });

  it('throws naming limit when it is not a positive integer', () => {
    expect(() =>
      buildChatCard({
        contact,
        messages: [],
        ownership: {},
        serviceWindow: {},
        numberHealth: createNumberHealthState(),
        now: new Date(0),
        limit: 0,
      }),
    ).toThrow(/`limit`/);
  });
});
