import type { ClosePrincipal } from './close-auth.ts';
import { CLOSE_MAX_FILE_BYTES, fileOfDownloadUrl } from './close-file-routes.ts';
import { findContact, findLead } from './close-lead-routes.ts';
import { normalizeClosePhone } from './close-phone.ts';
import { closeBadRequest, closeFieldErrors, closeNotFound, closeOk } from './close-responses.ts';
import {
  type CloseRouteContext,
  isObject,
  pageOf,
  projectFields,
  readObjectBody,
  readPaging,
} from './close-route-context.ts';
import { type CloseAttachment, type CloseWhatsAppActivity, formatCloseDate } from './close-state.ts';
import { whatsappMarkdownToHtml } from './whatsapp-markdown-to-html.ts';

/** Writable fields of a WhatsApp message activity (crm-apis.md §4.1). */
const WRITABLE_FIELDS = new Set([
  'lead_id',
  'contact_id',
  'direction',
  'external_whatsapp_message_id',
  'activity_at',
  'local_phone',
  'remote_phone',
  'message_markdown',
  'integration_link',
  'response_to_id',
  'attachments',
]);
const REQUIRED_FIELDS = [
  'lead_id',
  'direction',
  'external_whatsapp_message_id',
  'activity_at',
  'local_phone',
  'remote_phone',
  'message_markdown',
];
const LIST_FILTERS = new Set(['lead_id', 'contact_id', 'external_whatsapp_message_id', 'id__in', 'user_id']);
/** Maximum `_limit` of the WhatsApp activity list (the documented default page size is 100; above is a 400). */
export const MAX_WHATSAPP_LIST_LIMIT = 100;
/** Total attachment size Close allows per message (https://developer.close.com/api/overview/changelog/2025/6/25/llms.txt). */
const MAX_ATTACHMENT_BYTES_PER_MESSAGE = 25 * 1024 * 1024;

/** Options of the WhatsApp activity routes. */
export interface CloseWhatsAppRouteOptions {
  /** Whether `contact_id` is required on create (whether Close requires it is unverified). @default true */
  contactIdRequired: boolean;
}

/**
 * WhatsApp message activities (https://developer.close.com/api/resources/activities/whatsapp/create, …/list,
 * …/get, …/update, …/delete). No server-side dedupe: two POSTs with one `external_whatsapp_message_id` make two
 * activities, as in Close.
 */
