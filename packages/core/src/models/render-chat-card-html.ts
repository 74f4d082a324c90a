/**
 * Renders a `ChatCard` as one self-contained HTML document for an iframe: inline CSS allowed by hash in a strict
 * Content-Security-Policy, no scripts, no external resources, every string from the card escaped.
 */
import { createHash } from 'node:crypto';
import type { ChatCard, ChatCardMessage } from './chat-card.ts';

/** Options of `renderChatCardHtml`. */
export interface RenderChatCardHtmlOptions {
  /**
   * IANA time zone to show times in.
   * @default 'UTC'
   */
  timeZone?: string;
  /**
   * BCP 47 locale for dates.
   * @default 'en-GB'
   */
  locale?: string;
}

const STYLE = `
:root{color-scheme:light;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2933}
body{margin:0;padding:12px;background:#fff}
header{display:flex;justify-content:space-between;gap:8px;align-items:baseline;border-bottom:1px solid #e4e7eb;padding-bottom:8px}
h1{font-size:16px;margin:0}
.phone{color:#52606d}
.badges{display:flex;flex-wrap:wrap;gap:6px;margin:8px 0}
.badge{border-radius:10px;padding:2px 8px;font-size:12px;background:#e4e7eb}
.badge.ok{background:#d9f2e6;color:#0b6e4f}.badge.warn{background:#fff3c4;color:#8d6708}.badge.bad{background:#fde2e1;color:#a61b1b}
ol{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:6px}
li{max-width:80%;padding:6px 10px;border-radius:8px;background:#f0f4f8;overflow-wrap:anywhere;white-space:pre-wrap}
li.outbound{align-self:flex-end;background:#dcf8c6}
li.revoked{font-style:italic;color:#7b8794}
.meta{display:block;font-size:11px;color:#7b8794;margin-top:2px}
.media{font-weight:600}
.older{color:#7b8794;font-size:12px;text-align:center;margin:6px 0}
`;

const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

/** The Content-Security-Policy the rendered card declares: nothing but its own inline style. */
export const CHAT_CARD_CONTENT_SECURITY_POLICY = `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; img-src 'none'; script-src 'none'; base-uri 'none'; form-action 'none'`;

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Escapes text for HTML content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (character) => ESCAPES[character]!);
}

const ACTOR_LABELS = { customer: 'Customer', business_app: 'Business App', cloud_api: 'Cloud API' } as const;

/** Renders the card as a complete, safe HTML document. */
export function renderChatCardHtml(card: ChatCard, options: RenderChatCardHtmlOptions = {}): string {
  const format = new Intl.DateTimeFormat(options.locale ?? 'en-GB', {
    timeZone: options.timeZone ?? 'UTC',
    dateStyle: 'medium',
    timeStyle: 'short',
  });
  const time = (iso: string): string => escapeHtml(format.format(new Date(iso)));
  const title = card.contact.name ?? card.contact.phone ?? 'WhatsApp conversation';
  const badges = [ownerBadge(card, time), windowBadge(card, time), healthBadge(card)];
  if (!card.numberHealth.backfillComplete && card.numberHealth.backfillProgress > 0) {
    badges.push(`<span class="badge">History ${Math.round(card.numberHealth.backfillProgress)}%</span>`);
  }
  const older = card.olderMessageCount > 0 ? `<p class="older">${card.olderMessageCount} earlier messages</p>` : '';
  const messages = card.messages.map((message) => renderMessage(message, time)).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(CHAT_CARD_CONTENT_SECURITY_POLICY)}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(title)}</h1>${card.contact.phone === undefined ? '' : `<span class="phone">${escapeHtml(card.contact.phone)}</span>`}</header>
<div class="badges">${badges.join('')}</div>
${older}<ol>
${messages}
</ol>
</body>
</html>
`;
}

function ownerBadge(card: ChatCard, time: (iso: string) => string): string {
  const owner = card.ownership.owner;
  if (owner === undefined) return '<span class="badge">No business reply yet</span>';
  const side = owner === 'app' ? 'Business App' : 'Cloud API';
  const since = card.ownership.since === undefined ? '' : ` since ${time(card.ownership.since)}`;
  return `<span class="badge">Owned by ${side}${since}</span>`;
}

function windowBadge(card: ChatCard, time: (iso: string) => string): string {
  const window = card.serviceWindow;
  if (window.open && window.expiresAt !== undefined) {
    return `<span class="badge ok">Free-form reply until ${time(window.expiresAt)}</span>`;
  }
  return '<span class="badge warn">Template required</span>';
}

function healthBadge(card: ChatCard): string {
  const health = card.numberHealth;
  if (health.connection === 'disconnected') return '<span class="badge bad">Number disconnected</span>';
  if (health.connection === 'offboarded') return '<span class="badge bad">Number offboarded</span>';
  if (health.warnings.includes('app-inactive')) {
    return `<span class="badge warn">Open the Business App: ${health.daysSinceAppActivity} days inactive</span>`;
  }
  if (health.connection === 'connected') return '<span class="badge ok">Number connected</span>';
  return '<span class="badge">Number status unknown</span>';
}

function renderMessage(message: ChatCardMessage, time: (iso: string) => string): string {
  const classes = [message.direction, message.revoked ? 'revoked' : ''].filter(Boolean).join(' ');
  let body: string;
  if (message.revoked) {
    body = 'This message was deleted';
  } else {
    const media =
      message.mediaLabel === undefined ? '' : `<span class="media">[${escapeHtml(message.mediaLabel)}]</span> `;
    body = media + escapeHtml(message.text ?? '');
  }
  const marks = [ACTOR_LABELS[message.actor], time(message.occurredAt)];
  if (message.status !== undefined) marks.push(escapeHtml(message.status));
  if (message.edited && !message.revoked) marks.push('edited');
  const reactions = message.reactions.map((reaction) => escapeHtml(reaction.emoji)).join(' ');
  if (reactions !== '') marks.push(reactions);
  return `<li class="${escapeHtml(classes)}">${body}<span class="meta">${marks.join(' · ')}</span></li>`;
}
