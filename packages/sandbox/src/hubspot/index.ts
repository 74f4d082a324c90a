export {
  type FindDuplicatesOptions,
  HUBSPOT_EMULATOR_DEFAULT_ACCOUNT_ID,
  HUBSPOT_EMULATOR_DEFAULT_TOKEN,
  type HubSpotEmulator,
  type HubSpotEmulatorLimits,
  type HubSpotEmulatorOptions,
  type HubSpotTokenOptions,
  startHubSpotEmulator,
} from './hubspot-emulator.ts';
export type { HubSpotObjectType, HubSpotPropertyDefinition } from './hubspot-properties.ts';
export {
  HUBSPOT_DAILY_LIMITS,
  HUBSPOT_TEN_SECONDLY_LIMITS,
  type HubSpotRateLimitOptions,
  type HubSpotRateLimitUsage,
  type HubSpotTier,
} from './hubspot-rate-limits.ts';
export type { HubSpotAccount, HubSpotOwner } from './hubspot-route-context.ts';
export { DEFAULT_SEARCH_LIMITS, type HubSpotSearchLimits } from './hubspot-search.ts';
export type { HubSpotAccountState, HubSpotAssociation, HubSpotRecord } from './hubspot-state.ts';
