/**
 * The `coexist serve` configuration file: its zod schema, the environment references that keep secrets out of
 * the file (`{ "env": "NAME" }`), and a loader that reports every wrong field by its path.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';

/** A secret or setting read from an environment variable: `{ "env": "HUBSPOT_TOKEN" }`. */
export interface EnvironmentReference {
  env: string;
}

/** HubSpot connection settings (secrets resolved). */
export interface HubSpotConnectionConfig {
  /** Private-app or OAuth access token. */
  accessToken: string;
  /** API base URL (tests point it at the sandbox). @default 'https://api.hubapi.com' */
  basePath?: string;
  /** The account's tier: sets the documented rate limits the engine paces to. */
  tier: 'free' | 'starter' | 'pro' | 'enterprise' | 'oauth';
  /** The HubSpot account (portal) id; picks the connection for a card request when several HubSpot connections exist. */
  portalId?: string;
  /** The app's client secret: verifies the v3 signature of card requests (`/cards/hubspot`). */
  clientSecret?: string;
  /** ISO country to read national phone formats in when matching existing contacts (`(650) 555-1234`). */
  defaultCountry?: string;
}

/** Salesforce connection settings (secrets resolved). */
export interface SalesforceConnectionConfig {
  /** My Domain URL, e.g. `https://acme.my.salesforce.com`. */
  instanceUrl: string;
  /** A session or OAuth access token (without refresh). */
  accessToken?: string;
  /** OAuth refresh flow: the connected app's consumer key. */
  clientId?: string;
  /** OAuth refresh flow: the connected app's consumer secret. */
  clientSecret?: string;
  /** OAuth refresh flow: the refresh token (scopes `api` and `refresh_token`). */
  refreshToken?: string;
  /** OAuth token endpoint host. @default 'https://login.salesforce.com' */
  loginUrl?: string;
  /** REST API version. @default the adapter's */
  apiVersion?: string;
  /** ISO country to read national phone formats in. */
  defaultCountry?: string;
  /** The org's rolling 24 h API allocation until Salesforce reports it. @default the adapter's (100,000) */
  dailyAllocation?: number;
  /** Share (< 1) or count (≥ 1) of the allocation left to the org's other integrations. @default the adapter's (0.1) */
  dailyReserve?: number;
  /** How long to pause once the allocation is spent, in ms. @default the adapter's (30 minutes) */
  dailyLimitPauseMs?: number;
  /** Message batches of at least this many go through Bulk API 2.0. @default unset (Collections only) */
  bulkThreshold?: number;
}

/** Close connection settings (secrets resolved). */
export interface CloseConnectionConfig {
  /** Close API key. */
  apiKey: string;
  /** API base URL (tests point it at the sandbox). @default 'https://api.close.com/api/v1' */
  baseUrl?: string;
  /** The organization (`orga_…`); picks the connection of a card link when several Close connections exist. */
  organizationId?: string;
  /** Secret (at least 32 characters) that signs the chat links Close opens (`/cards/close`). */
  linkSecret?: string;
  /** ISO country to read national phone formats in. */
  defaultCountry?: string;
}

interface ConnectionBase {
  /** Stable id of the connection (stored with every CRM id mapping: never rename it). */
  id: string;
  /** Meta `phone_number_id`s whose events go to this CRM account. */
  phoneNumberIds: string[];
  /** Business number (any format) → CRM user id owning the contacts met on it. */
  owners?: Record<string, string>;
  /** CRM user id owning the contacts met on numbers `owners` does not name. */
  defaultOwnerId?: string;
  /** Most CRM calls in flight at once. @default the adapter's declared limit */
  maxConcurrency?: number;
}

/** One CRM account and the numbers it serves. */
export type ConnectionConfig =
  | (ConnectionBase & { crm: 'hubspot'; hubspot: HubSpotConnectionConfig })
  | (ConnectionBase & { crm: 'salesforce'; salesforce: SalesforceConnectionConfig })
  | (ConnectionBase & { crm: 'close'; close: CloseConnectionConfig });

/**
 * Where the engine keeps its durable state. `writerThread` runs the SQLite store's writer in a worker thread
 * (`createSqliteStore`'s option of that name): it pays when deliveries overlap and a core is free. `synchronous:
 * 'full'` syncs each commit, so an acknowledged webhook survives a power cut too (`createSqliteStore`'s option).
 */
export type StoreConfig =
  | { type: 'sqlite'; path: string; writerThread?: boolean; synchronous?: 'normal' | 'full' }
  | { type: 'memory' };

/** A validated configuration with every environment reference resolved. */
export interface CoexistConfig {
  /** @default 8080 */
  port: number;
  /** @default '127.0.0.1' */
  host: string;
  /** @default '/webhooks/meta' */
  webhookPath: string;
  /** Bearer token that protects `/status`; open when unset. */
  adminToken?: string;
  /** The public base URL (`https://coexist.example.com`) when behind a proxy: HubSpot signs the URL it called. */
  publicUrl?: string;
  /** @default { type: 'sqlite', path: 'coexist.db' } (relative to the config file) */
  store: StoreConfig;
  meta: { appSecret: string; verifyToken: string };
  connections: ConnectionConfig[];
}

