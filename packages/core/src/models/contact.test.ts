import { describe, expect, it } from 'vitest';
import type { CoexistenceEvent, ContactRef } from '../events/coexistence-event.ts';
import { eventBase, received } from './__fixtures__/events.ts';
import {
  applyContactEvent,
  applyOwnerTouch,
  type Contact,
  contactDisplayName,
  contactIdentityKeys,
  contactKey,
  createContact,
} from './contact.ts';

const synced = (contact: ContactRef, occurredAt: string): CoexistenceEvent => ({
  ...eventBase,
  field: 'smb_app_state_sync',
  id: `synced:${occurredAt}`,
  type: 'contact.synced',
  occurredAt,
  contact,
});

const removed = (at: string): CoexistenceEvent => ({
  ...eventBase,
  id: `removed-${at}`,
  type: 'contact.removed',
  occurredAt: at,
  contact: { phone: '+16505551234' },
});

describe('contact identity', () => {
  it('keys by E.164 from phone or wa_id, else by BSUID', () => {
    expect(contactKey({ phone: '+16505551234' })).toBe('phone:+16505551234');
    expect(contactKey({ waId: '16505551234' })).toBe('phone:+16505551234');
    expect(contactKey({ waId: '551187654321' })).toBe('phone:+5511987654321');
    expect(contactKey({ userId: 'US.13491208655302741918' })).toBe('bsuid:US.13491208655302741918');
    expect(contactKey({ phone: '', userId: 'US.1' })).toBe('bsuid:US.1');
    expect(contactKey({ name: 'nobody' })).toBeUndefined();
    expect(contactIdentityKeys({ phone: '+16505551234', userId: 'US.1' })).toEqual([
      'phone:+16505551234',
      'bsuid:US.1',
    ]);
  });

  it('throws naming contact for a reference that names nobody', () => {
    expect(() => createContact({ name: 'x' })).toThrow(/\[coexist\/core\] contact:/);
  });

  it('merges identities learned later', () => {
    let contact = applyContactEvent(
      undefined,
      received('wamid.1', '2026-03-01T09:00:00Z', { contact: { phone: '+16505551234' } }),
    );
    contact = applyContactEvent(
      contact,
      received('wamid.2', '2026-03-01T09:01:00Z', {
        contact: { phone: '+16505551234', waId: '16505551234', userId: 'US.1' },
      }),
    );
    expect(contact).toMatchObject({ key: 'phone:+16505551234', waId: '16505551234', userId: 'US.1' });
  });

  it('keeps the newest username when an older message arrives late', () => {
    const from = (username: string) => ({ contact: { userId: 'US.1', username } });
    const newer = received('wamid.2', '2026-03-02T09:00:00Z', from('uma_new'));
    const older = received('wamid.1', '2026-03-01T09:00:00Z', from('uma_old'));
    for (const order of [
      [older, newer],
      [newer, older],
    ]) {
      const contact = order.reduce<Contact | undefined>((state, event) => applyContactEvent(state, event), undefined);
      expect(contact).toMatchObject({ username: 'uma_new', usernameAt: '2026-03-02T09:00:00Z' });
    }
  });
});

