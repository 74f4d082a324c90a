/**
 * Zod schemas of Meta's WhatsApp Cloud API webhooks as they arrive on the wire (see docs/event-contract.md).
 *
 * The schemas describe the wire format only: no transforms, so a value that passes has exactly the inferred type
 * and `parseWebhook` can normalize the original object. Every object is loose (unknown keys pass through) and
 * lenient where Meta is inconsistent (timestamps and history counters as numbers or strings, empty phone strings,
 * optional BSUID fields), but strict where a value is simply wrong (a timestamp that is not a number).
 */
import { z } from 'zod';
import { flattenIssue, type IssueLike } from './webhook-validation-error.ts';

/** Largest Unix time in seconds a JavaScript `Date` can hold. */
const MAX_UNIX_SECONDS = 8_640_000_000_000;
const UNIX_SECONDS_MESSAGE = 'expected Unix seconds as a number or a string of digits';
const NUMERIC_MESSAGE = 'expected a number or a numeric string';

/** Unix seconds, as Meta sends them: a string of digits in messages and statuses, a number in `entry.time`. */
export const metaUnixTimestampSchema = z.union(
  [
    z.number({ error: UNIX_SECONDS_MESSAGE }).min(0, UNIX_SECONDS_MESSAGE).max(MAX_UNIX_SECONDS, UNIX_SECONDS_MESSAGE),
    z
      .string({ error: UNIX_SECONDS_MESSAGE })
      .regex(/^\d{1,13}(\.\d+)?$/, UNIX_SECONDS_MESSAGE)
      .refine((value) => Number(value) <= MAX_UNIX_SECONDS, UNIX_SECONDS_MESSAGE),
  ],
  { error: UNIX_SECONDS_MESSAGE },
);

/** A number Meta sends either as a JSON number or as a numeric string (history `phase`, `chunk_order`, `progress`). */
export const metaNumericSchema = z.union(
  [
    z.number({ error: NUMERIC_MESSAGE }),
    z.string({ error: NUMERIC_MESSAGE }).regex(/^-?\d+(\.\d+)?$/, NUMERIC_MESSAGE),
  ],
  { error: NUMERIC_MESSAGE },
);

/** `value.metadata`: the business number that received the webhook. */
export const metaMetadataSchema = z.looseObject({
  display_phone_number: z.string().optional(),
  phone_number_id: z.string().optional(),
});

/** An error object (`value.errors[]`, `messages[].errors[]`, `statuses[].errors[]`, `history[].errors[]`). */
export const metaErrorSchema = z.looseObject({
  code: z.number(),
  title: z.string().optional(),
  message: z.string().optional(),
  href: z.string().optional(),
  error_data: z.looseObject({ details: z.string().optional() }).optional(),
});

/** `value.contacts[]`: the profile of the WhatsApp user a message came from (or, in echoes, went to). */
export const metaContactProfileSchema = z.looseObject({
  wa_id: z.string().optional(),
  user_id: z.string().optional(),
  parent_user_id: z.string().optional(),
  username: z.string().optional(),
  country_code: z.string().optional(),
  profile: z
    .looseObject({
      name: z.string().optional(),
      username: z.string().optional(),
      country_code: z.string().optional(),
    })
    .optional(),
});

/** Media content (`image`, `audio`, `video`, `document`, `sticker`). `id` is optional because sent shapes may use `link`. */
export const metaMediaSchema = z.looseObject({
  id: z.string().optional(),
  mime_type: z.string().optional(),
  sha256: z.string().optional(),
  caption: z.string().optional(),
  filename: z.string().optional(),
  url: z.string().optional(),
  link: z.string().optional(),
  voice: z.boolean().optional(),
  animated: z.boolean().optional(),
});

/** `context`: what a message replies to or was forwarded from. */
export const metaMessageContextSchema = z.looseObject({
  from: z.string().optional(),
  id: z.string().optional(),
  forwarded: z.boolean().optional(),
  frequently_forwarded: z.boolean().optional(),
  referred_product: z.looseObject({}).optional(),
});

/** `interactive`: a reply to buttons, a list or a flow. */
export const metaInteractiveSchema = z.looseObject({
  type: z.string(),
  button_reply: z.looseObject({ id: z.string(), title: z.string() }).optional(),
  list_reply: z.looseObject({ id: z.string(), title: z.string(), description: z.string().optional() }).optional(),
  nfm_reply: z
    .looseObject({ name: z.string().optional(), body: z.string().optional(), response_json: z.string().optional() })
    .optional(),
});

