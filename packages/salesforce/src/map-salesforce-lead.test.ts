import { describe, expect, it } from 'vitest';
import { splitContactName, toSalesforcePersonFields, toSalesforcePersonUpdateFields } from './map-salesforce-lead.ts';

describe('toSalesforcePersonFields', () => {
  it('maps a contact to a Lead with Company, phone fields and owner', () => {
    expect(
      toSalesforcePersonFields(
        {
          key: 'phone:+16505551234',
          phone: '+16505551234',
          name: 'Grace Brewster Hopper',
          ownerId: '005000000000001AAA',
        },
        { objectType: 'Lead', leadCompany: '[not provided]', includeOwner: true },
      ),
    ).toEqual({
      FirstName: 'Grace Brewster',
      LastName: 'Hopper',
      Company: '[not provided]',
      MobilePhone: '+16505551234',
      WhatsApp_E164__c: '+16505551234',
      OwnerId: '005000000000001AAA',
    });
  });

  it('maps a Contact without Company, falls back to the phone as LastName and leaves the owner out when asked', () => {
    expect(
      toSalesforcePersonFields(
        { key: 'k', phone: '+4915123456789', ownerId: '005000000000001AAA' },
        { objectType: 'Contact', leadCompany: 'x', includeOwner: false },
      ),
    ).toEqual({ LastName: '+4915123456789', MobilePhone: '+4915123456789', WhatsApp_E164__c: '+4915123456789' });
  });

  it('truncates names to the field lengths', () => {
    const fields = toSalesforcePersonFields(
      { key: 'k', phone: '+16505551234', name: `${'F'.repeat(50)} ${'L'.repeat(100)}` },
      { objectType: 'Lead', leadCompany: 'C'.repeat(300), includeOwner: true },
    );
    expect([fields.FirstName?.length, fields.LastName?.length, fields.Company?.length]).toEqual([40, 80, 255]);
  });
});

describe('splitContactName', () => {
  it('uses the Business App first name when the display name starts with it', () => {
    expect(splitContactName({ name: 'Mary Ann Smith', firstName: 'Mary Ann' })).toEqual({
      firstName: 'Mary Ann',
      lastName: 'Smith',
    });
    expect(splitContactName({ name: 'Cher' })).toEqual({ lastName: 'Cher' });
    expect(splitContactName({ firstName: 'Ada' })).toEqual({ lastName: 'Ada' });
    expect(splitContactName({})).toEqual({});
  });
});

describe('toSalesforcePersonUpdateFields', () => {
  it('replaces the whole name and sets our E.164 field, never the owner', () => {
    expect(toSalesforcePersonUpdateFields({ key: 'k', phone: '+16505551234', name: 'Cher', ownerId: '005x' })).toEqual({
      LastName: 'Cher',
      FirstName: '',
      WhatsApp_E164__c: '+16505551234',
    });
    expect(toSalesforcePersonUpdateFields({ key: 'k' })).toEqual({});
  });
});
