import { generateTraffic } from '@coexist/sandbox';
import { describe, expect, it } from 'vitest';
import { runDemo } from './run-demo.ts';
import { createSalesforceDemoTarget, SALESFORCE_DEMO_LATENCY, salesforceFloor } from './salesforce-demo-target.ts';
import { pickExistingContacts } from './seed-existing-contacts.ts';

describe('coexist demo --crm salesforce', () => {
  it('mirrors a generated onboarding into the Salesforce emulator exactly once, counted from the org', async () => {
    const [result] = await runDemo({ crms: ['salesforce'], messages: 400, numbers: 1, timeoutMs: 60_000 });
    expect(result).toMatchObject({
      crm: 'salesforce',
      messagesGenerated: 400,
      messagesWritten: 400,
      duplicates: 0,
      deadLettered: 0,
      rateLimited: 0,
    });
    expect(result!.contactsMatched).toBeGreaterThan(0);
    expect(result!.contactsCreated).toBeGreaterThan(0);
    expect(result!.requests).toBeGreaterThan(0);
    expect(result!.webhooks.posts).toBeGreaterThanOrEqual(result!.webhooks.payloads);
    expect(result!.floorMs).toBeGreaterThan(0);
    expect(result!.floorArithmetic).toMatch(
      /requests × \(150 \+ 50 jitter\) ms \+ \d+ records × 4 ms\) ÷ 25 in parallel/,
    );
  });

  it('seeds existing Contacts and unconverted Leads under the formats reps typed, and serves them to coexist serve', async () => {
    const traffic = generateTraffic({ numbers: 1, messages: 200, seed: 5 });
    const existing = pickExistingContacts(traffic.plan);
    const target = createSalesforceDemoTarget({ seed: 5, latency: {} });
    await target.start();
    try {
      target.seedExistingContacts(existing);
      const counts = target.count();
      // Nothing written yet: seeded people are neither matched nor created.
      expect(counts).toMatchObject({ messagesWritten: 0, duplicates: 0, contactsMatched: 0, contactsCreated: 0 });
      const number = traffic.plan.numbers[0]!;
      const connection = target.connection([number.phoneNumberId], [`+${number.display.digits}`]);
      expect(connection).toMatchObject({ crm: 'salesforce', phoneNumberIds: [number.phoneNumberId] });
      if (connection.crm !== 'salesforce') throw new Error('expected a Salesforce connection');
      expect(connection.owners?.[`+${number.display.digits}`]).toMatch(/^005/);
      expect(connection.salesforce.instanceUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await target.stop();
    }
  });

  it('states the floor arithmetic of the latency model and the concurrency', () => {
    const floor = salesforceFloor({
      requests: 260,
      records: 52_000,
      latency: SALESFORCE_DEMO_LATENCY,
      maxConcurrency: 25,
    });
    // (260 × (150 + 50) + 52,000 × 4) ÷ 25 = (52,000 + 208,000) ÷ 25 = 10,400 ms: the jitter (0–100 ms) costs 50 on average
    expect(floor.floorMs).toBe(10_400);
    expect(floor.arithmetic).toBe(
      'max((260 requests × (150 + 50 jitter) ms + 52000 records × 4 ms) ÷ 25 in parallel = 10.4 s, 7 calls in sequence × (150 + 50 jitter) ms = 1.4 s)',
    );
    expect(salesforceFloor({ requests: 3, records: 3, latency: { baseMs: 200 }, maxConcurrency: 25 }).floorMs).toBe(
      1_400,
    );
  });
});
