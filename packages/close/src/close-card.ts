/**
 * The Close chat card. Close has no card SDK (crm-apis.md §4.5), so the card is a self-contained HTML page
 * (`renderChatCardHtml`) served by `coexist serve` and opened from Close two ways:
 * - an **Integration Link** on every lead page (https://developer.close.com/api/resources/integration-links), whose URL
 *   template carries Close's lead placeholder `{{lead.id}}` (Close fills `{{lead.…}}` variables at click time; the
 *   documented example is `{{lead.display_name}}`);
 * - each activity's `integration_link`, pointing at the conversation of that message.
 *
 * Both are **signed links**: HMAC-SHA256 over organization id, lead id (and phone) and expiry, verified in constant
 * time. A template is static, so the Integration Link cannot carry a per-lead signature: it is signed for the whole
 * organization (`scope=organization`, lead `*`) and the lead id comes from Close's placeholder. Per-activity links
 * are signed for their lead. See docs/close.md for why signed links rather than OAuth.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  CHAT_CARD_CONTENT_SECURITY_POLICY,
  type ChatCard,
  type RenderChatCardHtmlOptions,
  renderChatCardHtml,
} from '@coexist/core';

/** The placeholder Close replaces with the lead's id in an Integration Link URL template. */
export const CLOSE_LEAD_ID_PLACEHOLDER = '{{lead.id}}';

// Ids and phones never contain the newline the signed string joins fields with, so fields cannot shift.
const ID_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;
const PHONE_PATTERN = /^\+\d{6,17}$/;

/** What a card link grants: one organization's lead (or, for the Integration Link, any lead of the organization). */
export type CloseCardLinkScope = 'lead' | 'organization';

/** Options of `signCloseCardLink`. */
export interface SignCloseCardLinkOptions {
  /** Where `coexist serve` answers card requests, e.g. `https://app.example.com/close/card`. */
  baseUrl: string;
  /** The signing secret (at least 32 characters). */
  secret: string;
  /** The Close organization (`orga_…`). */
  organizationId: string;
  /** The Close lead (`lead_…`). */
  leadId: string;
  /** The conversation's customer phone (E.164), when the link is for one conversation of the lead. */
  contactPhone?: string;
  /** When the link stops working (epoch milliseconds). */
  expiresAt: number;
}

/** Builds a card link signed for one lead. */
export function signCloseCardLink(options: SignCloseCardLinkOptions): string {
  checkSecret(options.secret, 'secret');
  checkField(options.organizationId, ID_PATTERN, 'organizationId');
  checkField(options.leadId, ID_PATTERN, 'leadId');
  if (options.contactPhone !== undefined) checkField(options.contactPhone, PHONE_PATTERN, 'contactPhone');
  const expires = Math.floor(options.expiresAt / 1000);
  const signature = sign(options.secret, 'lead', options.organizationId, options.leadId, options.contactPhone, expires);
  const query = new URLSearchParams({ org: options.organizationId, lead: options.leadId });
  if (options.contactPhone !== undefined) query.set('phone', options.contactPhone);
  query.set('exp', String(expires));
  query.set('sig', signature);
  return `${options.baseUrl}${options.baseUrl.includes('?') ? '&' : '?'}${query.toString()}`;
}

/** Options of `closeIntegrationLinkTemplate`. */
export type CloseIntegrationLinkTemplateOptions = Omit<SignCloseCardLinkOptions, 'leadId' | 'contactPhone'>;

/** Builds the Integration Link URL template: signed for the organization, `lead={{lead.id}}` filled in by Close. */
export function closeIntegrationLinkTemplate(options: CloseIntegrationLinkTemplateOptions): string {
  checkSecret(options.secret, 'secret');
  checkField(options.organizationId, ID_PATTERN, 'organizationId');
  const expires = Math.floor(options.expiresAt / 1000);
  const signature = sign(options.secret, 'organization', options.organizationId, '*', undefined, expires);
  const query = new URLSearchParams({
    org: options.organizationId,
    scope: 'organization',
    exp: String(expires),
    sig: signature,
  });
  // The placeholder stays unencoded: Close substitutes `{{lead.id}}` literally (lead ids are URL-safe).
  return `${options.baseUrl}${options.baseUrl.includes('?') ? '&' : '?'}${query.toString()}&lead=${CLOSE_LEAD_ID_PLACEHOLDER}`;
}

/** A verified card link, or why it was refused. */
export type CloseCardLinkVerification =
  | {
      ok: true;
      organizationId: string;
      leadId: string;
      contactPhone?: string;
      scope: CloseCardLinkScope;
      /** Epoch milliseconds. */
      expiresAt: number;
    }
  | { ok: false; reason: 'missing' | 'malformed' | 'expired' | 'bad-signature' };

/** Options of `verifyCloseCardLink`. */
export interface VerifyCloseCardLinkOptions {
  /** The signing secret, or several during a rotation (any may have signed). */
  secret: string | readonly string[];
  /** The current time, epoch milliseconds. @default Date.now() */
  now?: number;
}

