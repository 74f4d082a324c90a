import jsforce from 'jsforce';
import { afterEach, describe, expect, it } from 'vitest';
import { type SalesforceEmulator, startSalesforceEmulator } from './salesforce-emulator.ts';
import { defaultDailyAllocation, SalesforceLimits } from './salesforce-limits.ts';

interface ApiError extends Error {
  errorCode: string;
  data: unknown;
}

async function rejection(promise: PromiseLike<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    return error as ApiError;
  }
  throw new Error('expected the call to be rejected');
}

describe('SalesforceLimits', () => {
  it('derives the allocation from edition and licences', () => {
    expect(defaultDailyAllocation('developer', 10)).toBe(15_000);
    expect(defaultDailyAllocation('enterprise', 10)).toBe(110_000);
    expect(defaultDailyAllocation('unlimited', 10)).toBe(150_000);
    expect(new SalesforceLimits({ edition: 'developer' })).toMatchObject({
      dailyAllocation: 15_000,
      concurrentLimit: 5,
    });
    expect(new SalesforceLimits()).toMatchObject({
      dailyAllocation: 100_000,
      concurrentLimit: 25,
      longRunningMs: 20_000,
    });
    expect(() => new SalesforceLimits({ dailyAllocation: -1 })).toThrow(/dailyAllocation/);
  });

  it('counts a rolling 24 hours and frees requests as they age out', () => {
    const limits = new SalesforceLimits({ dailyAllocation: 2 });
    expect(limits.takeRequest(0).allowed).toBe(true);
    expect(limits.takeRequest(1000).allowed).toBe(true);
    expect(limits.takeRequest(2000)).toMatchObject({ allowed: false, message: 'TotalRequests Limit exceeded.' });
    expect(limits.header(2000)).toBe('api-usage=2/2');
    expect(limits.takeRequest(24 * 3600 * 1000 + 1).allowed).toBe(true);
    expect(limits.used(24 * 3600 * 1000 + 1)).toBe(2);
  });

  it('rejects a request while the long-running requests in flight fill the limit', () => {
    const limits = new SalesforceLimits({ concurrentLimit: 1, longRunningMs: 20_000 });
    const first = limits.beginRequest(0);
    expect(limits.beginRequest(19_999).decision.allowed).toBe(true);
    expect(limits.beginRequest(20_000).decision).toMatchObject({
      allowed: false,
      message: 'ConcurrentRequests (Concurrent API Requests) Limit exceeded.',
    });
    limits.endRequest(first.request);
    expect(limits.beginRequest(20_000).decision.allowed).toBe(true);
  });
});