/** The content keys a message can carry, by Meta message type. */
const messageContentShape = {
  text: z.looseObject({ body: z.string() }).optional(),
  image: metaMediaSchema.optional(),
  audio: metaMediaSchema.optional(),
  video: metaMediaSchema.optional(),
  document: metaMediaSchema.optional(),
  sticker: metaMediaSchema.optional(),
  location: z
    .looseObject({
      latitude: z.number(),
      longitude: z.number(),
      name: z.string().optional(),
      address: z.string().optional(),
      url: z.string().optional(),
    })
    .optional(),
  contacts: z.array(z.looseObject({})).optional(),
  button: z.looseObject({ text: z.string().optional(), payload: z.string().optional() }).optional(),
  interactive: metaInteractiveSchema.optional(),
  reaction: z.looseObject({ message_id: z.string(), emoji: z.string().optional() }).optional(),
  order: z.looseObject({}).optional(),
  system: z.looseObject({}).optional(),
  unsupported: z.looseObject({ type: z.string().optional() }).optional(),
  referral: z.looseObject({}).optional(),
  context: metaMessageContextSchema.optional(),
  errors: z.array(metaErrorSchema).optional(),
  /** On history thread messages: the message's status, and `from_me` in some real payloads. */
  history_context: z
    .looseObject({
      status: z.string().optional(),
      from_me: z.boolean().optional(),
    })
    .optional(),
};

/** `edit.message`: the new content of an edited message. */
export const metaEditedContentSchema = z.looseObject({
  id: z.string().optional(),
  type: z.string(),
  ...messageContentShape,
});

/**
 * A message object, whichever array it arrives in: `value.messages[]` (from a WhatsApp user; `from` is the user),
 * `value.message_echoes[]` (sent from the Business App; `from` is the business, `to` the user) or a history thread's
 * `messages[]` (either direction; `to` only on business-sent ones). One schema covers all three because history
 * media follow-ups reuse `messages[]` for business-sent media.
 */
export const metaMessageSchema = z.looseObject({
  id: z.string(),
  timestamp: metaUnixTimestampSchema,
  type: z.string(),
  /** The sender's phone digits; `""` for username adopters. */
  from: z.string().optional(),
  from_user_id: z.string().optional(),
  from_parent_user_id: z.string().optional(),
  /** The recipient's phone digits (echoes and business-sent history messages); `""` for username adopters. */
  to: z.string().optional(),
  to_user_id: z.string().optional(),
  to_parent_user_id: z.string().optional(),
  ...messageContentShape,
  edit: z
    .looseObject({ original_message_id: z.string().optional(), message: metaEditedContentSchema.optional() })
    .optional(),
  revoke: z.looseObject({ original_message_id: z.string().optional() }).optional(),
});

/** A message received from a WhatsApp user (`value.messages[]`). */
export const metaInboundMessageSchema = metaMessageSchema;
/** A message the business sent from the Business App (`value.message_echoes[]`): `from` is the business. */
export const metaEchoMessageSchema = metaMessageSchema;
/** A message of a history thread (`value.history[].threads[].messages[]`), either direction. */
export const metaHistoryMessageSchema = metaMessageSchema;

/** A delivery status of a message the business sent (`value.statuses[]`). */
export const metaStatusSchema = z.looseObject({
  id: z.string(),
  status: z.string(),
  timestamp: metaUnixTimestampSchema,
  recipient_id: z.string().optional(),
  recipient_user_id: z.string().optional(),
  recipient_parent_user_id: z.string().optional(),
  biz_opaque_callback_data: z.string().optional(),
  conversation: z
    .looseObject({
      id: z.string().optional(),
      expiration_timestamp: metaUnixTimestampSchema.optional(),
      origin: z.looseObject({ type: z.string().optional() }).optional(),
    })
    .optional(),
  pricing: z
    .looseObject({
      billable: z.boolean().optional(),
      pricing_model: z.string().optional(),
      category: z.string().optional(),
      type: z.string().optional(),
    })
    .optional(),
  errors: z.array(metaErrorSchema).optional(),
});

/** A Business App contact change (`value.state_sync[]`). */
export const metaStateSyncItemSchema = z.looseObject({
  type: z.string(),
  action: z.string(),
  contact: z
    .looseObject({
      full_name: z.string().optional(),
      first_name: z.string().optional(),
      phone_number: z.string().optional(),
      user_id: z.string().optional(),
      username: z.string().optional(),
      country_code: z.string().optional(),
    })
    .optional(),
  metadata: z.looseObject({ timestamp: metaUnixTimestampSchema.optional() }).optional(),
});

