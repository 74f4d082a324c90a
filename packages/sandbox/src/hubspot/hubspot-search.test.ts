import { Client } from '@hubspot/api-client';
import type { FilterOperatorEnum } from '@hubspot/api-client/lib/codegen/crm/contacts/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HubSpotEmulator, startHubSpotEmulator } from './hubspot-emulator.ts';
import type { HubSpotRecord } from './hubspot-state.ts';

// Search semantics through the real client's searchApi.doSearch. The 5/s search limit is raised here (its own
// test is in hubspot-rate-limits.test.ts) so the many searches below do not trip it.
const TOKEN = 'pat-na1-search-token';

let emulator: HubSpotEmulator;
let client: Client;
let contacts: HubSpotRecord[];

beforeAll(async () => {
  emulator = await startHubSpotEmulator({
    tokens: [TOKEN],
    limits: { searchPerSecond: 10_000 },
    defaultPhoneRegion: 'GB',
  });
  client = new Client({ accessToken: TOKEN, basePath: emulator.url, numberOfApiCallRetries: 0 });
  contacts = emulator.seedContacts([
    { firstname: 'Ana', phone: '+44 7700 900123', email: 'ana@example.com' },
    { firstname: 'Ben', phone: '+447700900124' },
    { firstname: 'Cai', mobilephone: '07700 900125', company: 'Acme Widgets' },
    { firstname: 'Dee', phone: '+14155550100', mobilephone: '+14155550199' },
    { firstname: 'Eve', email: 'eve@example.com' },
  ]);
});
afterAll(() => emulator.close());

/** A filter as written in these tests; operators are the wire strings (`EQ`, `IN`, …). */
type Filter = { propertyName: string; operator: `${FilterOperatorEnum}`; value?: string; values?: string[] };

async function search(filterGroups: Array<{ filters: Filter[] }>, extra: { limit?: number; after?: string } = {}) {
  return client.crm.contacts.searchApi.doSearch({
    filterGroups: filterGroups.map((group) => ({
      filters: group.filters.map((filter) => ({ ...filter, operator: filter.operator as FilterOperatorEnum })),
    })),
    properties: ['firstname', 'phone'],
    limit: extra.limit ?? 100,
    after: extra.after ?? '0',
    sorts: [],
  });
}

const names = (response: { results: Array<{ properties: Record<string, string | null> }> }) =>
  response.results.map((contact) => contact.properties.firstname);

async function rejection(promise: Promise<unknown>): Promise<{ code: number; body: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: number; body: Record<string, unknown> };
  }
  throw new Error('expected the search to be rejected');
}

const filters = (count: number): Filter[] =>
  Array.from({ length: count }, () => ({ propertyName: 'firstname', operator: 'HAS_PROPERTY' }));

describe('HubSpot emulator: contact search', () => {
  it('matches phones exactly on the stored string (EQ), as HubSpot does', async () => {
    expect(
      names(await search([{ filters: [{ propertyName: 'phone', operator: 'EQ', value: '+44 7700 900123' }] }])),
    ).toEqual(['Ana']);
    // The E.164 form of Ana's number does not match the formatted string she was stored with.
    expect(
      names(await search([{ filters: [{ propertyName: 'phone', operator: 'EQ', value: '+447700900123' }] }])),
    ).toEqual([]);
  });

  it('IN takes values[]; NOT_IN excludes; calculated searchable numbers hold national digits', async () => {
    const inResult = await search([
      {
        filters: [{ propertyName: 'phone', operator: 'IN', values: ['+447700900124', '+14155550100', '+10000000000'] }],
      },
    ]);
    expect(names(inResult)).toEqual(['Ben', 'Dee']);
    const national = await search([
      {
        filters: [
          {
            propertyName: 'hs_searchable_calculated_phone_number',
            operator: 'IN',
            values: ['7700900123', '7700900124'],
          },
        ],
      },
      { filters: [{ propertyName: 'hs_searchable_calculated_mobile_number', operator: 'IN', values: ['7700900125'] }] },
    ]);
    expect(names(national)).toEqual(['Ana', 'Ben', 'Cai']);
    const notIn = await search([
      { filters: [{ propertyName: 'firstname', operator: 'NOT_IN', values: ['ana', 'ben'] }] },
    ]);
    expect(names(notIn)).toEqual(['Cai', 'Dee', 'Eve']);
  });

  it('ORs filter groups and ANDs the filters of a group', async () => {
    const or = await search([
      { filters: [{ propertyName: 'phone', operator: 'EQ', value: '+14155550100' }] },
      { filters: [{ propertyName: 'mobilephone', operator: 'EQ', value: '07700 900125' }] },
    ]);
    expect(names(or)).toEqual(['Cai', 'Dee']);
    const and = await search([
      {
        filters: [
          { propertyName: 'phone', operator: 'HAS_PROPERTY' },
          { propertyName: 'mobilephone', operator: 'HAS_PROPERTY' },
        ],
      },
    ]);
    expect(names(and)).toEqual(['Dee']);
    const tokens = await search([
      { filters: [{ propertyName: 'company', operator: 'CONTAINS_TOKEN', value: 'widg*' }] },
    ]);
    expect(names(tokens)).toEqual(['Cai']);
  });

  it('pages with limit/after, reports total and paging.next.after, and returns requested properties', async () => {
    const all: Array<{ filters: Filter[] }> = [{ filters: [{ propertyName: 'firstname', operator: 'HAS_PROPERTY' }] }];
    const first = await search(all, { limit: 2 });
    expect(first.total).toBe(5);
    expect(names(first)).toEqual(['Ana', 'Ben']);
    expect(first.paging?.next?.after).toBe('2');
    expect(first.results[0]!.id).toBe(contacts[0]!.id);
    expect(first.results[0]!.properties).toMatchObject({
      firstname: 'Ana',
      phone: '+44 7700 900123',
      hs_object_id: contacts[0]!.id,
    });
    const last = await search(all, { limit: 2, after: '4' });
    expect(names(last)).toEqual(['Eve']);
    expect(last.paging).toBeUndefined();
  });

  it('rejects searches past 5 groups, 6 filters per group, 18 filters, or limit 200 with VALIDATION_ERROR', async () => {
    const groups = (count: number, perGroup: number) =>
      Array.from({ length: count }, () => ({ filters: filters(perGroup) }));
    await expect(search(groups(5, 3))).resolves.toBeDefined();
    await expect(search(groups(3, 6))).resolves.toBeDefined();
    await expect(search(groups(3, 6).concat(groups(0, 0)))).resolves.toBeDefined();
    for (const filterGroups of [groups(6, 1), groups(1, 7), [...groups(3, 6), { filters: filters(1) }]]) {
      const error = await rejection(search(filterGroups));
      expect(error.code).toBe(400);
      expect(error.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
    }
    const tooMany = await rejection(search(groups(1, 1), { limit: 201 }));
    expect(tooMany.code).toBe(400);
    const unknown = await rejection(search([{ filters: [{ propertyName: 'shoe_size', operator: 'EQ', value: '9' }] }]));
    expect(String(unknown.body.message)).toContain('shoe_size');
  });
});
