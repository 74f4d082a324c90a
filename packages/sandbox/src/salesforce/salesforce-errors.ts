/**
 * Request-level errors of the emulated REST API, answered as Salesforce does: an HTTP status and a JSON array of
 * `{ message, errorCode, fields? }` (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm).
 */
import type { EmulatorResponse } from '../emulator/emulator-router.ts';

/** An error that fails the whole request (not one record of a collection). */
export class SalesforceApiError extends Error {
  /** The HTTP status of the answer. */
  readonly status: number;
  /** Salesforce's `errorCode`, e.g. `MALFORMED_QUERY`. */
  readonly errorCode: string;
  /** Fields at fault, when the error names some. */
  readonly fields: string[] | undefined;

  /** Creates the error. */
  constructor(status: number, errorCode: string, message: string, fields?: string[]) {
    super(message);
    this.name = 'SalesforceApiError';
    this.status = status;
    this.errorCode = errorCode;
    this.fields = fields;
  }
}

/** The emulator response of an error array with one entry. */
export function salesforceErrorResponse(
  status: number,
  errorCode: string,
  message: string,
  fields?: string[],
): EmulatorResponse {
  return { status, body: [{ message, errorCode, ...(fields ? { fields } : {}) }] };
}

/** The emulator response of a thrown `SalesforceApiError`. */
export function responseOfApiError(error: SalesforceApiError): EmulatorResponse {
  return salesforceErrorResponse(error.status, error.errorCode, error.message, error.fields);
}
