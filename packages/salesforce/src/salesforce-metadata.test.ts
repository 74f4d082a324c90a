/**
 * The shipped SFDX metadata (`force-app/`) is the contract with the org: every field the adapter writes must exist
 * there with a compatible type, and the emulator's `salesforceObjectDefinitions` must describe the same fields.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MessageRecord } from '@coexist/core';
import { salesforceObjectDefinitions } from '@coexist/sandbox';
import { describe, expect, it } from 'vitest';
import { toConversationFields } from './map-salesforce-conversation.ts';
import { toSalesforcePersonFields } from './map-salesforce-lead.ts';
import { applyMessageChange, toMessageFields } from './map-salesforce-message.ts';
import { toSummaryTaskFields } from './salesforce-summary-tasks.ts';

const root = join(import.meta.dirname, '..', 'force-app', 'main', 'default');

/** A tiny reader for the flat SFDX field files: leaf elements and picklist value names. */
interface MetadataField {
  object: string;
  name: string;
  type: string;
  length?: number;
  externalId: boolean;
  unique: boolean;
  required: boolean;
  referenceTo?: string;
  picklistValues: string[];
}

function leaf(xml: string, tag: string): string | undefined {
  return new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];
}

function readFields(object: string): MetadataField[] {
  const directory = join(root, 'objects', object, 'fields');
  return readdirSync(directory)
    .filter((file) => file.endsWith('.field-meta.xml'))
    .map((file) => {
      const xml = readFileSync(join(directory, file), 'utf8');
      expect(
        xml.startsWith(
          '<?xml version="1.0" encoding="UTF-8"?>\n<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">',
        ),
      ).toBe(true);
      const name = leaf(xml, 'fullName')!;
      expect(file).toBe(`${name}.field-meta.xml`);
      const length = leaf(xml, 'length');
      const referenceTo = leaf(xml, 'referenceTo');
      return {
        object,
        name,
        type: leaf(xml, 'type')!,
        ...(length === undefined ? {} : { length: Number(length) }),
        externalId: leaf(xml, 'externalId') === 'true',
        unique: leaf(xml, 'unique') === 'true',
        required: leaf(xml, 'required') === 'true',
        ...(referenceTo === undefined ? {} : { referenceTo }),
        picklistValues: [...xml.matchAll(/<value>\s*<fullName>([^<]*)<\/fullName>/g)].map((match) => match[1]!),
      };
    });
}

/** Metadata type → the emulator's describe type. */
const TYPE_MAP: Record<string, string> = {
  Text: 'string',
  LongTextArea: 'textarea',
  Checkbox: 'boolean',
  DateTime: 'datetime',
  Lookup: 'reference',
  Phone: 'phone',
  Picklist: 'picklist',
  Url: 'url',
};

const objects = ['WhatsApp_Conversation__c', 'WhatsApp_Message__c', 'Contact', 'Lead'];
const metadata = new Map(objects.map((object) => [object, readFields(object)]));
const emulatorField = (object: string, name: string) =>
  salesforceObjectDefinitions
    .find((definition) => definition.name === object)
    ?.fields.find((field) => field.name === name);

/** Every field name the adapter writes, per object, taken from the mappers' own output. */
function writtenFields(): Map<string, Set<string>> {
  const message: MessageRecord = {
    key: 'wamid.1',
    direction: 'inbound',
    actor: 'customer',
    occurredAt: '2026-03-01T09:00:00Z',
    source: 'live',
    contactCrmId: '003000000000001AAA',
    contactParentCrmId: '001000000000001AAA',
    contactPhone: '+16505551234',
    businessPhone: '+14155550100',
    conversationKey: 'c',
    content: {
      kind: 'image',
      summary: 's',
      placeholder: false,
      media: { id: 'm', mimeType: 'image/png', url: 'https://m' },
    },
    reactions: [],
  };
  const outbound: MessageRecord = { ...message, key: 'wamid.2', direction: 'outbound', actor: 'business_app' };
  const stored = {
    Id: 'a02',
    Message_Id__c: 'wamid.1',
    Status__c: null,
    Reactions__c: null,
    Revoked__c: false,
    Media_Url__c: null,
  };
  const messageFields = new Set([
    ...Object.keys(toMessageFields(message, { conversationId: 'a01', ownerId: '005' })),
    ...Object.keys(applyMessageChange(stored, { kind: 'status', status: 'read', at: 'x' }).fields),
    ...Object.keys(applyMessageChange(stored, { kind: 'status', status: 'failed', at: 'x', errorCode: 131047 }).fields),
    ...Object.keys(applyMessageChange(stored, { kind: 'revoke', at: 'x' }).fields),
    ...Object.keys(applyMessageChange(stored, { kind: 'reaction', actor: 'customer', emoji: '👍', at: 'x' }).fields),
    ...Object.keys(applyMessageChange(stored, { kind: 'edit', content: message.content, at: 'x' }).fields),
  ]);
  const lead = {
    key: 'k',
    phone: '+16505551234',
    userId: 'US.13491208655302741918',
    name: 'Ada Lovelace',
    ownerId: '005',
  };
  return new Map([
    ['WhatsApp_Message__c', messageFields],
    [
      'WhatsApp_Conversation__c',
      new Set([
        ...Object.keys(toConversationFields([message, outbound], undefined, { ownerId: '005' })!),
        ...Object.keys(toConversationFields([{ ...message, contactCrmId: '00Q000000000001AAA' }], undefined)!),
      ]),
    ],
    [
      'Lead',
      new Set(
        Object.keys(toSalesforcePersonFields(lead, { objectType: 'Lead', leadCompany: 'x', includeOwner: true })),
      ),
    ],
    [
      'Contact',
      new Set(
        Object.keys(toSalesforcePersonFields(lead, { objectType: 'Contact', leadCompany: 'x', includeOwner: true })),
      ),
    ],
    ['Task', new Set(Object.keys(toSummaryTaskFields(message, 'a01', '005')))],
  ]);
}

