/**
 * Shared parts of the `coexist serve` end-to-end tests: the serve child process, its config file, the ground
 * truth of a generated onboarding, and the checks of the HubSpot emulator's final state against it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CoexistenceEvent, contactKey, parseWebhook } from '@coexist/core';
import { type DeliveryStats, deliverTraffic, type HubSpotEmulator, type TrafficPayload } from '@coexist/sandbox';
import { expect } from 'vitest';

const bin = fileURLToPath(new URL('../packages/cli/src/bin.ts', import.meta.url));

/** The environment the serve child gets: the secrets its config references. */
export const SERVE_ENV = {
  META_APP_SECRET: 'e2e-meta-app-secret-7f3a',
  META_VERIFY_TOKEN: 'e2e-verify-token-19c2',
  COEXIST_ADMIN_TOKEN: 'e2e-admin-token-88d1',
  HUBSPOT_TOKEN: '',
};

/** A free TCP port on loopback (so a restarted server comes back on the same URL, as in production). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Writes the config file of a serve child; returns its path. */
export function writeServeConfig(
  directory: string,
  options: { port: number; hubspotUrl: string; phoneNumberId: string; writerThread?: boolean },
): string {
  const path = join(directory, 'coexist.config.json');
  const config = {
    port: options.port,
    host: '127.0.0.1',
    store: {
      path: 'coexist.db',
      ...(options.writerThread === undefined ? {} : { writerThread: options.writerThread }),
    },
    adminToken: { env: 'COEXIST_ADMIN_TOKEN' },
    meta: { appSecret: { env: 'META_APP_SECRET' }, verifyToken: { env: 'META_VERIFY_TOKEN' } },
    connections: [
      {
        id: 'hubspot-e2e',
        crm: 'hubspot',
        phoneNumberIds: [options.phoneNumberId],
        hubspot: {
          accessToken: { env: 'HUBSPOT_TOKEN' },
          basePath: options.hubspotUrl,
          tier: 'pro',
          defaultCountry: 'US',
        },
      },
    ],
  };
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

/** A running `coexist serve` child process. */
export interface ServeChild {
  child: ChildProcess;
  url: string;
  /** Everything the child wrote to stderr (its log). */
  log(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

/** Starts `node --conditions=@coexist/source packages/cli/src/bin.ts serve --config <path>` and waits for "listening". */
export async function startServeChild(configPath: string, env: Record<string, string>): Promise<ServeChild> {
  const child = spawn(process.execPath, ['--conditions=@coexist/source', bin, 'serve', '--config', configPath], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      log += chunk;
      const match = /coexist: listening url=(\S+)/.exec(log);
      if (match) resolve(match[1]!);
    });
    void exited.then((code) => reject(new Error(`coexist serve exited (${code}) before listening:\n${log}`)));
  });
  return { child, url, log: () => log, exited };
}

/**
 * Delivers a generated onboarding to a serve child the way Meta would, signed, with 10% of the payloads sent twice,
 * `concurrency` at a time; asserts every delivery was answered and duplicates were sent.
 */
export async function deliverOnboarding(
  serve: ServeChild,
  appSecret: string,
  payloads: readonly TrafficPayload[],
  concurrency: number,
): Promise<DeliveryStats> {
  const stats = await deliverTraffic({
    payloads,
    url: `${serve.url}/webhooks/meta`,
    appSecret,
    duplicates: 0.1,
    concurrency,
    seed: 3,
  });
  expect(stats.failed).toBe(0);
  expect(stats.duplicatesSent).toBeGreaterThan(0);
  return stats;
}

/** Reads `/status` with the admin token. */
export async function readStatus(url: string): Promise<{
  numbers: { phoneNumberId: string; queue: { pending: number; waiting: number }; deadLetters: number }[];
  deadLetters: number;
  invalidPayloads: number;
}> {
  const response = await fetch(`${url}/status`, {
    headers: { authorization: `Bearer ${SERVE_ENV.COEXIST_ADMIN_TOKEN}` },
  });
  if (response.status !== 200) throw new Error(`/status answered ${response.status}`);
  return response.json();
}

