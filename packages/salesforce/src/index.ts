export { SERVICE_WINDOW_MS, toConversationFields } from './map-salesforce-conversation.ts';
export { type SalesforcePersonObject, splitContactName, toSalesforcePersonFields } from './map-salesforce-lead.ts';
export { applyMessageChange, toMessageFields } from './map-salesforce-message.ts';
export {
  createSalesforceAdapter,
  SALESFORCE_COLLECTION_SIZE,
  type SalesforceAdapterOptions,
} from './salesforce-adapter.ts';
export { renderSalesforceCard } from './salesforce-card.ts';
export {
  createSalesforceConnection,
  DEFAULT_SALESFORCE_API_VERSION,
  type SalesforceCredentialOptions,
  type SalesforceOAuth2Options,
} from './salesforce-connection.ts';
export { SALESFORCE_BUCKETS, SALESFORCE_CRM, toSalesforceCrmError } from './salesforce-errors.ts';
export { createMemoryJobStore, type SalesforceJobStore } from './salesforce-job-store.ts';
export { buildE164Query, buildPhoneSearches, SOSL_SEARCH_QUERY_MAX_LENGTH } from './salesforce-phone-search.ts';
