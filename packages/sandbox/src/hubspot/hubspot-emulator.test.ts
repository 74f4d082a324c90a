import { Client } from '@hubspot/api-client';
import { AssociationSpecAssociationCategoryEnum } from '@hubspot/api-client/lib/codegen/crm/objects/communications/index.js';
import {
  PropertyCreateFieldTypeEnum,
  PropertyCreateTypeEnum,
} from '@hubspot/api-client/lib/codegen/crm/properties/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type HubSpotEmulator, type HubSpotEmulatorOptions, startHubSpotEmulator } from './hubspot-emulator.ts';

// The real client, pointed at the emulator. numberOfApiCallRetries stays 0 so the client never retries on its own.
const TOKEN = 'pat-na1-test-token';
const OWNER = { id: '7001', email: 'rep@example.com', firstName: 'Rita', lastName: 'Rep' };

let emulator: HubSpotEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function start(options: HubSpotEmulatorOptions = {}) {
  emulator = await startHubSpotEmulator({ tokens: [TOKEN], owners: [OWNER], tier: 'enterprise', ...options });
  const client = new Client({ accessToken: TOKEN, basePath: emulator.url, numberOfApiCallRetries: 0 });
  return { emulator, client };
}

async function rejection(promise: Promise<unknown>): Promise<{ code: number; body: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: number; body: Record<string, unknown> };
  }
  throw new Error('expected the call to be rejected');
}

function communication(body: string, timestamp = '2026-03-01T09:30:00Z', extra: Record<string, string> = {}) {
  return {
    hs_communication_channel_type: 'WHATS_APP',
    hs_communication_logged_from: 'CRM',
    hs_communication_body: body,
    hs_timestamp: timestamp,
    ...extra,
  };
}

const toContact = (id: string) => [
  {
    to: { id },
    types: [{ associationCategory: AssociationSpecAssociationCategoryEnum.HubspotDefined, associationTypeId: 81 }],
  },
];

async function createWaMessageIdProperty(client: Client) {
  return client.crm.properties.coreApi.create('communications', {
    name: 'wa_message_id',
    label: 'WhatsApp message id',
    type: PropertyCreateTypeEnum.String,
    fieldType: PropertyCreateFieldTypeEnum.Text,
    groupName: 'communication',
    hasUniqueValue: true,
  });
}

