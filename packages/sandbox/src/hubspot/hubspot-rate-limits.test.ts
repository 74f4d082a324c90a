import { Client } from '@hubspot/api-client';
import { afterEach, describe, expect, it } from 'vitest';
import { type HubSpotEmulator, type HubSpotEmulatorOptions, startHubSpotEmulator } from './hubspot-emulator.ts';
import { HubSpotRateLimiter } from './hubspot-rate-limits.ts';

// Rate limits run on an injected clock: tests move time instead of waiting for it.
const TOKEN = 'pat-na1-rate-token';

let emulator: HubSpotEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function start(options: HubSpotEmulatorOptions = {}) {
  const clock = { now: Date.UTC(2026, 2, 1, 12, 0, 0) };
  emulator = await startHubSpotEmulator({ tokens: [TOKEN], now: () => clock.now, ...options });
  const client = new Client({ accessToken: TOKEN, basePath: emulator.url, numberOfApiCallRetries: 0 });
  return { emulator, client, clock };
}

interface ApiError {
  code: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    return error as ApiError;
  }
  throw new Error('expected the call to be rejected');
}

const searchBody = { filterGroups: [], properties: [], limit: 1, after: '0', sorts: [] };

describe('HubSpot emulator: ten-secondly and daily limits', () => {
  it('sends X-HubSpot-RateLimit-* headers and answers 429 TEN_SECONDLY_ROLLING past the window', async () => {
    const { client, clock, emulator } = await start({ tier: 'free', limits: { tenSecondly: 3 } });
    const remaining: string[] = [];
    for (let index = 0; index < 3; index++) {
      const response = await client.crm.contacts.basicApi.getPageWithHttpInfo();
      expect(response.headers['x-hubspot-ratelimit-max']).toBe('3');
      expect(response.headers['x-hubspot-ratelimit-interval-milliseconds']).toBe('10000');
      expect(response.headers['x-hubspot-ratelimit-daily']).toBe('250000');
      remaining.push(
        `${response.headers['x-hubspot-ratelimit-remaining']}/${response.headers['x-hubspot-ratelimit-daily-remaining']}`,
      );
      clock.now += 1000;
    }
    expect(remaining).toEqual(['2/249999', '1/249998', '0/249997']);

    const error = await rejection(client.crm.contacts.basicApi.getPage());
    expect(error.code).toBe(429);
    expect(error.headers['x-hubspot-ratelimit-remaining']).toBe('0');
    expect(error.headers['retry-after']).toBeUndefined();
    expect(error.body).toMatchObject({
      status: 'error',
      message: 'You have reached your ten_secondly_rolling limit.',
      errorType: 'RATE_LIMIT',
      policyName: 'TEN_SECONDLY_ROLLING',
    });
    expect(error.body.correlationId).toEqual(expect.any(String));
    expect(error.body.groupName).toEqual(expect.stringContaining('publicapi:'));

    clock.now += 7_001; // the first request leaves the 10-second window
    await expect(client.crm.contacts.basicApi.getPage()).resolves.toBeDefined();
    expect(emulator.usage().rejected.tenSecondly).toBe(1);
    expect(emulator.stats.byTag['rate-limited']).toBe(1);
  });

  it('uses the tier’s documented values: pro 190 + 625k daily, oauth 110 without daily headers', async () => {
    const pro = await start({ tier: 'pro' });
    const proResponse = await pro.client.crm.contacts.basicApi.getPageWithHttpInfo();
    expect(proResponse.headers['x-hubspot-ratelimit-max']).toBe('190');
    expect(proResponse.headers['x-hubspot-ratelimit-daily']).toBe('625000');
    await pro.emulator.close();
    const oauth = await start({ tier: 'oauth' });
    const oauthResponse = await oauth.client.crm.contacts.basicApi.getPageWithHttpInfo();
    expect(oauthResponse.headers['x-hubspot-ratelimit-max']).toBe('110');
    expect(oauthResponse.headers['x-hubspot-ratelimit-daily']).toBeUndefined();
  });

  it('answers 429 DAILY when the daily budget is spent, until the account’s midnight', async () => {
    const { client, clock } = await start({ tier: 'starter', limits: { daily: 2, retryAfter: true } });
    await client.crm.contacts.basicApi.getPage();
    await client.crm.contacts.basicApi.getPage();
    const error = await rejection(client.crm.contacts.basicApi.getPage());
    expect(error.code).toBe(429);
    expect(error.body).toMatchObject({ message: 'You have reached your daily limit.', policyName: 'DAILY' });
    expect(error.headers['x-hubspot-ratelimit-daily-remaining']).toBe('0');
    expect(error.headers['retry-after']).toBe(String(12 * 3600)); // noon → midnight UTC
    clock.now += 12 * 3600 * 1000;
    await expect(client.crm.contacts.basicApi.getPage()).resolves.toBeDefined();
  });

  it('keeps limits and data per account', async () => {
    const { emulator, clock } = await start({
      tokens: [
        { token: 'pat-a', accountId: 1, tier: 'free' },
        { token: 'pat-b', accountId: 2, tier: 'free' },
      ],
      limits: { tenSecondly: 1 },
    });
    void clock;
    const a = new Client({ accessToken: 'pat-a', basePath: emulator.url, numberOfApiCallRetries: 0 });
    const b = new Client({ accessToken: 'pat-b', basePath: emulator.url, numberOfApiCallRetries: 0 });
    await a.crm.contacts.basicApi.create({ properties: { firstname: 'A' }, associations: [] });
    expect((await rejection(a.crm.contacts.basicApi.getPage())).code).toBe(429);
    const page = await b.crm.contacts.basicApi.getPage();
    expect(page.results).toEqual([]);
    expect(emulator.account(1).state.contacts.size).toBe(1);
  });
});