/** Waits until `/status` shows no pending work twice in a row. */
export async function waitForDrained(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (Date.now() < deadline) {
    const status = await readStatus(url);
    const pending = status.numbers.reduce((sum, number) => sum + number.queue.pending, 0);
    quiet = pending === 0 ? quiet + 1 : 0;
    if (quiet >= 2) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the queue did not drain within ${timeoutMs} ms`);
}

/** What the CRM must end up with, derived from the generated payloads. */
export interface ExpectedState {
  /** wamid → contact key and original time. */
  messages: Map<string, { contactKey: string; occurredAt: string }>;
  /** Contact keys that must exist in the CRM (messages and app contact syncs). */
  contactKeys: Set<string>;
  /** Phones (E.164) of customers that have a conversation. */
  phonesWithMessages: string[];
  edited: Set<string>;
  revoked: Set<string>;
  /** wamid → highest status reached. */
  statuses: Map<string, string>;
}

const STATUS_RANK: Record<string, number> = { sent: 1, delivered: 2, read: 3, played: 4 };

/** Derives the expected CRM state of a run from its payloads. */
export function expectedState(payloads: readonly TrafficPayload[]): ExpectedState {
  const events: CoexistenceEvent[] = payloads.flatMap((payload) => parseWebhook(JSON.parse(payload.body)));
  const state: ExpectedState = {
    messages: new Map(),
    contactKeys: new Set(),
    phonesWithMessages: [],
    edited: new Set(),
    revoked: new Set(),
    statuses: new Map(),
  };
  const phones = new Set<string>();
  for (const event of events) {
    if (event.type === 'message.received' || event.type === 'message.echoed') {
      const key = contactKey(event.contact)!;
      state.messages.set(event.message.id, { contactKey: key, occurredAt: event.occurredAt });
      state.contactKeys.add(key);
      if (key.startsWith('phone:')) phones.add(key.slice('phone:'.length));
    } else if (event.type === 'contact.synced') {
      const key = contactKey(event.contact);
      if (key !== undefined) state.contactKeys.add(key);
    } else if (event.type === 'message.edited' && event.originalMessageId !== undefined) {
      state.edited.add(event.originalMessageId);
    } else if (event.type === 'message.revoked' && event.originalMessageId !== undefined) {
      state.revoked.add(event.originalMessageId);
    } else if (event.type === 'message.status' && event.status !== 'failed') {
      const current = state.statuses.get(event.messageId);
      if (current === undefined || STATUS_RANK[event.status]! > STATUS_RANK[current]!) {
        state.statuses.set(event.messageId, event.status);
      }
    }
  }
  state.phonesWithMessages = [...phones].sort();
  return state;
}

/** A contact seeded in the emulator before the onboarding, under another phone format. */
export interface SeededContact {
  id: string;
  contactKey: string;
}

/** Seeds some customers in the emulator as a rep would have typed them: national, spaced, digits only. */
export function seedExistingContacts(
  emulator: HubSpotEmulator,
  expected: ExpectedState,
  count: number,
): SeededContact[] {
  const phones = expected.phonesWithMessages.filter((phone) => phone.startsWith('+1')).slice(0, count);
  const formats = [
    (phone: string) => `(${phone.slice(2, 5)}) ${phone.slice(5, 8)}-${phone.slice(8)}`,
    (phone: string) => `+1 ${phone.slice(2, 5)}-${phone.slice(5, 8)}-${phone.slice(8)}`,
    (phone: string) => phone.slice(1),
  ];
  const records = emulator.seedContacts(
    phones.map((phone, index) => ({ firstname: `Existing ${index}`, phone: formats[index % formats.length]!(phone) })),
  );
  return records.map((record, index) => ({ id: record.id, contactKey: `phone:${phones[index]}` }));
}

/** Asserts the emulator holds every message once, on the right contact, in order, with updates applied. */
export function assertEmulatorState(
  emulator: HubSpotEmulator,
  expected: ExpectedState,
  seeded: readonly SeededContact[],
): void {
  const state = emulator.state;
  // Contact ids → contact key: created contacts carry it in coexist_whatsapp_id; seeded ones are known.
  const keyOfContact = new Map<string, string>();
  for (const contact of state.contacts.values()) {
    const identity = contact.properties.coexist_whatsapp_id;
    if (identity) keyOfContact.set(contact.id, identity);
  }
  for (const contact of seeded) {
    const identity = keyOfContact.get(contact.id);
    // A matched contact may be tagged with the key; it must never carry another one.
    if (identity !== undefined) expect(identity).toBe(contact.contactKey);
    keyOfContact.set(contact.id, contact.contactKey);
  }

  // Pre-existing contacts matched, not duplicated: one CRM contact per expected key, seeded ids kept.
  const contactsByKey = new Map<string, string[]>();
  for (const [id, key] of keyOfContact) contactsByKey.set(key, [...(contactsByKey.get(key) ?? []), id]);
  for (const [key, ids] of contactsByKey) {
    const details = ids.map((id) => JSON.stringify(state.contacts.get(id)?.properties)).join(' / ');
    expect(ids, `contacts for ${key}: ${details}`).toHaveLength(1);
  }
  expect(state.contacts.size).toBe(expected.contactKeys.size);
  expect(new Set(contactsByKey.keys())).toEqual(expected.contactKeys);

  // Every message exactly once.
  const communications = [...state.communications.values()].filter((record) => !record.archived);
  const byWamid = new Map<string, (typeof communications)[number]>();
  for (const record of communications) {
    const wamid = record.properties.coexist_message_id!;
    expect(byWamid.has(wamid), `communication ${wamid} written twice`).toBe(false);
    byWamid.set(wamid, record);
  }
  expect(new Set(byWamid.keys())).toEqual(new Set(expected.messages.keys()));

  // Each on the right contact, at its original time; a contact's timeline sorts in conversation order.
  const timelines = new Map<string, { at: number; wamid: string }[]>();
  for (const [wamid, message] of expected.messages) {
    const record = byWamid.get(wamid)!;
    const associated = state.associationsOf('communications', record.id, 'contacts').map((entry) => entry.toObjectId);
    expect(associated.length, `associations of ${wamid}`).toBe(1);
    expect(keyOfContact.get(associated[0]!), `contact of ${wamid}`).toBe(message.contactKey);
    expect(Date.parse(record.properties.hs_timestamp!)).toBe(Date.parse(message.occurredAt));
    const timeline = timelines.get(message.contactKey) ?? [];
    timeline.push({ at: Date.parse(message.occurredAt), wamid });
    timelines.set(message.contactKey, timeline);
  }
  for (const seededContact of seeded) {
    const count = emulator.countCommunications({ contactId: seededContact.id });
    expect(count, `messages on seeded contact ${seededContact.id}`).toBe(
      timelines.get(seededContact.contactKey)?.length ?? 0,
    );
    expect(count).toBeGreaterThan(0);
  }

  // Edits, revokes and statuses applied.
  for (const wamid of expected.revoked)
    expect(byWamid.get(wamid)?.properties.coexist_revoked, `revoke of ${wamid}`).toBe('true');
  for (const wamid of expected.edited) {
    if (expected.revoked.has(wamid)) continue;
    expect(byWamid.get(wamid)?.properties.coexist_edited_at, `edit of ${wamid}`).toBeTruthy();
  }
  let statusesChecked = 0;
  for (const [wamid, status] of expected.statuses) {
    const record = byWamid.get(wamid);
    if (record === undefined) continue; // a status of a message sent by another API client: no CRM record
    expect(record.properties.coexist_status, `status of ${wamid}`).toBe(status);
    statusesChecked++;
  }
  expect(statusesChecked).toBeGreaterThan(0);
  expect(emulator.findDuplicates()).toEqual([]);
}
