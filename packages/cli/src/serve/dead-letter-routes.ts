/**
 * `/dead-letters`: the events that could never be written, each with the CRM's reason (never a message body), for an
 * operator to list (`GET /dead-letters`) and put back in the queue after a fix (`POST /dead-letters/<id>/replay`).
 * Behind the admin token, and off without one: a replay makes the engine write to the CRM.
 */
import { CoexistStoreError, type SyncEngine } from '@coexist/core';
import { isAuthorized, json, redactedJson } from './status-routes.ts';

const LIST_PATH = '/dead-letters';
const REPLAY_PATH = /^\/dead-letters\/(\d{1,15})\/replay$/;

/** Whether `path` is one of the dead-letter routes. */
export function isDeadLetterPath(path: string): boolean {
  return path === LIST_PATH || REPLAY_PATH.test(path);
}

/**
 * Answers the dead-letter routes: `GET /dead-letters` (query `limit`, 1–100,000, and `includeReplayed=true`) with
 * `{ deadLetters }`, oldest first; `POST /dead-letters/<id>/replay` with `{ deadLetter }` (404 for an unknown id, 409
 * for one replayed already). 403 without an admin token in the configuration, 401 without the right one.
 */
export async function deadLetterResponse(
  request: Request,
  engine: SyncEngine,
  options: { adminToken?: string; secrets: readonly string[] },
): Promise<Response> {
  if (options.adminToken === undefined) {
    return json({ error: { message: 'the dead-letter routes need an adminToken in the configuration' } }, 403);
  }
  if (!isAuthorized(request, options.adminToken)) {
    return json({ error: { message: 'missing or wrong admin token (Authorization: Bearer …)' } }, 401, {
      'www-authenticate': 'Bearer realm="coexist"',
    });
  }
  const url = new URL(request.url);
  const replay = REPLAY_PATH.exec(url.pathname);
  if (replay === null) {
    if (request.method !== 'GET') return json({ error: { message: 'method not allowed' } }, 405, { allow: 'GET' });
    const limit = url.searchParams.get('limit');
    if (limit !== null && !(/^\d{1,6}$/.test(limit) && Number(limit) >= 1 && Number(limit) <= 100_000)) {
      return json({ error: { field: 'limit', message: 'limit: expected an integer from 1 to 100000' } }, 400);
    }
    const deadLetters = await engine.listDeadLetters({
      includeReplayed: url.searchParams.get('includeReplayed') === 'true',
      ...(limit === null ? {} : { limit: Number(limit) }),
    });
    return redactedJson({ deadLetters }, options.secrets);
  }
  if (request.method !== 'POST') return json({ error: { message: 'method not allowed' } }, 405, { allow: 'POST' });
  try {
    return redactedJson({ deadLetter: await engine.replayDeadLetter(Number(replay[1])) }, options.secrets);
  } catch (error) {
    // Only the letter's own refusals answer 4xx; anything else (a closed store) is the server's error.
    if (!(error instanceof CoexistStoreError) || error.field !== 'id') throw error;
    // The store names the two refusals in its message: no such letter, or replayed already.
    const status = /already replayed/.test(error.message) ? 409 : 404;
    return json({ error: { field: error.field, message: error.message } }, status);
  }
}
