/**
 * The custom properties the mapping needs, and `setup()`: read the property lists, create what is missing.
 * Safe to run twice: the second run only reads. Unique properties: `hasUniqueValue: true`, new properties only,
 * at most 10 per object (https://developers.hubspot.com/changelog/unique-properties-for-contacts; crm-apis.md §2.3).
 * Whether HubSpot accepts a unique property on communications is unverified (crm-apis.md §2.3, §7 question 1):
 * `setup()` tries, and when HubSpot refuses it creates the property without uniqueness and the adapter switches
 * to look-up-before-retry.
 */
import { CrmPermanentError, type IdempotencyStrategy, type OperationContext } from '@coexist/core';
import { hubSpotPropertyListSchema } from './hubspot-api.ts';
import { HUBSPOT_CRM } from './hubspot-errors.ts';
import type { HubSpotTransport } from './hubspot-transport.ts';

/** The contact property holding the contact key (`phone:+E164` or `bsuid:…`); unique, so contacts upsert by it. */
export const CONTACT_IDENTITY_PROPERTY = 'coexist_whatsapp_id';
/** The communication property holding the wamid; unique when HubSpot allows it. */
export const MESSAGE_ID_PROPERTY = 'coexist_message_id';

/** A property definition to create (`PropertyCreate`). */
export interface HubSpotPropertyDefinition {
  name: string;
  label: string;
  type: 'string' | 'enumeration' | 'datetime' | 'bool';
  fieldType: 'text' | 'textarea' | 'select' | 'date' | 'booleancheckbox';
  groupName: string;
  description: string;
  hasUniqueValue?: boolean;
  options?: { label: string; value: string }[];
}

const options = (values: readonly string[]) => values.map((value) => ({ label: value, value }));

/** Contact properties: the unique WhatsApp identity. `contactinformation` is HubSpot's default contact group. */
export const CONTACT_PROPERTIES: readonly HubSpotPropertyDefinition[] = [
  {
    name: CONTACT_IDENTITY_PROPERTY,
    label: 'WhatsApp identity (Coexist)',
    type: 'string',
    fieldType: 'text',
    groupName: 'contactinformation',
    description: 'The WhatsApp user this contact mirrors (phone:+E.164 or bsuid:…). Written by Coexist; unique.',
    hasUniqueValue: true,
  },
];

// [inferred] `communication` as the communications property group (the emulator's group; HubSpot's default group
// name for communications is not documented in crm-apis.md).
const COMMUNICATION_GROUP = 'communication';

/** Communication properties: the wamid plus the structured state the body is re-rendered from on updates. */
export const COMMUNICATION_PROPERTIES: readonly HubSpotPropertyDefinition[] = [
  {
    name: MESSAGE_ID_PROPERTY,
    label: 'WhatsApp message id (Coexist)',
    type: 'string',
    fieldType: 'text',
    groupName: COMMUNICATION_GROUP,
    description: 'The WhatsApp message id (wamid). Written by Coexist; the idempotency key.',
    hasUniqueValue: true,
  },
  {
    name: 'coexist_direction',
    label: 'WhatsApp direction (Coexist)',
    type: 'enumeration',
    fieldType: 'select',
    groupName: COMMUNICATION_GROUP,
    description: 'inbound (from the customer) or outbound (from the business).',
    options: options(['inbound', 'outbound']),
  },
  {
    name: 'coexist_actor',
    label: 'WhatsApp sender (Coexist)',
    type: 'enumeration',
    fieldType: 'select',
    groupName: COMMUNICATION_GROUP,
    description: 'customer, business_app (the rep on the phone) or cloud_api (automation, the CRM).',
    options: options(['customer', 'business_app', 'cloud_api']),
  },
  {
    name: 'coexist_status',
    label: 'WhatsApp delivery status (Coexist)',
    type: 'enumeration',
    fieldType: 'select',
    groupName: COMMUNICATION_GROUP,
    description: 'Latest delivery status of an outbound message; never moves backwards.',
    options: options(['sent', 'delivered', 'read', 'played', 'failed']),
  },
  {
    name: 'coexist_status_error',
    label: 'WhatsApp failure reason (Coexist)',
    type: 'string',
    fieldType: 'text',
    groupName: COMMUNICATION_GROUP,
    description: "Meta's error code and title when the message failed, e.g. 131047: Re-engagement message.",
  },
  {
    name: 'coexist_edited_at',
    label: 'WhatsApp edited at (Coexist)',
    type: 'datetime',
    fieldType: 'date',
    groupName: COMMUNICATION_GROUP,
    description: 'When the sender last edited the message.',
  },
  {
    name: 'coexist_revoked',
    label: 'WhatsApp deleted for everyone (Coexist)',
    type: 'bool',
    fieldType: 'booleancheckbox',
    groupName: COMMUNICATION_GROUP,
    description: 'Whether the sender deleted the message for everyone.',
    options: [
      { label: 'Yes', value: 'true' },
      { label: 'No', value: 'false' },
    ],
  },
  {
    name: 'coexist_reactions',
    label: 'WhatsApp reactions (Coexist)',
    type: 'string',
    fieldType: 'textarea',
    groupName: COMMUNICATION_GROUP,
    description: 'Current reactions as JSON [{actor, emoji}].',
  },
  {
    name: 'coexist_content',
    label: 'WhatsApp content (Coexist)',
    type: 'string',
    fieldType: 'textarea',
    groupName: COMMUNICATION_GROUP,
    description: 'The message content as JSON, so updates can re-render the body. Empty once revoked.',
  },
  {
    name: 'coexist_conversation_key',
    label: 'WhatsApp conversation (Coexist)',
    type: 'string',
    fieldType: 'text',
    groupName: COMMUNICATION_GROUP,
    description: 'Business number + contact key of the conversation.',
  },
  {
    name: 'coexist_business_phone',
    label: 'WhatsApp business number (Coexist)',
    type: 'string',
    fieldType: 'text',
    groupName: COMMUNICATION_GROUP,
    description: 'The business number (E.164) the message was sent from or to.',
  },
];

