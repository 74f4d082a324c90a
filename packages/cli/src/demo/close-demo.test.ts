import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateTraffic } from '@coexist/sandbox';
import { describe, expect, it } from 'vitest';
import { CLOSE_DEMO_SPEEDUP, closeDemoLimits, closeFloor, createCloseDemoTarget } from './close-demo-target.ts';
import { countMessagesWithoutPhone } from './count-messages-without-phone.ts';
import { runDemo } from './run-demo.ts';
import { pickExistingContacts } from './seed-existing-contacts.ts';

const bin = fileURLToPath(new URL('../bin.ts', import.meta.url));

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=@coexist/source', bin, ...args], { stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('coexist demo --crm close', () => {
  it('mirrors a generated onboarding into the Close emulator exactly once, counted from its activities', async () => {
    const [result] = await runDemo({ crms: ['close'], messages: 300, numbers: 1, timeoutMs: 60_000 });
    const traffic = generateTraffic({ numbers: 1, messages: 300, seed: 1 });
    const withoutPhone = [...countMessagesWithoutPhone([...traffic]).values()].reduce((sum, count) => sum + count, 0);
    expect(result).toMatchObject({
      crm: 'close',
      messagesGenerated: 300,
      // Close needs `remote_phone`: messages of customers known only by a BSUID are not expected there.
      messagesExpected: 300 - withoutPhone,
      messagesWritten: 300 - withoutPhone,
      duplicates: 0,
    });
    expect(result!.contactsMatched).toBeGreaterThan(0);
    expect(result!.contactsCreated).toBeGreaterThan(0);
    // One lookup and one POST per message at least, plus searches and leads.
    expect(result!.requests).toBeGreaterThan(2 * result!.messagesWritten);
    expect(result!.rateLimited).toBeLessThan(result!.requests * 0.01);
    expect(result!.webhooks.posts).toBeGreaterThanOrEqual(result!.webhooks.payloads);
    expect(result!.floorMs).toBeGreaterThan(0);
    expect(result!.floorArithmetic).toMatch(/× POST \/activity\/whatsapp_message\/ ÷ 100\/s = \d+\.\d s/);
  });

  it('seeds existing leads under the formats reps typed, stored as Close normalizes them', async () => {
    const traffic = generateTraffic({ numbers: 1, messages: 200, seed: 5 });
    const existing = pickExistingContacts(traffic.plan);
    expect(existing.some(({ e164, storedAs }) => storedAs !== e164)).toBe(true);
    const target = createCloseDemoTarget({ seed: 5 });
    await target.start();
    try {
      target.seedExistingContacts(existing);
      // Nothing written yet: seeded contacts are neither matched nor created, and no request was made.
      expect(target.count()).toEqual({
        messagesWritten: 0,
        duplicates: 0,
        contactsMatched: 0,
        contactsCreated: 0,
        requests: 0,
        rateLimited: 0,
      });
      const number = traffic.plan.numbers[0]!;
      const businessPhone = `+${number.display.digits}`;
      const connection = target.connection([number.phoneNumberId], [businessPhone]);
      if (connection.crm !== 'close') throw new Error('expected a Close connection');
      expect(connection.phoneNumberIds).toEqual([number.phoneNumberId]);
      expect(connection.owners?.[businessPhone]).toBe('user_ana');
      expect(connection.close.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v1$/);

      // The seeded contacts answer Close's phone search by E.164, whatever the format they were typed in.
      const response = await fetch(`${connection.close.baseUrl}/data/search/`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${connection.close.apiKey}:`).toString('base64')}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          query: {
            type: 'and',
            queries: [
              { type: 'object_type', object_type: 'contact' },
              {
                type: 'has_related',
                this_object_type: 'contact',
                related_object_type: 'contact_phone',
                related_query: {
                  type: 'or',
                  queries: existing.map(({ e164 }) => ({
                    type: 'field_condition',
                    field: { type: 'regular_field', object_type: 'contact_phone', field_name: 'phone' },
                    condition: { type: 'text', mode: 'exact_value', value: e164 },
                  })),
                },
              },
            ],
          },
          _fields: { contact: ['id', 'phones'] },
          _limit: 200,
        }),
      });
      expect(response.status).toBe(200);
      const found = (await response.json()) as { data: { phones: { phone: string }[] }[] };
      expect(new Set(found.data.map((contact) => contact.phones[0]!.phone))).toEqual(
        new Set(existing.map(({ e164 }) => e164)),
      );
      expect(response.headers.get('ratelimit')).toMatch(/^limit=80, remaining=79, reset=1$/);
    } finally {
      await target.stop();
    }
  });

  it('scales Close example limits without changing their shape, and states the floor arithmetic', () => {
    expect(closeDemoLimits(1)).toEqual({
      default: { limit: 20, windowMs: 1_000 },
      groups: { 'POST /data/search/': { limit: 16, windowMs: 1_000 }, 'GET /me/': { limit: 160, windowMs: 8_000 } },
      organizationMultiplier: 3,
    });
    expect(closeDemoLimits().default.limit).toBe(20 * CLOSE_DEMO_SPEEDUP);
    expect(() => closeDemoLimits(0)).toThrow(/speedup must be a positive number/);

    // 50,000 POSTs at Close's example 20/s: the 42-minute floor of crm-apis.md §5.
    const floor = closeFloor([
      { group: 'POST /activity/whatsapp_message/', requests: 50_000, perSecond: 20 },
      { group: 'GET /activity/whatsapp_message/', requests: 50_000, perSecond: 20 },
      { group: 'POST /data/search/', requests: 2_000, perSecond: 16 },
      { group: 'POST /lead/', requests: 0, perSecond: 20 },
    ]);
    expect(floor.floorMs).toBe(2_500_000);
    expect(floor.arithmetic).toBe(
      'max(50,000 × GET /activity/whatsapp_message/ ÷ 20/s = 2500.0 s, 50,000 × POST /activity/whatsapp_message/ ÷ 20/s = 2500.0 s, ' +
        '2,000 × POST /data/search/ ÷ 16/s = 125.0 s)',
    );
    expect(closeFloor([{ group: 'POST /lead/', requests: 3, perSecond: 1.5 }])).toEqual({
      floorMs: 2_000,
      arithmetic: '3 × POST /lead/ ÷ 1.5/s = 2.0 s',
    });
    expect(closeFloor([])).toEqual({ floorMs: 0, arithmetic: 'no requests' });
  });

  it('--crm all syncs the same traffic into HubSpot, Salesforce and Close at once, one JSON line for all three', async () => {
    const { code, stdout, stderr } = await runCli([
      'demo',
      '--crm',
      'all',
      '--messages',
      '200',
      '--numbers',
      '1',
      '--json',
    ]);
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      crm: string;
      results: {
        crm: string;
        messagesGenerated: number;
        messagesExpected: number;
        messagesWritten: number;
        duplicates: number;
      }[];
    };
    expect(summary.crm).toBe('all');
    expect(summary.results.map((result) => result.crm)).toEqual(['hubspot', 'salesforce', 'close']);
    for (const result of summary.results) {
      expect(result.messagesGenerated).toBe(200);
      expect(result.messagesWritten, result.crm).toBe(result.messagesExpected);
      expect(result.duplicates, result.crm).toBe(0);
    }
    // HubSpot and Salesforce hold BSUID-only customers; Close cannot (no phone), and says so.
    expect(summary.results[0]!.messagesExpected).toBe(200);
    expect(summary.results[1]!.messagesExpected).toBe(200);
    const close = summary.results[2]!;
    if (close.messagesExpected < 200) expect(stdout).toMatch(/which close cannot log/);
    for (const crm of ['hubspot', 'salesforce', 'close']) {
      expect(stdout).toContain(`${crm}: `);
      // A progress row per CRM and number, ending at 100%.
      expect(stderr).toMatch(new RegExp(`^${crm} +\\+\\d+ .*100%`, 'm'));
    }
    expect(code).toBe(0);
  });
});
