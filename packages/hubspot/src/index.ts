export {
  createHubSpotAdapter,
  HUBSPOT_DAILY_LIMITS,
  HUBSPOT_SEARCH_PER_SECOND,
  HUBSPOT_TEN_SECONDLY_LIMITS,
  type HubSpotAdapter,
  type HubSpotAdapterOptions,
  type HubSpotTier,
  hubSpotRateLimitPolicy,
} from './hubspot-adapter.ts';
export { renderHubSpotCard } from './hubspot-card.ts';
export {
  createHubSpotCardHandler,
  HUBSPOT_CARD_MAX_BODY_BYTES,
  type HubSpotCardHandlerOptions,
} from './hubspot-card-handler.ts';
export { HUBSPOT_BUCKETS, readRateLimitSignals, toHubSpotError } from './hubspot-errors.ts';
export { createMemoryMessageIdMap, type HubSpotMessageIdMap } from './hubspot-message-ids.ts';
export { COMMUNICATION_TO_CONTACT_ASSOCIATION_TYPE } from './hubspot-messages.ts';
export {
  COMMUNICATION_PROPERTIES,
  CONTACT_IDENTITY_PROPERTY,
  CONTACT_PROPERTIES,
  type HubSpotPropertyDefinition,
  type HubSpotSetupReport,
  MESSAGE_ID_PROPERTY,
} from './hubspot-setup.ts';
export {
  decodeHubSpotUri,
  HUBSPOT_SIGNATURE_MAX_AGE_MS,
  type HubSpotSignatureVerdict,
  signHubSpotRequestV3,
  type VerifyHubSpotSignatureV3Options,
  verifyHubSpotSignatureV3,
} from './hubspot-signature.ts';
export {
  type CommunicationState,
  renderCommunicationBody,
  toHubSpotCommunicationProperties,
} from './map-hubspot-communication.ts';
export { splitContactName, toHubSpotContactProperties } from './map-hubspot-contact.ts';