/** A thread (one customer chat) of a history chunk. */
export const metaHistoryThreadSchema = z.looseObject({
  /** The customer's phone digits; `""` for username adopters. */
  id: z.string().optional(),
  context: z
    .looseObject({
      wa_id: z.string().optional(),
      user_id: z.string().optional(),
      parent_user_id: z.string().optional(),
      username: z.string().optional(),
      country_code: z.string().optional(),
    })
    .optional(),
  messages: z.array(metaHistoryMessageSchema).optional(),
});

/** A history chunk: `metadata` (phase, chunk order, progress) and `threads`. */
export const metaHistoryChunkSchema = z.looseObject({
  metadata: z.looseObject({
    phase: metaNumericSchema,
    chunk_order: metaNumericSchema,
    progress: metaNumericSchema,
  }),
  threads: z.array(metaHistoryThreadSchema).optional(),
});

/** A history error item, e.g. 2593109 when the business declined sharing its history. */
export const metaHistoryErrorItemSchema = z.looseObject({ errors: z.array(metaErrorSchema) });

/** A `value.history[]` item: a chunk (`metadata` + `threads`) or an error (`errors`). */
export const metaHistoryItemSchema = z.union([metaHistoryChunkSchema, metaHistoryErrorItemSchema], {
  error: 'expected a history chunk (metadata and threads) or an error item (errors)',
});

/**
 * The `value` of the phone-number-scoped fields `messages`, `smb_message_echoes`, `smb_app_state_sync` and
 * `history`. One schema serves them all because Meta reuses arrays across fields (a history media follow-up
 * carries `messages[]` and `message_echoes[]`).
 */
export const metaPhoneNumberValueSchema = z.looseObject({
  messaging_product: z.string().optional(),
  metadata: metaMetadataSchema.optional(),
  contacts: z.array(metaContactProfileSchema).optional(),
  messages: z.array(metaInboundMessageSchema).optional(),
  message_echoes: z.array(metaEchoMessageSchema).optional(),
  statuses: z.array(metaStatusSchema).optional(),
  state_sync: z.array(metaStateSyncItemSchema).optional(),
  history: z.array(metaHistoryItemSchema).optional(),
  errors: z.array(metaErrorSchema).optional(),
});

/** The `value` of an `account_update` change (WABA-level; no `metadata`). */
export const metaAccountUpdateValueSchema = z.looseObject({
  event: z.string().optional(),
  phone_number: z.string().optional(),
  waba_info: z.looseObject({}).optional(),
  disconnection_info: z
    .looseObject({
      reason: z.string().optional(),
      initiated_by: z.string().optional(),
    })
    .optional(),
});

/** The `changes[].field` values Coexist understands; any other field becomes an `unknown` event. */
export const KNOWN_META_FIELDS = [
  'messages',
  'smb_message_echoes',
  'smb_app_state_sync',
  'history',
  'account_update',
] as const;

/** A `changes[].field` value Coexist understands. */
export type KnownMetaField = (typeof KNOWN_META_FIELDS)[number];

/** The schema of `changes[].value` for each known field. */
export const metaChangeValueSchemas = {
  messages: metaPhoneNumberValueSchema,
  smb_message_echoes: metaPhoneNumberValueSchema,
  smb_app_state_sync: metaPhoneNumberValueSchema,
  history: metaPhoneNumberValueSchema,
  account_update: metaAccountUpdateValueSchema,
} as const satisfies Record<KnownMetaField, z.ZodType>;

/** A `changes[]` item as an envelope: the value is checked per field by `metaEntrySchema`. */
export const metaChangeSchema = z.looseObject({
  field: z.string().optional(),
  value: z.unknown().optional(),
});

/** An `entry[]` item without checking the change values. */
export const metaEntryEnvelopeSchema = z.looseObject({
  id: z.string().min(1),
  time: metaUnixTimestampSchema.optional(),
  /** Misplaced here by some Meta examples (`account_update` PARTNER_APP_INSTALLED). */
  field: z.string().optional(),
  changes: z.array(metaChangeSchema),
});

/** The webhook body without checking the change values. */
export const metaWebhookEnvelopeSchema = z.looseObject({
  object: z.string().optional(),
  entry: z.array(metaEntryEnvelopeSchema),
});

