import type { IncomingHttpHeaders } from 'node:http';

/** A Close API credential the emulator accepts: an API key (HTTP Basic username) or an OAuth access token (Bearer). */
export interface CloseCredential {
  /** The API key or OAuth access token. */
  secret: string;
  /** The organization whose data and org-wide rate limit the credential uses. @default 'orga_emulator' */
  organizationId?: string;
  /** The user the credential acts as (`created_by`, `/me/`). @default the organization's first user */
  userId?: string;
}

/** Who made a request. */
export interface ClosePrincipal {
  /** `key` for an API key, `oauth` for an OAuth token. */
  kind: 'key' | 'oauth';
  /** The credential itself, used as the per-key rate-limit bucket (never logged). */
  secret: string;
  organizationId: string;
  userId: string;
}

/**
 * Reads `Authorization`: HTTP Basic with the API key as username and an empty password, or `Bearer <oauth token>`
 * (https://developer.close.com/api/overview/authentication, https://developer.close.com/integrations/create-an-oauth-app).
 */
export function authenticateClose(
  headers: IncomingHttpHeaders,
  apiKeys: ReadonlyMap<string, ClosePrincipal>,
  oauthTokens: ReadonlyMap<string, ClosePrincipal>,
): ClosePrincipal | undefined {
  const header = headers.authorization;
  if (typeof header !== 'string') return undefined;
  const [scheme, value] = header.trim().split(/\s+/, 2);
  if (value === undefined) return undefined;
  if (scheme!.toLowerCase() === 'bearer') return oauthTokens.get(value);
  if (scheme!.toLowerCase() !== 'basic') return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const username = colon === -1 ? decoded : decoded.slice(0, colon);
  const password = colon === -1 ? '' : decoded.slice(colon + 1);
  // Close documents the password as empty; a non-empty one is refused rather than ignored.
  if (password !== '') return undefined;
  return apiKeys.get(username);
}
