/**
 * Turns the configured connections into the engine's `SyncConnection`s: one adapter per CRM account, created
 * with the `@coexist/<crm>` factory and the connection's resolved credentials.
 */

import * as closePackage from '@coexist/close';
import type { CrmAdapter, SyncConnection } from '@coexist/core';
import { createHubSpotAdapter } from '@coexist/hubspot';
import * as salesforcePackage from '@coexist/salesforce';
import type { ConnectionConfig } from './coexist-config.ts';

/** Server-wide settings an adapter may need (the public URL its card links point at). */
export interface AdapterFactoryOptions {
  publicUrl?: string;
}

/** Creates the adapter of one configured connection. */
export type AdapterFactory = (connection: ConnectionConfig, options: AdapterFactoryOptions) => CrmAdapter;

/** Thrown when a configured CRM has no adapter in the installed packages; names the connection. */
export class AdapterUnavailableError extends Error {
  override readonly name = 'AdapterUnavailableError';
}

// The adapters are looked up by name so this module also loads against a package version that predates one.
type Factory = (options: Record<string, unknown>) => CrmAdapter;
const factoryOf = (module: object, name: string): Factory | undefined => {
  const value = (module as Record<string, unknown>)[name];
  return typeof value === 'function' ? (value as Factory) : undefined;
};

/** Creates the adapter of a connection with its `@coexist/<crm>` package; throws naming the connection when none exists. */
export const createDefaultAdapter: AdapterFactory = (connection, options) => {
  const field = `connections[id=${connection.id}]`;
  switch (connection.crm) {
    case 'hubspot': {
      const { accessToken, basePath, tier, defaultCountry } = connection.hubspot;
      return createHubSpotAdapter({
        accessToken,
        tier,
        ...(basePath === undefined ? {} : { basePath }),
        ...(defaultCountry === undefined ? {} : { defaultCountry: defaultCountry as never }),
      });
    }
    case 'salesforce': {
      const create = factoryOf(salesforcePackage, 'createSalesforceAdapter');
      if (create === undefined) throw unavailable(field, '@coexist/salesforce', 'createSalesforceAdapter');
      const { instanceUrl, accessToken, clientId, clientSecret, refreshToken, loginUrl, apiVersion, defaultCountry } =
        connection.salesforce;
      return create({
        instanceUrl,
        ...(accessToken === undefined ? {} : { accessToken }),
        ...(clientId === undefined
          ? {}
          : {
              oauth2: {
                clientId,
                ...(clientSecret === undefined ? {} : { clientSecret }),
                ...(loginUrl === undefined ? {} : { loginUrl }),
              },
            }),
        ...(refreshToken === undefined ? {} : { refreshToken }),
        ...(apiVersion === undefined ? {} : { apiVersion }),
        ...(defaultCountry === undefined ? {} : { defaultCountry }),
        ...(connection.owners === undefined ? {} : { owners: connection.owners }),
      });
    }
    case 'close': {
      const create = factoryOf(closePackage, 'createCloseAdapter');
      if (create === undefined) throw unavailable(field, '@coexist/close', 'createCloseAdapter');
      const { apiKey, baseUrl, organizationId, linkSecret, defaultCountry } = connection.close;
      // Messages link to their chat card only when the server knows its public address.
      const cardLinks =
        linkSecret !== undefined && options.publicUrl !== undefined
          ? {
              integrationLinkBaseUrl: `${options.publicUrl.replace(/\/+$/, '')}/cards/close`,
              cardSigningSecret: linkSecret,
            }
          : {};
      return create({
        apiKey,
        ...(baseUrl === undefined ? {} : { baseUrl }),
        ...(organizationId === undefined ? {} : { organizationId }),
        ...(defaultCountry === undefined ? {} : { defaultCountry }),
        ...(connection.owners === undefined ? {} : { owners: connection.owners }),
        ...cardLinks,
      });
    }
  }
};

function unavailable(field: string, packageName: string, factory: string): AdapterUnavailableError {
  return new AdapterUnavailableError(
    `[coexist/cli] ${field}.crm: not yet available: this version of ${packageName} has no ${factory}`,
  );
}

/** Builds the engine's connections from the configuration. */
export function buildConnections(
  connections: readonly ConnectionConfig[],
  createAdapter: AdapterFactory = createDefaultAdapter,
  options: AdapterFactoryOptions = {},
): SyncConnection[] {
  return connections.map((connection) => ({
    id: connection.id,
    adapter: createAdapter(connection, options),
    phoneNumberIds: connection.phoneNumberIds,
    ...(connection.owners === undefined ? {} : { owners: connection.owners }),
    ...(connection.maxConcurrency === undefined ? {} : { maxConcurrency: connection.maxConcurrency }),
  }));
}
