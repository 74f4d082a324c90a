/**
 * End to end: `coexist serve` as a child process, fed a generated Coexistence onboarding by a Meta-like signed
 * delivery (with duplicates), syncing into the Close emulator through the real Close adapter (axios over HTTP).
 * Checked from the emulator's state: every message exactly once as a WhatsApp activity, on the right lead and
 * contact, threaded (`response_to_id` chains each lead's activities in the order the engine guarantees), updates
 * applied, existing leads under other phone formats matched. Close does not dedupe `external_whatsapp_message_id`,
 * so the second test kills the serve child with SIGKILL right after Close applied a POST whose answer the engine had
 * not recorded yet, restarts it, redelivers, and asserts the activity is reused, never duplicated.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCloseMarkdown } from '@coexist/close';
import { contactKey, contactPhone, createSqliteStore, eventContactRef, parseWebhook } from '@coexist/core';
import {
  type CloseEmulator,
  type CloseWhatsAppActivity,
  DEFAULT_CLOSE_ORGANIZATION_ID,
  type DeliveryAttempt,
  deliverTraffic,
  generateTraffic,
  normalizeClosePhone,
  startCloseEmulator,
  type TrafficPayload,
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

const directories: string[] = [];
const emulators: CloseEmulator[] = [];
let serve: ServeChild | undefined;

afterAll(async () => {
  serve?.child.kill('SIGKILL');
  await Promise.all(emulators.map((emulator) => emulator.close()));
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

const API_KEY = 'api_e2e_close_key_5c1e';
const CONNECTION_ID = 'close-e2e';
/** Close's example limits (20/s per endpoint group, search 16/s) × 10, so the test stays short; same shape. */
const LIMITS = {
  default: { limit: 200, windowMs: 1_000 },
  groups: { 'POST /data/search/': { limit: 160, windowMs: 1_000 } },
};

async function startEmulator(latencyMs = 0): Promise<CloseEmulator> {
  const emulator = await startCloseEmulator({
    apiKeys: [API_KEY],
    limits: LIMITS,
    ...(latencyMs > 0 ? { latency: { baseMs: latencyMs } } : {}),
  });
  emulators.push(emulator);
  return emulator;
}

