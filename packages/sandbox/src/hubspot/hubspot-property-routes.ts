import type { HubSpotRoute } from './hubspot-object-routes.ts';
import type { HubSpotPropertyDefinition } from './hubspot-properties.ts';
import { type HubSpotOwner, type HubSpotRouteHandler, objectTypeOf, parseBody } from './hubspot-route-context.ts';
import { propertyCreateSchema } from './hubspot-wire-schemas.ts';

/*
 * Properties v3 (https://developers.hubspot.com/docs/api-reference/latest/crm/properties) and owners
 * (https://developers.hubspot.com/docs/api-reference/latest/crm/owners). Unique properties: `hasUniqueValue: true`
 * on new properties only, at most 10 per object (https://developers.hubspot.com/changelog/unique-properties-for-contacts).
 * Whether HubSpot allows unique properties on communications is unverified (crm-apis.md §2.3): the emulator allows
 * them unless `uniquePropertiesOnCommunications: false`.
 */

const listProperties: HubSpotRouteHandler = (request, context) => {
  const type = objectTypeOf(request.params.objectType, context);
  if (!type.ok) return type.response;
  const archived = request.query.get('archived') === 'true';
  const results = [...context.account.state.properties(type.objectType).values()].filter(
    (definition) => definition.archived === archived,
  );
  return { status: 200, body: { results } };
};

const getProperty: HubSpotRouteHandler = (request, context) => {
  const type = objectTypeOf(request.params.objectType, context);
  if (!type.ok) return type.response;
  const definition = context.account.state.properties(type.objectType).get(request.params.propertyName!);
  if (!definition) {
    return context.errors.notFound(`Unable to find property with name ${request.params.propertyName}`);
  }
  return { status: 200, body: definition };
};

const createProperty: HubSpotRouteHandler = (request, context) => {
  const type = objectTypeOf(request.params.objectType, context);
  if (!type.ok) return type.response;
  const parsed = parseBody(request, propertyCreateSchema, context);
  if (!parsed.ok) return parsed.response;
  const input = parsed.body;
  const state = context.account.state;
  if (state.properties(type.objectType).has(input.name)) {
    // [inferred] wording and category of HubSpot's duplicate-property 409.
    return context.errors.error(409, 'OBJECT_ALREADY_EXISTS', `Property named '${input.name}' already exists.`, {
      context: { name: [input.name] },
    });
  }
  if (input.type === 'enumeration' && (input.options ?? []).length === 0 && !input.externalOptions) {
    return context.errors.validation(`Enumeration property "${input.name}" needs at least one option.`, [
      { message: 'options must not be empty for type enumeration', in: 'options' },
    ]);
  }
  if (input.hasUniqueValue) {
    if (type.objectType === 'communications' && !context.settings.uniquePropertiesOnCommunications) {
      return context.errors.validation(`Unique properties (hasUniqueValue) are not supported on communications.`, [
        { message: 'hasUniqueValue is not supported for this object type', in: 'hasUniqueValue' },
      ]);
    }
    const custom = [...state.properties(type.objectType).values()].filter(
      (definition) => definition.hasUniqueValue && !definition.hubspotDefined && !definition.archived,
    );
    if (custom.length >= context.settings.maxUniquePropertiesPerObject) {
      return context.errors.validation(
        `The ${type.objectType} object already has ${custom.length} unique properties, the maximum is ${context.settings.maxUniquePropertiesPerObject}.`,
        [{ message: 'too many unique properties', in: 'hasUniqueValue' }],
      );
    }
  }
  const now = new Date(context.now()).toISOString();
  const definition: HubSpotPropertyDefinition = {
    name: input.name,
    label: input.label,
    type: input.type,
    fieldType: input.fieldType,
    groupName: input.groupName,
    description: input.description ?? '',
    options: (input.options ?? []).map((option, index) => ({
      label: option.label,
      value: option.value,
      displayOrder: option.displayOrder ?? index,
      hidden: option.hidden ?? false,
      ...(option.description === undefined ? {} : { description: option.description }),
    })),
    displayOrder: input.displayOrder ?? -1,
    calculated: false,
    externalOptions: input.externalOptions ?? false,
    hasUniqueValue: input.hasUniqueValue ?? false,
    hidden: input.hidden ?? false,
    hubspotDefined: false,
    formField: input.formField ?? false,
    modificationMetadata: { archivable: true, readOnlyDefinition: false, readOnlyValue: false },
    createdAt: now,
    updatedAt: now,
    archived: false,
  };
  state.defineProperty(type.objectType, definition);
  return { status: 201, body: definition };
};

function presentOwner(owner: HubSpotOwner) {
  return {
    id: String(owner.id),
    email: owner.email,
    firstName: owner.firstName ?? '',
    lastName: owner.lastName ?? '',
    userId: owner.userId ?? Number(owner.id),
    userIdIncludingInactive: owner.userId ?? Number(owner.id),
    type: 'PERSON',
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
    archived: owner.archived ?? false,
    teams: [],
  };
}

const listOwners: HubSpotRouteHandler = (request, context) => {
  const limit = Number(request.query.get('limit') ?? 100);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
    return context.errors.validation(`limit must be an integer from 1 to 500, got ${request.query.get('limit')}`);
  }
  const archived = request.query.get('archived') === 'true';
  const email = request.query.get('email')?.toLowerCase();
  const matching = context.settings.owners.filter(
    (owner) => (owner.archived ?? false) === archived && (!email || owner.email.toLowerCase() === email),
  );
  const offset = Number(request.query.get('after') ?? 0) || 0;
  const page = matching.slice(offset, offset + limit);
  const body: Record<string, unknown> = { results: page.map(presentOwner) };
  if (offset + limit < matching.length) {
    body.paging = { next: { after: String(offset + limit), link: `?after=${offset + limit}` } };
  }
  return { status: 200, body };
};

const getOwner: HubSpotRouteHandler = (request, context) => {
  const byUserId = request.query.get('idProperty') === 'userId';
  const owner = context.settings.owners.find((candidate) =>
    byUserId
      ? String(candidate.userId ?? candidate.id) === request.params.ownerId
      : String(candidate.id) === request.params.ownerId,
  );
  if (!owner) return context.errors.notFound(`Owner ${request.params.ownerId} not found`);
  return { status: 200, body: presentOwner(owner) };
};

/** The properties and owners routes. */
export const hubSpotPropertyRoutes: HubSpotRoute[] = [
  { method: 'GET', pattern: '/crm/v3/properties/:objectType', handler: listProperties },
  { method: 'POST', pattern: '/crm/v3/properties/:objectType', handler: createProperty },
  { method: 'GET', pattern: '/crm/v3/properties/:objectType/:propertyName', handler: getProperty },
  { method: 'GET', pattern: '/crm/v3/owners', handler: listOwners },
  { method: 'GET', pattern: '/crm/v3/owners/:ownerId', handler: getOwner },
];
