import type { ClosePrincipal } from './close-auth.ts';
import { normalizeClosePhone } from './close-phone.ts';
import { closeFieldErrors, closeNotFound, closeOk } from './close-responses.ts';
import {
  type CloseRouteContext,
  isObject,
  pageOf,
  projectFields,
  readObjectBody,
  readPaging,
} from './close-route-context.ts';
import type { CloseContact, CloseContactPhone, CloseLead, CloseState } from './close-state.ts';

const LEAD_FIELDS = new Set(['name', 'description', 'url', 'status_label', 'custom', 'contacts']);
const CONTACT_FIELDS = new Set(['lead_id', 'name', 'title', 'phones', 'emails']);
/** Maximum `_limit` of `/lead/` and `/contact/` lists (assumption: Close documents a per-resource maximum only). */
const MAX_LIST_LIMIT = 100;

/**
 * Leads, contacts and users (https://developer.close.com/api/resources/leads,
 * https://developer.close.com/api/resources/contacts, https://developer.close.com/api/resources/users).
 */
export function registerCloseLeadRoutes(context: CloseRouteContext): void {
  const { state } = context;

  context.route('POST', '/lead/', (request, principal) => {
    const body = readObjectBody(request);
    if (!isObject(body)) return body;
    const errors: Record<string, string> = {};
    const lead = readLeadFields(body, errors, true);
    const contactInputs: ContactFields[] = [];
    if (body.contacts !== undefined) {
      if (!Array.isArray(body.contacts)) errors.contacts = 'Must be a list of contacts.';
      else
        body.contacts.forEach((contact, index) => {
          contactInputs.push(readContactFields(contact, `contacts.${index}`, errors, context, false));
        });
    }
    if (Object.keys(errors).length > 0) return closeFieldErrors(errors);
    const now = state.timestamp();
    const record: CloseLead = {
      id: state.nextId('lead'),
      organization_id: principal.organizationId,
      name: lead.name ?? '',
      display_name: lead.name ?? '',
      description: lead.description ?? '',
      url: lead.url ?? null,
      status_label: lead.status_label ?? 'Potential',
      custom: lead.custom ?? {},
      created_by: principal.userId,
      updated_by: principal.userId,
      date_created: now,
      date_updated: now,
    };
    state.leads.set(record.id, record);
    for (const input of contactInputs) createContact(state, principal, record.id, input);
    return closeOk(renderLead(state, record));
  });

  context.route('GET', '/lead/', (request, principal) => {
    const paging = readPaging(request.query, MAX_LIST_LIMIT);
    if (!('limit' in paging)) return paging;
    const leads = [...state.leads.values()].filter((lead) => lead.organization_id === principal.organizationId);
    const fields = request.query.get('_fields');
    return pageOf(leads, paging, (lead) => projectFields(renderLead(state, lead), fields));
  });

  context.route('GET', '/lead/{id}/', (request, principal) => {
    const lead = findLead(state, principal, request.params.id!);
    if (lead === undefined) return closeNotFound(`Lead ${request.params.id}`);
    return closeOk(projectFields(renderLead(state, lead), request.query.get('_fields')));
  });

  context.route('PUT', '/lead/{id}/', (request, principal) => {
    const lead = findLead(state, principal, request.params.id!);
    if (lead === undefined) return closeNotFound(`Lead ${request.params.id}`);
    const body = readObjectBody(request);
    if (!isObject(body)) return body;
    const errors: Record<string, string> = {};
    if (body.contacts !== undefined) errors.contacts = 'Contacts are changed through /contact/, not the lead.';
    const fields = readLeadFields(body, errors, false);
    if (Object.keys(errors).length > 0) return closeFieldErrors(errors);
    if (fields.name !== undefined) lead.name = lead.display_name = fields.name;
    if (fields.description !== undefined) lead.description = fields.description;
    if (fields.url !== undefined) lead.url = fields.url;
    if (fields.status_label !== undefined) lead.status_label = fields.status_label;
    if (fields.custom !== undefined) lead.custom = { ...lead.custom, ...fields.custom };
    lead.updated_by = principal.userId;
    lead.date_updated = state.timestamp();
    return closeOk(renderLead(state, lead));
  });

  context.route('POST', '/contact/', (request, principal) => {
    const body = readObjectBody(request);
    if (!isObject(body)) return body;
    const errors: Record<string, string> = {};
    const fields = readContactFields(body, '', errors, context, true);
    if (fields.lead_id !== undefined && findLead(state, principal, fields.lead_id) === undefined) {
      errors.lead_id = `Lead ${fields.lead_id} does not exist.`;
    }
    if (Object.keys(errors).length > 0) return closeFieldErrors(errors);
    return closeOk(createContact(state, principal, fields.lead_id!, fields));
  });

  context.route('GET', '/contact/', (request, principal) => {
    const paging = readPaging(request.query, MAX_LIST_LIMIT);
    if (!('limit' in paging)) return paging;
    const leadId = request.query.get('lead_id');
    const contacts = [...state.contacts.values()].filter(
      (contact) =>
        contact.organization_id === principal.organizationId && (leadId === null || contact.lead_id === leadId),
    );
    const fields = request.query.get('_fields');
    return pageOf(contacts, paging, (contact) => projectFields(contact, fields));
  });

  context.route('GET', '/contact/{id}/', (request, principal) => {
    const contact = findContact(state, principal, request.params.id!);
    if (contact === undefined) return closeNotFound(`Contact ${request.params.id}`);
    return closeOk(projectFields(contact, request.query.get('_fields')));
  });

  context.route('PUT', '/contact/{id}/', (request, principal) => {
    const contact = findContact(state, principal, request.params.id!);
    if (contact === undefined) return closeNotFound(`Contact ${request.params.id}`);
    const body = readObjectBody(request);
    if (!isObject(body)) return body;
    const errors: Record<string, string> = {};
    const fields = readContactFields(body, '', errors, context, false);
    if (fields.lead_id !== undefined && findLead(state, principal, fields.lead_id) === undefined) {
      errors.lead_id = `Lead ${fields.lead_id} does not exist.`;
    }
    if (Object.keys(errors).length > 0) return closeFieldErrors(errors);
    if (fields.lead_id !== undefined) contact.lead_id = fields.lead_id;
    if (fields.name !== undefined) contact.name = contact.display_name = fields.name;
    if (fields.title !== undefined) contact.title = fields.title;
    if (fields.phones !== undefined) contact.phones = fields.phones;
    if (fields.emails !== undefined) contact.emails = fields.emails;
    contact.updated_by = principal.userId;
    contact.date_updated = state.timestamp();
    return closeOk(contact);
  });

  context.route('GET', '/me/', (_request, principal) => {
    const user = state.users.find((candidate) => candidate.id === principal.userId);
    if (user === undefined) return closeNotFound(`User ${principal.userId}`);
    return closeOk({ ...user, organizations: [{ id: principal.organizationId, name: principal.organizationId }] });
  });

  context.route('GET', '/user/', (request, principal) => {
    const paging = readPaging(request.query, MAX_LIST_LIMIT);
    if (!('limit' in paging)) return paging;
    const users = state.users.filter((user) => user.organization_id === principal.organizationId);
    return pageOf(users, paging, (user) => user);
  });

  context.route('GET', '/user/{id}/', (request, principal) => {
    const user = state.users.find(
      (candidate) => candidate.id === request.params.id && candidate.organization_id === principal.organizationId,
    );
    return user === undefined ? closeNotFound(`User ${request.params.id}`) : closeOk(user);
  });
}

