import { closeFieldErrors, closeNotFound, closeOk } from './close-responses.ts';
import {
  type CloseRouteContext,
  isObject,
  pageOf,
  projectFields,
  readObjectBody,
  readPaging,
} from './close-route-context.ts';
import type { CloseIntegrationLink } from './close-state.ts';

const LINK_TYPES = new Set(['lead', 'contact', 'opportunity']);

/**
 * Integration links: admin-defined URL templates shown on leads, contacts or opportunities
 * (https://developer.close.com/api/resources/integration-links) — how a Close org reaches our chat card.
 */
export function registerCloseIntegrationLinkRoutes(context: CloseRouteContext): void {
  const { state } = context;

  context.route('GET', '/integration_link/', (request, principal) => {
    const paging = readPaging(request.query, 100);
    if (!('limit' in paging)) return paging;
    const links = [...state.integrationLinks.values()].filter(
      (link) => link.organization_id === principal.organizationId,
    );
    const fields = request.query.get('_fields');
    return pageOf(links, paging, (link) => projectFields(link, fields));
  });

  context.route('GET', '/integration_link/{id}/', (request, principal) => {
    const link = state.integrationLinks.get(request.params.id!);
    if (link?.organization_id !== principal.organizationId)
      return closeNotFound(`Integration link ${request.params.id}`);
    return closeOk(link);
  });

  context.route('POST', '/integration_link/', (request, principal) => {
    const body = readObjectBody(request);
    if (!isObject(body)) return body;
    const errors = validateLink(body, true);
    if (Object.keys(errors).length > 0) return closeFieldErrors(errors);
    const now = state.timestamp();
    const link: CloseIntegrationLink = {
      id: state.nextId('intlink'),
      organization_id: principal.organizationId,
      name: body.name as string,
      type: body.type as CloseIntegrationLink['type'],
      url: body.url as string,
      created_by: principal.userId,
      date_created: now,
      date_updated: now,
    };
    state.integrationLinks.set(link.id, link);
    return closeOk(link);
  });

  context.route('PUT', '/integration_link/{id}/', (request, principal) => {
    const link = state.integrationLinks.get(request.params.id!);
    if (link?.organization_id !== principal.organizationId)
      return closeNotFound(`Integration link ${request.params.id}`);
    const body = readObjectBody(request);
    if (!isObject(body)) return body;
    const errors = validateLink(body, false);
    if (Object.keys(errors).length > 0) return closeFieldErrors(errors);
    if (body.name !== undefined) link.name = body.name as string;
    if (body.type !== undefined) link.type = body.type as CloseIntegrationLink['type'];
    if (body.url !== undefined) link.url = body.url as string;
    link.date_updated = state.timestamp();
    return closeOk(link);
  });

  context.route('DELETE', '/integration_link/{id}/', (request, principal) => {
    const link = state.integrationLinks.get(request.params.id!);
    if (link?.organization_id !== principal.organizationId)
      return closeNotFound(`Integration link ${request.params.id}`);
    state.integrationLinks.delete(link.id);
    return closeOk({});
  });
}

function validateLink(body: Record<string, unknown>, creating: boolean): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const key of Object.keys(body)) if (!['name', 'type', 'url'].includes(key)) errors[key] = 'Unknown field.';
  if ((creating || body.name !== undefined) && (typeof body.name !== 'string' || body.name === '')) {
    errors.name = 'This field is required.';
  }
  if ((creating || body.type !== undefined) && !LINK_TYPES.has(body.type as string)) {
    errors.type = 'Must be one of lead, contact, opportunity.';
  }
  if (
    (creating || body.url !== undefined) &&
    (typeof body.url !== 'string' || !/^https?:\/\/[^\s]+[^\n]*$/.test(body.url))
  ) {
    errors.url = 'Must be an http(s) URL template, e.g. https://app.example.com/chat?lead={{ lead.id }}.';
  }
  return errors;
}
