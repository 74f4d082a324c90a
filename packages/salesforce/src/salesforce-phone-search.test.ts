import { describe, expect, it } from 'vitest';
import {
  buildE164Query,
  buildPhoneSearches,
  buildUserIdQuery,
  confirmPhoneMatch,
  createPhoneMatcher,
  phoneSearchTerms,
  SOSL_SEARCH_QUERY_MAX_LENGTH,
} from './salesforce-phone-search.ts';

describe('phone search', () => {
  it('searches a phone by its digit forms', () => {
    expect(phoneSearchTerms('+16505551234')).toEqual(['16505551234', '6505551234']);
    expect(phoneSearchTerms('+447911123456')).toEqual(['447911123456', '07911123456', '7911123456']);
  });

  it('puts many phones in one SOSL search and cuts at 4,000 characters', () => {
    const [one] = buildPhoneSearches(['+16505551234', '+16505551235']);
    expect(one).toBe(
      'FIND {16505551234 OR 6505551234 OR 16505551235 OR 6505551235} IN PHONE FIELDS RETURNING Contact(Id, Name, Phone, MobilePhone, WhatsApp_E164__c, WhatsApp_User_Id__c, OwnerId, AccountId), Lead(Id, Name, Phone, MobilePhone, WhatsApp_E164__c, WhatsApp_User_Id__c, OwnerId WHERE IsConverted = false)',
    );
    const phones = Array.from({ length: 200 }, (_, index) => `+1650555${String(1000 + index)}`);
    const searches = buildPhoneSearches(phones);
    expect(searches.length).toBeGreaterThan(1);
    for (const search of searches) {
      const query = /FIND \{(.*)\}/.exec(search)![1]!;
      expect(query.length).toBeLessThanOrEqual(SOSL_SEARCH_QUERY_MAX_LENGTH);
    }
    const terms = searches.flatMap((search) => /FIND \{(.*)\}/.exec(search)![1]!.split(' OR '));
    expect(terms).toHaveLength(400);
  });

  it('queries our E.164 field exactly, unconverted Leads only', () => {
    expect(buildE164Query('Lead', ['+16505551234', "+1'; DELETE"])).toBe(
      "SELECT Id, Name, Phone, MobilePhone, WhatsApp_E164__c, WhatsApp_User_Id__c, OwnerId FROM Lead WHERE WhatsApp_E164__c IN ('+16505551234', '+1') AND IsConverted = false",
    );
  });

  it('queries our BSUID field exactly, with nothing that could end the string literal', () => {
    expect(buildUserIdQuery('Contact', ['US.13491208655302741918', "US.1'; DELETE"])).toBe(
      "SELECT Id, Name, Phone, MobilePhone, WhatsApp_E164__c, WhatsApp_User_Id__c, OwnerId, AccountId FROM Contact WHERE WhatsApp_User_Id__c IN ('US.13491208655302741918', 'US.1DELETE')",
    );
  });

  it('confirms hits client-side in any stored format', () => {
    const record = (fields: object) => ({ attributes: { type: 'Contact' }, Id: '003', ...fields });
    expect(confirmPhoneMatch(record({ Phone: '(650) 555-1234' }), '+16505551234')).toBe('Phone');
    expect(confirmPhoneMatch(record({ MobilePhone: '0044 7911 123456' }), '+447911123456')).toBe('MobilePhone');
    expect(confirmPhoneMatch(record({ WhatsApp_E164__c: '+16505551234' }), '+16505551234')).toBe('WhatsApp_E164__c');
    expect(confirmPhoneMatch(record({ Phone: '+44 650 555 1234' }), '+16505551234')).toBeUndefined();
  });

  it('confirms many phones at once exactly as confirmPhoneMatch does one by one', () => {
    const record = (fields: object) => ({ attributes: { type: 'Lead' }, Id: '00Q', ...fields });
    const phones = ['+16505551234', '+447911123456', '+5511987654321', '+16505550000'];
    const records = [
      record({ Phone: '(650) 555-1234', MobilePhone: '+44 7911 123456' }),
      record({ MobilePhone: '0044 7911 123456', WhatsApp_E164__c: '+16505550000' }),
      record({ Phone: '11 8765-4321' }),
      record({ Phone: '6505551234', MobilePhone: '650-555-0000' }),
      record({ Phone: '+44 650 555 1234', MobilePhone: '' }),
      record({ Phone: null, MobilePhone: '12345' }),
    ];
    const match = createPhoneMatcher(phones, 'US');
    for (const candidate of records) {
      const expected = new Map(
        phones.flatMap((phone) => {
          const field = confirmPhoneMatch(candidate, phone, 'US');
          return field === undefined ? [] : [[phone, field] as const];
        }),
      );
      expect(match(candidate)).toEqual(expected);
    }
    expect(match(records[0]!).get('+447911123456')).toBe('MobilePhone');
  });
});
