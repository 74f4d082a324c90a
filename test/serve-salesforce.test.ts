/**
 * End to end: `coexist serve` as a child process, fed a generated Coexistence onboarding by a Meta-like signed
 * delivery (with duplicates), syncing into the Salesforce emulator through the real Salesforce adapter (jsforce over
 * HTTP). The org's daily allocation runs out part way: the engine must pause without spinning, and finish once the
 * allocation is back. The result is checked from the emulator's records: every message once, on the right Contact
 * or Lead, in order per conversation, updates applied, existing records under other phone formats matched.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import {
  generateTraffic,
  type SalesforceEmulator,
  type SalesforceRecord,
  startSalesforceEmulator,
} from '@coexist/sandbox';
import { afterAll, describe, expect, it } from 'vitest';
import {
  deliverOnboarding,
  type ExpectedState,
  expectedState,
  freePort,
  readStatus,
  SERVE_ENV,
  type ServeChild,
  startServeChild,
  waitForDrained,
} from './serve-harness.ts';

const directory = mkdtempSync(join(tmpdir(), 'coexist-serve-salesforce-'));
let emulator: SalesforceEmulator | undefined;
let serve: ServeChild | undefined;

afterAll(async () => {
  serve?.child.kill('SIGKILL');
  await emulator?.close();
  rmSync(directory, { recursive: true, force: true });
});

/** How long the adapter pauses once the allocation is spent (the serve config's `dailyLimitPauseMs`). */
const PAUSE_MS = 1_000;
/** Requests the serve child keeps in flight (the config's `maxConcurrency`). */
const CONCURRENCY = 4;
/**
 * The org's allocation while it is "spent": enough for part of the onboarding only. (A Composite request writes a
 * batch's conversations and messages as one call, so 60 calls carried nearly all of this onboarding.)
 */
const SMALL_ALLOCATION = 30;

/** A person seeded before the onboarding, stored the way a rep typed the number. */
interface SeededPerson {
  id: string;
  contactKey: string;
}