describe('HubSpot emulator: auth', () => {
  it('answers 401 with HubSpot’s body for an unknown or missing token', async () => {
    const { emulator } = await start();
    const stranger = new Client({ accessToken: 'pat-na1-wrong', basePath: emulator.url, numberOfApiCallRetries: 0 });
    const error = await rejection(stranger.crm.contacts.basicApi.getPage());
    expect(error.code).toBe(401);
    expect(error.body).toMatchObject({ status: 'error', category: 'INVALID_AUTHENTICATION' });
    expect(error.body.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    const anonymous = await fetch(`${emulator.url}/crm/v3/objects/contacts`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('x-hubspot-ratelimit-max')).toBeNull();
  });
});

describe('HubSpot emulator: properties and owners', () => {
  it('creates a unique property, refuses a duplicate name with 409 and caps unique properties at 10', async () => {
    const { client } = await start();
    const created = await createWaMessageIdProperty(client);
    expect(created).toMatchObject({ name: 'wa_message_id', hasUniqueValue: true, hubspotDefined: false });
    const duplicate = await rejection(createWaMessageIdProperty(client));
    expect(duplicate.code).toBe(409);
    expect(duplicate.body).toMatchObject({ status: 'error', category: 'OBJECT_ALREADY_EXISTS' });
    expect((await client.crm.properties.coreApi.getByName('communications', 'wa_message_id')).hasUniqueValue).toBe(
      true,
    );
    const all = await client.crm.properties.coreApi.getAll('communications');
    expect(all.results.map((property) => property.name)).toContain('hs_communication_channel_type');

    for (let index = 1; index < 10; index++) {
      await client.crm.properties.coreApi.create('communications', {
        name: `unique_${index}`,
        label: `Unique ${index}`,
        type: PropertyCreateTypeEnum.String,
        fieldType: PropertyCreateFieldTypeEnum.Text,
        groupName: 'communication',
        hasUniqueValue: true,
      });
    }
    const eleventh = await rejection(
      client.crm.properties.coreApi.create('communications', {
        name: 'unique_11',
        label: 'Unique 11',
        type: PropertyCreateTypeEnum.String,
        fieldType: PropertyCreateFieldTypeEnum.Text,
        groupName: 'communication',
        hasUniqueValue: true,
      }),
    );
    expect(eleventh.code).toBe(400);
    expect(eleventh.body.category).toBe('VALIDATION_ERROR');
  });

  it('refuses unique properties on communications when configured to', async () => {
    const { client } = await start({ uniquePropertiesOnCommunications: false });
    const error = await rejection(createWaMessageIdProperty(client));
    expect(error.code).toBe(400);
    expect(String(error.body.message)).toContain('not supported on communications');
  });

  it('lists the configured owners and validates hubspot_owner_id against them', async () => {
    const { client } = await start();
    const owners = await client.crm.owners.ownersApi.getPage();
    expect(owners.results.map((owner) => [owner.id, owner.email])).toEqual([['7001', 'rep@example.com']]);
    const bad = await rejection(
      client.crm.contacts.basicApi.create({
        properties: { phone: '+14155550100', hubspot_owner_id: '999' },
        associations: [],
      }),
    );
    expect(bad.code).toBe(400);
    expect(String(bad.body.message)).toContain('INVALID_OWNER_ID');
    const good = await client.crm.contacts.basicApi.create({
      properties: { phone: '+14155550100', hubspot_owner_id: '7001' },
      associations: [],
    });
    expect(good.properties.hubspot_owner_id).toBe('7001');
  });
});

describe('HubSpot emulator: contacts', () => {
  it('creates, reads, updates and batch-reads contacts by a unique idProperty', async () => {
    const { client, emulator } = await start();
    const created = await client.crm.contacts.batchApi.createWithHttpInfo({
      inputs: [
        { properties: { email: 'ana@example.com', firstname: 'Ana', phone: '+44 7700 900123' }, associations: [] },
        { properties: { email: 'ben@example.com', firstname: 'Ben' }, associations: [] },
      ],
    });
    expect(created.httpStatusCode).toBe(201);
    const [ana, ben] = created.data.results;
    expect(ana!.id).toMatch(/^\d+$/);
    expect(ana!.properties.hs_searchable_calculated_phone_number).toBe('7700900123');
    expect(ana!.createdAt).toBeInstanceOf(Date);

    const read = await client.crm.contacts.batchApi.read({
      idProperty: 'email',
      inputs: [{ id: 'BEN@example.com' }, { id: 'nobody@example.com' }],
      properties: ['firstname'],
      propertiesWithHistory: [],
    });
    expect(read.results.map((contact) => contact.id)).toEqual([ben!.id]);
    expect('numErrors' in read && read.numErrors).toBe(1);

    const updated = await client.crm.contacts.basicApi.update(ana!.id, { properties: { lastname: 'Alves' } });
    expect(updated.properties.lastname).toBe('Alves');
    const fetched = await client.crm.contacts.basicApi.getById(ana!.id, ['lastname', 'phone']);
    expect(fetched.properties).toMatchObject({ lastname: 'Alves', phone: '+44 7700 900123', hs_object_id: ana!.id });
    const missing = await rejection(client.crm.contacts.basicApi.getById('1'));
    expect(missing.code).toBe(404);
    expect(emulator.state.contacts.size).toBe(2);
  });

  it('rejects unknown and read-only properties with PROPERTY_DOESNT_EXIST / READ_ONLY_VALUE', async () => {
    const { client } = await start();
    const unknown = await rejection(
      client.crm.contacts.batchApi.create({ inputs: [{ properties: { favourite_colour: 'blue' }, associations: [] }] }),
    );
    expect(unknown.code).toBe(400);
    expect(unknown.body.category).toBe('VALIDATION_ERROR');
    expect(String(unknown.body.message)).toMatch(/^Property values were not valid: .*PROPERTY_DOESNT_EXIST/);
    const readOnly = await rejection(
      client.crm.contacts.basicApi.create({
        properties: { hs_searchable_calculated_phone_number: '123' },
        associations: [],
      }),
    );
    expect(String(readOnly.body.message)).toContain('READ_ONLY_VALUE');
  });

  it('answers malformed bodies with 400 VALIDATION_ERROR naming the field', async () => {
    const { emulator } = await start();
    const post = (body: string) =>
      fetch(`${emulator.url}/crm/v3/objects/contacts/batch/create`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body,
      });
    const notJson = await post('{"inputs": [');
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
    const wrongShape = await post(JSON.stringify({ inputs: [{ properties: 'nope' }] }));
    const body = (await wrongShape.json()) as { errors: Array<{ in: string }> };
    expect(wrongShape.status).toBe(400);
    expect(body.errors[0]!.in).toBe('inputs.0.properties');
    const extraField = await post(JSON.stringify({ inputs: [], colour: 'blue' }));
    expect(extraField.status).toBe(400);
  });
});

