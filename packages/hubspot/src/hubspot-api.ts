/**
 * Zod schemas of the HubSpot CRM v3 wire format the adapter reads: batch answers (200/201/207), search pages,
 * property lists and error bodies. Responses are validated here, at the edge; the rest of the package works with
 * the parsed types only. Shapes follow `@hubspot/api-client` 14's models (`BatchResponseSimplePublicObject`,
 * `BatchResponseSimplePublicUpsertObjectWithErrors`, `CollectionResponseWithTotalSimplePublicObjectForwardPaging`,
 * `StandardError`) and crm-apis.md §2.1–2.5.
 */
import { z } from 'zod';

/** A CRM record as HubSpot returns it (`SimplePublicObject`); property values are strings or null. */
export const hubSpotRecordSchema = z.looseObject({
  id: z.string(),
  properties: z.record(z.string(), z.string().nullable()).default({}),
  createdAt: z.string().optional(),
  updatedAt: z.string().optional(),
  archived: z.boolean().optional(),
  /** Batch upsert only: whether the row created the record. */
  new: z.boolean().optional(),
  objectWriteTraceId: z.string().optional(),
});

/** A CRM record as HubSpot returns it. */
export type HubSpotWireRecord = z.infer<typeof hubSpotRecordSchema>;

/** One failed row of a batch (`StandardError`). */
export const hubSpotRowErrorSchema = z.looseObject({
  status: z.string().optional(),
  category: z.string().default('UNKNOWN'),
  subCategory: z.string().optional(),
  message: z.string().default(''),
  context: z.record(z.string(), z.array(z.string())).optional(),
});

/** One failed row of a batch. */
export type HubSpotRowError = z.infer<typeof hubSpotRowErrorSchema>;

/** A batch answer: 200/201 with `results`, or 207 with `errors` and `numErrors` as well. */
export const hubSpotBatchResponseSchema = z.looseObject({
  status: z.string().optional(),
  results: z.array(hubSpotRecordSchema).default([]),
  errors: z.array(hubSpotRowErrorSchema).default([]),
  numErrors: z.number().optional(),
});

/** A batch answer. */
export type HubSpotBatchResponse = z.infer<typeof hubSpotBatchResponseSchema>;

/** A CRM search page. */
export const hubSpotSearchResponseSchema = z.looseObject({
  total: z.number().default(0),
  results: z.array(hubSpotRecordSchema).default([]),
  paging: z.looseObject({ next: z.looseObject({ after: z.string() }).optional() }).optional(),
});

/** A CRM search page. */
export type HubSpotSearchResponse = z.infer<typeof hubSpotSearchResponseSchema>;

/** `GET /crm/v3/properties/{objectType}`. */
export const hubSpotPropertyListSchema = z.looseObject({
  results: z.array(
    z.looseObject({
      name: z.string(),
      type: z.string().optional(),
      hasUniqueValue: z.boolean().optional(),
      archived: z.boolean().optional(),
    }),
  ),
});

/** An error body: HubSpot's standard error, or a 429 with `errorType`/`policyName` (crm-apis.md §2.5). */
export const hubSpotErrorBodySchema = z.looseObject({
  status: z.string().optional(),
  message: z.string().optional(),
  category: z.string().optional(),
  subCategory: z.string().optional(),
  correlationId: z.string().optional(),
  errorType: z.string().optional(),
  policyName: z.string().optional(),
  errors: z.array(z.looseObject({ message: z.string().optional(), in: z.string().optional() })).optional(),
  context: z.record(z.string(), z.array(z.string())).optional(),
});

/** An error body. */
export type HubSpotErrorBody = z.infer<typeof hubSpotErrorBodySchema>;

/** A search filter (`Filter`). */
export interface HubSpotSearchFilter {
  propertyName: string;
  operator: 'EQ' | 'IN' | 'HAS_PROPERTY';
  value?: string;
  values?: string[];
}

/** A search request (`PublicObjectSearchRequest`). */
export interface HubSpotSearchRequest {
  filterGroups: { filters: HubSpotSearchFilter[] }[];
  properties: string[];
  limit: number;
  after?: string;
  sorts?: string[];
}

/** An inline association of a create input (`PublicAssociationsForObject`). */
export interface HubSpotInlineAssociation {
  to: { id: string };
  types: { associationCategory: 'HUBSPOT_DEFINED'; associationTypeId: number }[];
}
