/**
 * Zod schemas of the Salesforce REST wire formats the adapter reads (crm-apis.md §3): sObject Collections results,
 * SOQL query pages, SOSL search results, the records we select, and Bulk API 2.0 job info and result rows. jsforce
 * parses the JSON; these schemas check its shape at the edge so the rest of the package works with typed values.
 */
import { z } from 'zod';

/** One error of a per-record result (`statusCode`, `message`, `fields`; crm-apis.md §3.3 marks the names [unverified]). */
export const salesforceRecordErrorSchema = z.object({
  statusCode: z.string().optional(),
  errorCode: z.string().optional(),
  message: z.string().default(''),
  fields: z.array(z.string()).optional(),
});

/** One record error. */
export type SalesforceRecordError = z.infer<typeof salesforceRecordErrorSchema>;

/** One per-record result of a Collections create, update or upsert. */
export const salesforceSaveResultSchema = z.object({
  id: z.string().optional().nullable(),
  success: z.boolean(),
  errors: z.array(salesforceRecordErrorSchema).default([]),
  /** Only upserts answer it: whether the record was inserted. */
  created: z.boolean().optional(),
});

/** One per-record result. */
export type SalesforceSaveResult = z.infer<typeof salesforceSaveResultSchema>;

/** A Collections answer: one result per record, in order. */
export const salesforceSaveResultsSchema = z.array(salesforceSaveResultSchema);

/** A record to update by Id through sObject Collections: its object, its Id and the fields that change. */
export interface SalesforceRecordUpdate {
  type: string;
  Id: string;
  fields: Record<string, unknown>;
}

/**
 * A Composite answer (`POST /composite`): one result per subrequest, in order; a failed subrequest's body is an
 * error array (https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-subrequest-result.html).
 */
export const salesforceCompositeResponseSchema = z.object({
  compositeResponse: z.array(
    z.object({
      body: z.unknown(),
      httpStatusCode: z.number(),
      referenceId: z.string(),
    }),
  ),
});

/** A SOQL page (`GET /query`). */
export const salesforceQueryPageSchema = z.object({
  totalSize: z.number(),
  done: z.boolean(),
  nextRecordsUrl: z.string().optional(),
  records: z.array(z.record(z.string(), z.unknown())),
});

/** A SOSL answer (`GET /search`). */
export const salesforceSearchResultSchema = z.object({
  searchRecords: z.array(z.record(z.string(), z.unknown())),
});

const nullableString = z.string().nullish();

/** A Contact or Lead as our phone searches select it. */
export const salesforcePersonRecordSchema = z.looseObject({
  attributes: z.object({ type: z.string() }),
  Id: z.string(),
  Name: nullableString,
  Phone: nullableString,
  MobilePhone: nullableString,
  WhatsApp_E164__c: nullableString,
  WhatsApp_User_Id__c: nullableString,
  OwnerId: nullableString,
  /** Contacts only. */
  AccountId: nullableString,
});

/** A Contact or Lead as selected. */
export type SalesforcePersonRecord = z.infer<typeof salesforcePersonRecordSchema>;

/** A `WhatsApp_Conversation__c` as the adapter selects it before an upsert. */
export const salesforceConversationRecordSchema = z.looseObject({
  Id: z.string(),
  Thread_Key__c: z.string(),
  Owner_Side__c: nullableString,
  Window_Expires_At__c: nullableString,
  Last_Message_At__c: nullableString,
});

/** A stored conversation. */
export type SalesforceConversationRecord = z.infer<typeof salesforceConversationRecordSchema>;

/** A `WhatsApp_Message__c` as the adapter selects it before applying an update. */
export const salesforceMessageRecordSchema = z.looseObject({
  Id: z.string(),
  Message_Id__c: z.string(),
  Status__c: nullableString,
  Reactions__c: nullableString,
  Revoked__c: z.boolean().nullish(),
  Media_Url__c: nullableString,
});

/** A stored message. */
export type SalesforceMessageRecord = z.infer<typeof salesforceMessageRecordSchema>;

/** Bulk API 2.0 ingest job info (`GET /jobs/ingest/{id}`). */
export const salesforceBulkJobInfoSchema = z.looseObject({
  id: z.string(),
  state: z.enum(['Open', 'UploadComplete', 'InProgress', 'JobComplete', 'Aborted', 'Failed']),
  errorMessage: z.string().nullish(),
  numberRecordsProcessed: z.number().optional(),
  numberRecordsFailed: z.number().optional(),
});

/** Bulk job info. */
export type SalesforceBulkJobInfo = z.infer<typeof salesforceBulkJobInfoSchema>;

/** `conn.limitInfo` as jsforce parses it from `Sforce-Limit-Info: api-usage=used/limit`. */
export const salesforceLimitInfoSchema = z.object({
  apiUsage: z.object({ used: z.number(), limit: z.number() }).optional(),
});

/** Parses a value with a schema, naming what was expected when the CRM answered something else. */
export function parseSalesforceResponse<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  what: string,
): z.infer<Schema> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue === undefined ? '' : issue.path.join('.');
  throw new SalesforceResponseShapeError(
    `[coexist/salesforce] unexpected ${what} from Salesforce${path === '' ? '' : ` at \`${path}\``}: ${issue?.message ?? 'invalid'}`,
  );
}

/** A Salesforce answer did not have the documented shape. */
export class SalesforceResponseShapeError extends Error {
  override readonly name = 'SalesforceResponseShapeError';
}