describe('SFDX metadata', () => {
  it('declares every custom field the adapter writes, with a type the emulator agrees on', () => {
    for (const [object, names] of writtenFields()) {
      for (const name of names) {
        const emulated = emulatorField(object, name);
        expect(emulated, `${object}.${name} in salesforceObjectDefinitions`).toBeDefined();
        expect(emulated!.createable ?? true, `${object}.${name} is createable`).toBe(true);
        if (!name.endsWith('__c')) continue;
        const declared = metadata.get(object)?.find((field) => field.name === name);
        expect(declared, `${object}.${name} in force-app`).toBeDefined();
        expect(TYPE_MAP[declared!.type], `${object}.${name} type`).toBe(emulated!.type);
      }
    }
  });

  it('agrees field by field with the emulator: lengths, keys, uniqueness, references, picklists', () => {
    for (const [object, fields] of metadata) {
      const definition = salesforceObjectDefinitions.find((candidate) => candidate.name === object)!;
      const customInEmulator = definition.fields
        .filter((field) => field.name.endsWith('__c'))
        .map((field) => field.name);
      expect(fields.map((field) => field.name).sort(), object).toEqual(customInEmulator.sort());
      for (const field of fields) {
        const emulated = emulatorField(object, field.name)!;
        const label = `${object}.${field.name}`;
        expect(TYPE_MAP[field.type], label).toBe(emulated.type);
        if (field.type === 'Text' || field.type === 'LongTextArea') expect(field.length, label).toBe(emulated.length);
        expect(field.externalId, label).toBe(emulated.externalId ?? false);
        expect(field.unique, label).toBe(emulated.unique ?? false);
        expect(field.required, label).toBe(emulated.required ?? false);
        if (field.referenceTo !== undefined) expect([field.referenceTo], label).toEqual(emulated.referenceTo);
        if (field.type === 'Picklist') expect(field.picklistValues, label).toEqual(emulated.picklistValues);
      }
    }
  });

  it('keys messages and conversations on External ID + Unique fields', () => {
    const find = (object: string, name: string) => metadata.get(object)!.find((field) => field.name === name)!;
    expect(find('WhatsApp_Message__c', 'Message_Id__c')).toMatchObject({
      externalId: true,
      unique: true,
      type: 'Text',
    });
    expect(find('WhatsApp_Conversation__c', 'Thread_Key__c')).toMatchObject({ externalId: true, unique: true });
    expect(find('Contact', 'WhatsApp_E164__c')).toMatchObject({ externalId: true });
    expect(find('Lead', 'WhatsApp_E164__c')).toMatchObject({ externalId: true });
  });

  it('grants the permission set every optional custom field and both objects', () => {
    const xml = readFileSync(join(root, 'permissionsets', 'Coexist_WhatsApp_Sync.permissionset-meta.xml'), 'utf8');
    const granted = [...xml.matchAll(/<field>([^<]*)<\/field>/g)].map((match) => match[1]);
    for (const [object, fields] of metadata) {
      for (const field of fields.filter((candidate) => !candidate.required)) {
        expect(granted, `${object}.${field.name}`).toContain(`${object}.${field.name}`);
      }
    }
    for (const object of ['WhatsApp_Conversation__c', 'WhatsApp_Message__c'])
      expect(xml).toContain(`<object>${object}</object>`);
    const project = JSON.parse(readFileSync(join(root, '..', '..', '..', 'sfdx-project.json'), 'utf8'));
    expect(project.sourceApiVersion).toBe('62.0');
  });
});
