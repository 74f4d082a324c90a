/**
 * The chat card's view logic, free of the platform: turns what `CoexistChatCardController.getChatCard` returns
 * (the latest WhatsApp_Conversation__c of the record and its latest WhatsApp_Message__c records) into the display
 * model the template binds to — message bubbles with actor and status, who owns the conversation, whether the
 * 24-hour service window is open (free-form reply until when) or a template is required, and the number's health.
 * Plain ES module so it is unit-tested outside Salesforce (packages/salesforce/src/chat-card-model.test.ts).
 */

const ACTOR_LABELS = {
  customer: 'Customer',
  business_app: 'Rep (WhatsApp Business app)',
  cloud_api: 'API / automation',
};
const OWNER_LABELS = { business_app: 'WhatsApp Business app', cloud_api: 'Cloud API (CRM, automation)' };
const STATUS_LABELS = {
  received: '',
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
  played: 'Played',
  failed: 'Failed',
};
const EMPTY_LABEL = 'No WhatsApp conversation with this record yet.';
const DAY_MS = 24 * 60 * 60 * 1000;
/** Meta disconnects a Coexistence number when the Business App is not opened for about 14 days; warn from 10. */
const INACTIVITY_WARNING_DAYS = 10;
const INACTIVITY_DISCONNECT_DAYS = 14;

/** Epoch ms of a Salesforce datetime (`2026-03-01T09:00:00.000+0000`) or ISO string; `undefined` when empty. */
export function parseDateTime(value) {
  if (value === null || value === undefined || value === '') return undefined;
  const epoch = Date.parse(String(value).replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(epoch) ? undefined : epoch;
}

function formatTime(epoch, locale, timeZone) {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(new Date(epoch));
}

function formatDuration(ms) {
  const minutes = Math.max(1, Math.round(ms / 60000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}

/** Reads `Reactions__c` (JSON `[{ actor, emoji }]`); unreadable text counts as none. */
export function parseReactions(value) {
  if (!value) return [];
  try {
    const parsed = JSON.parse(value);
    return Array.isArray(parsed) ? parsed.filter((entry) => entry && typeof entry.emoji === 'string') : [];
  } catch {
    return [];
  }
}

/** The service-window state at `now`: open with the time left, or closed (a template is required). */
export function serviceWindowState(expiresAt, now, locale, timeZone) {
  const expires = parseDateTime(expiresAt);
  if (expires === undefined) {
    return {
      open: false,
      variant: 'closed',
      label: 'No service window: the customer has not written since onboarding. Send a template.',
    };
  }
  if (expires <= now) {
    return {
      open: false,
      variant: 'closed',
      label: `Service window closed ${formatTime(expires, locale, timeZone)}. Send a template.`,
    };
  }
  return {
    open: true,
    variant: 'open',
    label: `Service window open for ${formatDuration(expires - now)} (until ${formatTime(expires, locale, timeZone)}): free-form replies allowed.`,
  };
}

/**
 * The number's health as far as Salesforce can tell: days since the rep last sent from the Business App (the app
 * must be opened about every 14 days or Meta disconnects the API), from the messages the card shows.
 */
export function numberHealthState(lastAppMessageAt, now) {
  const last = parseDateTime(lastAppMessageAt);
  if (last === undefined)
    return { variant: 'unknown', label: 'Number health unknown: no message from the Business app yet.' };
  const days = Math.floor((now - last) / DAY_MS);
  if (days >= INACTIVITY_DISCONNECT_DAYS) {
    return { variant: 'error', label: `Business app not used for ${days} days: the link may have been disconnected.` };
  }
  if (days >= INACTIVITY_WARNING_DAYS) {
    return {
      variant: 'warning',
      label: `Business app not used for ${days} days: open WhatsApp Business within ${INACTIVITY_DISCONNECT_DAYS - days} days to keep the link.`,
    };
  }
  return { variant: 'ok', label: 'Number linked: the Business app is in use.' };
}

/** One message as a bubble. */
export function toMessageView(record, locale, timeZone) {
  const sentAt = parseDateTime(record.Sent_At__c);
  const outbound = record.Direction__c === 'outbound';
  const revoked = record.Revoked__c === true;
  const status = STATUS_LABELS[record.Status__c] ?? '';
  const meta = [ACTOR_LABELS[record.Actor__c] ?? 'Unknown sender'];
  if (sentAt !== undefined) meta.push(formatTime(sentAt, locale, timeZone));
  if (outbound && status) meta.push(status);
  if (record.Edited__c === true && !revoked) meta.push('Edited');
  return {
    id: record.Id,
    text: revoked ? 'This message was deleted.' : (record.Body__c ?? ''),
    // Linked only when http(s): a record another tool wrote may hold a `javascript:` or data URL.
    mediaUrl: revoked || !/^https?:\/\//i.test(record.Media_Url__c ?? '') ? undefined : record.Media_Url__c,
    mediaLabel: revoked || !record.Media_Type__c ? undefined : `Media: ${record.Media_Type__c}`,
    actorLabel: ACTOR_LABELS[record.Actor__c] ?? 'Unknown sender',
    statusLabel: outbound ? status : '',
    meta: meta.join(' · '),
    bubbleClass: `bubble ${outbound ? 'bubble_outbound' : 'bubble_inbound'}${revoked ? ' bubble_revoked' : ''}${record.Status__c === 'failed' ? ' bubble_failed' : ''}`,
    reactions: parseReactions(record.Reactions__c)
      .map((reaction) => reaction.emoji)
      .join(' '),
    sentAt: sentAt ?? 0,
  };
}

/**
 * Builds the display model from the controller's answer (`{ conversation, messages }`, messages newest first or in
 * any order) at `now`; `null` data means the record has no WhatsApp conversation.
 */
export function buildChatCardModel(data, now = Date.now(), options = {}) {
  const locale = options.locale ?? 'en-US';
  const timeZone = options.timeZone;
  if (!data?.conversation) {
    return { hasConversation: false, emptyLabel: EMPTY_LABEL, messages: [] };
  }
  const conversation = data.conversation;
  const messages = (data.messages ?? [])
    .map((record) => toMessageView(record, locale, timeZone))
    .sort((left, right) => left.sentAt - right.sentAt);
  let lastAppMessageAt;
  for (const record of data.messages ?? []) {
    if (record.Actor__c !== 'business_app') continue;
    const at = parseDateTime(record.Sent_At__c);
    if (at !== undefined && (lastAppMessageAt === undefined || at > parseDateTime(lastAppMessageAt))) {
      lastAppMessageAt = record.Sent_At__c;
    }
  }
  const window = serviceWindowState(conversation.Window_Expires_At__c, now, locale, timeZone);
  const health = numberHealthState(lastAppMessageAt, now);
  return {
    hasConversation: true,
    emptyLabel: EMPTY_LABEL,
    title: `WhatsApp · ${conversation.Customer_Phone__c ?? 'unknown number'}`,
    businessPhoneLabel: conversation.Business_Phone__c ? `Business number ${conversation.Business_Phone__c}` : '',
    ownerLabel: `Owned by: ${OWNER_LABELS[conversation.Owner_Side__c] ?? 'nobody yet (no reply)'}`,
    window: { ...window, className: `window window_${window.variant}` },
    health: { ...health, className: `health health_${health.variant}` },
    messages,
    hasMessages: messages.length > 0,
    olderLabel: data.olderMessageCount > 0 ? `${data.olderMessageCount} older messages not shown` : '',
  };
}