describe('names precedence', () => {
  it('prefers the Business App name; the latest app name wins; a profile name never overwrites it', () => {
    let contact: Contact | undefined = applyContactEvent(
      undefined,
      received('wamid.1', '2026-03-01T09:00:00Z', { contact: { phone: '+16505551234', name: 'Profile One' } }),
    );
    expect(contactDisplayName(contact!)).toBe('Profile One');
    contact = applyContactEvent(
      contact,
      synced({ phone: '+16505551234', name: 'Sheena (ACME)', firstName: 'Sheena' }, '2026-03-01T10:00:00Z'),
    );
    contact = applyContactEvent(
      contact,
      received('wamid.2', '2026-03-01T11:00:00Z', { contact: { phone: '+16505551234', name: 'Profile Two' } }),
    );
    expect(contactDisplayName(contact!)).toBe('Sheena (ACME)');
    expect(contact?.profileName?.name).toBe('Profile Two');
    contact = applyContactEvent(
      contact,
      synced({ phone: '+16505551234', name: 'Older App Name' }, '2026-03-01T09:30:00Z'),
    );
    expect(contact?.appName).toEqual({ name: 'Sheena (ACME)', firstName: 'Sheena', at: '2026-03-01T10:00:00Z' });
    contact = applyContactEvent(
      contact,
      synced({ phone: '+16505551234', name: 'Sheena Nelson' }, '2026-03-01T12:00:00Z'),
    );
    expect(contactDisplayName(contact!)).toBe('Sheena Nelson');
  });

  it('falls back to the profile name when the rep removes the contact from the app', () => {
    let contact = applyContactEvent(
      undefined,
      synced({ phone: '+16505551234', name: 'App Name' }, '2026-03-01T10:00:00Z'),
    );
    contact = applyContactEvent(
      contact,
      received('wamid.1', '2026-03-01T10:30:00Z', { contact: { phone: '+16505551234', name: 'Profile' } }),
    );
    contact = applyContactEvent(contact, {
      ...eventBase,
      id: 'removed',
      type: 'contact.removed',
      occurredAt: '2026-03-01T11:00:00Z',
      contact: { phone: '+16505551234' },
    });
    expect(contact?.appName).toBeUndefined();
    expect(contact?.removedFromAppAt).toBe('2026-03-01T11:00:00Z');
    expect(contactDisplayName(contact!)).toBe('Profile');
  });

  it('keeps a removal against a late redelivery of an older add, and against an add at the same time', () => {
    let contact = applyContactEvent(
      undefined,
      synced({ phone: '+16505551234', name: 'Pablo' }, '2026-03-01T10:00:00Z'),
    );
    contact = applyContactEvent(contact, removed('2026-03-01T11:00:00Z'));
    for (const at of ['2026-03-01T10:00:00Z', '2026-03-01T11:00:00Z']) {
      contact = applyContactEvent(contact, synced({ phone: '+16505551234', name: 'Pablo' }, at));
      expect(contact?.appName).toBeUndefined();
      expect(contact?.removedFromAppAt).toBe('2026-03-01T11:00:00Z');
    }
    // The same pair the other way round ends the same: the removal wins the tie.
    const reversed = applyContactEvent(
      applyContactEvent(undefined, removed('2026-03-01T11:00:00Z')),
      synced({ phone: '+16505551234', name: 'Pablo' }, '2026-03-01T11:00:00Z'),
    );
    expect(reversed?.appName).toBeUndefined();
    // An add after the removal brings the name back.
    contact = applyContactEvent(contact, synced({ phone: '+16505551234', name: 'Pablo M.' }, '2026-03-01T12:00:00Z'));
    expect(contact?.appName?.name).toBe('Pablo M.');
    expect(contact?.removedFromAppAt).toBeUndefined();
  });

  it('keeps the latest removal when an older removal and the add between them arrive late', () => {
    // On the phone: removed at 10:00, added again at 11:00, removed at 12:00; delivered 12:00, 10:00, 11:00.
    let contact = applyContactEvent(undefined, removed('2026-03-01T12:00:00Z'));
    contact = applyContactEvent(contact, removed('2026-03-01T10:00:00Z'));
    expect(contact?.removedFromAppAt).toBe('2026-03-01T12:00:00Z');
    contact = applyContactEvent(contact, synced({ phone: '+16505551234', name: 'Pablo M.' }, '2026-03-01T11:00:00Z'));
    expect(contact?.appName).toBeUndefined();
    expect(contact?.removedFromAppAt).toBe('2026-03-01T12:00:00Z');
  });
});

describe('contact owner', () => {
  it('is set by the first touch on a mapped number', () => {
    const contact = createContact({ phone: '+16505551234' });
    const owned = applyOwnerTouch(
      contact,
      { businessPhone: '+1 555 078 3881', at: '2026-03-01T09:00:00Z' },
      { owners: { '+15550783881': 'user-1' } },
    );
    expect(owned.owner).toEqual({
      ownerId: 'user-1',
      businessPhone: '+15550783881',
      assignedAt: '2026-03-01T09:00:00Z',
    });
  });
});
