/**
 * Sessions of the emulated org: the access tokens the REST API accepts, and the OAuth 2.0 token endpoint
 * (`POST /services/oauth2/token`, https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm)
 * for the refresh-token, username-password and client-credentials flows, so jsforce's session refresh works.
 */
import { createHmac } from 'node:crypto';
import type { EmulatorResponse } from '../emulator/emulator-router.ts';
import { createSeededRandom, type SeededRandom } from '../emulator/seeded-random.ts';

/** The access token the emulator accepts when none are configured. */
export const defaultSalesforceAccessToken = '00D000000000001!emulator-access-token';

/** OAuth client and credentials the token endpoint accepts. */
export interface SalesforceOAuthOptions {
  /** The connected app's consumer key. @default 'coexist-emulator-client' */
  clientId?: string;
  /** The connected app's consumer secret. @default 'coexist-emulator-secret' */
  clientSecret?: string;
  /** Refresh tokens the `refresh_token` grant accepts. @default ['coexist-emulator-refresh-token'] */
  refreshTokens?: readonly string[];
  /** The password of every user in the `password` grant (a security token may be appended). @default 'password' */
  password?: string;
}

/** The identity of the org and the user tokens are issued for. */
export interface SalesforceIdentity {
  organizationId: string;
  userId: string;
  usernames: () => string[];
}

/** Valid tokens and the token endpoint. */
export class SalesforceSessions {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly password: string;
  readonly #initialTokens: string[];
  readonly #initialRefreshTokens: string[];
  readonly #seed: string;
  #accessTokens = new Set<string>();
  #refreshTokens = new Set<string>();
  #random: SeededRandom;

  /** Creates the sessions with the configured tokens. */
  constructor(tokens: readonly string[] | undefined, oauth: SalesforceOAuthOptions = {}, seed: number | string = 1) {
    this.clientId = oauth.clientId ?? 'coexist-emulator-client';
    this.clientSecret = oauth.clientSecret ?? 'coexist-emulator-secret';
    this.password = oauth.password ?? 'password';
    this.#initialTokens = [...(tokens ?? [defaultSalesforceAccessToken])];
    this.#initialRefreshTokens = [...(oauth.refreshTokens ?? ['coexist-emulator-refresh-token'])];
    for (const [index, token] of [...this.#initialTokens, ...this.#initialRefreshTokens].entries()) {
      if (typeof token !== 'string' || token.length === 0) {
        throw new Error(`[coexist/sandbox] Salesforce emulator tokens[${index}] must be a non-empty string`);
      }
    }
    this.#seed = String(seed);
    this.#random = createSeededRandom(`salesforce-tokens:${seed}`);
    this.reset();
  }

  /** Restores the configured tokens and forgets issued ones. */
  reset(): void {
    this.#accessTokens = new Set(this.#initialTokens);
    this.#refreshTokens = new Set(this.#initialRefreshTokens);
    this.#random = createSeededRandom(`salesforce-tokens:${this.#seed}`);
  }

  /** Whether an `Authorization` header carries a valid session. */
  isAuthorized(authorization: string | undefined): boolean {
    const match = /^(?:Bearer|OAuth)\s+(\S+)$/i.exec(authorization ?? '');
    return match !== null && this.#accessTokens.has(match[1]!);
  }

  /** Issues a new access token (as a login would) and returns it. */
  issueAccessToken(organizationId: string): string {
    let token = `${organizationId.slice(0, 15)}!`;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._';
    for (let index = 0; index < 96; index++) token += alphabet[this.#random.int(0, alphabet.length - 1)];
    this.#accessTokens.add(token);
    return token;
  }

  /** Invalidates every access token (a session timeout): the next API call answers 401 `INVALID_SESSION_ID`. */
  expireAccessTokens(): void {
    this.#accessTokens.clear();
  }

  /** Invalidates one access or refresh token. */
  revoke(token: string): void {
    this.#accessTokens.delete(token);
    this.#refreshTokens.delete(token);
  }

  /** Answers `POST /services/oauth2/token`. */
  token(rawBody: Buffer, instanceUrl: string, identity: SalesforceIdentity, now: number): EmulatorResponse {
    const form = new URLSearchParams(rawBody.toString('utf8'));
    const grantType = form.get('grant_type');
    const oauthError = (error: string, description: string, status = 400): EmulatorResponse => ({
      status,
      body: { error, error_description: description },
    });
    if (form.get('client_id') !== this.clientId) return oauthError('invalid_client_id', 'client identifier invalid');
    const secret = form.get('client_secret');
    if (secret !== null && secret !== this.clientSecret)
      return oauthError('invalid_client', 'invalid client credentials');
    if (grantType === 'refresh_token') {
      if (!this.#refreshTokens.has(form.get('refresh_token') ?? '')) {
        return oauthError('invalid_grant', 'expired access/refresh token');
      }
    } else if (grantType === 'password') {
      if (secret === null) return oauthError('invalid_client', 'invalid client credentials');
      const username = form.get('username') ?? '';
      const password = form.get('password') ?? '';
      if (!identity.usernames().includes(username) || !password.startsWith(this.password)) {
        return oauthError('invalid_grant', 'authentication failure');
      }
    } else if (grantType === 'client_credentials') {
      if (secret === null) return oauthError('invalid_client', 'invalid client credentials');
    } else {
      return oauthError('unsupported_grant_type', 'grant type not supported');
    }
    const accessToken = this.issueAccessToken(identity.organizationId);
    const issuedAt = String(now);
    const id = `${instanceUrl}/id/${identity.organizationId}/${identity.userId}`;
    return {
      status: 200,
      body: {
        access_token: accessToken,
        signature: createHmac('sha256', this.clientSecret)
          .update(id + issuedAt)
          .digest('base64'),
        scope: 'api refresh_token',
        instance_url: instanceUrl,
        id,
        token_type: 'Bearer',
        issued_at: issuedAt,
      },
    };
  }
}
