/**
 * Turns the configured connections into the engine's `SyncConnection`s: one adapter per CRM account, created
 * with the `@coexist/<crm>` factory and the connection's resolved credentials.
 */
import type { CrmAdapter, SyncConnection } from '@coexist/core';
import * as closePackage from '@coexist/close';
import { createHubSpotAdapter } from '@coexist/hubspot';
import * as salesforcePackage from '@coexist/salesforce';
import type { ConnectionConfig } from './coexist-config.ts';

/** Creates the adapter of one configured connection. */
export type AdapterFactory = (connection: ConnectionConfig) => CrmAdapter;

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
export const createDefaultAdapter: AdapterFactory = (connection) => {
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
      return create({ ...connection.salesforce });
    }
    case 'close': {
      const create = factoryOf(closePackage, 'createCloseAdapter');
      if (create === undefined) throw unavailable(field, '@coexist/close', 'createCloseAdapter');
      const { apiKey, basePath } = connection.close;
      return create({ apiKey, ...(basePath === undefined ? {} : { basePath }) });
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
): SyncConnection[] {
  return connections.map((connection) => ({
    id: connection.id,
    adapter: createAdapter(connection),
    phoneNumberIds: connection.phoneNumberIds,
    ...(connection.owners === undefined ? {} : { owners: connection.owners }),
    ...(connection.maxConcurrency === undefined ? {} : { maxConcurrency: connection.maxConcurrency }),
  }));
}