function writeConfig(options: {
  port: number;
  instanceUrl: string;
  phoneNumberId: string;
  owner: string;
  businessPhone: string;
}) {
  const path = join(directory, 'coexist.config.json');
  const config = {
    port: options.port,
    host: '127.0.0.1',
    store: { path: 'coexist.db' },
    adminToken: { env: 'COEXIST_ADMIN_TOKEN' },
    meta: { appSecret: { env: 'META_APP_SECRET' }, verifyToken: { env: 'META_VERIFY_TOKEN' } },
    connections: [
      {
        id: 'salesforce-e2e',
        crm: 'salesforce',
        phoneNumberIds: [options.phoneNumberId],
        // Any format: serve normalizes business numbers before the adapter sees them.
        owners: { [`${options.businessPhone.slice(0, 4)}-${options.businessPhone.slice(4)}`]: options.owner },
        maxConcurrency: CONCURRENCY,
        salesforce: {
          instanceUrl: options.instanceUrl,
          accessToken: { env: 'SALESFORCE_TOKEN' },
          apiVersion: '62.0',
          defaultCountry: 'US',
          dailyReserve: 0,
          dailyLimitPauseMs: PAUSE_MS,
        },
      },
    ],
  };
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

/** Seeds Contacts and unconverted Leads for some customers under other formats, and a converted Lead decoy. */
function seedExistingPeople(org: SalesforceEmulator, expected: ExpectedState, count: number) {
  const phones = expected.phonesWithMessages.filter((phone) => phone.startsWith('+1')).slice(0, count);
  const formats = [
    (phone: string) => `(${phone.slice(2, 5)}) ${phone.slice(5, 8)}-${phone.slice(8)}`,
    (phone: string) => `+1 ${phone.slice(2, 5)}-${phone.slice(5, 8)}-${phone.slice(8)}`,
    (phone: string) => phone.slice(1),
    (phone: string) => `001 ${phone.slice(2)}`,
  ];
  const seeded: SeededPerson[] = phones.map((phone, index) => {
    const stored = formats[index % formats.length]!(phone);
    const field = index % 3 === 0 ? 'MobilePhone' : 'Phone';
    const record =
      index % 2 === 0
        ? org.state.insert('Contact', { FirstName: 'Existing', LastName: `Contact ${index}`, [field]: stored })
        : org.state.insert('Lead', {
            FirstName: 'Existing',
            LastName: `Lead ${index}`,
            Company: 'Acme',
            [field]: stored,
          });
    return { id: String(record.Id), contactKey: `phone:${phone}` };
  });
  // A converted Lead with the first phone: Salesforce keeps it, but it must never receive messages.
  const decoy = org.state.insert('Lead', {
    LastName: 'Converted',
    Company: 'Acme',
    Phone: phones[0]!,
    IsConverted: true,
  });
  return { seeded, decoyId: String(decoy.Id) };
}

/** The contact key a Contact or Lead stands for: our identity fields, else what the test seeded. */
function keyOfPerson(record: SalesforceRecord, seeded: ReadonlyMap<string, string>): string | undefined {
  const known = seeded.get(String(record.Id));
  if (typeof record.WhatsApp_E164__c === 'string') {
    const key = `phone:${record.WhatsApp_E164__c}`;
    if (known !== undefined) expect(key, `identity of seeded ${record.Id}`).toBe(known);
    return key;
  }
  if (known !== undefined) return known;
  return typeof record.WhatsApp_User_Id__c === 'string' ? `bsuid:${record.WhatsApp_User_Id__c}` : undefined;
}

function messagesWritten(org: SalesforceEmulator): number {
  return org.state.count('WhatsApp_Message__c');
}

describe('coexist serve → Salesforce (end to end, jsforce against the emulator)', () => {
  it('pauses on a spent daily allocation without spinning, resumes, and mirrors every message exactly once', async () => {
    emulator = await startSalesforceEmulator({ latency: { baseMs: 2, perRecordMs: 0.02 } });
    const org = emulator;
    const traffic = generateTraffic({ numbers: 1, messages: 800, seed: 11 });
    const payloads = [...traffic];
    const number = traffic.manifest().numbers[0]!;
    const expected = expectedState(payloads);
    expect(expected.messages.size).toBe(number.messages);
    const { seeded, decoyId } = seedExistingPeople(org, expected, 8);
    const seededKeys = new Map(seeded.map((person) => [person.id, person.contactKey]));
    const owner = org.state.defaultUserId;

    const env = { ...SERVE_ENV, SALESFORCE_TOKEN: org.accessToken };
    const configPath = writeConfig({
      port: await freePort(),
      instanceUrl: org.url,
      phoneNumberId: number.phoneNumberId,
      owner,
      businessPhone: `+${number.displayPhoneNumber.replace(/\D/g, '')}`,
    });
    serve = await startServeChild(configPath, env);

    // The org has little room left today: the onboarding must stop part way, not fail.
    org.limits.setDailyAllocation(SMALL_ALLOCATION);
    await deliverOnboarding(serve, env.META_APP_SECRET, payloads, 4);

    // Paused: the usage reached the allocation (the adapter, with no reserve, stops there; the org refuses any call
    // beyond it) and the work stopped. Only then can nothing more be written: a call admitted before the allocation
    // is spent may write a whole batch, so a moment without progress before it is no pause.
    const deadline = Date.now() + 20_000;
    let previous = -1;
    while (Date.now() < deadline) {
      const written = messagesWritten(org);
      if (written === previous && org.limits.used(Date.now()) >= SMALL_ALLOCATION) break;
      previous = written;
      await delay(300);
    }
    expect(org.limits.used(Date.now())).toBe(SMALL_ALLOCATION);
    const writtenWhenPaused = messagesWritten(org);
    expect(writtenWhenPaused).toBeLessThan(expected.messages.size);
    const status = await readStatus(serve.url);
    const pending = status.numbers.reduce((sum, entry) => sum + entry.queue.pending, 0);
    expect(pending).toBeGreaterThan(0);

    // No spinning: over a few pause periods the engine sends at most a probe per slot per period.
    const windowMs = 3 * PAUSE_MS;
    const requestsBefore = org.stats.requests;
    await delay(windowMs);
    const requestsDuringPause = org.stats.requests - requestsBefore;
    expect(requestsDuringPause).toBeLessThanOrEqual(CONCURRENCY * (windowMs / PAUSE_MS + 1));
    expect(messagesWritten(org)).toBe(writtenWhenPaused);

    // The allocation is back (a new day, or the admin bought more): the sync finishes by itself.
    org.limits.setDailyAllocation(100_000);
    await waitForDrained(serve.url, 30_000);
    const final = await readStatus(serve.url);
    expect(final.deadLetters).toBe(0);
    expect(final.invalidPayloads).toBe(0);

    assertOrgState(org, expected, seededKeys, decoyId, owner);
    // Refused requests are the probes of the pause, not a storm.
    expect(org.stats.byTag['rate-limited'] ?? 0).toBeLessThanOrEqual(requestsDuringPause + 2 * CONCURRENCY);

    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
    const log = serve.log();
    for (const secret of Object.values(env).filter((value) => value !== '')) expect(log).not.toContain(secret);
    serve = undefined;
  });
});

/** Asserts the org holds every message once, on the right person, in order, with updates applied. */
function assertOrgState(
  org: SalesforceEmulator,
  expected: ExpectedState,
  seeded: ReadonlyMap<string, string>,
  decoyId: string,
  owner: string,
): void {
  const state = org.state;
  // People: one Contact or Lead per contact key; the seeded ones kept (matched, not duplicated).
  const keyOf = new Map<string, string>();
  const idsByKey = new Map<string, string[]>();
  for (const record of [...state.records('Contact'), ...state.records('Lead')]) {
    const id = String(record.Id);
    if (id === decoyId) continue;
    const key = keyOfPerson(record, seeded);
    expect(key, `identity of ${id}`).toBeDefined();
    keyOf.set(id, key!);
    idsByKey.set(key!, [...(idsByKey.get(key!) ?? []), id]);
  }
  for (const [key, ids] of idsByKey) expect(ids, `records for ${key}`).toHaveLength(1);
  expect(new Set(idsByKey.keys())).toEqual(expected.contactKeys);
  for (const [id, key] of seeded) expect(idsByKey.get(key), `seeded ${key}`).toEqual([id]);

  // Conversations: each on its person, owned by the business number's user.
  const personOfConversation = new Map<string, string>();
  for (const conversation of state.records('WhatsApp_Conversation__c')) {
    const person = (conversation.Contact__c ?? conversation.Lead__c) as string | null;
    expect(person, `person of ${conversation.Thread_Key__c}`).toBeTruthy();
    expect(person).not.toBe(decoyId);
    expect(conversation.OwnerId).toBe(owner);
    personOfConversation.set(String(conversation.Id), person!);
  }
  expect(state.duplicates('WhatsApp_Conversation__c', 'Thread_Key__c')).toEqual([]);

  // Messages: every wamid once, on the right person, at its original time.
  expect(state.duplicates('WhatsApp_Message__c', 'Message_Id__c')).toEqual([]);
  const byWamid = new Map<string, SalesforceRecord>();
  for (const message of state.records('WhatsApp_Message__c')) byWamid.set(String(message.Message_Id__c), message);
  expect(new Set(byWamid.keys())).toEqual(new Set(expected.messages.keys()));
  const timelines = new Map<string, { at: number; wamid: string }[]>();
  for (const [wamid, message] of expected.messages) {
    const record = byWamid.get(wamid)!;
    const person = personOfConversation.get(String(record.Conversation__c));
    expect(keyOf.get(person!), `person of ${wamid}`).toBe(message.contactKey);
    expect(Date.parse(String(record.Sent_At__c)), `Sent_At__c of ${wamid}`).toBe(Date.parse(message.occurredAt));
    const conversation = String(record.Conversation__c);
    timelines.set(conversation, [
      ...(timelines.get(conversation) ?? []),
      { at: Date.parse(message.occurredAt), wamid },
    ]);
  }
  // In order per conversation: sorting the org's records by Sent_At__c gives the conversation's order.
  for (const [conversation, expectedTimeline] of timelines) {
    const stored = state
      .records('WhatsApp_Message__c')
      .filter((record) => record.Conversation__c === conversation)
      .sort((left, right) => Date.parse(String(left.Sent_At__c)) - Date.parse(String(right.Sent_At__c)))
      .map((record) => Date.parse(String(record.Sent_At__c)));
    expect(stored).toEqual(expectedTimeline.map((entry) => entry.at).sort((left, right) => left - right));
  }
  for (const [id] of seeded) {
    const conversations = [...personOfConversation.values()].filter((person) => person === id);
    expect(conversations.length, `conversations of seeded ${id}`).toBeGreaterThan(0);
  }

  // Edits, revokes and statuses applied.
  for (const wamid of expected.revoked) expect(byWamid.get(wamid)?.Revoked__c, `revoke of ${wamid}`).toBe(true);
  for (const wamid of expected.edited) {
    if (expected.revoked.has(wamid)) continue;
    expect(byWamid.get(wamid)?.Edited__c, `edit of ${wamid}`).toBe(true);
  }
  let statusesChecked = 0;
  for (const [wamid, status] of expected.statuses) {
    const record = byWamid.get(wamid);
    if (record === undefined) continue; // a status of a message another API client sent: no record
    expect(record.Status__c, `status of ${wamid}`).toBe(status);
    statusesChecked++;
  }
  expect(statusesChecked).toBeGreaterThan(0);
}
