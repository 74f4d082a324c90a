import jsforce from 'jsforce';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type SalesforceEmulator,
  type SalesforceEmulatorOptions,
  startSalesforceEmulator,
} from './salesforce-emulator.ts';
import { defineCustomObject } from './salesforce-schema.ts';

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

describe('startSalesforceEmulator with jsforce', () => {
  let emulator: SalesforceEmulator | undefined;
  afterEach(async () => {
    await emulator?.close();
    emulator = undefined;
  });

  async function start(options: SalesforceEmulatorOptions = {}) {
    emulator = await startSalesforceEmulator(options);
    const connection = new jsforce.Connection(emulator.connectionOptions());
    return { emulator, connection };
  }

  function messages(count: number, from = 0, conversationKey?: string) {
    return Array.from({ length: count }, (_, index) => ({
      Message_Id__c: `wamid.HBgL${String(from + index).padStart(6, '0')}`,
      Direction__c: index % 2 === 0 ? 'inbound' : 'outbound',
      Actor__c: index % 2 === 0 ? 'customer' : 'business_app',
      Body__c: `message ${from + index}`,
      Sent_At__c: new Date(Date.UTC(2025, 0, 1, 0, 0, from + index)).toISOString(),
      ...(conversationKey ? { Conversation__r: { Thread_Key__c: conversationKey } } : {}),
    }));
  }

  it('upserts 200 messages per Collections call with created flags, and a re-upsert creates no duplicates', async () => {
    const { emulator, connection } = await start();
    await connection.sobject('WhatsApp_Conversation__c').create({ Thread_Key__c: '15550001111:14155551212' });
    const batch = messages(450, 0, '15550001111:14155551212');
    const first = await connection.sobject('WhatsApp_Message__c').upsert(batch, 'Message_Id__c', {
      allOrNone: false,
      allowRecursive: true,
    });
    expect(first).toHaveLength(450);
    expect(first.every((result) => result.success && result.created === true)).toBe(true);
    expect(emulator.stats.byRoute['PATCH /services/data/:version/composite/sobjects/:type/:field']).toBe(3);

    const edited = batch.map((message) => ({ ...message, Body__c: `${message.Body__c} (edited)`, Edited__c: true }));
    const second = await connection.sobject('WhatsApp_Message__c').upsert(edited, 'Message_Id__c', {
      allOrNone: false,
      allowRecursive: true,
    });
    expect(second.every((result) => result.success && result.created === false)).toBe(true);
    expect(second.map((result) => result.id)).toEqual(first.map((result) => result.id));
    expect(emulator.state.count('WhatsApp_Message__c')).toBe(450);
    expect(emulator.state.duplicates('WhatsApp_Message__c', 'Message_Id__c')).toEqual([]);
    const stored = emulator.state.records('WhatsApp_Message__c')[0]!;
    expect(stored).toMatchObject({ Body__c: 'message 0 (edited)', Edited__c: true, Revoked__c: false });
    expect(stored.Conversation__c).toBe(emulator.state.records('WhatsApp_Conversation__c')[0]!.Id);
    expect(String(stored.Id)).toMatch(/^a02[a-zA-Z0-9]{15}$/);
    expect(stored.Name).toBe('WAM-0000001');
  });

  it('reports per-record errors in an upsert with allOrNone false', async () => {
    const { emulator, connection } = await start();
    const results = await connection.sobject('WhatsApp_Message__c').upsert(
      [
        { Message_Id__c: 'wamid.ok', Body__c: 'fine' },
        { Message_Id__c: 'wamid.bad-field', Bogus__c: 'x' },
        { Message_Id__c: 'wamid.dup', Body__c: 'a' },
        { Message_Id__c: 'wamid.DUP', Body__c: 'b' },
        { Message_Id__c: 'wamid.bad-date', Sent_At__c: 'yesterday' },
        { Message_Id__c: 'wamid.bad-lookup', Conversation__c: 'a01000000000000AAA' },
      ],
      'Message_Id__c',
      { allOrNone: false },
    );
    expect(results.map((result) => result.success)).toEqual([true, false, false, false, false, false]);
    const errorOf = (index: number) =>
      (results[index] as { errors: Array<{ statusCode: string; fields: string[] }> }).errors[0]!;
    expect(errorOf(1)).toMatchObject({ statusCode: 'INVALID_FIELD', fields: ['Bogus__c'] });
    expect(errorOf(2).statusCode).toBe('DUPLICATE_EXTERNAL_ID');
    expect(errorOf(4)).toMatchObject({ statusCode: 'INVALID_TYPE_ON_FIELD_IN_RECORD', fields: ['Sent_At__c'] });
    expect(errorOf(5)).toMatchObject({ statusCode: 'INVALID_CROSS_REFERENCE_KEY', fields: ['Conversation__c'] });
    expect(emulator.state.count('WhatsApp_Message__c')).toBe(1);
  });

  it('refuses a Collections upsert record without its attributes map, as the create does', async () => {
    const { emulator, connection } = await start();
    const upsert = (records: unknown[]) =>
      connection.request<{ success: boolean; errors: { statusCode: string }[] }[]>({
        method: 'PATCH',
        url: '/services/data/v62.0/composite/sobjects/WhatsApp_Message__c/Message_Id__c',
        body: JSON.stringify({ allOrNone: false, records }),
        headers: { 'content-type': 'application/json' },
      });
    const results = await upsert([
      { Message_Id__c: 'wamid.bare', Body__c: 'no attributes' },
      { attributes: { type: 'WhatsApp_Message__c' }, Message_Id__c: 'wamid.typed', Body__c: 'typed' },
    ]);
    expect(results.map((result) => result.success)).toEqual([false, true]);
    expect(results[0]!.errors[0]!.statusCode).toBe('INVALID_TYPE');
    expect(emulator.state.count('WhatsApp_Message__c')).toBe(1);
  });

  it('creates with a partial failure, and rolls everything back with allOrNone', async () => {
    const { emulator, connection } = await start();
    const partial = await connection
      .sobject('Contact')
      .create(
        [{ LastName: 'Lovelace', Phone: '(415) 555-1212' }, { FirstName: 'NoLastName' }, { LastName: 'Hopper' }],
        { allOrNone: false },
      );
    expect(partial.map((result) => result.success)).toEqual([true, false, true]);
    expect((partial[1] as { errors: unknown[] }).errors).toEqual([
      {
        statusCode: 'REQUIRED_FIELD_MISSING',
        message: 'Required fields are missing: [LastName]',
        fields: ['LastName'],
      },
    ]);
    expect(emulator.state.count('Contact')).toBe(2);

    const atomic = await connection.sobject('Contact').create([{ LastName: 'Turing' }, { FirstName: 'Nope' }], {
      allOrNone: true,
    });
    expect(atomic.map((result) => result.success)).toEqual([false, false]);
    expect((atomic[0] as { errors: Array<{ statusCode: string }> }).errors[0]!.statusCode).toBe(
      'ALL_OR_NONE_OPERATION_ROLLED_BACK',
    );
    expect(emulator.state.count('Contact')).toBe(2);

    const duplicate = await connection.sobject('WhatsApp_Message__c').create(
      [
        { Message_Id__c: 'wamid.same', Body__c: 'one' },
        { Message_Id__c: 'wamid.same', Body__c: 'two' },
      ],
      { allOrNone: false },
    );
    expect((duplicate[1] as { errors: Array<{ statusCode: string }> }).errors[0]!.statusCode).toBe('DUPLICATE_VALUE');
  });

  it('rejects more than 200 records per Collections request with an error array', async () => {
    const { connection } = await start();
    const records = messages(201).map((message) => ({ attributes: { type: 'WhatsApp_Message__c' }, ...message }));
    const error = await rejection(
      connection.request({
        method: 'PATCH',
        url: '/composite/sobjects/WhatsApp_Message__c/Message_Id__c',
        body: JSON.stringify({ allOrNone: false, records }),
        headers: { 'content-type': 'application/json' },
      }),
    );
    expect(error.errorCode).toBe('EXCEEDED_ID_LIMIT');
    const raw = await fetch(`${emulator!.url}/services/data/v62.0/composite/sobjects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${emulator!.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ allOrNone: false, records }),
    });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toEqual([
      {
        message: 'record limit reached. cannot submit more than 200 records into this call',
        errorCode: 'EXCEEDED_ID_LIMIT',
      },
    ]);
  });

  it('answers SOQL with filters, ordering, limits, relationship fields and nextRecordsUrl paging', async () => {
    const { emulator, connection } = await start();
    const account = emulator.state.insert('Account', { Name: 'Acme' });
    emulator.state.insert('Contact', { LastName: 'Zed', WhatsApp_E164__c: '+14155551212', AccountId: account.Id });
    emulator.state.insert('Contact', { LastName: 'Amy', WhatsApp_E164__c: '+14155550000' });
    emulator.state.insert('Lead', {
      LastName: 'Lee',
      Company: 'X',
      WhatsApp_E164__c: '+14155551212',
      IsConverted: true,
    });
    emulator.state.insert('Lead', { LastName: 'Lou', Company: 'Y', WhatsApp_E164__c: '+14155551212' });

    const contacts = await connection.query<{ Id: string; LastName: string; Account: { Name: string } | null }>(
      "SELECT Id, LastName, Account.Name FROM Contact WHERE WhatsApp_E164__c IN ('+14155551212', '+14155550000') ORDER BY LastName DESC LIMIT 5",
    );
    expect(contacts.totalSize).toBe(2);
    expect(contacts.records.map((record) => record.LastName)).toEqual(['Zed', 'Amy']);
    expect(contacts.records[0]!.Account).toMatchObject({ Name: 'Acme', attributes: { type: 'Account' } });
    expect(contacts.records[1]!.Account).toBeNull();

    const leads = await connection.query(
      "SELECT Id, Name FROM Lead WHERE WhatsApp_E164__c = '+14155551212' AND IsConverted = false",
    );
    expect(leads.records.map((record) => record.Name)).toEqual(['Lou']);
    const either = await connection.query("SELECT COUNT() FROM Lead WHERE LastName = 'lee' OR Company = 'Y'");
    expect(either.totalSize).toBe(2);

    const malformed = await rejection(connection.query('SELECT FROM Contact'));
    expect(malformed.errorCode).toBe('MALFORMED_QUERY');
    const badField = await rejection(connection.query('SELECT Nope__c FROM Contact'));
    expect(badField.errorCode).toBe('INVALID_FIELD');
    const quotedBoolean = await rejection(connection.query("SELECT Id FROM Lead WHERE IsConverted = 'false'"));
    expect(quotedBoolean.errorCode).toBe('INVALID_FIELD');

    for (let index = 0; index < 2100; index++) {
      emulator.state.insert('WhatsApp_Message__c', { Message_Id__c: `wamid.page.${index}` });
    }
    const firstPage = await connection.query('SELECT Id, Message_Id__c FROM WhatsApp_Message__c');
    expect(firstPage).toMatchObject({ totalSize: 2100, done: false });
    expect(firstPage.records).toHaveLength(2000);
    expect(firstPage.nextRecordsUrl).toMatch(/\/services\/data\/v62\.0\/query\/01g[a-zA-Z0-9]{15}-2000$/);
    const secondPage = await connection.queryMore(firstPage.nextRecordsUrl!);
    expect(secondPage.done).toBe(true);
    expect(secondPage.records.map((record) => record.Message_Id__c)).toEqual(
      Array.from({ length: 100 }, (_, index) => `wamid.page.${2000 + index}`),
    );
    const all = await connection.query('SELECT Id FROM WhatsApp_Message__c').run({ autoFetch: true, maxFetch: 5000 });
    expect(all.records).toHaveLength(2100);
  });

  it('finds phone numbers stored in any format with SOSL, skipping converted leads', async () => {
    const { emulator, connection } = await start();
    const contact = emulator.state.insert('Contact', { LastName: 'Formatted', Phone: '(415) 555-1212' });
    const mobile = emulator.state.insert('Contact', { LastName: 'Intl', MobilePhone: '+1 415-555-1212' });
    emulator.state.insert('Contact', { LastName: 'Other', Phone: '(415) 555-9999' });
    const lead = emulator.state.insert('Lead', { LastName: 'Open', Company: 'A', Phone: '415.555.3434' });
    emulator.state.insert('Lead', { LastName: 'Converted', Company: 'B', Phone: '4155553434', IsConverted: true });

    const result = await connection.search(
      'FIND {4155551212 OR 4155553434} IN PHONE FIELDS RETURNING Contact(Id, Phone, MobilePhone), Lead(Id, Phone, MobilePhone WHERE IsConverted = false)',
    );
    expect(result.searchRecords.map((record) => record.Id)).toEqual([contact.Id, mobile.Id, lead.Id]);
    expect(result.searchRecords[0]).toEqual({
      attributes: { type: 'Contact', url: `/services/data/v62.0/sobjects/Contact/${contact.Id}` },
      Id: contact.Id,
      Phone: '(415) 555-1212',
      MobilePhone: null,
    });
    const single = await connection.search('FIND {4155551212} IN PHONE FIELDS RETURNING Contact(Id)');
    expect(single.searchRecords).toHaveLength(2);
    // Digits match as a suffix only when the shorter side has 7 or more; a country code on either side is fine.
    const suffix = await connection.search(
      'FIND {5551212 OR 555121 OR 14155553434} IN PHONE FIELDS RETURNING Contact(Id), Lead(Id)',
    );
    expect(suffix.searchRecords.map((record) => record.Id)).toEqual([
      contact.Id,
      mobile.Id,
      lead.Id,
      emulator.state.records('Lead')[1]!.Id,
    ]);
    const tooShort = await connection.search('FIND {555121} IN PHONE FIELDS RETURNING Contact(Id)');
    expect(tooShort.searchRecords).toEqual([]);
    const malformed = await rejection(connection.search('FIND {x} IN PHONE FIELDS'));
    expect(malformed.errorCode).toBe('MALFORMED_SEARCH');
  });

  it('describes objects from their definitions', async () => {
    const { connection } = await start();
    const message = await connection.sobject('WhatsApp_Message__c').describe();
    expect(message).toMatchObject({ name: 'WhatsApp_Message__c', custom: true, keyPrefix: 'a02' });
    const messageId = message.fields.find((field) => field.name === 'Message_Id__c')!;
    expect(messageId).toMatchObject({
      externalId: true,
      unique: true,
      type: 'string',
      idLookup: true,
      nillable: false,
    });
    const lookup = message.fields.find((field) => field.name === 'Conversation__c')!;
    expect(lookup).toMatchObject({
      type: 'reference',
      referenceTo: ['WhatsApp_Conversation__c'],
      relationshipName: 'Conversation__r',
    });
    const lead = await connection.describe('Lead');
    expect(lead.fields.find((field) => field.name === 'IsConverted')).toMatchObject({ type: 'boolean' });
    expect(lead.fields.find((field) => field.name === 'WhatsApp_E164__c')).toMatchObject({ externalId: true });
    const global = await connection.describeGlobal();
    expect(global.sobjects.map((object) => object.name)).toEqual(
      expect.arrayContaining([
        'Contact',
        'Lead',
        'Account',
        'Task',
        'User',
        'WhatsApp_Conversation__c',
        'WhatsApp_Message__c',
      ]),
    );
    const missing = await rejection(connection.describe('Nope__c'));
    expect(missing.errorCode).toBe('NOT_FOUND');
  });

  it('reads, updates, upserts by External ID, retrieves and deletes single rows', async () => {
    const { emulator, connection } = await start();
    const created = await connection.sobject('Lead').create({ LastName: 'Single', Company: 'Co' });
    expect(created).toMatchObject({ success: true });
    const lead = await connection.sobject('Lead').retrieve(created.id!);
    expect(lead).toMatchObject({ LastName: 'Single', IsConverted: false, Status: 'Open - Not Contacted' });
    await connection.sobject('Lead').update({ Id: created.id!, Phone: '555 0101' });
    expect(emulator.state.get('Lead', created.id!)!.Phone).toBe('555 0101');
    const readOnly = await rejection(connection.sobject('Lead').update({ Id: created.id!, Name: 'x' }));
    expect(readOnly.errorCode).toBe('INVALID_FIELD_FOR_INSERT_UPDATE');

    const inserted = await connection
      .sobject('Contact')
      .upsert({ WhatsApp_E164__c: '+441234', LastName: 'Upsert' }, 'WhatsApp_E164__c');
    expect(inserted).toMatchObject({ success: true, created: true });
    const updated = await connection
      .sobject('Contact')
      .upsert({ WhatsApp_E164__c: '+441234', LastName: 'Again' }, 'WhatsApp_E164__c');
    expect(updated).toMatchObject({ success: true, created: false });
    expect(emulator.state.count('Contact')).toBe(1);

    const second = await connection.sobject('Lead').create({ LastName: 'Second', Company: 'Co' });
    const updates = await connection.sobject('Lead').update(
      [
        { Id: created.id!, Company: 'Renamed' },
        { Id: second.id!, LastName: null },
      ],
      { allOrNone: false },
    );
    expect(updates.map((result) => result.success)).toEqual([true, false]);
    const byQuery = await connection.request<Array<Record<string, unknown> | null>>(
      `/composite/sobjects/Lead?ids=${created.id},${second.id},00Q000000000000AAA&fields=Id,Company,LastName`,
    );
    expect(byQuery.map((record) => record?.Company ?? null)).toEqual(['Renamed', 'Co', null]);
    expect(byQuery[0]).toEqual({
      attributes: { type: 'Lead', url: `/services/data/v62.0/sobjects/Lead/${created.id}` },
      Id: created.id,
      Company: 'Renamed',
      LastName: 'Single',
    });
    await connection.sobject('Lead').destroy([second.id!]);

    const many = await connection.sobject('Lead').retrieve([created.id!, created.id!.slice(0, 15)]);
    expect(many.map((record) => record?.Id)).toEqual([created.id, created.id]);
    await connection.sobject('Lead').destroy(created.id!);
    expect(emulator.state.count('Lead')).toBe(0);
    const gone = await rejection(connection.sobject('Lead').retrieve(created.id!));
    expect(gone.errorCode).toBe('NOT_FOUND');
  });

  it('registers extra custom objects and fields, and exposes state and reset over /__admin', async () => {
    const { emulator, connection } = await start({
      objects: [
        defineCustomObject({
          name: 'WhatsApp_Number__c',
          label: 'WhatsApp Number',
          keyPrefix: 'a05',
          fields: [{ name: 'E164__c', label: 'E.164', type: 'string', length: 20, externalId: true, unique: true }],
        }),
      ],
    });
    emulator.registerField('Contact', {
      name: 'Preferred_Channel__c',
      label: 'Preferred Channel',
      type: 'string',
      length: 20,
    });
    const created = await connection.sobject('WhatsApp_Number__c').create({ E164__c: '+15550001111' });
    expect(created.id).toMatch(/^a05/);
    await connection.sobject('Contact').create({ LastName: 'Custom', Preferred_Channel__c: 'whatsapp' });
    const described = await connection.describe('Contact');
    expect(described.fields.some((field) => field.name === 'Preferred_Channel__c')).toBe(true);
    await connection.sobject('WhatsApp_Message__c').create({ Message_Id__c: 'wamid.admin' });

    const state = (await (await fetch(`${emulator.url}/__admin/state`)).json()) as {
      counts: Record<string, number>;
      duplicateMessageIds: unknown[];
      limits: { apiUsage: number };
    };
    expect(state.counts).toMatchObject({ WhatsApp_Number__c: 1, Contact: 1, WhatsApp_Message__c: 1, User: 1 });
    expect(state.duplicateMessageIds).toEqual([]);
    expect(state.limits.apiUsage).toBe(4);
    await fetch(`${emulator.url}/__admin/reset`, { method: 'POST' });
    expect(emulator.state.counts()).toMatchObject({
      WhatsApp_Number__c: 0,
      Contact: 0,
      WhatsApp_Message__c: 0,
      User: 1,
    });
    expect(emulator.limits.used(Date.now())).toBe(0);
    expect(emulator.state.field('Contact', 'Preferred_Channel__c')).toBeDefined();
  });

  it('injects faults shaped like Salesforce 500s', async () => {
    const { connection } = await start({ faults: { serverErrorRate: 1 } });
    const error = await rejection(connection.sobject('Contact').create({ LastName: 'Fault' }));
    expect(error.errorCode).toBe('UNKNOWN_EXCEPTION');
    expect(emulator!.state.count('Contact')).toBe(0);
  });
});