/** What `setup()` found and did. */
export interface HubSpotSetupReport {
  /** `objectType.property` names created by this run (empty on a second run). */
  created: string[];
  /** How message writes stay idempotent: upsert by the unique `coexist_message_id`, or look-up-before-retry. */
  messageIdempotency: IdempotencyStrategy;
}

async function existingProperties(
  transport: HubSpotTransport,
  objectType: string,
  context: OperationContext | undefined,
): Promise<Map<string, { hasUniqueValue: boolean }>> {
  const answer = await transport({
    operation: 'setup',
    method: 'GET',
    path: `/crm/v3/properties/${objectType}`,
    ...(context === undefined ? {} : { context }),
  });
  const list = hubSpotPropertyListSchema.parse(answer.body);
  return new Map(list.results.map((property) => [property.name, { hasUniqueValue: property.hasUniqueValue ?? false }]));
}

async function createProperty(
  transport: HubSpotTransport,
  objectType: string,
  definition: HubSpotPropertyDefinition,
  context: OperationContext | undefined,
): Promise<number> {
  const answer = await transport({
    operation: 'setup',
    method: 'POST',
    path: `/crm/v3/properties/${objectType}`,
    body: definition,
    // 409: created concurrently by another process — the property exists, which is all we need.
    accept: definition.hasUniqueValue === true ? [400, 409] : [409],
    ...(context === undefined ? {} : { context }),
  });
  return answer.status;
}

/** Creates the missing properties; idempotent. `preferUniqueMessageId: false` skips the unique attempt. */
export async function setupHubSpotProperties(
  transport: HubSpotTransport,
  options: { preferUniqueMessageId: boolean; context?: OperationContext },
): Promise<HubSpotSetupReport> {
  const created: string[] = [];
  let messageIdempotency: IdempotencyStrategy = 'upsert-by-external-id';
  for (const [objectType, definitions] of [
    ['contacts', CONTACT_PROPERTIES],
    ['communications', COMMUNICATION_PROPERTIES],
  ] as const) {
    const existing = await existingProperties(transport, objectType, options.context);
    for (const definition of definitions) {
      const found = existing.get(definition.name);
      if (found !== undefined) {
        if (definition.name === MESSAGE_ID_PROPERTY && !found.hasUniqueValue)
          messageIdempotency = 'lookup-before-retry';
        continue;
      }
      const wantUnique =
        definition.hasUniqueValue === true &&
        (definition.name !== MESSAGE_ID_PROPERTY || options.preferUniqueMessageId);
      const status = await createProperty(
        transport,
        objectType,
        { ...definition, hasUniqueValue: wantUnique },
        options.context,
      );
      if (status === 400 && definition.name === CONTACT_IDENTITY_PROPERTY) {
        throw new CrmPermanentError({
          crm: HUBSPOT_CRM,
          status,
          field: `contacts.${definition.name}`,
          message: `setup: HubSpot refused the unique contact property \`${definition.name}\``,
        });
      }
      if (status === 400) {
        // HubSpot refused uniqueness on communications: keep the property, lose the upsert.
        await createProperty(transport, objectType, { ...definition, hasUniqueValue: false }, options.context);
        messageIdempotency = 'lookup-before-retry';
      } else if (definition.name === MESSAGE_ID_PROPERTY && !wantUnique) {
        messageIdempotency = 'lookup-before-retry';
      }
      created.push(`${objectType}.${definition.name}`);
    }
  }
  return { created, messageIdempotency };
}
