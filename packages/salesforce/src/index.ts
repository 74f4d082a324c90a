export {
  createSalesforceAdapter,
  SALESFORCE_COLLECTION_SIZE,
  type SalesforceAdapterOptions,
} from './salesforce-adapter.ts';
export {
  createSalesforceConnection,
  DEFAULT_SALESFORCE_API_VERSION,
  type SalesforceCredentialOptions,
  type SalesforceOAuth2Options,
} from './salesforce-connection.ts';
export { SALESFORCE_BUCKETS, SALESFORCE_CRM, toSalesforceCrmError } from './salesforce-errors.ts';
export { createMemoryJobStore, type SalesforceJobStore } from './salesforce-job-store.ts';
export { renderSalesforceCard } from './salesforce-card.ts';
export { toConversationFields, SERVICE_WINDOW_MS } from './map-salesforce-conversation.ts';
export { toMessageFields, applyMessageChange } from './map-salesforce-message.ts';
export { toSalesforcePersonFields, splitContactName, type SalesforcePersonObject } from './map-salesforce-lead.ts';
export { buildPhoneSearches, buildE164Query, SOSL_SEARCH_QUERY_MAX_LENGTH } from './salesforce-phone-search.ts';