/** One wrong field of a configuration. */
export interface CoexistConfigIssue {
  /** The field, e.g. `connections[0].hubspot.accessToken` (`""` for the whole file). */
  path: string;
  /** What is wrong; never the value of a secret. */
  message: string;
}

/** A configuration that failed validation; `issues` names every wrong field. */
export class CoexistConfigError extends Error {
  override readonly name = 'CoexistConfigError';
  /** Every wrong field, in document order. */
  readonly issues: readonly CoexistConfigIssue[];

  /** Creates the error; the message lists each issue on its own line. */
  constructor(issues: readonly CoexistConfigIssue[]) {
    super(
      issues
        .map((issue) => `[coexist/cli] config error at ${issue.path === '' ? '(root)' : issue.path}: ${issue.message}`)
        .join('\n'),
    );
    this.issues = issues;
  }
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The schema of one secret: only an environment reference is accepted, so secrets never sit in the file. */
function secret(env: Record<string, string | undefined>) {
  return z.unknown().transform((value, context): string => {
    if (typeof value === 'string') {
      context.addIssue({
        code: 'custom',
        message: 'must be an environment reference like { "env": "NAME" }; secrets are not accepted inline',
      });
      return z.NEVER;
    }
    const isReference =
      value !== null &&
      typeof value === 'object' &&
      Object.keys(value).length === 1 &&
      typeof (value as { env?: unknown }).env === 'string';
    if (!isReference) {
      context.addIssue({ code: 'custom', message: 'expected an environment reference like { "env": "NAME" }' });
      return z.NEVER;
    }
    const name = (value as EnvironmentReference).env;
    if (!ENV_NAME.test(name)) {
      context.addIssue({ code: 'custom', message: `"${name}" is not a valid environment variable name` });
      return z.NEVER;
    }
    const resolved = env[name];
    if (resolved === undefined || resolved === '') {
      context.addIssue({ code: 'custom', message: `environment variable ${name} is not set` });
      return z.NEVER;
    }
    return resolved;
  });
}

const httpUrl = z
  .string()
  .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), 'expected an http(s) URL');

function schemaFor(env: Record<string, string | undefined>) {
  const base = {
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-"'),
    phoneNumberIds: z.array(z.string().regex(/^\d+$/, 'expected a Meta phone_number_id (digits)')).min(1),
    owners: z.record(z.string().min(1), z.string().min(1)).optional(),
    defaultOwnerId: z.string().min(1).optional(),
    maxConcurrency: z.number().int().min(1).max(64).optional(),
  };
  const hubspot = z
    .object({
      ...base,
      crm: z.literal('hubspot'),
      hubspot: z
        .object({
          accessToken: secret(env),
          basePath: httpUrl.optional(),
          tier: z.enum(['free', 'starter', 'pro', 'enterprise', 'oauth']),
          portalId: z
            .union([z.string().regex(/^\d+$/), z.number().int().positive()])
            .transform(String)
            .optional(),
          clientSecret: secret(env).optional(),
          defaultCountry: z
            .string()
            .regex(/^[A-Z]{2}$/, 'expected a two-letter ISO country code like "US"')
            .optional(),
        })
        .strict(),
    })
    .strict();
  const country = z.string().regex(/^[A-Z]{2}$/, 'expected a two-letter ISO country code like "US"');
  const salesforce = z
    .object({
      ...base,
      crm: z.literal('salesforce'),
      salesforce: z
        .object({
          instanceUrl: httpUrl,
          accessToken: secret(env).optional(),
          clientId: secret(env).optional(),
          clientSecret: secret(env).optional(),
          refreshToken: secret(env).optional(),
          loginUrl: httpUrl.optional(),
          apiVersion: z
            .string()
            .regex(/^\d+\.0$/, 'expected a version like "62.0"')
            .optional(),
          defaultCountry: country.optional(),
          dailyAllocation: z.number().int().min(1).optional(),
          dailyReserve: z.number().min(0).optional(),
          dailyLimitPauseMs: z.number().int().min(0).optional(),
          bulkThreshold: z.number().int().min(1).max(10_000).optional(),
        })
        .strict()
        .refine(
          (value) =>
            value.accessToken !== undefined || (value.clientId !== undefined && value.refreshToken !== undefined),
          'expected accessToken, or clientId and refreshToken (with clientSecret for a confidential app)',
        ),
    })
    .strict();
  const close = z
    .object({
      ...base,
      crm: z.literal('close'),
      close: z
        .object({
          apiKey: secret(env),
          baseUrl: httpUrl.optional(),
          organizationId: z
            .string()
            .regex(/^orga_[A-Za-z0-9]+$/, 'expected a Close organization id (orga_…)')
            .optional(),
          linkSecret: secret(env)
            .refine((value) => value.length >= 32, 'the referenced secret must be at least 32 characters')
            .optional(),
          defaultCountry: country.optional(),
        })
        .strict(),
    })
    .strict();
  const store = z.discriminatedUnion('type', [
    z
      .object({
        type: z.literal('sqlite').default('sqlite'),
        path: z.string().min(1),
        writerThread: z.boolean().optional(),
        synchronous: z.enum(['normal', 'full']).optional(),
      })
      .strict(),
    z.object({ type: z.literal('memory') }).strict(),
  ]);
  return z
    .object({
      $schema: z.string().optional(),
      port: z.number().int().min(0).max(65535).default(8080),
      host: z.string().min(1).default('127.0.0.1'),
      webhookPath: z
        .string()
        .regex(/^\/\S*$/, 'expected a path starting with "/"')
        .default('/webhooks/meta'),
      adminToken: secret(env).optional(),
      publicUrl: httpUrl.optional(),
      store: z
        .preprocess(
          (value) =>
            value !== null && typeof value === 'object' && !('type' in value) ? { type: 'sqlite', ...value } : value,
          store,
        )
        .default({ type: 'sqlite', path: 'coexist.db' }),
      meta: z.object({ appSecret: secret(env), verifyToken: secret(env) }).strict(),
      connections: z.array(z.discriminatedUnion('crm', [hubspot, salesforce, close])),
    })
    .strict();
}

