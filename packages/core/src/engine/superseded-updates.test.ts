import { describe, expect, it } from 'vitest';
import type { CoexistenceEvent } from '../events/coexistence-event.ts';
import { canBeSuperseded, supersededUpdates } from './superseded-updates.ts';

const base = { field: 'messages', wabaId: 'W', phoneNumberId: 'PN' } as const;
const at = (seconds: number) => new Date(seconds * 1000).toISOString();
const edit = (id: string, seconds: number, target = 'wamid.m'): CoexistenceEvent => ({
  ...base,
  id,
  type: 'message.edited',
  occurredAt: at(seconds),
  actor: 'customer',
  originalMessageId: target,
  message: { id: `${id}.content`, kind: 'text', text: id },
});
const reaction = (
  id: string,
  seconds: number,
  actor: 'customer' | 'business_app',
  emoji: string | null = '👍',
): CoexistenceEvent => ({
  ...base,
  id,
  type: 'message.reaction',
  occurredAt: at(seconds),
  actor,
  targetMessageId: 'wamid.m',
  emoji,
});
const media: CoexistenceEvent = {
  ...base,
  id: 'media:wamid.m',
  type: 'media.available',
  field: 'history',
  occurredAt: at(1),
  messageId: 'wamid.m',
  actor: 'customer',
  message: { id: 'wamid.m', kind: 'image', media: { id: 'x' } },
};
const revoke: CoexistenceEvent = {
  ...base,
  id: 'revoke',
  type: 'message.revoked',
  occurredAt: at(2),
  actor: 'customer',
  originalMessageId: 'wamid.m',
};

describe('supersededUpdates', () => {
  it('finds an edit older than another edit of the same message, or of its time and arrived before it', () => {
    const updates = [edit('e1', 5), edit('e2', 7), edit('e3', 7), edit('other', 1, 'wamid.other')];
    expect([...supersededUpdates(updates, [...updates, edit('e4', 9)])].sort()).toEqual(['e1', 'e2', 'e3']);
    // `known` in (time, arrival) order: e3 arrived after e2, so e2 goes even when retried after e3 was sent.
    expect([...supersededUpdates(updates, updates)].sort()).toEqual(['e1', 'e2']);
    expect([...supersededUpdates([edit('e2', 7)], [edit('e3', 7), edit('e2', 7)])]).toEqual([]);
  });

  it('finds a reaction of the same time and actor that arrived before another (a removal in the same second)', () => {
    const removal = reaction('r2', 5, 'customer', null);
    expect([...supersededUpdates([reaction('r1', 5, 'customer')], [reaction('r1', 5, 'customer'), removal])]).toEqual([
      'r1',
    ]);
  });

  it('finds a reaction older than another of the same actor only', () => {
    const updates = [reaction('r1', 5, 'customer'), reaction('r2', 6, 'business_app')];
    expect([...supersededUpdates(updates, [...updates, reaction('r3', 8, 'customer')])]).toEqual(['r1']);
  });

  it('finds a media follow-up of a message that was edited or revoked, whenever', () => {
    expect([...supersededUpdates([media], [media, edit('e1', 0)])]).toEqual(['media:wamid.m']);
    expect([...supersededUpdates([media], [media, revoke])]).toEqual(['media:wamid.m']);
    expect(supersededUpdates([media], [media, reaction('r', 9, 'customer')]).size).toBe(0);
  });

  it('checks only edits, reactions and media follow-ups', () => {
    expect([edit('e', 1), reaction('r', 1, 'customer'), media, revoke].map(canBeSuperseded)).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });
});