describe('Salesforce emulator limits, auth and OAuth with jsforce', () => {
  let emulator: SalesforceEmulator | undefined;
  afterEach(async () => {
    await emulator?.close();
    emulator = undefined;
  });

  it('reports usage in Sforce-Limit-Info, parsed into conn.limitInfo, and answers 403 when the allocation is spent', async () => {
    let clock = Date.UTC(2025, 0, 1);
    emulator = await startSalesforceEmulator({ edition: 'developer', now: () => clock });
    const connection = new jsforce.Connection(emulator.connectionOptions());
    await connection.query('SELECT Id FROM Contact');
    expect(connection.limitInfo).toEqual({ apiUsage: { used: 1, limit: 15_000 } });
    emulator.limits.consume(clock, 14_998);
    await connection.query('SELECT Id FROM Contact');
    expect(connection.limitInfo.apiUsage).toEqual({ used: 15_000, limit: 15_000 });

    const error = await rejection(connection.query('SELECT Id FROM Contact'));
    expect(error.errorCode).toBe('REQUEST_LIMIT_EXCEEDED');
    expect(error.message).toBe('TotalRequests Limit exceeded.');
    const raw = await fetch(`${emulator.url}/services/data/v62.0/limits`, {
      headers: { authorization: `Bearer ${emulator.accessToken}` },
    });
    expect(raw.status).toBe(403);
    expect(raw.headers.get('retry-after')).toBeNull();
    expect(raw.headers.get('sforce-limit-info')).toBe('api-usage=15000/15000');
    expect(await raw.json()).toEqual([
      { message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' },
    ]);

    clock += 24 * 3600 * 1000;
    const limits = await connection.limits();
    expect(limits.DailyApiRequests).toEqual({ Max: 15_000, Remaining: 14_999 });
    emulator.limits.setDailyAllocation(1);
    await expect(connection.query('SELECT Id FROM Contact')).rejects.toMatchObject({
      errorCode: 'REQUEST_LIMIT_EXCEEDED',
    });
    emulator.limits.resetUsage();
    await expect(connection.query('SELECT Id FROM Contact')).resolves.toMatchObject({ totalSize: 0 });
  });

  it('answers 403 ConcurrentRequests while long-running requests fill the concurrency limit', async () => {
    let clock = Date.UTC(2025, 0, 1);
    emulator = await startSalesforceEmulator({ concurrentLimit: 2, now: () => clock, latency: { baseMs: 500 } });
    const connection = new jsforce.Connection(emulator.connectionOptions());
    // A jsforce Query is lazy: `then` sends it.
    const slow = [connection.query('SELECT Id FROM Contact'), connection.query('SELECT Id FROM Lead')].map((query) =>
      query.then((result) => result),
    );
    while (emulator.limits.inFlight < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    clock += 20_000;
    const rejected = await rejection(connection.query('SELECT Id FROM Account'));
    expect(rejected.errorCode).toBe('REQUEST_LIMIT_EXCEEDED');
    expect(rejected.message).toBe('ConcurrentRequests (Concurrent API Requests) Limit exceeded.');
    await Promise.all(slow);
    await expect(connection.query('SELECT Id FROM Account')).resolves.toMatchObject({ totalSize: 0 });
    expect(emulator.stats.byTag['rate-limited']).toBe(1);
  });

  it('answers 401 INVALID_SESSION_ID without a valid bearer token', async () => {
    emulator = await startSalesforceEmulator({ tokens: ['token-a'] });
    const connection = new jsforce.Connection({ ...emulator.connectionOptions(), accessToken: 'wrong' });
    const error = await rejection(connection.query('SELECT Id FROM Contact'));
    expect(error.errorCode).toBe('INVALID_SESSION_ID');
    expect(error.message).toBe('Session expired or invalid');
    const raw = await fetch(`${emulator.url}/services/data/v62.0/sobjects`);
    expect(raw.status).toBe(401);
    expect(await raw.json()).toEqual([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    const versions = (await (await fetch(`${emulator.url}/services/data/`)).json()) as Array<{ version: string }>;
    expect(versions.at(-1)).toMatchObject({ version: '62.0', url: '/services/data/v62.0' });
  });

  it('refreshes an expired session through the OAuth token endpoint and retries the call', async () => {
    emulator = await startSalesforceEmulator({
      oauth: { clientId: 'client-1', clientSecret: 'secret-1', refreshTokens: ['refresh-1'] },
    });
    const refreshed: string[] = [];
    const connection = new jsforce.Connection({
      instanceUrl: emulator.url,
      accessToken: 'expired-token',
      refreshToken: 'refresh-1',
      version: '62.0',
      oauth2: { clientId: 'client-1', clientSecret: 'secret-1', loginUrl: emulator.url },
    });
    connection.on('refresh', (accessToken: string) => refreshed.push(accessToken));
    const result = await connection.query('SELECT Id FROM Contact');
    expect(result.totalSize).toBe(0);
    expect(refreshed).toHaveLength(1);
    expect(connection.accessToken).toBe(refreshed[0]);
    expect(refreshed[0]).toMatch(new RegExp(`^${emulator.organizationId.slice(0, 15)}!`));

    emulator.sessions.expireAccessTokens();
    await expect(connection.query('SELECT Id FROM Lead')).resolves.toMatchObject({ totalSize: 0 });
    expect(refreshed).toHaveLength(2);

    const stranger = new jsforce.OAuth2({ clientId: 'client-1', clientSecret: 'secret-1', loginUrl: emulator.url });
    await expect(stranger.refreshToken('unknown')).rejects.toMatchObject({ name: 'invalid_grant' });
    const password = new jsforce.Connection({
      oauth2: { clientId: 'client-1', clientSecret: 'secret-1', loginUrl: emulator.url },
      version: '62.0',
    });
    const user = await password.login('admin@coexist.emulator', 'password');
    expect(user.organizationId).toBe(emulator.organizationId);
    await expect(password.query('SELECT Id, Username FROM User')).resolves.toMatchObject({ totalSize: 1 });
  });
});
