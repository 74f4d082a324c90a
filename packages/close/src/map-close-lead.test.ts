import { phoneVariants } from '@coexist/core';
import { describe, expect, it } from 'vitest';
import { closeSearchValues, matchClosePhoneSearch, toCloseLeadCreate, toClosePhoneSearch } from './map-close-lead.ts';

describe('closeSearchValues / toClosePhoneSearch', () => {
  it('searches every stored format of every number in one or-query, plus the digits as a phrase', () => {
    const values = closeSearchValues([
      { key: 'a', phone: '+16505550134', phoneVariants: ['+16505550134', '(650) 555-0134'] },
      { key: 'b', waId: '447911123456' },
      { key: 'c', userId: 'US.123' },
    ]);
    expect(values.exact).toEqual([
      '+16505550134',
      '(650) 555-0134',
      '+447911123456',
      ...phoneVariants('+447911123456').slice(1),
    ]);
    expect(values.phrase).toEqual(['16505550134', '447911123456']);
    const condition = (mode: string, value: string) => ({
      type: 'field_condition',
      field: { type: 'regular_field', object_type: 'contact_phone', field_name: 'phone' },
      condition: { type: 'text', mode, value },
    });
    expect(toClosePhoneSearch({ exact: ['+16505550134'], phrase: ['16505550134'] }, 'cursor-2')).toEqual({
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
              queries: [condition('exact_value', '+16505550134'), condition('phrase', '16505550134')],
            },
          },
        ],
      },
      _fields: { contact: ['id', 'lead_id', 'name', 'phones'] },
      _limit: 200,
      cursor: 'cursor-2',
    });
    expect(toClosePhoneSearch({ exact: [], phrase: [] })).toBeUndefined();
  });
});

describe('matchClosePhoneSearch', () => {
  it('confirms each hit by normalizing the stored phone, oldest first, and drops near misses', () => {
    const results = matchClosePhoneSearch(
      [
        { key: 'us', phone: '+16505550134' },
        { key: 'de', phone: '+4915123456789' },
        { key: 'none', phone: '+16505550199' },
        { key: 'bsuid', userId: 'US.1' },
      ],
      [
        { id: 'cont_1', lead_id: 'lead_1', name: 'Ana', phones: [{ phone: '+16505550134' }] },
        {
          id: 'cont_2',
          lead_id: 'lead_2',
          name: null,
          phones: [{ phone: '4915123456789' }, { phone: '+16505550135' }],
        },
        { id: 'cont_3', lead_id: 'lead_3', phones: [{ phone: '+1 650 555 0134' }] },
      ],
    );
    expect(results).toEqual([
      {
        key: 'us',
        ok: true,
        matches: [
          { crmId: 'cont_1', matchedOn: 'phone', objectType: 'contact', name: 'Ana', parentId: 'lead_1' },
          { crmId: 'cont_3', matchedOn: 'phone', objectType: 'contact', parentId: 'lead_3' },
        ],
      },
      {
        key: 'de',
        ok: true,
        matches: [{ crmId: 'cont_2', matchedOn: 'phone', objectType: 'contact', parentId: 'lead_2' }],
      },
      { key: 'none', ok: true, matches: [] },
      { key: 'bsuid', ok: true, matches: [] },
    ]);
  });
});

describe('toCloseLeadCreate', () => {
  it('names the lead and contact after the app contact and sets the owner field', () => {
    expect(
      toCloseLeadCreate(
        { key: 'k', phone: '+16505550134', name: ' Ada Lovelace ', ownerId: 'user_1' },
        '+16505550134',
        {
          ownerCustomFieldId: 'cf_owner',
        },
      ),
    ).toEqual({
      name: 'Ada Lovelace',
      contacts: [{ name: 'Ada Lovelace', phones: [{ phone: '+16505550134', type: 'mobile' }] }],
      custom: { cf_owner: 'user_1' },
    });
  });

  it('falls back to the first name, then the number; no owner without the owner field', () => {
    expect(toCloseLeadCreate({ key: 'k', firstName: 'Ada' }, '+16505550134', { fallbackOwnerId: 'user_2' })).toEqual({
      name: 'Ada',
      contacts: [{ name: 'Ada', phones: [{ phone: '+16505550134', type: 'mobile' }] }],
    });
    expect(
      toCloseLeadCreate({ key: 'k' }, '+16505550134', { ownerCustomFieldId: 'cf_owner', fallbackOwnerId: 'user_2' }),
    ).toEqual({
      name: 'WhatsApp +16505550134',
      contacts: [{ phones: [{ phone: '+16505550134', type: 'mobile' }] }],
      custom: { cf_owner: 'user_2' },
    });
  });
});
