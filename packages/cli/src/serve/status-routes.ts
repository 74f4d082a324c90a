/**
 * `/health` and `/status`: whether the store answers and the workers run, and the engine's per-number report
 * (link health, backfill progress, queue depth, dead letters), optionally behind an admin bearer token.
 */
import { timingSafeEqual } from 'node:crypto';
import type { CoexistStore, SyncEngine, SyncStatus } from '@coexist/core';
import { redactSecrets } from './coexist-logger.ts';

/** The `/health` answer. */
export interface HealthReport {
  ok: boolean;
  store: 'ok' | 'unreachable';
  workers: 'running' | 'stopped';
}

/** Checks that the store answers a read and the engine's workers run. */
export async function checkHealth(store: CoexistStore, engine: SyncEngine): Promise<HealthReport> {
  let storeOk = true;
  try {
    await store.getDocument('coexist:health');
  } catch {
    storeOk = false;
  }
  let running = false;
  if (storeOk) {
    try {
      running = (await engine.status()).running;
    } catch {
      storeOk = false;
    }
  }
  return { ok: storeOk && running, store: storeOk ? 'ok' : 'unreachable', workers: running ? 'running' : 'stopped' };
}

/** Answers `GET /health`: 200 when healthy, 503 otherwise. */
export async function healthResponse(store: CoexistStore, engine: SyncEngine): Promise<Response> {
  const report = await checkHealth(store, engine);
  return json(report, report.ok ? 200 : 503);
}

/** Whether a request carries the admin token as `Authorization: Bearer <token>` (always true without a token). */
export function isAuthorized(request: Request, adminToken: string | undefined): boolean {
  if (adminToken === undefined) return true;
  const header = request.headers.get('authorization') ?? '';
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (match === null) return false;
  const provided = Buffer.from(match[1]!);
  const expected = Buffer.from(adminToken);
  return provided.length === expected.length && timingSafeEqual(provided, expected);
}

/** Answers `GET /status` with the engine's report; error texts pass through secret redaction. */
export async function statusResponse(
  request: Request,
  engine: SyncEngine,
  options: { adminToken?: string; secrets: readonly string[] },
): Promise<Response> {
  if (!isAuthorized(request, options.adminToken)) {
    return json({ error: { message: 'missing or wrong admin token (Authorization: Bearer …)' } }, 401, {
      'www-authenticate': 'Bearer realm="coexist"',
    });
  }
  const status: SyncStatus = await engine.status();
  return redactedJson(status, options.secrets);
}

/** A 200 JSON answer, never cached, whose text passed through secret redaction (error texts may quote a request). */
export function redactedJson(value: unknown, secrets: readonly string[]): Response {
  return new Response(redactSecrets(JSON.stringify(value), secrets), {
    status: 200,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  });
}

/** A JSON response that is never cached. */
export function json(value: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return Response.json(value, { status, headers: { 'cache-control': 'no-store', ...headers } });
}
