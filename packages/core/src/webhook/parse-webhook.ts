/**
 * `parseWebhook`: validates a Meta WhatsApp webhook body and normalizes every entry, change and inner array
 * item into Coexist events (the contract in `events/coexistence-event.ts`), in payload order.
 */
import type { CoexistenceEvent } from '../events/coexistence-event.ts';
import {
  isKnownMetaField,
  type MetaAccountUpdateValue,
  type MetaChange,
  type MetaEntry,
  type MetaPhoneNumberValue,
  type MetaWebhook,
  metaWebhookSchema,
  resolveChangeField,
} from './meta-webhook-schema.ts';
import { normalizeAccountUpdate } from './normalize-account-update.ts';
import { type ChangeContext, digitsOf, EMPTY_PROFILE_INDEX, indexProfiles, unixSeconds } from './normalize-context.ts';
import { normalizeHistoryItem } from './normalize-history.ts';
import { echoContact, inboundContact, isBusinessSent, normalizeMessage, unknownEvent } from './normalize-message.ts';
import { normalizeStateSyncItem } from './normalize-state-sync.ts';
import { normalizeStatus } from './normalize-status.ts';
import { normalizeWebhookError } from './normalize-webhook-error.ts';
import { isValidWebhookFast } from './validate-webhook-fast.ts';
import { toWebhookValidationError } from './webhook-validation-error.ts';

/** Options of `parseWebhook`. */
export interface ParseWebhookOptions {
  /**
   * When the payload arrived; `occurredAt` of events that have no timestamp of their own and no `entry.time`.
   * @default new Date()
   */
  receivedAt?: Date;
}

/** Keys of a phone-number-scoped value that are not arrays of items to normalize. */
const VALUE_METADATA_KEYS: ReadonlySet<string> = new Set(['messaging_product', 'metadata', 'contacts']);

/**
 * Parses a Meta WhatsApp webhook body (already JSON-parsed) into Coexist events. Throws `WebhookValidationError`
 * naming the first invalid field; unknown fields and message types become `unknown` events, never errors.
 */
export function parseWebhook(body: unknown, options: ParseWebhookOptions = {}): CoexistenceEvent[] {
  const receivedAt = options.receivedAt ?? new Date();
  if (!(receivedAt instanceof Date) || Number.isNaN(receivedAt.getTime())) {
    throw new TypeError('[coexist/core] parseWebhook: options.receivedAt must be a valid Date');
  }
  // Fast path: hand-written checks equal to the schema. Zod runs only when they fail, to name the path at fault.
  if (!isValidWebhookFast(body)) {
    const result = metaWebhookSchema.safeParse(body);
    if (!result.success) throw toWebhookValidationError(result.error);
  }
  // The schemas have no transforms, so the validated body has exactly the schema's type; reading the original
  // keeps Meta's key order, which is the payload order the events follow.
  const webhook = body as MetaWebhook;
  const receivedAtIso = receivedAt.toISOString();
  const events: CoexistenceEvent[] = [];
  for (let entryIndex = 0; entryIndex < webhook.entry.length; entryIndex++) {
    const entry = webhook.entry[entryIndex]!;
    for (let changeIndex = 0; changeIndex < entry.changes.length; changeIndex++) {
      const path = `entry[${entryIndex}].changes[${changeIndex}].value`;
      normalizeChange(entry, entry.changes[changeIndex]!, path, receivedAtIso, events);
    }
  }
  return events;
}

function normalizeChange(
  entry: MetaEntry,
  change: MetaChange,
  valuePath: string,
  receivedAt: string,
  events: CoexistenceEvent[],
): void {
  const field = resolveChangeField(entry, change);
  const context: ChangeContext = {
    wabaId: entry.id,
    field,
    valuePath,
    receivedAt,
    profiles: EMPTY_PROFILE_INDEX,
  };
  const entryTime = unixSeconds(entry.time);
  if (entryTime !== undefined) context.entryTime = entryTime;

  if (!isKnownMetaField(field)) {
    readUnvalidatedMetadata(change.value, context);
    events.push(unknownEvent(change.value ?? null, valuePath, context));
    return;
  }
  if (field === 'account_update') {
    events.push(normalizeAccountUpdate(change.value as MetaAccountUpdateValue, context));
    return;
  }
  normalizePhoneNumberValue(change.value as MetaPhoneNumberValue, context, events);
}

