/**
 * Coercion and validation of one field value as Salesforce's REST API does it on write: text length, e-mail shape,
 * booleans, numbers, dates and datetimes. Error codes follow the API's `StatusCode` list
 * (https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm#statuscode).
 */
import type { SalesforceFieldDefinition } from './salesforce-schema.ts';

/** One error of one record, in the shape of Salesforce's save results. */
export interface SalesforceRecordError {
  statusCode: string;
  message: string;
  fields: string[];
}

/** The coerced value, or the error that rejects it. */
export type CoercedValue = { ok: true; value: unknown } | { ok: false; error: SalesforceRecordError };

/** Formats epoch milliseconds as Salesforce writes datetimes: `2024-05-01T12:00:00.000+0000`. */
export function formatSalesforceDateTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('Z', '+0000');
}

function typeError(field: SalesforceFieldDefinition, value: unknown): CoercedValue {
  return {
    ok: false,
    error: {
      statusCode: 'INVALID_TYPE_ON_FIELD_IN_RECORD',
      message: `${field.label}: value not of required type: ${String(value)}`,
      fields: [field.name],
    },
  };
}

/** Coerces a JSON (or CSV-decoded) value for a non-reference field; `null` and `''` clear the field. */
export function coerceFieldValue(field: SalesforceFieldDefinition, value: unknown): CoercedValue {
  if (value === null || value === undefined || value === '') {
    // A checkbox is never null in Salesforce: clearing it stores false.
    return { ok: true, value: field.type === 'boolean' ? false : null };
  }
  switch (field.type) {
    case 'boolean':
      if (typeof value === 'boolean') return { ok: true, value };
      if (value === 'true' || value === 'false') return { ok: true, value: value === 'true' };
      return typeError(field, value);
    case 'double':
    case 'int': {
      const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
      if (!Number.isFinite(number) || (field.type === 'int' && !Number.isInteger(number)))
        return typeError(field, value);
      return { ok: true, value: number };
    }
    case 'datetime': {
      if (typeof value !== 'string') return typeError(field, value);
      const normalized = value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
      const epoch = Date.parse(normalized);
      if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(epoch)) return typeError(field, value);
      return { ok: true, value: formatSalesforceDateTime(epoch) };
    }
    case 'date': {
      if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(value))) {
        return typeError(field, value);
      }
      return { ok: true, value };
    }
    default: {
      if (typeof value === 'object') return typeError(field, JSON.stringify(value));
      const text = String(value);
      const maximum = field.length ?? 255;
      if (text.length > maximum) {
        return {
          ok: false,
          error: {
            statusCode: 'STRING_TOO_LONG',
            message: `${field.label}: data value too large: ${text.slice(0, 40)}… (max length=${maximum})`,
            fields: [field.name],
          },
        };
      }
      if (field.type === 'email' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(text)) {
        return {
          ok: false,
          error: {
            statusCode: 'INVALID_EMAIL_ADDRESS',
            message: `${field.label}: invalid email address: ${text}`,
            fields: [field.name],
          },
        };
      }
      return { ok: true, value: text };
    }
  }
}