describe('HubSpot emulator: search limit', () => {
  it('allows 5 searches per second per account, with no rate-limit headers, outside the 10-second window', async () => {
    const { client, clock, emulator } = await start({ tier: 'free', limits: { tenSecondly: 2 } });
    for (let index = 0; index < 5; index++) {
      const response = await client.crm.contacts.searchApi.doSearchWithHttpInfo(searchBody);
      expect(response.httpStatusCode).toBe(200);
      expect(Object.keys(response.headers).filter((name) => name.startsWith('x-hubspot-ratelimit'))).toEqual([]);
    }
    const error = await rejection(client.crm.contacts.searchApi.doSearch(searchBody));
    expect(error.code).toBe(429);
    expect(error.body).toMatchObject({
      status: 'error',
      message: 'You have reached your secondly limit.',
      category: 'RATE_LIMITS',
      errorType: 'RATE_LIMIT',
    });
    expect(Object.keys(error.headers).filter((name) => name.startsWith('x-hubspot-ratelimit'))).toEqual([]);
    // Searches did not spend the ten-secondly budget of 2.
    const regular = await client.crm.contacts.basicApi.getPageWithHttpInfo();
    expect(regular.headers['x-hubspot-ratelimit-remaining']).toBe('1');
    clock.now += 1000;
    await expect(client.crm.contacts.searchApi.doSearch(searchBody)).resolves.toBeDefined();
    expect(emulator.usage().rejected.search).toBe(1);
  });
});

describe('HubSpotRateLimiter', () => {
  it('rolls the window and validates its options', () => {
    const limiter = new HubSpotRateLimiter('enterprise', { tenSecondly: 2, intervalMs: 1000 });
    expect(limiter.takeRequest(0)).toMatchObject({ allowed: true });
    expect(limiter.takeRequest(10)).toMatchObject({ allowed: true });
    expect(limiter.takeRequest(20)).toMatchObject({ allowed: false, policy: 'TEN_SECONDLY_ROLLING' });
    expect(limiter.takeRequest(1000)).toMatchObject({ allowed: true });
    expect(limiter.usage()).toMatchObject({ dailyLimit: 1_000_000, dailyUsed: 3 });
    expect(() => new HubSpotRateLimiter('free', { tenSecondly: 0 })).toThrow(/limits\.tenSecondly/);
  });
});