export function registerCloseWhatsAppRoutes(context: CloseRouteContext, options: CloseWhatsAppRouteOptions): void {
  const { state } = context;
  const base = '/activity/whatsapp_message/';

  context.route('POST', base, (request, principal) => {
    const body = readObjectBody(request);
    if (!isObject(body)) return body;
    const sendToInbox = request.query.get('send_to_inbox');
    if (sendToInbox !== null && sendToInbox !== 'true' && sendToInbox !== 'false') {
      return closeBadRequest(`send_to_inbox must be true or false (got ${JSON.stringify(sendToInbox)})`);
    }
    const errors: Record<string, string> = {};
    const required = options.contactIdRequired ? [...REQUIRED_FIELDS, 'contact_id'] : REQUIRED_FIELDS;
    for (const field of required) if (body[field] === undefined) errors[field] = 'This field is required.';
    const now = state.timestamp();
    const draft: CloseWhatsAppActivity = {
      id: state.nextId('acti'),
      _type: 'WhatsAppMessage',
      organization_id: principal.organizationId,
      lead_id: '',
      contact_id: null,
      user_id: principal.userId,
      direction: 'incoming',
      external_whatsapp_message_id: '',
      activity_at: now,
      local_phone: '',
      local_phone_formatted: '',
      remote_phone: '',
      remote_phone_formatted: '',
      message_markdown: '',
      message_html: '',
      integration_link: null,
      response_to_id: null,
      attachments: [],
      source: 'api',
      created_by: principal.userId,
      updated_by: principal.userId,
      date_created: now,
      date_updated: now,
    };
    applyFields(context, principal, draft, body, errors, true);
    if (Object.keys(errors).length > 0) return closeFieldErrors(errors);
    state.activities.set(draft.id, draft);
    if (sendToInbox === 'true') state.sentToInbox.add(draft.id);
    return closeOk(draft);
  });

  context.route('GET', base, (request, principal) => {
    const paging = readPaging(request.query, MAX_WHATSAPP_LIST_LIMIT);
    if (!('limit' in paging)) return paging;
    for (const key of request.query.keys()) {
      if (!key.startsWith('_') && !LIST_FILTERS.has(key)) return closeBadRequest(`Unknown filter ${key}`);
    }
    const query = request.query;
    const ids = query.get('id__in')?.split(',').filter(Boolean);
    // Filters read once, not per activity: a backfill looks every message up, so this runs tens of thousands of times.
    const leadId = query.get('lead_id');
    const contactId = query.get('contact_id');
    const userId = query.get('user_id');
    const externalId = query.get('external_whatsapp_message_id');
    const candidates =
      externalId === null
        ? [...state.activities.values()]
        : state.activities.byExternalId(principal.organizationId, externalId);
    const activities = candidates
      .filter(
        (activity) =>
          activity.organization_id === principal.organizationId &&
          (leadId === null || activity.lead_id === leadId) &&
          (contactId === null || activity.contact_id === contactId) &&
          (userId === null || activity.user_id === userId) &&
          (externalId === null || activity.external_whatsapp_message_id === externalId) &&
          (ids === undefined || ids.includes(activity.id)),
      )
      // Close lists activities newest first; ties keep the newest creation first.
      .reverse()
      .sort((left, right) => right.activity_at.localeCompare(left.activity_at));
    const fields = query.get('_fields');
    return pageOf(activities, paging, (activity) => projectFields(activity, fields));
  });

  context.route('GET', `${base}{id}/`, (request, principal) => {
    const activity = findActivity(context, principal, request.params.id!);
    if (activity === undefined) return closeNotFound(`WhatsAppMessage activity ${request.params.id}`);
    return closeOk(projectFields(activity, request.query.get('_fields')));
  });

  context.route('PUT', `${base}{id}/`, (request, principal) => {
    const activity = findActivity(context, principal, request.params.id!);
    if (activity === undefined) return closeNotFound(`WhatsAppMessage activity ${request.params.id}`);
    const body = readObjectBody(request);
    if (!isObject(body)) return body;
    const errors: Record<string, string> = {};
    if (body.external_whatsapp_message_id !== undefined) {
      errors.external_whatsapp_message_id = 'This field cannot be changed.';
    }
    const updated: CloseWhatsAppActivity = { ...activity, attachments: [...activity.attachments] };
    applyFields(context, principal, updated, body, errors, false);
    if (Object.keys(errors).length > 0) return closeFieldErrors(errors);
    updated.updated_by = principal.userId;
    updated.date_updated = state.timestamp();
    state.activities.set(updated.id, updated);
    return closeOk(updated);
  });

  context.route('DELETE', `${base}{id}/`, (request, principal) => {
    const activity = findActivity(context, principal, request.params.id!);
    if (activity === undefined) return closeNotFound(`WhatsAppMessage activity ${request.params.id}`);
    state.activities.delete(activity.id);
    state.sentToInbox.delete(activity.id);
    return closeOk({});
  });
}

function findActivity(
  context: CloseRouteContext,
  principal: ClosePrincipal,
  id: string,
): CloseWhatsAppActivity | undefined {
  const activity = context.state.activities.get(id);
  return activity?.organization_id === principal.organizationId ? activity : undefined;
}