/** Business number of a field Coexist does not know, when its value carries Meta's usual `metadata`. */
function readUnvalidatedMetadata(value: unknown, context: ChangeContext): void {
  if (typeof value !== 'object' || value === null) return;
  const metadata = (value as { metadata?: unknown }).metadata;
  if (typeof metadata !== 'object' || metadata === null) return;
  const { phone_number_id: phoneNumberId, display_phone_number: displayPhoneNumber } = metadata as Record<
    string,
    unknown
  >;
  if (typeof phoneNumberId === 'string' && phoneNumberId !== '') context.phoneNumberId = phoneNumberId;
  const digits = typeof displayPhoneNumber === 'string' ? digitsOf(displayPhoneNumber) : undefined;
  if (digits !== undefined) {
    context.businessDigits = digits;
    context.businessPhone = `+${digits}`;
  }
}

function normalizePhoneNumberValue(
  value: MetaPhoneNumberValue,
  context: ChangeContext,
  events: CoexistenceEvent[],
): void {
  const metadata = value.metadata;
  if (metadata?.phone_number_id) context.phoneNumberId = metadata.phone_number_id;
  const businessDigits = digitsOf(metadata?.display_phone_number);
  if (businessDigits !== undefined) {
    context.businessDigits = businessDigits;
    context.businessPhone = `+${businessDigits}`;
  }
  context.profiles = indexProfiles(value.contacts);
  const isHistory = context.field === 'history';
  const before = events.length;
  let sawItems = false;

  for (const key of Object.keys(value)) {
    switch (key) {
      case 'messages': {
        const messages = value.messages ?? [];
        sawItems = true;
        for (let index = 0; index < messages.length; index++) {
          const message = messages[index]!;
          const path = `${context.valuePath}.messages[${index}]`;
          // Under `history`, `messages[]` is the media follow-up of a placeholder; business-sent media can be here too.
          const businessSent = isHistory && isBusinessSent(message, context);
          events.push(
            normalizeMessage(
              message,
              {
                actor: businessSent ? 'business_app' : 'customer',
                contact: businessSent ? echoContact(message, context) : inboundContact(message, context),
                source: isHistory ? 'history' : 'live',
                path,
                mediaFollowUp: isHistory,
              },
              context,
            ),
          );
        }
        break;
      }
      case 'message_echoes': {
        const echoes = value.message_echoes ?? [];
        sawItems = true;
        for (let index = 0; index < echoes.length; index++) {
          const message = echoes[index]!;
          events.push(
            normalizeMessage(
              message,
              {
                actor: 'business_app',
                contact: echoContact(message, context),
                source: isHistory ? 'history' : 'live',
                path: `${context.valuePath}.message_echoes[${index}]`,
                mediaFollowUp: isHistory,
              },
              context,
            ),
          );
        }
        break;
      }
      case 'statuses': {
        const statuses = value.statuses ?? [];
        sawItems = true;
        for (let index = 0; index < statuses.length; index++) {
          events.push(normalizeStatus(statuses[index]!, `${context.valuePath}.statuses[${index}]`, context));
        }
        break;
      }
      case 'state_sync': {
        const items = value.state_sync ?? [];
        sawItems = true;
        for (let index = 0; index < items.length; index++) {
          events.push(normalizeStateSyncItem(items[index]!, `${context.valuePath}.state_sync[${index}]`, context));
        }
        break;
      }
      case 'history': {
        const items = value.history ?? [];
        sawItems = true;
        for (let index = 0; index < items.length; index++) {
          normalizeHistoryItem(items[index]!, `${context.valuePath}.history[${index}]`, context, events);
        }
        break;
      }
      case 'errors': {
        const errors = value.errors ?? [];
        sawItems = true;
        for (let index = 0; index < errors.length; index++) {
          events.push(normalizeWebhookError(errors[index]!, `${context.valuePath}.errors[${index}]`, context));
        }
        break;
      }
      default: {
        if (VALUE_METADATA_KEYS.has(key)) break;
        // An array or object Coexist does not know (a future field's payload): keep it as `unknown` events.
        // Scalars (`field`/`object` misplaced into the value, flags) are metadata, not items.
        const item = (value as Record<string, unknown>)[key];
        if (Array.isArray(item)) {
          sawItems = true;
          item.forEach((raw, index) => {
            events.push(unknownEvent(raw ?? null, `${context.valuePath}.${key}[${index}]`, context));
          });
        } else if (typeof item === 'object' && item !== null) {
          sawItems = true;
          events.push(unknownEvent(item, `${context.valuePath}.${key}`, context));
        }
      }
    }
  }
  // A value with nothing to read (no arrays at all) is still delivered, whole, as one `unknown` event.
  if (!sawItems && events.length === before) events.push(unknownEvent(value, context.valuePath, context));
}
