export * from './adapter/crm-adapter.ts';
export * from './adapter/crm-capabilities.ts';
export * from './adapter/crm-errors.ts';
export * from './adapter/crm-records.ts';
export * from './adapter/recently-not-found.ts';
export { type ApiReply, listApiReplies } from './engine/api-replies.ts';
export { type BackoffOptions, fullJitterBackoff } from './engine/backoff.ts';
export * from './engine/engine-types.ts';
export {
  defaultSafetyMarginMs,
  type RateLimitBucketStatus,
  RateLimiter,
  type RateLimiterClock,
  type RateLimiterOptions,
  type RateLimitPermit,
  type RateLimitTarget,
} from './engine/rate-limiter.ts';
export { createSyncEngine } from './engine/sync-engine.ts';
export * from './events/coexistence-event.ts';
export * from './models/chat-card.ts';
export * from './models/contact.ts';
export * from './models/conversation-ownership.ts';
export * from './models/message-content.ts';
export * from './models/number-health.ts';
export * from './models/owner.ts';
export * from './models/phone.ts';
export * from './models/render-chat-card-html.ts';
export * from './models/service-window.ts';
export * from './models/timeline.ts';
export * from './store/coexist-store.ts';
export { createMemoryStore } from './store/memory-store.ts';
export { createSqliteStore, type SqliteStoreOptions } from './store/sqlite-store.ts';
export {
  type CreateWebhookHandlerOptions,
  createWebhookHandler,
  DEFAULT_MAX_WEBHOOK_BODY_BYTES,
  type InvalidWebhookDelivery,
  type WebhookDelivery,
  type WebhookHandler,
} from './webhook/create-webhook-handler.ts';
export { canonicalJson } from './webhook/event-id.ts';
export * from './webhook/meta-webhook-schema.ts';
export { type ParseWebhookOptions, parseWebhook } from './webhook/parse-webhook.ts';
export { readLimitedBody } from './webhook/read-limited-body.ts';
export { type NodeRequestListener, toNodeListener } from './webhook/to-node-listener.ts';
export {
  escapeNonAscii,
  signWebhookBody,
  type VerifySignatureOptions,
  verifySignature,
} from './webhook/verify-signature.ts';
export { WebhookValidationError, type WebhookValidationIssue } from './webhook/webhook-validation-error.ts';
