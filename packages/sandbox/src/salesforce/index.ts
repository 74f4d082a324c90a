export {
  type Bulk2JobState,
  Bulk2Jobs,
  type Bulk2Operation,
  bulk2MaxUploadBytes,
  bulk2RecordsPerBatch,
} from './bulk2-jobs.ts';
export {
  type SalesforceEmulator,
  type SalesforceEmulatorOptions,
  startSalesforceEmulator,
} from './salesforce-emulator.ts';
export { SalesforceApiError } from './salesforce-errors.ts';
export { createSalesforceIdGenerator, isSalesforceIdShape, toEighteenCharacterId } from './salesforce-ids.ts';
export {
  defaultDailyAllocation,
  type SalesforceEdition,
  type SalesforceLimitOptions,
  SalesforceLimits,
} from './salesforce-limits.ts';
export { defaultSalesforceAccessToken, type SalesforceOAuthOptions, SalesforceSessions } from './salesforce-oauth.ts';
export { collectionsMaxRecords, collectionsMaxRetrieveIds } from './salesforce-rest-routes.ts';
export {
  defineCustomObject,
  describeSalesforceObject,
  type SalesforceFieldDefinition,
  type SalesforceFieldType,
  type SalesforceObjectDefinition,
  salesforceObjectDefinitions,
} from './salesforce-schema.ts';
export {
  type SalesforceDuplicate,
  type SalesforceRecord,
  type SalesforceRecordError,
  SalesforceState,
  type SalesforceStateOptions,
  type SalesforceUserSeed,
  type SalesforceWriteResult,
} from './salesforce-state.ts';
export { parseSoql, type SoqlCondition, type SoqlQuery, SoqlSyntaxError } from './soql.ts';
export { parseSosl, type SoslScope, type SoslSearch } from './sosl.ts';