/** Validates `body` field by field and writes the valid values into `activity`; problems go to `errors`. */
function applyFields(
  context: CloseRouteContext,
  principal: ClosePrincipal,
  activity: CloseWhatsAppActivity,
  body: Record<string, unknown>,
  errors: Record<string, string>,
  creating: boolean,
): void {
  for (const [key, value] of Object.entries(body)) {
    if (!WRITABLE_FIELDS.has(key)) {
      errors[key] = 'Unknown field.';
      continue;
    }
    if (value === undefined || (key === 'external_whatsapp_message_id' && !creating)) continue;
    switch (key) {
      case 'lead_id':
        if (typeof value !== 'string' || findLead(context.state, principal, value) === undefined) {
          errors.lead_id = `Lead ${JSON.stringify(value)} does not exist.`;
        } else activity.lead_id = value;
        break;
      case 'contact_id':
        if (value === null && !creating) activity.contact_id = null;
        else if (typeof value !== 'string' || findContact(context.state, principal, value) === undefined) {
          errors.contact_id = `Contact ${JSON.stringify(value)} does not exist.`;
        } else activity.contact_id = value;
        break;
      case 'direction':
        if (value !== 'incoming' && value !== 'outgoing') errors.direction = 'Must be "incoming" or "outgoing".';
        else activity.direction = value;
        break;
      case 'external_whatsapp_message_id':
        if (typeof value !== 'string' || value === '') errors[key] = 'Must be a non-empty string.';
        else activity.external_whatsapp_message_id = value;
        break;
      case 'activity_at': {
        const epoch = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : Number.NaN;
        if (Number.isNaN(epoch)) errors.activity_at = 'Must be an ISO 8601 date-time.';
        else activity.activity_at = formatCloseDate(epoch);
        break;
      }
      case 'local_phone':
      case 'remote_phone': {
        const normalized = typeof value === 'string' ? normalizeClosePhone(value, context.defaultCountry) : undefined;
        if (normalized === undefined) errors[key] = `Invalid phone number: ${JSON.stringify(value)}.`;
        else {
          if (key === 'local_phone') {
            activity.local_phone = value as string;
            activity.local_phone_formatted = normalized.phone;
          } else {
            activity.remote_phone = value as string;
            activity.remote_phone_formatted = normalized.phone;
          }
        }
        break;
      }
      case 'message_markdown':
        if (typeof value !== 'string') errors.message_markdown = 'Must be a string.';
        else {
          activity.message_markdown = value;
          activity.message_html = whatsappMarkdownToHtml(value);
        }
        break;
      case 'integration_link':
        if (value !== null && (typeof value !== 'string' || !/^https?:\/\/\S+$/.test(value))) {
          errors.integration_link = 'Must be an http(s) URL or null.';
        } else activity.integration_link = value;
        break;
      case 'response_to_id':
        if (value === null) activity.response_to_id = null;
        else if (typeof value === 'string') activity.response_to_id = value;
        else errors.response_to_id = 'Must be a WhatsApp message activity id or null.';
        break;
      case 'attachments': {
        const attachments = readAttachments(context, principal, value, errors);
        if (attachments !== undefined) activity.attachments = attachments;
        break;
      }
    }
  }
  // Cross-field rules run on the merged record so a PUT cannot break them either.
  if (errors.lead_id === undefined && errors.contact_id === undefined && activity.contact_id !== null) {
    const contact = context.state.contacts.get(activity.contact_id);
    if (contact !== undefined && activity.lead_id !== '' && contact.lead_id !== activity.lead_id) {
      errors.contact_id = `Contact ${activity.contact_id} does not belong to lead ${activity.lead_id}.`;
    }
  }
  if (activity.response_to_id !== null && errors.response_to_id === undefined && errors.lead_id === undefined) {
    const parent = context.state.activities.get(activity.response_to_id);
    if (parent === undefined || parent.organization_id !== principal.organizationId) {
      errors.response_to_id = `WhatsApp message activity ${activity.response_to_id} does not exist.`;
    } else if (parent.lead_id !== activity.lead_id) {
      errors.response_to_id = `Activity ${activity.response_to_id} belongs to another lead.`;
    } else if (parent.id === activity.id) {
      errors.response_to_id = 'An activity cannot reply to itself.';
    }
  }
}

function readAttachments(
  context: CloseRouteContext,
  principal: ClosePrincipal,
  value: unknown,
  errors: Record<string, string>,
): CloseAttachment[] | undefined {
  if (!Array.isArray(value)) {
    errors.attachments = 'Must be a list of {url, filename, content_type}.';
    return undefined;
  }
  const attachments: CloseAttachment[] = [];
  let total = 0;
  value.forEach((entry, index) => {
    const at = `attachments.${index}`;
    if (!isObject(entry)) {
      errors[at] = 'Must be an object {url, filename, content_type}.';
      return;
    }
    for (const key of Object.keys(entry)) {
      if (!['url', 'filename', 'content_type'].includes(key)) errors[`${at}.${key}`] = 'Unknown field.';
    }
    for (const key of ['url', 'filename', 'content_type']) {
      if (typeof entry[key] !== 'string' || entry[key] === '') errors[`${at}.${key}`] = 'This field is required.';
    }
    if (typeof entry.url !== 'string') return;
    const file = fileOfDownloadUrl(context.state, principal, entry.url);
    if (file === undefined) {
      errors[`${at}.url`] =
        'Must be the download.url of a file uploaded through the Files API (https://app.close.com/go/file/…).';
      return;
    }
    total += file.bytes!.length;
    attachments.push({
      url: entry.url,
      filename: String(entry.filename),
      content_type: String(entry.content_type),
      size: file.bytes!.length,
    });
  });
  if (total > MAX_ATTACHMENT_BYTES_PER_MESSAGE) {
    errors.attachments = `Attachments total ${total} bytes; at most ${CLOSE_MAX_FILE_BYTES} per message.`;
  }
  return attachments;
}