/** Connection ids used twice and numbers served by two connections. */
function duplicateIssues(input: unknown): CoexistConfigIssue[] {
  const connections = (input as { connections?: unknown } | null)?.connections;
  if (!Array.isArray(connections)) return [];
  const issues: CoexistConfigIssue[] = [];
  const ids = new Set<string>();
  const numbers = new Map<string, string>();
  connections.forEach((connection: { id?: unknown; phoneNumberIds?: unknown } | null, index) => {
    const id = connection?.id;
    if (typeof id !== 'string') return;
    if (ids.has(id)) issues.push({ path: `connections[${index}].id`, message: `"${id}" is used twice` });
    ids.add(id);
    if (!Array.isArray(connection?.phoneNumberIds)) return;
    connection.phoneNumberIds.forEach((phoneNumberId: unknown, position: number) => {
      if (typeof phoneNumberId !== 'string') return;
      const taken = numbers.get(phoneNumberId);
      if (taken !== undefined) {
        issues.push({
          path: `connections[${index}].phoneNumberIds[${position}]`,
          message: `"${phoneNumberId}" is already served by connection "${taken}"`,
        });
      }
      numbers.set(phoneNumberId, id);
    });
  });
  return issues;
}

/** Formats a zod path as `connections[0].hubspot.accessToken`. */
export function formatConfigPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text;
}

function toIssues(error: z.ZodError): CoexistConfigIssue[] {
  const issues: CoexistConfigIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        issues.push({ path: formatConfigPath([...issue.path, key]), message: 'unknown field' });
      continue;
    }
    // zod's own messages describe types ("expected string, received number"), never the value itself.
    issues.push({ path: formatConfigPath(issue.path), message: issue.message });
  }
  return issues;
}

/**
 * Validates a configuration object and resolves its environment references against `env`; throws a
 * `CoexistConfigError` naming every wrong field. Relative store paths resolve against `baseDirectory`.
 */
export function parseCoexistConfig(
  input: unknown,
  env: Record<string, string | undefined>,
  baseDirectory: string = process.cwd(),
): CoexistConfig {
  const result = schemaFor(env).safeParse(input);
  // Duplicates are checked on the raw input so they are reported together with every other wrong field.
  const duplicates = duplicateIssues(input);
  if (!result.success || duplicates.length > 0) {
    throw new CoexistConfigError([...(result.success ? [] : toIssues(result.error)), ...duplicates]);
  }
  const { $schema: _schema, ...config } = result.data;
  const store: StoreConfig =
    config.store.type === 'memory'
      ? { type: 'memory' }
      : {
          type: 'sqlite',
          path: resolve(baseDirectory, config.store.path),
          ...(config.store.writerThread === undefined ? {} : { writerThread: config.store.writerThread }),
          ...(config.store.synchronous === undefined ? {} : { synchronous: config.store.synchronous }),
        };
  return { ...config, store } as CoexistConfig;
}

/** Reads, parses and validates a JSON configuration file; relative store paths resolve against its directory. */
export async function loadCoexistConfig(path: string, env: Record<string, string | undefined>): Promise<CoexistConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CoexistConfigError([
      { path: '', message: code === 'ENOENT' ? `file not found: ${path}` : `cannot read ${path} (${code ?? 'error'})` },
    ]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const position = /position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
    throw new CoexistConfigError([
      { path: '', message: `not valid JSON${position ? ` (at position ${position})` : ''}` },
    ]);
  }
  return parseCoexistConfig(json, env, dirname(resolve(path)));
}