/** Finds a lead of the caller's organization. */
export function findLead(state: CloseState, principal: ClosePrincipal, id: string): CloseLead | undefined {
  const lead = state.leads.get(id);
  return lead?.organization_id === principal.organizationId ? lead : undefined;
}

/** Finds a contact of the caller's organization. */
export function findContact(state: CloseState, principal: ClosePrincipal, id: string): CloseContact | undefined {
  const contact = state.contacts.get(id);
  return contact?.organization_id === principal.organizationId ? contact : undefined;
}

interface LeadFields {
  name?: string;
  description?: string;
  url?: string | null;
  status_label?: string;
  custom?: Record<string, unknown>;
}

function readLeadFields(body: Record<string, unknown>, errors: Record<string, string>, creating: boolean): LeadFields {
  const fields: LeadFields = {};
  for (const [key, value] of Object.entries(body)) {
    if (key.startsWith('custom.') && key.length > 7) {
      // Close accepts custom fields both as `custom: {cf_x: v}` and as top-level `"custom.cf_x": v`.
      fields.custom = { ...fields.custom, [key.slice(7)]: value };
      continue;
    }
    if (!LEAD_FIELDS.has(key)) {
      errors[key] = 'Unknown field.';
      continue;
    }
    if (key === 'contacts') continue;
    if (key === 'custom') {
      if (!isObject(value)) errors.custom = 'Must be an object of custom field values.';
      else fields.custom = { ...fields.custom, ...value };
    } else if (key === 'url') {
      if (value !== null && typeof value !== 'string') errors.url = 'Must be a string or null.';
      else fields.url = value;
    } else if (typeof value !== 'string') errors[key] = 'Must be a string.';
    else fields[key as 'name' | 'description' | 'status_label'] = value;
  }
  if (creating && fields.name !== undefined && fields.name.trim() === '') errors.name = 'Must not be empty.';
  return fields;
}

