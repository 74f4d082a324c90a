export type { CloseCredential, ClosePrincipal } from './close-auth.ts';
export {
  type CloseEmulator,
  type CloseEmulatorOptions,
  DEFAULT_CLOSE_API_KEY,
  DEFAULT_CLOSE_ORGANIZATION_ID,
  type SeedLeadInput as CloseSeedLeadInput,
  startCloseEmulator,
} from './close-emulator.ts';
export { type ClosePhone, normalizeClosePhone } from './close-phone.ts';
export {
  type CloseRateLimitDecision,
  CloseRateLimiter,
  type CloseRateLimitOptions,
  type CloseRateLimitRule,
  defaultCloseRateLimitGroups,
} from './close-rate-limiter.ts';
export { CloseSearchError, type CloseSearchQuery, parseCloseSearchQuery } from './close-search.ts';
export type {
  CloseAttachment as CloseActivityAttachment,
  CloseContact,
  CloseContactPhone,
  CloseDuplicateGroup,
  CloseFile,
  CloseIntegrationLink,
  CloseLead,
  CloseState,
  CloseUser,
  CloseWhatsAppActivity,
} from './close-state.ts';
