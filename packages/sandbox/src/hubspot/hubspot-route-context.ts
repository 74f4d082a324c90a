import type { CountryCode } from 'libphonenumber-js';
import type { z } from 'zod';
import type { EmulatorRequest, EmulatorResponse } from '../emulator/index.ts';
import type { HubSpotBatchRowError, HubSpotErrorFactory } from './hubspot-errors.ts';
import { defaultReadProperties, type HubSpotObjectType, resolveObjectType } from './hubspot-properties.ts';
import type { HubSpotRateLimiter, HubSpotTier } from './hubspot-rate-limits.ts';
import type { HubSpotSearchLimits } from './hubspot-search.ts';
import type { HubSpotAccountState, HubSpotRecord } from './hubspot-state.ts';
import { describeIssues } from './hubspot-wire-schemas.ts';

/** One HubSpot account (portal) of the emulator: its data and its rate limits. */
export interface HubSpotAccount {
  readonly accountId: string;
  readonly tier: HubSpotTier;
  readonly state: HubSpotAccountState;
  readonly limiter: HubSpotRateLimiter;
}

/** A HubSpot user who can own records (`GET /crm/v3/owners`). */
export interface HubSpotOwner {
  id: string | number;
  email: string;
  firstName?: string;
  lastName?: string;
  userId?: number;
  archived?: boolean;
}

/** Emulator-wide settings the routes read. */
export interface HubSpotRouteSettings {
  /** Inputs per object batch call. */
  batchSize: number;
  /** Inputs per associations v4 batch call. */
  associationBatchSize: number;
  search: HubSpotSearchLimits;
  maxUniquePropertiesPerObject: number;
  uniquePropertiesOnCommunications: boolean;
  owners: HubSpotOwner[];
  defaultPhoneRegion: CountryCode;
}

/** What a route handler gets besides the request. */
export interface HubSpotRouteContext {
  readonly account: HubSpotAccount;
  readonly errors: HubSpotErrorFactory;
  readonly settings: HubSpotRouteSettings;
  now(): number;
}

/** A route handler of the HubSpot emulator. */
export type HubSpotRouteHandler = (
  request: EmulatorRequest,
  context: HubSpotRouteContext,
) => EmulatorResponse | Promise<EmulatorResponse>;

/** Parses a request body with a schema, or answers HubSpot's 400 for malformed input. */
export function parseBody<Schema extends z.ZodType>(
  request: EmulatorRequest,
  schema: Schema,
  context: HubSpotRouteContext,
): { ok: true; body: z.output<Schema> } | { ok: false; response: EmulatorResponse } {
  if (request.bodyError !== undefined) {
    return { ok: false, response: context.errors.validation(`Invalid input JSON on line 1: ${request.bodyError}`) };
  }
  const parsed = schema.safeParse(request.body);
  if (!parsed.success) {
    const errors = describeIssues(parsed.error);
    return {
      ok: false,
      response: context.errors.validation(
        `Invalid input JSON: ${errors.map((error) => error.message).join('; ')}`,
        errors,
      ),
    };
  }
  return { ok: true, body: parsed.data };
}

/** Resolves the `:objectType` path parameter, or answers 400 like HubSpot for an unknown type. */
export function objectTypeOf(
  name: string | undefined,
  context: HubSpotRouteContext,
): { ok: true; objectType: HubSpotObjectType } | { ok: false; response: EmulatorResponse } {
  const objectType = resolveObjectType(name ?? '');
  if (objectType) return { ok: true, objectType };
  return {
    ok: false,
    response: context.errors.validation(
      `Unable to infer object type from: ${name}. The HubSpot emulator serves contacts and communications.`,
    ),
  };
}

/** The wire form of a record (`SimplePublicObject`) with the requested properties, or all of them. */
export function presentRecord(
  record: HubSpotRecord,
  requested: string[] | 'all',
  context: HubSpotRouteContext,
): Record<string, unknown> {
  let properties: Record<string, string | null>;
  if (requested === 'all') properties = { ...record.properties };
  else {
    properties = {};
    const definitions = context.account.state.properties(record.objectType);
    const names = new Set([...defaultReadProperties(record.objectType).filter(isAlwaysReturned), ...requested]);
    if (requested.length === 0) for (const name of defaultReadProperties(record.objectType)) names.add(name);
    for (const name of names) {
      // Unknown requested properties are skipped; known ones without a value come back as null.
      if (!definitions.has(name)) continue;
      properties[name] = record.properties[name] ?? null;
    }
  }
  return {
    id: record.id,
    properties,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    archived: record.archived,
  };
}

function isAlwaysReturned(name: string): boolean {
  return ['hs_object_id', 'createdate', 'lastmodifieddate', 'hs_createdate', 'hs_lastmodifieddate'].includes(name);
}

/** Splits a `properties=a,b` query parameter (repeated or comma-separated). */
export function requestedProperties(query: URLSearchParams, name = 'properties'): string[] {
  return query
    .getAll(name)
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter(Boolean);
}

/** A batch answer: 201/200 with `results` when every row passed, 207 with `errors`/`numErrors` otherwise. */
export function batchResponse(
  results: unknown[],
  errors: HubSpotBatchRowError[],
  successStatus: 200 | 201,
  startedAt: number,
  completedAt: number,
): EmulatorResponse {
  const body: Record<string, unknown> = {
    status: 'COMPLETE',
    results,
    startedAt: new Date(startedAt).toISOString(),
    completedAt: new Date(completedAt).toISOString(),
  };
  if (errors.length === 0) return { status: successStatus, body };
  body.numErrors = errors.length;
  body.errors = errors;
  return { status: 207, body, tags: ['partial-failure'] };
}

/** The singular, upper-case object name HubSpot uses in messages (`CONTACT`, `COMMUNICATION`). */
export function objectLabel(objectType: HubSpotObjectType): string {
  return objectType === 'contacts' ? 'CONTACT' : 'COMMUNICATION';
}