function writeConfig(directory: string, options: { port: number; apiUrl: string; phoneNumberId: string }): string {
  const path = join(directory, 'coexist.config.json');
  const config = {
    port: options.port,
    host: '127.0.0.1',
    store: { path: 'coexist.db' },
    adminToken: { env: 'COEXIST_ADMIN_TOKEN' },
    meta: { appSecret: { env: 'META_APP_SECRET' }, verifyToken: { env: 'META_VERIFY_TOKEN' } },
    connections: [
      {
        id: CONNECTION_ID,
        crm: 'close',
        phoneNumberIds: [options.phoneNumberId],
        close: {
          apiKey: { env: 'CLOSE_API_KEY' },
          baseUrl: options.apiUrl,
          organizationId: DEFAULT_CLOSE_ORGANIZATION_ID,
          defaultCountry: 'US',
        },
      },
    ],
  };
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

/** What each message must look like in Close, and where it first arrived. */
interface ExpectedMessage {
  contactKey: string;
  occurredAtMs: number;
  direction: 'incoming' | 'outgoing';
  /** Sequence of the first payload that carried it. */
  firstSequence: number;
  /** The engine's lane: live messages go ahead of the backfill, so order is guaranteed within a lane. */
  lane: 'history' | 'live';
}

/** The messages Close can hold: those of customers with a phone (Close requires `remote_phone`). */
function closeMessages(payloads: readonly TrafficPayload[]): Map<string, ExpectedMessage> {
  const messages = new Map<string, ExpectedMessage>();
  for (const payload of payloads) {
    for (const event of parseWebhook(JSON.parse(payload.body))) {
      if (event.type !== 'message.received' && event.type !== 'message.echoed') continue;
      const key = contactKey(event.contact);
      if (key === undefined || !key.startsWith('phone:') || messages.has(event.message.id)) continue;
      messages.set(event.message.id, {
        contactKey: key,
        occurredAtMs: Date.parse(event.occurredAt),
        direction: event.type === 'message.received' ? 'incoming' : 'outgoing',
        firstSequence: payload.sequence,
        lane: payload.kind.startsWith('history') ? 'history' : 'live',
      });
    }
  }
  return messages;
}

/** A lead and contact that existed before the onboarding, with the phone typed in another format. */
interface SeededLead {
  contactId: string;
  contactKey: string;
}

/** Seeds leads for some US customers as reps type numbers; Close stores them normalized (E.164). */
function seedExistingLeads(emulator: CloseEmulator, expected: ExpectedState, count: number): SeededLead[] {
  const phones = expected.phonesWithMessages.filter((phone) => phone.startsWith('+1')).slice(0, count);
  const formats = [
    (phone: string) => `(${phone.slice(2, 5)}) ${phone.slice(5, 8)}-${phone.slice(8)}`,
    (phone: string) => `+1 ${phone.slice(2, 5)}-${phone.slice(5, 8)}-${phone.slice(8)}`,
    (phone: string) => `001 ${phone.slice(2)}`,
    (phone: string) => phone.slice(2),
  ];
  return phones.map((phone, index) => {
    const typed = formats[index % formats.length]!(phone);
    expect(normalizeClosePhone(typed, 'US')?.phone, `seeded format of ${phone}`).toBe(phone);
    const { contact } = emulator.seedLead({ name: `Existing ${index}`, phone: typed });
    return { contactId: contact.id, contactKey: `phone:${phone}` };
  });
}

/**
 * Checks each lead's `response_to_id` links: one chain from a single head through every activity of the lead, each
 * parent on the same lead. Returns each lead's chain in write order.
 */
function chainsOf(activities: readonly CloseWhatsAppActivity[]): Map<string, CloseWhatsAppActivity[]> {
  const byLead = new Map<string, CloseWhatsAppActivity[]>();
  for (const activity of activities) byLead.set(activity.lead_id, [...(byLead.get(activity.lead_id) ?? []), activity]);
  const chains = new Map<string, CloseWhatsAppActivity[]>();
  for (const [leadId, leadActivities] of byLead) {
    const ids = new Set(leadActivities.map((activity) => activity.id));
    const heads = leadActivities.filter((activity) => activity.response_to_id === null);
    expect(heads.length, `thread heads of lead ${leadId}`).toBe(1);
    const childOf = new Map<string, CloseWhatsAppActivity>();
    for (const activity of leadActivities) {
      if (activity.response_to_id === null) continue;
      expect(ids.has(activity.response_to_id), `parent of ${activity.id} on lead ${leadId}`).toBe(true);
      expect(childOf.has(activity.response_to_id), `a second reply to ${activity.response_to_id}`).toBe(false);
      childOf.set(activity.response_to_id, activity);
    }
    const chain: CloseWhatsAppActivity[] = [];
    for (let current: CloseWhatsAppActivity | undefined = heads[0]; current; current = childOf.get(current.id)) {
      chain.push(current);
    }
    expect(chain.length, `activities chained on lead ${leadId}`).toBe(leadActivities.length);
    chains.set(leadId, chain);
  }
  return chains;
}

/** Asserts Close holds every expected message exactly once, on the right lead and contact, threaded, updated. */
function assertCloseState(
  emulator: CloseEmulator,
  messages: ReadonlyMap<string, ExpectedMessage>,
  expected: ExpectedState,
  seeded: readonly SeededLead[],
  options: { deliveredInOrder: boolean },
): void {
  const state = emulator.state;
  expect(emulator.findDuplicates()).toEqual([]);
  const activities = [...state.activities.values()];
  const byWamid = new Map(activities.map((activity) => [activity.external_whatsapp_message_id, activity]));
  expect(activities.length).toBe(byWamid.size);
  expect(new Set(byWamid.keys())).toEqual(new Set(messages.keys()));

  // One contact (and lead) per customer; the seeded ones matched, not duplicated.
  const contactOfKey = new Map<string, string>();
  for (const contact of state.contacts.values()) {
    expect(contact.phones.length).toBe(1);
    const key = `phone:${contact.phones[0]!.phone}`;
    expect(contactOfKey.has(key), `two contacts for ${key}`).toBe(false);
    contactOfKey.set(key, contact.id);
  }
  for (const lead of seeded) expect(contactOfKey.get(lead.contactKey)).toBe(lead.contactId);
  expect(state.leads.size).toBe(state.contacts.size);

  // Each activity on its customer's contact and lead, at the original time, in the right direction.
  for (const [wamid, message] of messages) {
    const activity = byWamid.get(wamid)!;
    const contactId = contactOfKey.get(message.contactKey);
    expect(activity.contact_id, `contact of ${wamid}`).toBe(contactId);
    expect(activity.lead_id, `lead of ${wamid}`).toBe(state.contacts.get(contactId!)!.lead_id);
    expect(activity.remote_phone_formatted).toBe(message.contactKey.slice('phone:'.length));
    expect(Date.parse(activity.activity_at), `activity_at of ${wamid}`).toBe(message.occurredAtMs);
    expect(activity.direction, `direction of ${wamid}`).toBe(message.direction);
  }
  for (const lead of seeded) {
    expect(
      activities.some((activity) => activity.contact_id === lead.contactId),
      `seeded ${lead.contactKey}`,
    ).toBe(true);
  }

  // Threads: one `response_to_id` chain per lead. The engine writes each thread oldest first among what has arrived,
  // per lane (live messages go ahead of the backfill: docs/engine.md), so an older message of the same lane that
  // arrived in the same or an earlier payload than a newer one is chained before it.
  const chains = chainsOf(activities);
  let pairsChecked = 0;
  if (options.deliveredInOrder) {
    for (const chain of chains.values()) {
      const entries = chain.map((activity) => messages.get(activity.external_whatsapp_message_id)!);
      for (let later = 0; later < entries.length; later++) {
        for (let earlier = later + 1; earlier < entries.length; earlier++) {
          const older = entries[earlier]!;
          const newer = entries[later]!;
          // `older` was chained after `newer`: allowed only if it arrived later or in the other lane.
          if (older.occurredAtMs < newer.occurredAtMs && older.lane === newer.lane) {
            expect(
              older.firstSequence,
              'an older message chained after a newer one that arrived later',
            ).toBeGreaterThan(newer.firstSequence);
          }
          pairsChecked++;
        }
      }
    }
    expect(pairsChecked).toBeGreaterThan(0);
  }

  // Updates applied: revokes, edits and the furthest status, read back from the activity's footer.
  for (const [wamid, status] of expected.statuses) {
    const activity = byWamid.get(wamid);
    if (activity === undefined) continue; // sent by another API client, or a customer without a phone
    const parsed = parseCloseMarkdown(activity.message_markdown, 'business_app');
    if (!expected.revoked.has(wamid)) expect(parsed.state.status, `status of ${wamid}`).toBe(status);
  }
  for (const wamid of expected.revoked) {
    const activity = byWamid.get(wamid);
    if (activity === undefined) continue;
    expect(parseCloseMarkdown(activity.message_markdown, 'customer').state.revoked, `revoke of ${wamid}`).toBe(true);
  }
  for (const wamid of expected.edited) {
    const activity = byWamid.get(wamid);
    if (activity === undefined || expected.revoked.has(wamid)) continue;
    expect(parseCloseMarkdown(activity.message_markdown, 'customer').state.edited, `edit of ${wamid}`).toBe(true);
  }
}

describe('coexist serve → Close (end to end, axios against the emulator)', () => {
  it('mirrors an onboarding into Close exactly once, on the right leads, threaded in order', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'coexist-serve-close-'));
    directories.push(directory);
    const emulator = await startEmulator();
    const traffic = generateTraffic({ numbers: 1, messages: 600, seed: 11 });
    const payloads = [...traffic];
    const number = traffic.manifest().numbers[0]!;
    const expected = expectedState(payloads);
    const messages = closeMessages(payloads);
    // Some customers are known only by a BSUID: Close cannot log them (no `remote_phone`).
    expect(messages.size).toBeLessThan(number.messages);
    expect(messages.size).toBeGreaterThan(number.messages * 0.8);
    const seeded = seedExistingLeads(emulator, expected, 6);

    const env = { ...SERVE_ENV, CLOSE_API_KEY: API_KEY };
    const configPath = writeConfig(directory, {
      port: await freePort(),
      apiUrl: emulator.apiUrl,
      phoneNumberId: number.phoneNumberId,
    });
    serve = await startServeChild(configPath, env);
    // One payload at a time: each is acknowledged (durable) before the next is sent, so arrival order is known.
    await deliverOnboarding(serve, env.META_APP_SECRET, payloads, 1);

    await waitForDrained(serve.url, 45_000);
    const status = await readStatus(serve.url);
    expect(status.invalidPayloads).toBe(0);
    expect(status.deadLetters).toBeGreaterThan(0);
    assertCloseState(emulator, messages, expected, seeded, { deliveredInOrder: true });
    const rateLimited = emulator.stats.byTag['rate-limited'] ?? 0;
    expect(rateLimited).toBeLessThan(emulator.stats.requests * 0.01);

    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
    const log = serve.log();
    for (const secret of Object.values(env).filter((value) => value !== '')) expect(log).not.toContain(secret);
    serve = undefined;

    // Dead letters: exactly the messages (and contact syncs) of customers known only by a BSUID, with a reason that
    // names the phone Close needs; nothing else was given up.
    const withoutPhone = new Set<string>();
    const phonelessMessages = new Set<string>();
    for (const payload of payloads) {
      for (const event of parseWebhook(JSON.parse(payload.body))) {
        const reference = eventContactRef(event);
        if (reference === undefined || contactPhone(reference) !== undefined) continue;
        withoutPhone.add(event.id);
        if (event.type === 'message.received' || event.type === 'message.echoed') phonelessMessages.add(event.id);
      }
    }
    const store = createSqliteStore({ path: join(directory, 'coexist.db') });
    try {
      const letters = await store.listDeadLetters({ limit: 10_000 });
      expect(letters.length).toBe(status.deadLetters);
      for (const letter of letters) {
        expect(withoutPhone.has(letter.eventId), `dead letter ${letter.eventType}: ${letter.reason}`).toBe(true);
        expect(letter.errorKind).toBe('permanent');
        expect(letter.reason).toMatch(/phone/i);
      }
      const dead = new Set(letters.map((letter) => letter.eventId));
      for (const id of phonelessMessages)
        expect(dead.has(id), `message event ${id} of a BSUID-only customer`).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('does not duplicate an activity Close applied when serve was killed before recording it', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'coexist-serve-close-crash-'));
    directories.push(directory);
    // Every call takes 15 ms, so several writes are in flight whenever the child dies.
    const emulator = await startEmulator(15);
    const traffic = generateTraffic({ numbers: 1, messages: 500, seed: 29 });
    const payloads = [...traffic];
    const number = traffic.manifest().numbers[0]!;
    const expected = expectedState(payloads);
    const messages = closeMessages(payloads);
    const seeded = seedExistingLeads(emulator, expected, 4);
    const env = { ...SERVE_ENV, CLOSE_API_KEY: API_KEY };
    const configPath = writeConfig(directory, {
      port: await freePort(),
      apiUrl: emulator.apiUrl,
      phoneNumberId: number.phoneNumberId,
    });
    serve = await startServeChild(configPath, env);
    const url = serve.url;

    const acked = new Set<number>();
    const onAttempt = (attempt: DeliveryAttempt) => {
      if (attempt.status === 200 && attempt.sequence !== undefined) acked.add(attempt.sequence);
    };
    const delivery = deliverTraffic({
      payloads,
      url: `${url}/webhooks/meta`,
      appSecret: env.META_APP_SECRET,
      duplicates: 0.1,
      concurrency: 4,
      rate: 60,
      retries: 12,
      retryDelayMs: 100,
      maxRetryDelayMs: 1_000,
      seed: 5,
      onAttempt,
    });

    // Kill the child the moment Close applies a POST (it has not read the answer yet), until at least one activity
    // exists in Close that the child's store does not know: the crash landed between a POST and its bookkeeping.
    const orphans: CloseWhatsAppActivity[] = [];
    for (const threshold of [60, 160, 260, 340]) {
      if (orphans.length > 0) break;
      await killWhenActivities(serve, emulator, threshold);
      expect(await serve.exited).toBe('SIGKILL');
      orphans.push(...(await unrecordedActivities(join(directory, 'coexist.db'), emulator)));
      serve = await startServeChild(configPath, env);
      expect(serve.url).toBe(url);
    }
    expect(orphans.length, 'activities applied by Close but not recorded by the killed child').toBeGreaterThan(0);

    await delivery;
    // Meta redelivers what was never acknowledged; redeliver everything once more as well (all duplicates now).
    const again = await deliverTraffic({
      payloads,
      url: `${url}/webhooks/meta`,
      appSecret: env.META_APP_SECRET,
      concurrency: 4,
      onAttempt,
    });
    expect(again.failed).toBe(0);
    expect(acked.size).toBe(payloads.length);

    await waitForDrained(url, 45_000);
    assertCloseState(emulator, messages, expected, seeded, { deliveredInOrder: false });
    // The orphans were found by the lookup and reused, not posted again.
    for (const orphan of orphans) expect(emulator.state.activities.get(orphan.id)).toBeDefined();

    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
    serve = undefined;
  });
});

/** SIGKILLs the child in the same turn of the event loop in which Close stores its `atLeast`-th activity. */
function killWhenActivities(child: ServeChild, emulator: CloseEmulator, atLeast: number): Promise<void> {
  const deadline = Date.now() + 40_000;
  return new Promise<void>((resolve, reject) => {
    const check = () => {
      if (emulator.state.activities.size >= atLeast) {
        child.child.kill('SIGKILL');
        resolve();
      } else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${atLeast} activities`));
      else setImmediate(check);
    };
    check();
  });
}

/** Activities in Close whose WhatsApp message id the (dead) child's store has no CRM id for. */
async function unrecordedActivities(path: string, emulator: CloseEmulator): Promise<CloseWhatsAppActivity[]> {
  const store = createSqliteStore({ path });
  try {
    const activities = [...emulator.state.activities.values()];
    const recorded = await store.getMessages(
      CONNECTION_ID,
      activities.map((activity) => activity.external_whatsapp_message_id),
    );
    return activities.filter((activity) => !recorded.has(activity.external_whatsapp_message_id));
  } finally {
    await store.close();
  }
}
