import type { ChatCard } from '@coexist/core';
import { Alert, Heading, ProgressBar, StatusTag, Tag, Text, Tile } from '@hubspot/ui-extensions';
import { createRenderer } from '@hubspot/ui-extensions/testing';
import { describe, expect, it } from 'vitest';
import { ChatCardView } from './ChatCardView.tsx';

const card: ChatCard = {
  contact: { name: 'Ada Lovelace', phone: '+16505551234' },
  businessPhone: '+14155550100',
  messages: [
    {
      id: 'wamid.1',
      direction: 'inbound',
      actor: 'customer',
      occurredAt: '2026-03-01T09:30:00.000Z',
      text: 'Is the <offer> still valid?',
      edited: false,
      revoked: false,
      placeholder: false,
      reactions: [{ actor: 'business_app', emoji: '👍' }],
    },
    {
      id: 'wamid.2',
      direction: 'outbound',
      actor: 'business_app',
      occurredAt: '2026-03-01T09:31:00.000Z',
      status: 'read',
      mediaLabel: 'Document: offer.pdf',
      text: 'Yes, attached',
      edited: true,
      revoked: false,
      placeholder: false,
      reactions: [],
    },
    {
      id: 'wamid.3',
      direction: 'outbound',
      actor: 'cloud_api',
      occurredAt: '2026-03-01T09:32:00.000Z',
      edited: false,
      revoked: true,
      placeholder: false,
      reactions: [],
    },
  ],
  olderMessageCount: 4,
  ownership: { owner: 'app', since: '2026-03-01T09:31:00.000Z' },
  serviceWindow: { open: true, expiresAt: '2026-03-02T09:30:00.000Z', freeFormAllowed: true, templateRequired: false },
  numberHealth: {
    connection: 'connected',
    warnings: ['app-inactive'],
    daysSinceAppActivity: 12,
    inactivityDisconnectAt: '2026-03-03T00:00:00.000Z',
    backfillProgress: 40,
    backfillComplete: false,
  },
  generatedAt: '2026-03-01T12:00:00.000Z',
};

describe('ChatCardView', () => {
  it('renders the thread with sender, time, status, edits, deletions and reactions', () => {
    const { render, find, findAll } = createRenderer('crm.record.tab');
    render(<ChatCardView card={card} />);
    expect(find(Heading).text).toBe('Ada Lovelace');
    const tiles = findAll(Tile);
    expect(tiles).toHaveLength(3);
    expect(tiles[0]!.findAll(Text).map((text) => text.text)).toEqual([
      'Customer · 2026-03-01 09:30 UTC',
      'Is the <offer> still valid?',
      '👍 Rep (Business App)',
    ]);
    expect(tiles[1]!.find(Text).text).toBe('Rep (Business App) · 2026-03-01 09:31 UTC · read · edited');
    expect(tiles[1]!.find(Tag).text).toBe('Document: offer.pdf');
    expect(tiles[2]!.findAll(Text).map((text) => text.text)).toEqual([
      'Cloud API · 2026-03-01 09:32 UTC',
      'This message was deleted.',
    ]);
  });

  it('shows the owner side, the service window with its expiry and the number health', () => {
    const { render, findAll, find } = createRenderer('crm.record.tab');
    render(<ChatCardView card={card} />);
    expect(findAll(StatusTag).map((tag) => [tag.text, tag.props.variant])).toEqual([
      ['Owner: Rep on the WhatsApp Business App', 'info'],
      ['Service window open until 2026-03-02 09:30 UTC', 'success'],
      ['Number: connected', 'success'],
    ]);
    expect(find(Alert).text).toContain('Expected disconnect: 2026-03-03 00:00 UTC.');
    expect(find(ProgressBar).props.value).toBe(40);
    expect(findAll(Text).some((text) => text.text === '4 older messages not shown')).toBe(true);
  });

  it('says a template is required when the window is closed, and shows an empty thread', () => {
    const { render, findAll, maybeFind } = createRenderer('crm.record.tab');
    render(
      <ChatCardView
        card={{
          ...card,
          messages: [],
          olderMessageCount: 0,
          ownership: {},
          serviceWindow: { open: false, freeFormAllowed: false, templateRequired: true },
          numberHealth: {
            connection: 'disconnected',
            warnings: ['disconnected'],
            backfillProgress: 100,
            backfillComplete: true,
          },
        }}
      />,
    );
    expect(findAll(StatusTag).map((tag) => [tag.text, tag.props.variant])).toEqual([
      ['Owner: Nobody yet', 'default'],
      ['Service window closed: template required', 'warning'],
      ['Number: disconnected', 'danger'],
    ]);
    expect(maybeFind(ProgressBar)).toBeNull();
    expect(findAll(Text).some((text) => text.text === 'No WhatsApp messages yet.')).toBe(true);
  });
});
