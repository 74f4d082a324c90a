export {
  DEFAULT_META_ACCESS_TOKEN,
  type MetaEmulator,
  type MetaEmulatorOptions,
  type MetaStatusDelays,
  type MetaSyncEvent,
  SMB_APP_DATA_WINDOW_MS,
  startMetaEmulator,
} from './meta-emulator.ts';
export { type GraphErrorDetails, graphError } from './meta-graph-error.ts';
export {
  type OutgoingMessage,
  SENDABLE_MESSAGE_TYPES,
  type SendableMessageType,
  validateOutgoingMessage,
} from './meta-outgoing-message.ts';
export type { MetaMedia, MetaNumber, MetaNumberOptions, MetaSentMessage, MetaSyncRequest } from './meta-state.ts';
export { buildStatusWebhook, type MetaOutgoingStatus, type MetaStatusWebhookInput } from './meta-status-webhook.ts';
export { type MetaWebhookDelivery, MetaWebhookSender, type MetaWebhookSenderOptions } from './meta-webhook-sender.ts';
