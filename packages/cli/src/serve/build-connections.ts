/**
 * Turns the configured connections into the engine's `SyncConnection`s: one adapter per CRM account, created
 * with the `@coexist/<crm>` factory and the connection's resolved credentials.
 */
import { createCloseAdapter } from '@coexist/close';
import { type CountryCode, type CrmAdapter, normalizePhone, type SyncConnection } from '@coexist/core';
import { createHubSpotAdapter } from '@coexist/hubspot';
import { createSalesforceAdapter } from '@coexist/salesforce';
import type { ConnectionConfig } from './coexist-config.ts';

/** Server-wide settings an adapter may need (the public URL its card links point at). */
export interface AdapterFactoryOptions {
  publicUrl?: string;
}

/** Creates the adapter of one configured connection. */
export type AdapterFactory = (connection: ConnectionConfig, options: AdapterFactoryOptions) => CrmAdapter;

/** Creates the adapter of a connection with its `@coexist/<crm>` package and the connection's credentials. */
export const createDefaultAdapter: AdapterFactory = (connection, options) => {
  switch (connection.crm) {
    case 'hubspot': {
      const { accessToken, basePath, tier, defaultCountry } = connection.hubspot;
      return createHubSpotAdapter({
        accessToken,
        tier,
        ...(basePath === undefined ? {} : { basePath }),
        ...(defaultCountry === undefined ? {} : { defaultCountry: defaultCountry as CountryCode }),
      });
    }
    case 'salesforce': {
      const {
        instanceUrl,
        accessToken,
        clientId,
        clientSecret,
        refreshToken,
        loginUrl,
        apiVersion,
        defaultCountry,
        dailyAllocation,
        dailyReserve,
        dailyLimitPauseMs,
        bulkThreshold,
      } = connection.salesforce;
      return createSalesforceAdapter({
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
        ...(defaultCountry === undefined ? {} : { defaultCountry: defaultCountry as CountryCode }),
        // The config takes business numbers in any format; the adapter keys its owners by E.164.
        ...(connection.owners === undefined ? {} : { owners: ownersByE164(connection.owners) }),
        ...(dailyAllocation === undefined ? {} : { dailyAllocation }),
        ...(dailyReserve === undefined ? {} : { dailyReserve }),
        ...(dailyLimitPauseMs === undefined ? {} : { dailyLimitPauseMs }),
        ...(bulkThreshold === undefined ? {} : { bulkThreshold }),
        ...(connection.maxConcurrency === undefined ? {} : { maxConcurrency: connection.maxConcurrency }),
      });
    }
    case 'close': {
      const { apiKey, baseUrl, organizationId, linkSecret, defaultCountry } = connection.close;
      // Messages link to their chat card only when the server knows its public address.
      const cardLinks =
        linkSecret !== undefined && options.publicUrl !== undefined
          ? {
              integrationLinkBaseUrl: `${options.publicUrl.replace(/\/+$/, '')}/cards/close`,
              cardSigningSecret: linkSecret,
            }
          : {};
      return createCloseAdapter({
        apiKey,
        ...(baseUrl === undefined ? {} : { baseUrl }),
        ...(organizationId === undefined ? {} : { organizationId }),
        ...(defaultCountry === undefined ? {} : { defaultCountry: defaultCountry as CountryCode }),
        ...(connection.owners === undefined ? {} : { owners: connection.owners }),
        ...cardLinks,
      });
    }
  }
};

/** The owners map with its business numbers in E.164 (a number that does not parse is kept, for the adapter to name). */
function ownersByE164(owners: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(owners).map(([phone, userId]) => [normalizePhone(phone) ?? phone, userId]));
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
    ...(connection.defaultOwnerId === undefined ? {} : { defaultOwnerId: connection.defaultOwnerId }),
    ...(connection.maxConcurrency === undefined ? {} : { maxConcurrency: connection.maxConcurrency }),
  }));
}
