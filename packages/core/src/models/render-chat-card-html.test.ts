import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ChatCard } from './chat-card.ts';
import { CHAT_CARD_CONTENT_SECURITY_POLICY, escapeHtml, renderChatCardHtml } from './render-chat-card-html.ts';

const hostile = `<script>alert("x")</script>' onload='alert(1)`;

const card: ChatCard = {
  contact: { name: hostile, phone: '+16505551234"><img src=x onerror=alert(1)>' },
  messages: [
    {
      id: 'a',
      direction: 'inbound',
      actor: 'customer',
      occurredAt: '2026-03-01T09:00:00.000Z',
      text: `Hi </li><script>steal()</script>`,
      edited: true,
      revoked: false,
      placeholder: false,
      reactions: [{ actor: 'business_app', emoji: '<b>👍</b>' }],
    },
    {
      id: 'b',
      direction: 'outbound',
      actor: 'business_app',
      occurredAt: '2026-03-01T09:01:00.000Z',
      status: 'read',
      mediaLabel: 'Document: "><svg onload=x>.pdf',
      edited: false,
      revoked: false,
      placeholder: false,
      reactions: [],
    },
    {
      id: 'c',
      direction: 'outbound',
      actor: 'cloud_api',
      occurredAt: '2026-03-01T09:02:00.000Z',
      edited: false,
      revoked: true,
      placeholder: false,
      reactions: [],
    },
  ],
  olderMessageCount: 4,
  ownership: { owner: 'api', since: '2026-03-01T09:02:00.000Z' },
  serviceWindow: { open: true, expiresAt: '2026-03-02T09:00:00.000Z', freeFormAllowed: true, templateRequired: false },
  numberHealth: {
    connection: 'connected',
    warnings: ['app-inactive'],
    daysSinceAppActivity: 12,
    backfillProgress: 40,
    backfillComplete: false,
  },
  generatedAt: '2026-03-01T10:00:00.000Z',
};

describe('renderChatCardHtml', () => {
  const html = renderChatCardHtml(card);

  it('escapes every string from the card: no tag or attribute can be injected', () => {
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<svg');
    expect(html).not.toContain('<b>');
    expect(html).not.toMatch(/'\s*onload=/);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onload=&#39;alert(1)');
    expect(html).toContain('Hi &lt;/li&gt;&lt;script&gt;steal()&lt;/script&gt;');
    expect(escapeHtml(`&<>"'\``)).toBe('&amp;&lt;&gt;&quot;&#39;&#96;');
  });

  it('is self-contained: a strict CSP whose hash matches the inline style, no scripts, no external resources', () => {
    expect(html).toContain(
      `<meta http-equiv="Content-Security-Policy" content="${CHAT_CARD_CONTENT_SECURITY_POLICY.replaceAll("'", '&#39;')}">`,
    );
    expect(CHAT_CARD_CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CHAT_CARD_CONTENT_SECURITY_POLICY).toContain("script-src 'none'");
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
    const hash = createHash('sha256').update(style).digest('base64');
    expect(CHAT_CARD_CONTENT_SECURITY_POLICY).toContain(`'sha256-${hash}'`);
    expect(html).not.toMatch(/<[^>]*\s(src|href)=|https?:\/\/|url\(/);
  });

  it('shows owner, window, health, backfill, marks and older count', () => {
    expect(html).toContain('Owned by Cloud API since 1 Mar 2026, 09:02');
    expect(html).toContain('Free-form reply until 2 Mar 2026, 09:00');
    expect(html).toContain('Open the Business App: 12 days inactive');
    expect(html).toContain('History 40%');
    expect(html).toContain('4 earlier messages');
    expect(html).toContain('This message was deleted');
    expect(html).toMatch(/Customer · 1 Mar 2026, 09:00 · edited/);
    expect(html).toContain('Business App · 1 Mar 2026, 09:01 · read');
  });

  it('asks for a template when the window is closed and names a disconnected number', () => {
    const closed = renderChatCardHtml({
      ...card,
      serviceWindow: { open: false, freeFormAllowed: false, templateRequired: true },
      numberHealth: { ...card.numberHealth, connection: 'disconnected' },
    });
    expect(closed).toContain('Template required');
    expect(closed).toContain('Number disconnected');
  });
});