describe('HubSpot emulator: batch limits and partial failures', () => {
  it('accepts 100 inputs and rejects 101 with HubSpot’s VALIDATION_ERROR', async () => {
    const { client, emulator } = await start();
    const inputs = (count: number) =>
      Array.from({ length: count }, (_, index) => ({ properties: { firstname: `C${index}` }, associations: [] }));
    const hundred = await client.crm.contacts.batchApi.createWithHttpInfo({ inputs: inputs(100) });
    expect(hundred.httpStatusCode).toBe(201);
    const error = await rejection(client.crm.contacts.batchApi.create({ inputs: inputs(101) }));
    expect(error.code).toBe(400);
    expect(error.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
    expect(String(error.body.message)).toContain('maximum number of inputs supported in a batch request is 100');
    expect(emulator.state.contacts.size).toBe(100);
  });

  it('answers 207 with errors[] and numErrors when some rows fail, and stores the rest', async () => {
    const { client, emulator } = await start();
    const [contact] = emulator.seedContacts([{ phone: '+14155550100' }]);
    await createWaMessageIdProperty(client);
    const response = await client.crm.objects.communications.batchApi.createWithHttpInfo({
      inputs: [
        {
          properties: communication('one', undefined, { wa_message_id: 'wamid.1' }),
          associations: toContact(contact!.id),
        },
        {
          properties: communication('nobody', undefined, { wa_message_id: 'wamid.3' }),
          associations: toContact('424242'),
        },
        {
          properties: communication('two', undefined, { wa_message_id: 'wamid.2' }),
          associations: toContact(contact!.id),
        },
      ],
    });
    expect(response.httpStatusCode).toBe(207);
    const data = response.data as { results: unknown[]; numErrors: number; errors: Array<{ category: string }> };
    expect(data.results).toHaveLength(2);
    expect(data.numErrors).toBe(1);
    expect(data.errors.map((error) => error.category)).toEqual(['VALIDATION_ERROR']);
    expect(emulator.countCommunications()).toBe(2);
    expect(emulator.countCommunications({ contactId: contact!.id })).toBe(2);
  });

  it('refuses a whole batch/create with 409 CONFLICT when a unique value exists, naming the first, writing nothing', async () => {
    const { client, emulator } = await start();
    const [contact] = emulator.seedContacts([{ phone: '+14155550100' }]);
    await createWaMessageIdProperty(client);
    const input = (name: string, wamid: string) => ({
      properties: communication(name, undefined, { wa_message_id: wamid }),
      associations: toContact(contact!.id),
    });
    const first = await client.crm.objects.communications.batchApi.create({ inputs: [input('one', 'wamid.1')] });
    const existingId = first.results[0]!.id;
    // A resent batch: one input exists, the others are new.
    const resent = await client.crm.objects.communications.batchApi
      .create({ inputs: [input('new', 'wamid.2'), input('one', 'wamid.1'), input('newer', 'wamid.3')] })
      .then(
        () => undefined,
        (error: { code?: number; body?: { category?: string; message?: string } }) => error,
      );
    expect(resent?.code).toBe(409);
    expect(resent?.body).toMatchObject({
      category: 'CONFLICT',
      message: expect.stringContaining(`Existing ID: ${existingId}`),
    });
    // Two inputs of one call sharing the value: refused the same way.
    const twice = await client.crm.objects.communications.batchApi
      .create({ inputs: [input('a', 'wamid.4'), input('b', 'wamid.4')] })
      .then(
        () => undefined,
        (error: { code?: number }) => error,
      );
    expect(twice?.code).toBe(409);
    expect(emulator.countCommunications()).toBe(1);
  });
});

describe('HubSpot emulator: communications', () => {
  it('validates channel type, logged_from and timestamp', async () => {
    const { client, emulator } = await start();
    const [contact] = emulator.seedContacts([{ phone: '+14155550100' }]);
    const create = (properties: Record<string, string>) =>
      rejection(
        client.crm.objects.communications.batchApi.create({
          inputs: [{ properties, associations: toContact(contact!.id) }],
        }),
      );
    expect(
      String((await create(communication('x', undefined, { hs_communication_channel_type: 'WHATSAPP' }))).body.message),
    ).toContain('INVALID_OPTION');
    expect(
      String((await create(communication('x', undefined, { hs_communication_logged_from: 'API' }))).body.message),
    ).toContain('INVALID_OPTION');
    expect(String((await create(communication('x', 'yesterday'))).body.message)).toContain('INVALID_DATE');
    const { hs_timestamp: _, ...withoutTimestamp } = communication('x');
    expect(String((await create(withoutTimestamp)).body.message)).toContain('REQUIRED_PROPERTY');
    expect(emulator.countCommunications()).toBe(0);
  });

  it('stores inline associations (type 81) visible through associations v4, and PUT default associates', async () => {
    const { client, emulator } = await start();
    const [ana, ben] = emulator.seedContacts([{ phone: '+14155550100' }, { phone: '+14155550101' }]);
    const created = await client.crm.objects.communications.batchApi.create({
      inputs: [
        { properties: communication('hello', '1772357400000'), associations: toContact(ana!.id) },
        { properties: communication('again'), associations: toContact(ana!.id) },
      ],
    });
    const [first, second] = created.results;
    expect(first!.properties.hs_timestamp).toBe('2026-03-01T09:30:00.000Z');

    const fromContact = await client.crm.associations.v4.basicApi.getPage('contacts', ana!.id, 'communications');
    expect(fromContact.results.map((row) => String(row.toObjectId)).sort()).toEqual([first!.id, second!.id].sort());
    expect(fromContact.results[0]!.associationTypes[0]).toMatchObject({ category: 'HUBSPOT_DEFINED', typeId: 82 });
    const fromMessage = await client.crm.associations.v4.basicApi.getPage('communications', first!.id, 'contacts');
    expect(fromMessage.results).toEqual([
      { toObjectId: Number(ana!.id), associationTypes: [{ category: 'HUBSPOT_DEFINED', typeId: 81, label: null }] },
    ]);

    const defaulted = await client.crm.associations.v4.basicApi.createDefault(
      'communications',
      second!.id,
      'contacts',
      ben!.id,
    );
    expect(defaulted.results[0]!.associationSpec.associationTypeId).toBe(81);
    const batch = await client.crm.associations.v4.batchApi.getPage('communications', 'contacts', {
      inputs: [{ id: second!.id }, { id: '1' }],
    });
    expect(batch.results[0]!.to.map((row) => String(row.toObjectId)).sort()).toEqual([ana!.id, ben!.id].sort());
    expect('numErrors' in batch && batch.numErrors).toBe(1);

    const single = await client.crm.objects.communications.basicApi.getById(
      first!.id,
      ['hs_communication_body'],
      undefined,
      ['contacts'],
    );
    expect(single.properties.hs_communication_body).toBe('hello');
    expect(single.associations?.contacts?.results.map((row) => row.id)).toEqual([ana!.id]);
  });

  it('upserts by a unique property: new on the first call, not new on the second, never a duplicate', async () => {
    const { client, emulator } = await start();
    await createWaMessageIdProperty(client);
    const inputs = [
      { idProperty: 'wa_message_id', id: 'wamid.A', properties: communication('first') },
      { idProperty: 'wa_message_id', id: 'wamid.B', properties: communication('second') },
    ];
    const first = await client.crm.objects.communications.batchApi.upsertWithHttpInfo({ inputs });
    expect(first.httpStatusCode).toBe(200);
    expect(first.data.results.map((row) => row._new)).toEqual([true, true]);
    const again = await client.crm.objects.communications.batchApi.upsert({
      inputs: [{ ...inputs[0]!, properties: communication('first, edited') }, inputs[1]!],
    });
    expect(again.results.map((row) => row._new)).toEqual([false, false]);
    expect(again.results.map((row) => row.id)).toEqual(first.data.results.map((row) => row.id));
    expect(emulator.countCommunications()).toBe(2);
    expect(emulator.findDuplicates({ properties: ['wa_message_id'] })).toEqual([]);
    const read = await client.crm.objects.communications.batchApi.read({
      idProperty: 'wa_message_id',
      inputs: [{ id: 'wamid.A' }],
      properties: ['hs_communication_body'],
      propertiesWithHistory: [],
    });
    expect(read.results[0]!.properties.hs_communication_body).toBe('first, edited');

    const notUnique = await rejection(
      client.crm.objects.communications.batchApi.upsert({
        inputs: [{ idProperty: 'hs_communication_body', id: 'x', properties: communication('x') }],
      }),
    );
    expect(notUnique.code).toBe(400);
  });

  it('findDuplicates reports communications created twice without an idempotency key', async () => {
    const { client, emulator } = await start();
    const [contact] = emulator.seedContacts([{ phone: '+14155550100' }]);
    const input = { properties: communication('same'), associations: toContact(contact!.id) };
    await client.crm.objects.communications.batchApi.create({ inputs: [input] });
    await client.crm.objects.communications.batchApi.create({ inputs: [input] });
    const duplicates = emulator.findDuplicates();
    expect(duplicates).toHaveLength(1);
    expect(duplicates[0]!.ids).toHaveLength(2);
  });
});

describe('HubSpot emulator: infrastructure', () => {
  it('draws the same ids for the same seed', async () => {
    const ids: string[][] = [];
    for (let run = 0; run < 2; run++) {
      const { client } = await start({ seed: 'fixed' });
      const created = await client.crm.contacts.batchApi.create({
        inputs: [
          { properties: { firstname: 'A' }, associations: [] },
          { properties: { firstname: 'B' }, associations: [] },
        ],
      });
      ids.push(created.results.map((contact) => contact.id));
      await emulator!.close();
      emulator = undefined;
    }
    expect(ids[0]).toEqual(ids[1]);
    expect(Number(ids[0]![1])).toBeGreaterThan(Number(ids[0]![0]));
  });

  it('exposes state at /__admin/state, resets it, and injects HubSpot-shaped server errors', async () => {
    const { client, emulator } = await start();
    emulator.seedContacts([{ phone: '+14155550100' }]);
    const state = (await (await fetch(`${emulator.url}/__admin/state`)).json()) as {
      accounts: Record<string, { contacts: unknown[] }>;
    };
    expect(Object.values(state.accounts)[0]!.contacts).toHaveLength(1);
    await fetch(`${emulator.url}/__admin/reset`, { method: 'POST' });
    expect(emulator.state.contacts.size).toBe(0);

    emulator.faults.configure({ serverErrorRate: 1 });
    const error = await rejection(client.crm.contacts.basicApi.getPage());
    expect(error.code).toBe(502);
    expect(error.body).toMatchObject({ status: 'error', category: 'INTERNAL_ERROR' });
    expect(emulator.stats.byTag.fault).toBe(1);
  });
});
