/**
 * Test harness: a Salesforce emulator plus readers of its records in the shapes the conformance suite and the
 * adapter tests assert on. The emulator is `@coexist/sandbox`'s; nothing here stands in for Salesforce.
 */
import type { DeliveryStatus } from '@coexist/core';
import type { ConformanceContact, ConformanceMessage } from '@coexist/core/testing';
import { type SalesforceEmulator, type SalesforceEmulatorOptions, startSalesforceEmulator } from '@coexist/sandbox';
import { parseSalesforceDateTime } from '../salesforce-datetime.ts';

/** A running emulator and helpers around it. */
export interface SalesforceHarness {
  emulator: SalesforceEmulator;
  /** Empties the org, restores limits and tokens. */
  reset(): Promise<void>;
  /** Every WhatsApp_Message__c in creation order, with the Contact, Lead or Account of its conversation. */
  messages(): ConformanceMessage[];
  /** Every Contact and Lead, with its owner. */
  contacts(): ConformanceContact[];
  /** Stores a Contact as a rep would have typed it; returns its id. */
  seedContact(fields: Record<string, unknown>, objectType?: 'Contact' | 'Lead'): string;
}

const statuses = new Set(['sent', 'delivered', 'read', 'played', 'failed']);

/** Starts an emulator with the given options. */
export async function startSalesforceHarness(options: SalesforceEmulatorOptions = {}): Promise<SalesforceHarness> {
  const emulator = await startSalesforceEmulator({ seed: 7, ...options });
  const allocation = emulator.limits.dailyAllocation;
  return {
    emulator,
    async reset() {
      const response = await fetch(`${emulator.url}/__admin/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`emulator reset failed: ${response.status}`);
      emulator.limits.setDailyAllocation(allocation);
    },
    messages: () =>
      emulator.state.records('WhatsApp_Message__c').map((record) => {
        const sentAt = parseSalesforceDateTime(record.Sent_At__c as string | undefined);
        const status = record.Status__c as string | undefined;
        // A message names its person through its conversation (Contact__c, Lead__c, or Account__c alone).
        const conversation =
          typeof record.Conversation__c === 'string'
            ? emulator.state.get('WhatsApp_Conversation__c', record.Conversation__c)
            : undefined;
        const contactCrmId = conversation?.Contact__c ?? conversation?.Lead__c ?? conversation?.Account__c;
        return {
          crmId: String(record.Id),
          key: String(record.Message_Id__c),
          ...(typeof contactCrmId === 'string' ? { contactCrmId } : {}),
          ...(typeof record.Body__c === 'string' ? { text: record.Body__c } : {}),
          ...(sentAt === undefined ? {} : { occurredAt: new Date(sentAt).toISOString() }),
          ...(status !== undefined && statuses.has(status) ? { status: status as DeliveryStatus } : {}),
          edited: record.Edited__c === true,
          revoked: record.Revoked__c === true,
          ...(typeof record.Status_Error__c === 'string' ? { statusError: record.Status_Error__c } : {}),
          // Reactions__c holds a JSON array of { actor, emoji }, one per side.
          reactions: (JSON.parse((record.Reactions__c as string | null | undefined) || '[]') as { emoji: string }[])
            .map((reaction) => reaction.emoji)
            .join(' '),
        };
      }),
    contacts: () =>
      (['Contact', 'Lead'] as const).flatMap((type) =>
        emulator.state.records(type).map((record) => {
          const phone = record.WhatsApp_E164__c ?? record.MobilePhone ?? record.Phone;
          return {
            crmId: String(record.Id),
            ...(typeof phone === 'string' ? { phone } : {}),
            ...(typeof record.Name === 'string' ? { name: record.Name } : {}),
            ...(typeof record.OwnerId === 'string' ? { ownerId: record.OwnerId } : {}),
          };
        }),
      ),
    seedContact(fields, objectType = 'Contact') {
      const result = emulator.state.create(objectType, {
        ...(objectType === 'Lead' ? { Company: 'Seeded Co' } : {}),
        ...fields,
      });
      if (!result.success) throw new Error(`seeding a ${objectType} failed: ${JSON.stringify(result.errors)}`);
      return result.id;
    },
  };
}
