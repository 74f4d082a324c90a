export {
  CLOSE_RATE_LIMIT_BUCKETS,
  CLOSE_SEARCH_BATCH_SIZE,
  type CloseAdapter,
  type CloseAdapterOptions,
  createCloseAdapter,
} from './close-adapter.ts';
export { CLOSE_DEFAULT_BASE_URL } from './close-api.ts';
export {
  CLOSE_LEAD_ID_PLACEHOLDER,
  type CloseCardHandlerOptions,
  type CloseCardLinkScope,
  type CloseCardLinkVerification,
  type CloseCardTarget,
  type CloseIntegrationLinkTemplateOptions,
  closeIntegrationLinkTemplate,
  createCloseCardHandler,
  type SignCloseCardLinkOptions,
  signCloseCardLink,
  type VerifyCloseCardLinkOptions,
  verifyCloseCardLink,
} from './close-card.ts';
export {
  CLOSE_CRM,
  CLOSE_ENDPOINT_GROUPS,
  type CloseEndpointGroup,
  type CloseRateLimitHeader,
  CloseValidationError,
  parseRateLimitHeader,
  toRateLimitSignal,
} from './close-errors.ts';
export type { CloseMediaFetcher, CloseMediaFile } from './close-media.ts';
export type { CloseSetupReport } from './close-setup.ts';
export type { CloseCredentialOptions } from './close-transport.ts';
export {
  type ClosePhoneSearchValues,
  closeSearchValues,
  matchClosePhoneSearch,
  toCloseLeadCreate,
  toClosePhoneSearch,
} from './map-close-lead.ts';
export {
  type CloseMessageState,
  type CloseUserTextFormatting,
  composeCloseMarkdown,
  escapeWhatsAppMarkdown,
  parseCloseMarkdown,
  renderCloseMessageBody,
  toCloseWhatsAppActivityCreate,
} from './map-close-whatsapp-activity.ts';
