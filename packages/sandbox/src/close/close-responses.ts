import type { EmulatorResponse } from '../emulator/emulator-router.ts';

/**
 * Close's validation error: `{"errors": [...], "field-errors": {field: message}}` with HTTP 400
 * (https://developer.close.com/api/overview/http-response-codes — shape as crm-apis.md §4.1 records it).
 */
export function closeFieldErrors(fieldErrors: Record<string, string>, errors: string[] = []): EmulatorResponse {
  return { status: 400, body: { errors, 'field-errors': fieldErrors }, tags: ['validation'] };
}

/** A 400 that is not about one field (bad paging, malformed JSON), shaped `{"error": message}` (emulator convention). */
export function closeBadRequest(message: string): EmulatorResponse {
  return { status: 400, body: { error: message }, tags: ['validation'] };
}

/** A 404 for an unknown object id (emulator convention for the body). */
export function closeNotFound(what: string): EmulatorResponse {
  return { status: 404, body: { error: `${what} does not exist.` }, tags: ['not-found'] };
}

/** A 401 for a missing or unknown API key / OAuth token (emulator convention for the body). */
export function closeUnauthorized(): EmulatorResponse {
  return {
    status: 401,
    headers: { 'www-authenticate': 'Basic realm="Close API"' },
    body: { error: 'The API key or OAuth token you provided is invalid.' },
    tags: ['unauthorized'],
  };
}

/** A 200 JSON answer. */
export function closeOk(body: unknown): EmulatorResponse {
  return { status: 200, body };
}
