import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createReferenceAdapter } from '@coexist/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { buildConnections } from './build-connections.ts';
import { CoexistConfigError, loadCoexistConfig, parseCoexistConfig } from './coexist-config.ts';

const env = {
  META_APP_SECRET: 'meta-secret-value-1234',
  META_VERIFY_TOKEN: 'verify-token-value-5678',
  HUBSPOT_TOKEN: 'pat-na1-secret-token-9999',
  ADMIN_TOKEN: 'admin-token-value-4321',
};

function validConfig(): Record<string, unknown> {
  return {
    port: 0,
    store: { type: 'memory' },
    adminToken: { env: 'ADMIN_TOKEN' },
    meta: { appSecret: { env: 'META_APP_SECRET' }, verifyToken: { env: 'META_VERIFY_TOKEN' } },
    connections: [
      {
        id: 'acme-hubspot',
        crm: 'hubspot',
        phoneNumberIds: ['106540352242922'],
        owners: { '+15550001001': '77' },
        hubspot: { accessToken: { env: 'HUBSPOT_TOKEN' }, tier: 'pro', basePath: 'http://127.0.0.1:9000' },
      },
    ],
  };
}

function issuesOf(input: unknown, environment: Record<string, string | undefined> = env) {
  try {
    parseCoexistConfig(input, environment);
  } catch (error) {
    expect(error).toBeInstanceOf(CoexistConfigError);
    return (error as CoexistConfigError).issues;
  }
  throw new Error('expected a CoexistConfigError');
}

