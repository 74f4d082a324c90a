import { CHAT_CARD_CONTENT_SECURITY_POLICY, type ChatCard } from '@coexist/core';
import { describe, expect, it } from 'vitest';
import {
  closeIntegrationLinkTemplate,
  createCloseCardHandler,
  signCloseCardLink,
  verifyCloseCardLink,
} from './close-card.ts';

const SECRET = 'a-card-signing-secret-of-at-least-32-chars';
const NOW = Date.parse('2026-03-01T12:00:00Z');
const link = (overrides: Partial<Parameters<typeof signCloseCardLink>[0]> = {}) =>
  signCloseCardLink({
    baseUrl: 'https://cards.example.com/close/card',
    secret: SECRET,
    organizationId: 'orga_1',
    leadId: 'lead_1',
    contactPhone: '+16505550134',
    expiresAt: NOW + 60_000,
    ...overrides,
  });

const card: ChatCard = {
  contact: { name: 'Ada <script>', phone: '+16505550134' },
  messages: [
    {
      id: 'm1',
      direction: 'inbound',
      actor: 'customer',
      occurredAt: '2026-03-01T11:00:00Z',
      text: 'Hello',
      edited: false,
      revoked: false,
      placeholder: false,
      reactions: [],
    },
  ],
  olderMessageCount: 0,
  ownership: {},
  serviceWindow: { open: false, freeFormAllowed: false, templateRequired: true },
  numberHealth: { connection: 'connected', warnings: [], backfillProgress: 100, backfillComplete: true },
  generatedAt: '2026-03-01T12:00:00Z',
} as ChatCard;

describe('card links', () => {
  it('verifies a fresh link and refuses an expired one', () => {
    expect(verifyCloseCardLink(link(), { secret: SECRET, now: NOW })).toEqual({
      ok: true,
      organizationId: 'orga_1',
      leadId: 'lead_1',
      contactPhone: '+16505550134',
      scope: 'lead',
      expiresAt: Math.floor((NOW + 60_000) / 1000) * 1000,
    });
    expect(verifyCloseCardLink(link(), { secret: SECRET, now: NOW + 61_000 })).toEqual({
      ok: false,
      reason: 'expired',
    });
  });

  it('refuses tampering with any signed field, a foreign secret, and malformed links', () => {
    const tamper = (name: string, value: string) => {
      const url = new URL(link());
      url.searchParams.set(name, value);
      return verifyCloseCardLink(url, { secret: SECRET, now: NOW });
    };
    expect(tamper('lead', 'lead_2')).toEqual({ ok: false, reason: 'bad-signature' });
    expect(tamper('org', 'orga_2')).toEqual({ ok: false, reason: 'bad-signature' });
    expect(tamper('phone', '+16505550135')).toEqual({ ok: false, reason: 'bad-signature' });
    expect(tamper('exp', String(Math.floor(NOW / 1000) + 999_999))).toEqual({ ok: false, reason: 'bad-signature' });
    expect(tamper('scope', 'organization')).toEqual({ ok: false, reason: 'malformed' });
    expect(tamper('sig', 'AAAA')).toEqual({ ok: false, reason: 'bad-signature' });
    expect(tamper('lead', 'lead_1\norga_1')).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyCloseCardLink(link(), { secret: 'another-secret-that-is-long-enough-00', now: NOW })).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    expect(verifyCloseCardLink('https://cards.example.com/close/card?org=orga_1', { secret: SECRET })).toEqual({
      ok: false,
      reason: 'missing',
    });
  });

  it('accepts any secret of a rotation and refuses short secrets', () => {
    expect(verifyCloseCardLink(link(), { secret: ['new-secret-new-secret-new-secret-00', SECRET], now: NOW }).ok).toBe(
      true,
    );
    expect(() => link({ secret: 'short' })).toThrow(
      '[coexist/close] `secret` must be a string of at least 32 characters',
    );
  });

  it('signs the Integration Link template for the organization, with Close filling the lead id', () => {
    const template = closeIntegrationLinkTemplate({
      baseUrl: 'https://cards.example.com/close/card',
      secret: SECRET,
      organizationId: 'orga_1',
      expiresAt: NOW + 60_000,
    });
    expect(template).toMatch(
      /^https:\/\/cards\.example\.com\/close\/card\?org=orga_1&scope=organization&exp=\d+&sig=[\w-]+&lead=\{\{lead\.id\}\}$/,
    );
    expect(verifyCloseCardLink(template.replace('{{lead.id}}', 'lead_9'), { secret: SECRET, now: NOW })).toMatchObject({
      ok: true,
      scope: 'organization',
      leadId: 'lead_9',
    });
    // An organization link cannot be narrowed to a phone it was not signed for.
    expect(
      verifyCloseCardLink(`${template.replace('{{lead.id}}', 'lead_9')}&phone=%2B16505550134`, {
        secret: SECRET,
        now: NOW,
      }),
    ).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });
});

describe('createCloseCardHandler', () => {
  const targets: unknown[] = [];
  const handler = createCloseCardHandler({
    signingSecret: SECRET,
    now: () => NOW,
    loadCard: async (target) => {
      targets.push(target);
      return target.leadId === 'lead_1' ? card : undefined;
    },
  });

  it('answers the card HTML with a strict CSP for a valid link', async () => {
    const response = await handler(new Request(link()));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toBe(
      `${CHAT_CARD_CONTENT_SECURITY_POLICY}; frame-ancestors 'none'`,
    );
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('cache-control')).toBe('private, no-store');
    const html = await response.text();
    expect(html).toContain('Ada &lt;script&gt;');
    expect(html).not.toContain('<script>');
    expect(targets.at(-1)).toEqual({ organizationId: 'orga_1', leadId: 'lead_1', contactPhone: '+16505550134' });
  });

  it('refuses expired and tampered links with 403, unknown leads with 404, other methods with 405', async () => {
    const expired = await handler(new Request(link({ expiresAt: NOW - 1_000 })));
    expect([expired.status, await expired.text()]).toEqual([
      403,
      'This link has expired. Open the card again from Close.',
    ]);
    const tampered = new URL(link());
    tampered.searchParams.set('lead', 'lead_2');
    expect((await handler(new Request(tampered))).status).toBe(403);
    expect((await handler(new Request(link({ leadId: 'lead_2' })))).status).toBe(404);
    expect((await handler(new Request(link(), { method: 'POST' }))).status).toBe(405);
  });
});