/** Verifies a card link's signature (constant time) and expiry. */
export function verifyCloseCardLink(url: URL | string, options: VerifyCloseCardLinkOptions): CloseCardLinkVerification {
  const query = (typeof url === 'string' ? new URL(url) : url).searchParams;
  const organizationId = query.get('org');
  const leadId = query.get('lead');
  const expiresText = query.get('exp');
  const signature = query.get('sig');
  if (!organizationId || !leadId || !expiresText || !signature) return { ok: false, reason: 'missing' };
  const scopeText = query.get('scope') ?? 'lead';
  if (
    (scopeText !== 'lead' && scopeText !== 'organization') ||
    !/^\d{1,12}$/.test(expiresText) ||
    !ID_PATTERN.test(organizationId) ||
    (!ID_PATTERN.test(leadId) && !(scopeText === 'organization' && leadId === CLOSE_LEAD_ID_PLACEHOLDER)) ||
    (query.has('phone') && !PHONE_PATTERN.test(query.get('phone')!))
  ) {
    return { ok: false, reason: 'malformed' };
  }
  if (scopeText === 'organization' && query.has('phone')) return { ok: false, reason: 'malformed' };
  const scope: CloseCardLinkScope = scopeText;
  const contactPhone = query.get('phone') ?? undefined;
  const expires = Number(expiresText);
  const given = Buffer.from(signature, 'base64url');
  const secrets = typeof options.secret === 'string' ? [options.secret] : options.secret;
  let valid = false;
  for (const secret of secrets) {
    const expected = Buffer.from(
      sign(secret, scope, organizationId, scope === 'organization' ? '*' : leadId, contactPhone, expires),
      'base64url',
    );
    // Check every secret (no early exit) and compare equal lengths only: timingSafeEqual throws otherwise.
    if (given.length === expected.length && timingSafeEqual(given, expected)) valid = true;
  }
  if (!valid) return { ok: false, reason: 'bad-signature' };
  if (expires * 1000 <= (options.now ?? Date.now())) return { ok: false, reason: 'expired' };
  return {
    ok: true,
    organizationId,
    leadId,
    ...(contactPhone === undefined ? {} : { contactPhone }),
    scope,
    expiresAt: expires * 1000,
  };
}

/** Which conversation the card handler is asked for. */
export interface CloseCardTarget {
  organizationId: string;
  leadId: string;
  /** Set when the link names one conversation of the lead (an activity's link). */
  contactPhone?: string;
}

/** Options of `createCloseCardHandler`. */
export interface CloseCardHandlerOptions {
  /** The signing secret, or several during a rotation (the first is the adapter's current one). */
  signingSecret: string | readonly string[];
  /** Loads the card of a lead's conversation (the latest one when `contactPhone` is not given); `undefined` for none. */
  loadCard: (target: CloseCardTarget) => Promise<ChatCard | undefined | null>;
  /** Renderer options (time zone, locale). */
  render?: RenderChatCardHtmlOptions;
  /**
   * Who may frame the page (`frame-ancestors`); Integration Links open in a new tab, so nobody by default.
   * @default "'none'"
   */
  frameAncestors?: string;
  /** The clock, epoch milliseconds. @default Date.now */
  now?: () => number;
}

/**
 * Creates the web-standard handler `coexist serve` mounts for Close cards: verifies the signed link, loads the card and
 * answers the self-contained HTML with a strict Content-Security-Policy; 403 for a bad or expired link.
 */
export function createCloseCardHandler(options: CloseCardHandlerOptions): (request: Request) => Promise<Response> {
  const secrets = typeof options.signingSecret === 'string' ? [options.signingSecret] : [...options.signingSecret];
  if (secrets.length === 0) throw new TypeError('[coexist/close] createCloseCardHandler: `signingSecret` is empty');
  for (const [index, secret] of secrets.entries()) checkSecret(secret, `signingSecret[${index}]`);
  const policy = `${CHAT_CARD_CONTENT_SECURITY_POLICY}; frame-ancestors ${options.frameAncestors ?? "'none'"}`;
  const headers = (contentType: string): Record<string, string> => ({
    'content-type': contentType,
    'content-security-policy': policy,
    'cache-control': 'private, no-store',
    // The URL carries the signature: never send it on as a referrer.
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
  });
  const text = (status: number, message: string): Response =>
    new Response(message, { status, headers: headers('text/plain; charset=utf-8') });

  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return new Response('Method not allowed', {
        status: 405,
        headers: { ...headers('text/plain; charset=utf-8'), allow: 'GET, HEAD' },
      });
    }
    const verified = verifyCloseCardLink(new URL(request.url), { secret: secrets, now: (options.now ?? Date.now)() });
    if (!verified.ok) {
      return text(
        403,
        verified.reason === 'expired'
          ? 'This link has expired. Open the card again from Close.'
          : 'This link is not valid.',
      );
    }
    let card: ChatCard | undefined | null;
    try {
      card = await options.loadCard({
        organizationId: verified.organizationId,
        leadId: verified.leadId,
        ...(verified.contactPhone === undefined ? {} : { contactPhone: verified.contactPhone }),
      });
    } catch {
      return text(500, 'The conversation could not be loaded.');
    }
    if (card === undefined || card === null) return text(404, 'No WhatsApp conversation for this lead yet.');
    const html = renderChatCardHtml(card, options.render);
    return new Response(request.method === 'HEAD' ? null : html, {
      status: 200,
      headers: headers('text/html; charset=utf-8'),
    });
  };
}

function sign(
  secret: string,
  scope: CloseCardLinkScope,
  organizationId: string,
  leadId: string,
  contactPhone: string | undefined,
  expires: number,
): string {
  return createHmac('sha256', secret)
    .update(['coexist-close-card', 'v1', scope, organizationId, leadId, contactPhone ?? '', String(expires)].join('\n'))
    .digest('base64url');
}

function checkSecret(secret: string, field: string): void {
  if (typeof secret !== 'string' || secret.length < 32) {
    throw new TypeError(`[coexist/close] \`${field}\` must be a string of at least 32 characters`);
  }
}

function checkField(value: string, pattern: RegExp, field: string): void {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new TypeError(`[coexist/close] \`${field}\` must be a Close id (letters, digits, _ . -) or an E.164 phone`);
  }
}