describe('parseCoexistConfig', () => {
  it('resolves environment references and applies the defaults', () => {
    const config = parseCoexistConfig(validConfig(), env);
    expect(config.meta).toEqual({ appSecret: env.META_APP_SECRET, verifyToken: env.META_VERIFY_TOKEN });
    expect(config.adminToken).toBe(env.ADMIN_TOKEN);
    expect(config.webhookPath).toBe('/webhooks/meta');
    expect(config.host).toBe('127.0.0.1');
    const [connection] = config.connections;
    expect(connection?.crm === 'hubspot' && connection.hubspot.accessToken).toBe(env.HUBSPOT_TOKEN);
  });

  it('takes a default owner for numbers the owners map does not name, and names it when empty', () => {
    const config = validConfig();
    const [connection] = config.connections as Record<string, unknown>[];
    const withDefault = { ...config, connections: [{ ...connection, defaultOwnerId: '88' }] };
    const parsed = parseCoexistConfig(withDefault, env);
    expect(parsed.connections[0]?.defaultOwnerId).toBe('88');
    const [built] = buildConnections(parsed.connections, () => createReferenceAdapter());
    expect(built).toMatchObject({ owners: { '+15550001001': '77' }, defaultOwnerId: '88' });
    const empty = { ...config, connections: [{ ...connection, defaultOwnerId: '' }] };
    expect(issuesOf(empty).map((issue) => issue.path)).toContain('connections[0].defaultOwnerId');
  });

  it('defaults to a SQLite file resolved against the config directory', () => {
    const { store: _store, ...rest } = validConfig();
    expect(parseCoexistConfig(rest, env, '/srv/coexist').store).toEqual({
      type: 'sqlite',
      path: '/srv/coexist/coexist.db',
    });
    expect(parseCoexistConfig({ ...rest, store: { path: 'data/x.db' } }, env, '/srv').store).toEqual({
      type: 'sqlite',
      path: '/srv/data/x.db',
    });
  });

  it('passes the SQLite writer-thread switch through, and names it when it is not a boolean', () => {
    const { store: _store, ...rest } = validConfig();
    expect(parseCoexistConfig({ ...rest, store: { path: 'x.db', writerThread: true } }, env, '/srv').store).toEqual({
      type: 'sqlite',
      path: '/srv/x.db',
      writerThread: true,
    });
    expect(issuesOf({ ...rest, store: { path: 'x.db', writerThread: 'yes' } }).map((issue) => issue.path)).toEqual([
      'store.writerThread',
    ]);
  });

  it('passes the SQLite synchronous setting through, and names it when it is not normal or full', () => {
    const { store: _store, ...rest } = validConfig();
    expect(parseCoexistConfig({ ...rest, store: { path: 'x.db', synchronous: 'full' } }, env, '/srv').store).toEqual({
      type: 'sqlite',
      path: '/srv/x.db',
      synchronous: 'full',
    });
    expect(issuesOf({ ...rest, store: { path: 'x.db', synchronous: 'extra' } }).map((issue) => issue.path)).toEqual([
      'store.synchronous',
    ]);
  });

  it('names every wrong field, each on its own', () => {
    const config = validConfig();
    config.port = 'eighty';
    config.webhookPath = 'webhooks';
    config.colour = 'blue';
    const connection = (config.connections as Record<string, unknown>[])[0]!;
    connection.phoneNumberIds = ['not-a-number'];
    connection.hubspot = { accessToken: 'pat-inline-secret-value', tier: 'platinum', basePath: 'ftp://x' };
    const issues = issuesOf(config);
    const paths = issues.map((issue) => issue.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'port',
        'webhookPath',
        'colour',
        'connections[0].phoneNumberIds[0]',
        'connections[0].hubspot.accessToken',
        'connections[0].hubspot.tier',
        'connections[0].hubspot.basePath',
      ]),
    );
    const inline = issues.find((issue) => issue.path === 'connections[0].hubspot.accessToken')!;
    expect(inline.message).toContain('environment reference');
    // The inline secret is named as a problem, never echoed.
    expect(JSON.stringify(issues)).not.toContain('pat-inline-secret-value');
  });

  it('names a missing environment variable without printing any secret value', () => {
    const { HUBSPOT_TOKEN: _token, ...partial } = env;
    const issues = issuesOf(validConfig(), partial);
    expect(issues).toEqual([
      { path: 'connections[0].hubspot.accessToken', message: 'environment variable HUBSPOT_TOKEN is not set' },
    ]);
    const message = new CoexistConfigError(issues).message;
    expect(message).toBe(
      '[coexist/cli] config error at connections[0].hubspot.accessToken: environment variable HUBSPOT_TOKEN is not set',
    );
    for (const value of Object.values(env)) expect(message).not.toContain(value);
  });

  it('rejects an unknown CRM, duplicate connection ids and a number served twice', () => {
    const config = validConfig();
    const first = (config.connections as Record<string, unknown>[])[0]!;
    config.connections = [first, { ...first }, { id: 'x', crm: 'pipedrive', phoneNumberIds: ['1'] }];
    const issues = issuesOf(config);
    expect(issues.map((issue) => issue.path)).toEqual(
      expect.arrayContaining(['connections[2].crm', 'connections[1].id', 'connections[1].phoneNumberIds[0]']),
    );
    expect(issues.find((issue) => issue.path === 'connections[1].phoneNumberIds[0]')?.message).toContain(
      'already served by connection "acme-hubspot"',
    );
  });

  it('validates the Salesforce and Close shapes', () => {
    const config = validConfig();
    config.connections = [
      {
        id: 'sf',
        crm: 'salesforce',
        phoneNumberIds: ['2'],
        salesforce: { instanceUrl: 'https://acme.my.salesforce.com' },
      },
      { id: 'close', crm: 'close', phoneNumberIds: ['3'], close: { apiKey: { env: 'CLOSE_KEY' } } },
    ];
    const issues = issuesOf(config);
    expect(issues).toEqual([
      {
        path: 'connections[0].salesforce',
        message: 'expected accessToken, or clientId and refreshToken (with clientSecret for a confidential app)',
      },
      { path: 'connections[1].close.apiKey', message: 'environment variable CLOSE_KEY is not set' },
    ]);
    (config.connections as { salesforce?: Record<string, unknown> }[])[0]!.salesforce!.accessToken = {
      env: 'SF_TOKEN',
    };
    const parsed = parseCoexistConfig(config, { ...env, CLOSE_KEY: 'close-key', SF_TOKEN: 'sf' });
    expect(parsed.connections.map((connection) => connection.crm)).toEqual(['salesforce', 'close']);
  });
});

describe('loadCoexistConfig', () => {
  const directory = mkdtempSync(join(tmpdir(), 'coexist-config-'));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('reads a file and reports a missing file or bad JSON as a config error', async () => {
    const path = join(directory, 'coexist.config.json');
    writeFileSync(path, JSON.stringify({ ...validConfig(), store: { path: 'state.db' } }));
    const config = await loadCoexistConfig(path, env);
    expect(config.store).toEqual({ type: 'sqlite', path: join(directory, 'state.db') });

    await expect(loadCoexistConfig(join(directory, 'missing.json'), env)).rejects.toThrow(/file not found/);
    writeFileSync(path, '{ "port": 80, }');
    await expect(loadCoexistConfig(path, env)).rejects.toThrow(/not valid JSON/);
  });
});
