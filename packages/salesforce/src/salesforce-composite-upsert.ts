/**
 * sObject Collections upserts sent together in one Composite request (`POST /services/data/vXX.X/composite`,
 * https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-composite-post.html): the
 * subrequests run in order in one round trip and count as one API call. Composite takes at most 25 subrequests, at
 * most 5 of them sObject Collections or queries, and Collections subrequests from API 43.0. The upserts are
 * independent (no `@{reference}`), `allOrNone: false` at both levels: every record gets its own result.
 */
import { CrmTransientError } from '@coexist/core';
import {
  parseSalesforceResponse,
  type SalesforceSaveResult,
  salesforceCompositeResponseSchema,
  salesforceSaveResultsSchema,
} from './salesforce-api.ts';
import { SALESFORCE_CRM } from './salesforce-errors.ts';

/** Most sObject Collections (or query) subrequests one Composite request may carry. */
export const COMPOSITE_MAX_COLLECTIONS = 5;

/** Records a Collections subrequest carries at most. */
const COLLECTION_SIZE = 200;

/** One upsert by External ID of records of one object. */
export interface CompositeUpsert {
  object: string;
  externalIdField: string;
  records: readonly Record<string, unknown>[];
}

/** How many Collections subrequests these upserts take (200 records each). */
export function compositeCollectionsOf(upserts: readonly CompositeUpsert[]): number {
  return upserts.reduce((sum, upsert) => sum + Math.ceil(upsert.records.length / COLLECTION_SIZE), 0);
}

/** The Composite request body of these upserts, and which records each subrequest carries. */
export function buildCompositeUpserts(
  apiVersion: string,
  upserts: readonly CompositeUpsert[],
): { body: unknown; plan: { upsert: number; size: number }[] } {
  if (compositeCollectionsOf(upserts) > COMPOSITE_MAX_COLLECTIONS)
    throw new TypeError(
      `[coexist/salesforce] a Composite request carries at most ${COMPOSITE_MAX_COLLECTIONS} Collections subrequests`,
    );
  const compositeRequest: unknown[] = [];
  const plan: { upsert: number; size: number }[] = [];
  upserts.forEach((upsert, index) => {
    for (let start = 0; start < upsert.records.length; start += COLLECTION_SIZE) {
      const records = upsert.records.slice(start, start + COLLECTION_SIZE);
      compositeRequest.push({
        method: 'PATCH',
        url: `/services/data/v${apiVersion}/composite/sobjects/${upsert.object}/${upsert.externalIdField}`,
        referenceId: `upsert${compositeRequest.length}`,
        body: {
          allOrNone: false,
          records: records.map((record) => ({ attributes: { type: upsert.object }, ...record })),
        },
      });
      plan.push({ upsert: index, size: records.length });
    }
  });
  return { body: { allOrNone: false, compositeRequest }, plan };
}

/**
 * Reads a Composite answer back into one save result per record of each upsert. A subrequest Salesforce failed
 * (5xx) fails the call as transient; one it refused (4xx) fails each of its records with the subrequest's errors.
 */
export function readCompositeUpserts(
  answer: unknown,
  plan: readonly { upsert: number; size: number }[],
  upserts: number,
): SalesforceSaveResult[][] {
  const { compositeResponse } = parseSalesforceResponse(salesforceCompositeResponseSchema, answer, 'Composite result');
  if (compositeResponse.length !== plan.length)
    throw new CrmTransientError({
      crm: SALESFORCE_CRM,
      message: `Composite: ${compositeResponse.length} subrequest results for ${plan.length} subrequests`,
    });
  const results: SalesforceSaveResult[][] = Array.from({ length: upserts }, () => []);
  compositeResponse.forEach((subrequest, index) => {
    const { upsert, size } = plan[index]!;
    if (subrequest.httpStatusCode >= 500)
      throw new CrmTransientError({
        crm: SALESFORCE_CRM,
        message: `Composite: subrequest ${subrequest.referenceId} failed (HTTP ${subrequest.httpStatusCode})`,
        status: subrequest.httpStatusCode,
      });
    if (subrequest.httpStatusCode >= 400) {
      const errors = (Array.isArray(subrequest.body) ? subrequest.body : []).map((entry) => {
        const error = (entry ?? {}) as { errorCode?: unknown; message?: unknown; fields?: unknown };
        return {
          statusCode: typeof error.errorCode === 'string' ? error.errorCode : 'UNKNOWN',
          message: typeof error.message === 'string' ? error.message : '',
          ...(Array.isArray(error.fields) ? { fields: error.fields.map(String) } : {}),
        };
      });
      for (let record = 0; record < size; record++) results[upsert]!.push({ success: false, errors });
      return;
    }
    const saved = parseSalesforceResponse(salesforceSaveResultsSchema, subrequest.body, 'sObject Collections result');
    results[upsert]!.push(...saved);
  });
  return results;
}
