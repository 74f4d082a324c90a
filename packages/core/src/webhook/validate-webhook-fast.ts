/**
 * The fast path of validation: hand-written checks that accept exactly what `metaWebhookSchema` accepts, without
 * building zod's output copy. `parseWebhook` runs them first and falls back to zod only when they fail, to name the
 * error path (or to overrule them, should they ever be stricter). They must never accept what zod rejects: the
 * property tests in `validate-webhook-fast.test.ts` compare the two on thousands of mutated payloads.
 *
 * Keep every check here in step with `meta-webhook-schema.ts`.
 */
import { isKnownMetaField, resolveChangeField } from './meta-webhook-schema.ts';

type Record_ = Record<string, unknown>;

const MAX_UNIX_SECONDS = 8_640_000_000_000;
const UNIX_SECONDS_PATTERN = /^\d{1,13}(\.\d+)?$/;
const NUMERIC_PATTERN = /^-?\d+(\.\d+)?$/;

function isObject(value: unknown): value is Record_ {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalObject(value: unknown): boolean {
  return value === undefined || isObject(value);
}

function optionalString(value: unknown): boolean {
  return value === undefined || typeof value === 'string';
}

function optionalBoolean(value: unknown): boolean {
  return value === undefined || typeof value === 'boolean';
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isUnixTimestamp(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 && value <= MAX_UNIX_SECONDS;
  return typeof value === 'string' && UNIX_SECONDS_PATTERN.test(value) && Number(value) <= MAX_UNIX_SECONDS;
}

function isNumeric(value: unknown): boolean {
  return isNumber(value) || (typeof value === 'string' && NUMERIC_PATTERN.test(value));
}

function arrayOf(value: unknown, check: (item: unknown) => boolean): boolean {
  if (!Array.isArray(value)) return false;
  for (let index = 0; index < value.length; index++) if (!check(value[index])) return false;
  return true;
}

function optionalArrayOf(value: unknown, check: (item: unknown) => boolean): boolean {
  return value === undefined || arrayOf(value, check);
}

function isError(value: unknown): boolean {
  if (!isObject(value)) return false;
  if (!isNumber(value.code)) return false;
  if (!optionalString(value.title) || !optionalString(value.message) || !optionalString(value.href)) return false;
  const data = value.error_data;
  return data === undefined || (isObject(data) && optionalString(data.details));
}

function isMetadata(value: unknown): boolean {
  return isObject(value) && optionalString(value.display_phone_number) && optionalString(value.phone_number_id);
}

function isContactProfile(value: unknown): boolean {
  if (!isObject(value)) return false;
  if (!optionalString(value.wa_id) || !optionalString(value.user_id) || !optionalString(value.parent_user_id))
    return false;
  if (!optionalString(value.username) || !optionalString(value.country_code)) return false;
  const profile = value.profile;
  if (profile === undefined) return true;
  return (
    isObject(profile) &&
    optionalString(profile.name) &&
    optionalString(profile.username) &&
    optionalString(profile.country_code)
  );
}

function optionalMedia(value: unknown): boolean {
  if (value === undefined) return true;
  if (!isObject(value)) return false;
  return (
    optionalString(value.id) &&
    optionalString(value.mime_type) &&
    optionalString(value.sha256) &&
    optionalString(value.caption) &&
    optionalString(value.filename) &&
    optionalString(value.url) &&
    optionalString(value.link) &&
    optionalBoolean(value.voice) &&
    optionalBoolean(value.animated)
  );
}

function optionalInteractive(value: unknown): boolean {
  if (value === undefined) return true;
  if (!isObject(value) || typeof value.type !== 'string') return false;
  const button = value.button_reply;
  if (
    button !== undefined &&
    !(isObject(button) && typeof button.id === 'string' && typeof button.title === 'string')
  ) {
    return false;
  }
  const list = value.list_reply;
  if (
    list !== undefined &&
    !(
      isObject(list) &&
      typeof list.id === 'string' &&
      typeof list.title === 'string' &&
      optionalString(list.description)
    )
  ) {
    return false;
  }
  const flow = value.nfm_reply;
  return (
    flow === undefined ||
    (isObject(flow) && optionalString(flow.name) && optionalString(flow.body) && optionalString(flow.response_json))
  );
}

/** The content keys every message object may carry (`messageContentShape` in the schema). */
function hasValidContent(message: Record_): boolean {
  const text = message.text;
  if (text !== undefined && !(isObject(text) && typeof text.body === 'string')) return false;
  if (!optionalMedia(message.image) || !optionalMedia(message.audio) || !optionalMedia(message.video)) return false;
  if (!optionalMedia(message.document) || !optionalMedia(message.sticker)) return false;
  const location = message.location;
  if (
    location !== undefined &&
    !(
      isObject(location) &&
      isNumber(location.latitude) &&
      isNumber(location.longitude) &&
      optionalString(location.name) &&
      optionalString(location.address) &&
      optionalString(location.url)
    )
  ) {
    return false;
  }
  if (!optionalArrayOf(message.contacts, isObject)) return false;
  const button = message.button;
  if (button !== undefined && !(isObject(button) && optionalString(button.text) && optionalString(button.payload))) {
    return false;
  }
  if (!optionalInteractive(message.interactive)) return false;
  const reaction = message.reaction;
  if (
    reaction !== undefined &&
    !(isObject(reaction) && typeof reaction.message_id === 'string' && optionalString(reaction.emoji))
  ) {
    return false;
  }
  if (!optionalObject(message.order) || !optionalObject(message.system) || !optionalObject(message.referral))
    return false;
  const unsupported = message.unsupported;
  if (unsupported !== undefined && !(isObject(unsupported) && optionalString(unsupported.type))) return false;
  const context = message.context;
  if (
    context !== undefined &&
    !(
      isObject(context) &&
      optionalString(context.from) &&
      optionalString(context.id) &&
      optionalBoolean(context.forwarded) &&
      optionalBoolean(context.frequently_forwarded) &&
      optionalObject(context.referred_product)
    )
  ) {
    return false;
  }
  if (!optionalArrayOf(message.errors, isError)) return false;
  const history = message.history_context;
  return (
    history === undefined || (isObject(history) && optionalString(history.status) && optionalBoolean(history.from_me))
  );
}

function isEditedContent(value: unknown): boolean {
  return isObject(value) && optionalString(value.id) && typeof value.type === 'string' && hasValidContent(value);
}

function isMessage(value: unknown): boolean {
  if (!isObject(value)) return false;
  if (typeof value.id !== 'string' || typeof value.type !== 'string' || !isUnixTimestamp(value.timestamp)) return false;
  if (
    !optionalString(value.from) ||
    !optionalString(value.from_user_id) ||
    !optionalString(value.from_parent_user_id)
  ) {
    return false;
  }
  if (!optionalString(value.to) || !optionalString(value.to_user_id) || !optionalString(value.to_parent_user_id)) {
    return false;
  }
  if (!hasValidContent(value)) return false;
  const edit = value.edit;
  if (
    edit !== undefined &&
    !(
      isObject(edit) &&
      optionalString(edit.original_message_id) &&
      (edit.message === undefined || isEditedContent(edit.message))
    )
  ) {
    return false;
  }
  const revoke = value.revoke;
  return revoke === undefined || (isObject(revoke) && optionalString(revoke.original_message_id));
}

function isStatus(value: unknown): boolean {
  if (!isObject(value)) return false;
  if (typeof value.id !== 'string' || typeof value.status !== 'string' || !isUnixTimestamp(value.timestamp))
    return false;
  if (!optionalString(value.recipient_id) || !optionalString(value.recipient_user_id)) return false;
  if (!optionalString(value.recipient_parent_user_id) || !optionalString(value.biz_opaque_callback_data)) return false;
  const conversation = value.conversation;
  if (conversation !== undefined) {
    if (!isObject(conversation) || !optionalString(conversation.id)) return false;
    if (conversation.expiration_timestamp !== undefined && !isUnixTimestamp(conversation.expiration_timestamp)) {
      return false;
    }
    const origin = conversation.origin;
    if (origin !== undefined && !(isObject(origin) && optionalString(origin.type))) return false;
  }
  const pricing = value.pricing;
  if (
    pricing !== undefined &&
    !(
      isObject(pricing) &&
      optionalBoolean(pricing.billable) &&
      optionalString(pricing.pricing_model) &&
      optionalString(pricing.category) &&
      optionalString(pricing.type)
    )
  ) {
    return false;
  }
  return optionalArrayOf(value.errors, isError);
}

function isStateSyncItem(value: unknown): boolean {
  if (!isObject(value) || typeof value.type !== 'string' || typeof value.action !== 'string') return false;
  const contact = value.contact;
  if (
    contact !== undefined &&
    !(
      isObject(contact) &&
      optionalString(contact.full_name) &&
      optionalString(contact.first_name) &&
      optionalString(contact.phone_number) &&
      optionalString(contact.user_id) &&
      optionalString(contact.username) &&
      optionalString(contact.country_code)
    )
  ) {
    return false;
  }
  const metadata = value.metadata;
  return (
    metadata === undefined ||
    (isObject(metadata) && (metadata.timestamp === undefined || isUnixTimestamp(metadata.timestamp)))
  );
}

function isHistoryThread(value: unknown): boolean {
  if (!isObject(value) || !optionalString(value.id)) return false;
  const context = value.context;
  if (
    context !== undefined &&
    !(
      isObject(context) &&
      optionalString(context.wa_id) &&
      optionalString(context.user_id) &&
      optionalString(context.parent_user_id) &&
      optionalString(context.username) &&
      optionalString(context.country_code)
    )
  ) {
    return false;
  }
  return optionalArrayOf(value.messages, isMessage);
}

/**
 * Whether a `history[]` item is a valid chunk. The schema's union tries the chunk first, so an item that is a valid
 * chunk is read as one even if it also carries `errors`; the normalizer decides with this same check.
 */
export function isHistoryChunk(value: unknown): boolean {
  if (!isObject(value)) return false;
  const metadata = value.metadata;
  return (
    isObject(metadata) &&
    isNumeric(metadata.phase) &&
    isNumeric(metadata.chunk_order) &&
    isNumeric(metadata.progress) &&
    optionalArrayOf(value.threads, isHistoryThread)
  );
}

function isHistoryItem(value: unknown): boolean {
  return isHistoryChunk(value) || (isObject(value) && arrayOf(value.errors, isError));
}

function isPhoneNumberValue(value: unknown): boolean {
  if (!isObject(value)) return false;
  if (!optionalString(value.messaging_product)) return false;
  if (value.metadata !== undefined && !isMetadata(value.metadata)) return false;
  return (
    optionalArrayOf(value.contacts, isContactProfile) &&
    optionalArrayOf(value.messages, isMessage) &&
    optionalArrayOf(value.message_echoes, isMessage) &&
    optionalArrayOf(value.statuses, isStatus) &&
    optionalArrayOf(value.state_sync, isStateSyncItem) &&
    optionalArrayOf(value.history, isHistoryItem) &&
    optionalArrayOf(value.errors, isError)
  );
}

function isAccountUpdateValue(value: unknown): boolean {
  if (!isObject(value)) return false;
  if (!optionalString(value.event) || !optionalString(value.phone_number) || !optionalObject(value.waba_info)) {
    return false;
  }
  const info = value.disconnection_info;
  return info === undefined || (isObject(info) && optionalString(info.reason) && optionalString(info.initiated_by));
}

function isEntry(entry: unknown): boolean {
  if (!isObject(entry)) return false;
  if (typeof entry.id !== 'string' || entry.id.length === 0) return false;
  if (entry.time !== undefined && !isUnixTimestamp(entry.time)) return false;
  if (!optionalString(entry.field) || !Array.isArray(entry.changes)) return false;
  for (const change of entry.changes as unknown[]) {
    if (!isObject(change) || !optionalString(change.field)) return false;
    const field = resolveChangeField(entry, change);
    if (!isKnownMetaField(field)) continue;
    const valid = field === 'account_update' ? isAccountUpdateValue(change.value) : isPhoneNumberValue(change.value);
    if (!valid) return false;
  }
  return true;
}

/** Whether `body` is a valid webhook by the same rules as `metaWebhookSchema`, checked without zod. */
export function isValidWebhookFast(body: unknown): boolean {
  return isObject(body) && optionalString(body.object) && arrayOf(body.entry, isEntry);
}
