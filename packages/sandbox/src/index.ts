// Close emulator
export {
  type CloseActivityAttachment,
  type CloseContact,
  type CloseContactPhone,
  type CloseCredential,
  type CloseDuplicateGroup,
  type CloseEmulator,
  type CloseEmulatorOptions,
  type CloseIntegrationLink,
  type CloseLead,
  CloseRateLimiter,
  type CloseRateLimitOptions,
  type CloseRateLimitRule,
  CloseSearchError,
  type CloseUser,
  type CloseWhatsAppActivity,
  DEFAULT_CLOSE_API_KEY,
  DEFAULT_CLOSE_ORGANIZATION_ID,
  defaultCloseRateLimitGroups,
  normalizeClosePhone,
  parseCloseSearchQuery,
  startCloseEmulator,
} from './close/index.ts';
// Traffic generator
export {
  type DeliverablePayload,
  DeliverTrafficError,
  type DeliverTrafficOptions,
  type DeliveryAttempt,
  type DeliveryStats,
  deliverTraffic,
} from './generator/deliver-traffic.ts';
export {
  buildTrafficManifest,
  type GeneratedTraffic,
  generateTraffic,
} from './generator/generate-traffic.ts';
export {
  type CountryCode,
  type GeneratedPhoneNumber,
  generateBsuid,
  generatePhoneNumber,
} from './generator/phone-numbers.ts';
export { type Seed, SeededRandom } from './generator/seeded-random.ts';
export {
  MANIFEST_FILE,
  readTraffic,
  type StoredTraffic,
  type StoredTrafficPayload,
  TrafficFilesError,
  trafficFileName,
  type WriteTrafficOptions,
  type WriteTrafficResult,
  writeTraffic,
} from './generator/traffic-files.ts';
export { TrafficOptionsError } from './generator/traffic-plan.ts';
export type {
  HistoryEncoding,
  HistoryPhaseManifest,
  JsonStyle,
  NumberManifest,
  TrafficManifest,
  TrafficOptions,
  TrafficPayload,
  TrafficPayloadKind,
} from './generator/traffic-types.ts';
// HubSpot emulator
export {
  DEFAULT_SEARCH_LIMITS as HUBSPOT_SEARCH_LIMITS,
  type FindDuplicatesOptions,
  HUBSPOT_DAILY_LIMITS,
  HUBSPOT_EMULATOR_DEFAULT_ACCOUNT_ID,
  HUBSPOT_EMULATOR_DEFAULT_TOKEN,
  HUBSPOT_TEN_SECONDLY_LIMITS,
  type HubSpotAccount,
  type HubSpotAccountState,
  type HubSpotAssociation,
  type HubSpotEmulator,
  type HubSpotEmulatorLimits,
  type HubSpotEmulatorOptions,
  type HubSpotObjectType,
  type HubSpotOwner,
  type HubSpotPropertyDefinition,
  type HubSpotRateLimitOptions,
  type HubSpotRateLimitUsage,
  type HubSpotRecord,
  type HubSpotSearchLimits,
  type HubSpotTier,
  type HubSpotTokenOptions,
  startHubSpotEmulator,
} from './hubspot/index.ts';
// Meta Graph / Cloud API emulator
export {
  DEFAULT_META_ACCESS_TOKEN,
  type GraphErrorDetails,
  type MetaEmulator,
  type MetaEmulatorOptions,
  type MetaMedia,
  type MetaNumber,
  type MetaNumberOptions,
  type MetaSentMessage,
  type MetaStatusDelays,
  type MetaSyncEvent,
  type MetaSyncRequest,
  type MetaWebhookDelivery,
  SMB_APP_DATA_WINDOW_MS,
  startMetaEmulator,
} from './meta/index.ts';
