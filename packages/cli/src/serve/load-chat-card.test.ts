import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CoexistenceEvent,
  type CoexistStore,
  createMemoryStore,
  createSqliteStore,
  createSyncEngine,
} from '@coexist/core';
import { createReferenceAdapter } from '@coexist/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { loadChatCard } from './load-chat-card.ts';

const directory = mkdtempSync(join(tmpdir(), 'coexist-card-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const PHONE = '+16505551234';
const base = { wabaId: 'WABA-1', businessPhone: '+15550001001' };

function conversation(phoneNumberId: string, prefix: string, startMs: number): CoexistenceEvent[] {
  const at = (offset: number) => new Date(startMs + offset * 60_000).toISOString();
  const contact = { phone: PHONE, waId: PHONE.slice(1), name: 'Sheena' };
  return [
    {
      ...base,
      id: `${prefix}:in`,
      type: 'message.received',
      field: 'messages',
      phoneNumberId,
      occurredAt: at(0),
      contact,
      message: { id: `${prefix}.in`, kind: 'text', text: 'Does it come in blue?' },
      source: 'live',
    },
    {
      ...base,
      id: `${prefix}:echo`,
      type: 'message.echoed',
      field: 'smb_message_echoes',
      phoneNumberId,
      occurredAt: at(1),
      contact,
      message: { id: `${prefix}.echo`, kind: 'text', text: 'Yes, and in red' },
      source: 'live',
    },
    {
      ...base,
      id: `${prefix}:edit`,
      type: 'message.edited',
      field: 'smb_message_echoes',
      phoneNumberId,
      occurredAt: at(2),
      actor: 'business_app',
      contact,
      originalMessageId: `${prefix}.echo`,
      message: { id: `${prefix}.edit`, kind: 'text', text: 'Yes, and in green' },
    },
    {
      ...base,
      id: `${prefix}:status`,
      type: 'message.status',
      field: 'messages',
      phoneNumberId,
      occurredAt: at(3),
      messageId: `${prefix}.echo`,
      status: 'read',
      recipient: contact,
    } as CoexistenceEvent,
    {
      ...base,
      id: `${prefix}:sync`,
      type: 'contact.synced',
      field: 'smb_app_state_sync',
      phoneNumberId,
      occurredAt: at(-60),
      contact: { phone: PHONE, name: 'Sheena Nelson (app)' },
    },
  ];
}

/** A running engine on a fresh store holding conversation `c` on PN-1, an hour before `now`. */
async function withConversation(createStore: () => CoexistStore) {
  const store = createStore();
  const adapter = createReferenceAdapter({ rateLimits: { buckets: [] } });
  const engine = createSyncEngine({ store, connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1'] }] });
  const now = Date.parse('2026-03-05T10:00:00Z');
  const at = (minutes: number) => new Date(now + minutes * 60_000).toISOString();
  await engine.ingest(conversation('PN-1', 'c', now - 3_600_000), { rawBody: 'conversation' });
  return { store, engine, now, at };
}

const backends: [string, () => CoexistStore][] = [
  ['memory', () => createMemoryStore()],
  ['sqlite', () => createSqliteStore({ path: join(directory, `${Math.random()}.db`) })],
];

describe.each(backends)('loadChatCard (%s store)', (_name, createStore) => {
  it('builds the latest conversation of a contact from the stored events', async () => {
    const store = createStore();
    const adapter = createReferenceAdapter({ rateLimits: { buckets: [] } });
    const engine = createSyncEngine({
      store,
      connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1', 'PN-2'] }],
      autoStart: false,
    });
    const now = Date.parse('2026-03-05T10:00:00Z');
    await engine.ingest(conversation('PN-1', 'old', now - 3 * 86_400_000), { rawBody: 'old' });
    await engine.ingest(conversation('PN-2', 'new', now - 3_600_000), { rawBody: 'new' });
    await engine.ingest(conversation('PN-3', 'other', now - 60_000), { rawBody: 'other connection' });

    const card = await loadChatCard(store, {
      connectionId: 'crm',
      phoneNumberIds: ['PN-1', 'PN-2'],
      contactKeys: [`phone:${PHONE}`],
      now: new Date(now),
    });
    expect(card).toBeDefined();
    expect(card!.contact).toEqual({ name: 'Sheena Nelson (app)', phone: PHONE });
    expect(card!.messages.map((message) => [message.id, message.text, message.edited, message.status])).toEqual([
      ['new.in', 'Does it come in blue?', false, undefined],
      ['new.echo', 'Yes, and in green', true, 'read'],
    ]);
    expect(card!.ownership).toMatchObject({ owner: 'app', messageId: 'new.echo' });
    expect(card!.serviceWindow.open).toBe(true);

    const older = await loadChatCard(store, {
      connectionId: 'crm',
      phoneNumberIds: ['PN-1', 'PN-2'],
      phoneNumberId: 'PN-1',
      contactKeys: [`phone:${PHONE}`],
      now: new Date(now),
    });
    expect(older!.messages.map((message) => message.id)).toEqual(['old.in', 'old.echo']);
    expect(older!.serviceWindow.open).toBe(false);

    expect(
      await loadChatCard(store, { connectionId: 'crm', phoneNumberIds: ['PN-1'], contactKeys: ['phone:+16505550000'] }),
    ).toBeUndefined();
    await engine.stop();
    await store.close();
  });

  it("shows the account's disconnect and, after a contact.removed, the profile name again", async () => {
    const { store, engine, now, at } = await withConversation(createStore);
    // Account events carry no phone number id (Meta sends no metadata with them): recorded on the WABA.
    const account = { wabaId: 'WABA-1', field: 'account_update' } as const;
    await engine.ingest(
      [
        {
          ...account,
          id: 'removed-contact',
          type: 'contact.removed',
          field: 'smb_app_state_sync',
          phoneNumberId: 'PN-1',
          occurredAt: at(-5),
          contact: { phone: PHONE },
        },
        {
          ...account,
          id: 'partner-removed',
          type: 'account.disconnected',
          occurredAt: at(-1),
          reason: 'PRIMARY_INACTIVITY',
          initiatedBy: 'SYSTEM',
        },
      ] as CoexistenceEvent[],
      { rawBody: 'later' },
    );
    await engine.drain();
    const card = await loadChatCard(store, {
      connectionId: 'crm',
      phoneNumberIds: ['PN-1'],
      contactKeys: [`phone:${PHONE}`],
      now: new Date(now),
    });
    expect(card!.contact.name).toBe('Sheena');
    expect(card!.numberHealth).toMatchObject({ connection: 'disconnected', warnings: ['disconnected'] });
    expect((await engine.status()).numbers[0]?.link.connection).toBe('disconnected');
    await engine.stop();
    await store.close();
  });

  it('shows a message sent through the Cloud API, known only from its statuses, and the API as owner', async () => {
    const { store, engine, now, at } = await withConversation(createStore);
    // Meta sends no webhook for a message sent through the Cloud API (by the CRM, a bot): only its statuses.
    const status = (id: string, messageId: string, value: 'sent' | 'delivered', minutes: number, phone = PHONE) =>
      ({
        ...base,
        id,
        type: 'message.status',
        field: 'messages',
        phoneNumberId: 'PN-1',
        occurredAt: at(minutes),
        messageId,
        status: value,
        recipient: { phone, waId: phone.slice(1) },
      }) as CoexistenceEvent;
    await engine.ingest(
      [
        status('api:sent', 'api.1', 'sent', -10),
        status('api:delivered', 'api.1', 'delivered', -9),
        status('other:sent', 'api.2', 'sent', -8, '+16505550000'),
      ],
      { rawBody: 'statuses' },
    );
    await engine.drain();
    const query = {
      connectionId: 'crm',
      phoneNumberIds: ['PN-1'],
      contactKeys: [`phone:${PHONE}`],
      now: new Date(now),
    };
    const card = await loadChatCard(store, query);
    expect(card!.messages.map((message) => [message.id, message.actor, message.status])).toEqual([
      ['c.in', 'customer', undefined],
      ['c.echo', 'business_app', 'read'],
      ['api.1', 'cloud_api', 'delivered'],
    ]);
    expect(card!.ownership).toEqual({ owner: 'api', since: at(-10), messageId: 'api.1' });
    // The other customer's conversation holds only its own API message.
    const other = await loadChatCard(store, { ...query, contactKeys: ['phone:+16505550000'] });
    expect(other!.messages.map((message) => message.id)).toEqual(['api.2']);

    // The rep answers from the phone afterwards: the app owns the conversation again.
    await engine.ingest(
      [
        {
          ...base,
          id: 'later:echo',
          type: 'message.echoed',
          field: 'smb_message_echoes',
          phoneNumberId: 'PN-1',
          occurredAt: at(-5),
          contact: { phone: PHONE, waId: PHONE.slice(1) },
          message: { id: 'later.echo', kind: 'text', text: 'Anything else?' },
          source: 'live',
        },
      ],
      { rawBody: 'echo' },
    );
    await engine.drain();
    expect((await loadChatCard(store, query))!.ownership).toMatchObject({ owner: 'app', messageId: 'later.echo' });
    await engine.stop();
    await store.close();
  });

  it('finds a Cloud API message whose statuses name only the BSUID, dated by its first status', async () => {
    const store = createStore();
    const adapter = createReferenceAdapter({ rateLimits: { buckets: [] } });
    const engine = createSyncEngine({ store, connections: [{ id: 'crm', adapter, phoneNumberIds: ['PN-1', 'PN-2'] }] });
    const now = Date.parse('2026-03-05T10:00:00Z');
    const at = (minutes: number) => new Date(now + minutes * 60_000).toISOString();
    const customer = { phone: PHONE, waId: PHONE.slice(1), userId: 'US.77' };
    const received = (phoneNumberId: string, id: string, minutes: number): CoexistenceEvent => ({
      ...base,
      id: `in:${id}`,
      type: 'message.received',
      field: 'messages',
      phoneNumberId,
      occurredAt: at(minutes),
      contact: customer,
      message: { id, kind: 'text', text: 'hello' },
      source: 'live',
    });
    const status = (value: 'sent' | 'read', minutes: number): CoexistenceEvent => ({
      ...base,
      id: `status:api.b:${value}`,
      type: 'message.status',
      field: 'messages',
      phoneNumberId: 'PN-1',
      occurredAt: at(minutes),
      messageId: 'api.b',
      status: value,
      recipient: { userId: 'US.77' },
    });
    // PN-1: the customer writes, the API answers (sent 09:10, read at 09:59); PN-2: the customer writes at 09:30.
    await engine.ingest([received('PN-1', 'in.1', -60)], { rawBody: 'first' });
    await engine.drain();
    await engine.ingest([status('sent', -50), received('PN-2', 'in.2', -30), status('read', -1)], { rawBody: 'then' });
    await engine.drain();
    const contact = [...adapter.state.contacts.values()].find((record) => record.phone === PHONE)!;
    const contactKeys = await store.findContactKeys('crm', contact.crmId);
    expect(contactKeys).toEqual(['bsuid:US.77', `phone:${PHONE}`]);
    const query = { connectionId: 'crm', phoneNumberIds: ['PN-1', 'PN-2'], contactKeys, now: new Date(now) };
    // The latest message is PN-2's (09:30): the API message was sent at 09:10, whenever it was read.
    expect((await loadChatCard(store, query))!.messages.map((message) => message.id)).toEqual(['in.2']);
    const first = await loadChatCard(store, { ...query, phoneNumberId: 'PN-1' });
    expect(first!.messages.map((message) => [message.id, message.actor, message.status])).toEqual([
      ['in.1', 'customer', undefined],
      ['api.b', 'cloud_api', 'read'],
    ]);
    expect(first!.ownership).toMatchObject({ owner: 'api', messageId: 'api.b' });
    await engine.stop();
    await store.close();
  });

  it('finds the contact keys a CRM id maps to', async () => {
    const store = createStore();
    await store.saveContacts([
      { connectionId: 'crm', key: `phone:${PHONE}`, crmId: '42' },
      { connectionId: 'crm', key: 'bsuid:US.1', crmId: '42' },
      { connectionId: 'other', key: 'phone:+1', crmId: '42' },
      { connectionId: 'crm', key: 'phone:+16505550001', crmId: 'cont_1', parentId: 'lead_1' },
      { connectionId: 'crm', key: 'phone:+16505550002', crmId: 'cont_2', parentId: 'lead_1' },
    ]);
    expect(await store.findContactKeys('crm', '42')).toEqual(['bsuid:US.1', `phone:${PHONE}`]);
    // A parent record (a Close lead) finds the keys of all its contacts.
    expect(await store.findContactKeys('crm', 'lead_1')).toEqual(['phone:+16505550001', 'phone:+16505550002']);
    expect(await store.findContactKeys('crm', '43')).toEqual([]);
    await store.close();
  });
});
