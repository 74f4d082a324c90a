import { describe, expect, it } from 'vitest';
import { fromHubSpotContact, splitContactName, toHubSpotContactProperties } from './map-hubspot-contact.ts';

describe('toHubSpotContactProperties', () => {
  it('writes identity, E.164 phone, split name and owner', () => {
    expect(
      toHubSpotContactProperties({
        key: 'phone:+16505551234',
        phone: '+16505551234',
        name: 'Ada King Lovelace',
        firstName: 'Ada',
        ownerId: '501',
      }),
    ).toEqual({
      coexist_whatsapp_id: 'phone:+16505551234',
      phone: '+16505551234',
      firstname: 'Ada',
      lastname: 'King Lovelace',
      hubspot_owner_id: '501',
    });
  });

  it('leaves out the owner and identity when told, and absent fields', () => {
    expect(
      toHubSpotContactProperties(
        { key: 'bsuid:US.1', name: 'Grace', ownerId: '7' },
        { includeOwner: false, includeIdentity: false },
      ),
    ).toEqual({ firstname: 'Grace' });
  });
});

describe('splitContactName', () => {
  it('splits on the first space, honours a first name that is not a prefix, trims', () => {
    expect(splitContactName('  Grace Brewster Hopper ')).toEqual({ firstname: 'Grace', lastname: 'Brewster Hopper' });
    expect(splitContactName('Countess', 'Ada')).toEqual({ firstname: 'Ada' });
    expect(splitContactName(undefined)).toEqual({});
  });
});

describe('fromHubSpotContact', () => {
  it('reads name, owner, identity and every stored phone', () => {
    expect(
      fromHubSpotContact({
        id: '51',
        properties: {
          firstname: 'Ada',
          lastname: null,
          phone: '(650) 555-1234',
          mobilephone: '',
          hs_whatsapp_phone_number: '+16505550000',
          hubspot_owner_id: '501',
          coexist_whatsapp_id: 'phone:+16505551234',
        },
      }),
    ).toEqual({
      crmId: '51',
      name: 'Ada',
      ownerId: '501',
      identity: 'phone:+16505551234',
      phones: ['(650) 555-1234', '+16505550000'],
    });
  });
});