/** The webhook body as `metaWebhookEnvelopeSchema` parses it. */
export type MetaWebhookEnvelope = z.output<typeof metaWebhookEnvelopeSchema>;
/** One `entry[]` item. */
export type MetaEntry = z.output<typeof metaEntryEnvelopeSchema>;
/** One `changes[]` item. */
export type MetaChange = z.output<typeof metaChangeSchema>;
/** The value of a `messages`, `smb_message_echoes`, `smb_app_state_sync` or `history` change. */
export type MetaPhoneNumberValue = z.output<typeof metaPhoneNumberValueSchema>;
/** The value of an `account_update` change. */
export type MetaAccountUpdateValue = z.output<typeof metaAccountUpdateValueSchema>;
/** A `value.contacts[]` item. */
export type MetaContactProfile = z.output<typeof metaContactProfileSchema>;
/** A message object (`value.messages[]`, `value.message_echoes[]`, history thread `messages[]`). */
export type MetaMessage = z.output<typeof metaMessageSchema>;
/** A `value.messages[]` item. */
export type MetaInboundMessage = MetaMessage;
/** A `value.message_echoes[]` item. */
export type MetaEchoMessage = MetaMessage;
/** A history thread message. */
export type MetaHistoryMessage = MetaMessage;
/** The content part of any message (also `edit.message`). */
export type MetaMessageContent = z.output<typeof metaEditedContentSchema>;
/** A `value.statuses[]` item. */
export type MetaStatus = z.output<typeof metaStatusSchema>;
/** A `value.state_sync[]` item. */
export type MetaStateSyncItem = z.output<typeof metaStateSyncItemSchema>;
/** A `value.history[]` item. */
export type MetaHistoryItem = z.output<typeof metaHistoryItemSchema>;
/** A history chunk. */
export type MetaHistoryChunk = z.output<typeof metaHistoryChunkSchema>;
/** A history thread. */
export type MetaHistoryThread = z.output<typeof metaHistoryThreadSchema>;
/** An error object. */
export type MetaErrorObject = z.output<typeof metaErrorSchema>;
/** A timestamp as Meta sends it. */
export type MetaUnixTimestamp = z.output<typeof metaUnixTimestampSchema>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The field a change belongs to. Meta puts `field` on the change, but some published examples put it inside
 * `value` or on the entry; without any, the field is inferred from the value's arrays, else `"unknown"`.
 */
export function resolveChangeField(entry: unknown, change: unknown): string {
  const value = isRecord(change) ? change.value : undefined;
  const field =
    (isRecord(change) ? nonEmptyString(change.field) : undefined) ??
    (isRecord(value) ? nonEmptyString(value.field) : undefined) ??
    (isRecord(entry) ? nonEmptyString(entry.field) : undefined);
  if (field !== undefined) return field;
  if (!isRecord(value)) return 'unknown';
  if (value.history !== undefined) return 'history';
  if (value.message_echoes !== undefined) return 'smb_message_echoes';
  if (value.state_sync !== undefined) return 'smb_app_state_sync';
  if (value.messages !== undefined || value.statuses !== undefined || value.errors !== undefined) return 'messages';
  if (typeof value.event === 'string' && value.metadata === undefined) return 'account_update';
  return 'unknown';
}

/** Whether `field` is one of the fields Coexist understands. */
export function isKnownMetaField(field: string): field is KnownMetaField {
  return Object.hasOwn(metaChangeValueSchemas, field);
}

/** An `entry[]` item with every change value checked against its field's schema. */
export const metaEntrySchema = metaEntryEnvelopeSchema.superRefine((entry, context) => {
  entry.changes.forEach((change, changeIndex) => {
    const field = resolveChangeField(entry, change);
    if (!isKnownMetaField(field)) return;
    const result = metaChangeValueSchemas[field].safeParse(change.value);
    if (result.success) return;
    // Flattened here: a custom issue cannot carry a union's branches, and without them a bad field inside a
    // history item would be reported at the item (`history[0]`) instead of at the field.
    for (const issue of result.error.issues) {
      for (const flat of flattenIssue(issue as IssueLike, ['changes', changeIndex, 'value'])) {
        context.addIssue({ code: 'custom', message: flat.message, path: flat.path });
      }
    }
  });
});

/** A whole WhatsApp Business Account webhook body, every known change value included. */
export const metaWebhookSchema = z.looseObject({
  object: z.string().optional(),
  entry: z.array(metaEntrySchema),
});

/** A whole webhook body as `metaWebhookSchema` parses it. */
export type MetaWebhook = z.output<typeof metaWebhookSchema>;
