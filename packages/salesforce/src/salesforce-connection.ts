/**
 * Builds the jsforce `Connection` from the adapter's credentials, lazily, on the first operation: an access token
 * and instance URL; OAuth 2.0 with a refresh token (jsforce's own `OAuth2` refreshes on 401 `INVALID_SESSION_ID`
 * and retries the request); or a caller's own `Connection`. The API version is always set explicitly: jsforce's
 * default `50.0` predates Collections upserts (v46+ uses them, crm-apis.md §3.1), and we pin a tested version.
 */
import { CrmAuthError } from '@coexist/core';
import { Connection } from 'jsforce';
import { SALESFORCE_CRM } from './salesforce-errors.ts';

/** The API version the adapter uses unless told otherwise. */
export const DEFAULT_SALESFORCE_API_VERSION = '62.0';

/** OAuth 2.0 client of a Salesforce connected app (scopes `api` and `refresh_token`). */
export interface SalesforceOAuth2Options {
  /** The connected app's consumer key. */
  clientId: string;
  /** The consumer secret (omit for a PKCE-only app). */
  clientSecret?: string;
  /**
   * Where the token endpoint lives (`/services/oauth2/token`).
   * @default 'https://login.salesforce.com'
   */
  loginUrl?: string;
  /** The callback URL registered on the app (needed only by flows that use it). */
  redirectUri?: string;
}

/** The credential options of `createSalesforceAdapter`, one of three ways. */
export interface SalesforceCredentialOptions {
  /** An access token (a session id), with `instanceUrl`. */
  accessToken?: string;
  /** The org's instance URL, e.g. `https://acme.my.salesforce.com` (the emulator's `url` in tests). */
  instanceUrl?: string;
  /** OAuth client for refreshing: with `refreshToken`, jsforce renews the access token when it expires. */
  oauth2?: SalesforceOAuth2Options;
  /** The refresh token from the OAuth flow (needs the `refresh_token` scope). */
  refreshToken?: string;
  /** Called with each new access token after a refresh, so the caller can persist it (never logged). */
  onAccessTokenRefresh?: (accessToken: string) => void;
  /** A ready jsforce `Connection`; the other credential options are then ignored. */
  connection?: Connection;
  /**
   * The REST API version, `NN.0`.
   * @default '62.0'
   */
  apiVersion?: string;
}

/** Creates the jsforce connection, or throws `CrmAuthError` naming the missing credential option. */
export function createSalesforceConnection(options: SalesforceCredentialOptions): Connection {
  if (options.connection !== undefined) return options.connection;
  const version = options.apiVersion ?? DEFAULT_SALESFORCE_API_VERSION;
  if (options.oauth2 !== undefined) {
    if (options.refreshToken === undefined && options.accessToken === undefined) {
      throw new CrmAuthError({
        crm: SALESFORCE_CRM,
        message: '`options.refreshToken` is required with `options.oauth2` (or pass `options.accessToken`)',
        field: 'options.refreshToken',
      });
    }
    const connection = new Connection({
      oauth2: {
        clientId: options.oauth2.clientId,
        ...(options.oauth2.clientSecret === undefined ? {} : { clientSecret: options.oauth2.clientSecret }),
        ...(options.oauth2.redirectUri === undefined ? {} : { redirectUri: options.oauth2.redirectUri }),
        loginUrl: options.oauth2.loginUrl ?? 'https://login.salesforce.com',
      },
      ...(options.instanceUrl === undefined ? {} : { instanceUrl: options.instanceUrl }),
      ...(options.accessToken === undefined ? {} : { accessToken: options.accessToken }),
      ...(options.refreshToken === undefined ? {} : { refreshToken: options.refreshToken }),
      version,
    });
    const onRefresh = options.onAccessTokenRefresh;
    if (onRefresh !== undefined) connection.on('refresh', (accessToken: string) => onRefresh(accessToken));
    return connection;
  }
  if (options.accessToken === undefined || options.accessToken === '') {
    throw new CrmAuthError({
      crm: SALESFORCE_CRM,
      message:
        '`options.accessToken` is required (or pass `options.oauth2` with a refresh token, or `options.connection`)',
      field: 'options.accessToken',
    });
  }
  if (options.instanceUrl === undefined || options.instanceUrl === '') {
    throw new CrmAuthError({
      crm: SALESFORCE_CRM,
      message: '`options.instanceUrl` is required with `options.accessToken`',
      field: 'options.instanceUrl',
    });
  }
  return new Connection({ instanceUrl: options.instanceUrl, accessToken: options.accessToken, version });
}