interface ContactFields {
  lead_id?: string;
  name?: string;
  title?: string;
  phones?: CloseContactPhone[];
  emails?: { email: string; type: string }[];
}

function readContactFields(
  input: unknown,
  prefix: string,
  errors: Record<string, string>,
  context: CloseRouteContext,
  requireLead: boolean,
): ContactFields {
  const at = (field: string): string => (prefix === '' ? field : `${prefix}.${field}`);
  const fields: ContactFields = {};
  if (!isObject(input)) {
    errors[prefix || 'body'] = 'Must be an object.';
    return fields;
  }
  for (const [key, value] of Object.entries(input)) {
    // Inline contacts of POST /lead/ take their lead from the new lead.
    if (!CONTACT_FIELDS.has(key) || (prefix !== '' && key === 'lead_id')) errors[at(key)] = 'Unknown field.';
    else if (key === 'phones') fields.phones = readPhones(value, at('phones'), errors, context);
    else if (key === 'emails') fields.emails = readEmails(value, at('emails'), errors);
    else if (typeof value !== 'string') errors[at(key)] = 'Must be a string.';
    else fields[key as 'lead_id' | 'name' | 'title'] = value;
  }
  if (requireLead && fields.lead_id === undefined) errors[at('lead_id')] = 'This field is required.';
  return fields;
}

function readPhones(
  value: unknown,
  path: string,
  errors: Record<string, string>,
  context: CloseRouteContext,
): CloseContactPhone[] {
  const phones: CloseContactPhone[] = [];
  if (!Array.isArray(value)) {
    errors[path] = 'Must be a list of {phone, type}.';
    return phones;
  }
  value.forEach((entry, index) => {
    const at = `${path}.${index}`;
    if (!isObject(entry) || typeof entry.phone !== 'string') {
      errors[`${at}.phone`] = 'This field is required.';
      return;
    }
    // `phone_formatted` and `country` are read-only echoes of a fetched contact: accepted and recomputed.
    const unknown = Object.keys(entry).filter((key) => !['phone', 'type', 'phone_formatted', 'country'].includes(key));
    for (const key of unknown) errors[`${at}.${key}`] = 'Unknown field.';
    if (entry.type !== undefined && typeof entry.type !== 'string') errors[`${at}.type`] = 'Must be a string.';
    const normalized = normalizeClosePhone(entry.phone, context.defaultCountry);
    if (normalized === undefined) errors[`${at}.phone`] = `Invalid phone number: ${JSON.stringify(entry.phone)}.`;
    else phones.push({ ...normalized, type: typeof entry.type === 'string' ? entry.type : 'office' });
  });
  return phones;
}

function readEmails(value: unknown, path: string, errors: Record<string, string>): { email: string; type: string }[] {
  const emails: { email: string; type: string }[] = [];
  if (!Array.isArray(value)) {
    errors[path] = 'Must be a list of {email, type}.';
    return emails;
  }
  value.forEach((entry, index) => {
    const at = `${path}.${index}`;
    if (!isObject(entry) || typeof entry.email !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(entry.email)) {
      errors[`${at}.email`] = 'Enter a valid email address.';
      return;
    }
    for (const key of Object.keys(entry))
      if (key !== 'email' && key !== 'type') errors[`${at}.${key}`] = 'Unknown field.';
    emails.push({ email: entry.email, type: typeof entry.type === 'string' ? entry.type : 'office' });
  });
  return emails;
}

function createContact(
  state: CloseState,
  principal: ClosePrincipal,
  leadId: string,
  fields: ContactFields,
): CloseContact {
  const now = state.timestamp();
  const contact: CloseContact = {
    id: state.nextId('cont'),
    organization_id: principal.organizationId,
    lead_id: leadId,
    name: fields.name ?? '',
    display_name: fields.name ?? '',
    title: fields.title ?? '',
    phones: fields.phones ?? [],
    emails: fields.emails ?? [],
    created_by: principal.userId,
    updated_by: principal.userId,
    date_created: now,
    date_updated: now,
  };
  state.contacts.set(contact.id, contact);
  return contact;
}

function renderLead(state: CloseState, lead: CloseLead): Record<string, unknown> {
  const contacts = [...state.contacts.values()].filter((contact) => contact.lead_id === lead.id);
  const custom: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(lead.custom)) custom[`custom.${key}`] = value;
  return { ...lead, ...custom, contacts };
}
