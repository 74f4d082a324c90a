import { z } from 'zod';

/*
 * Request bodies of the HubSpot CRM endpoints the emulator serves, as zod schemas. Field names follow the
 * `@hubspot/api-client` 14.x models (`codegen/crm/{contacts,objects/communications,associations/v4,properties}/models`),
 * which mirror HubSpot's OpenAPI specs. Objects are strict: HubSpot's JSON reader rejects unknown fields
 * ("Invalid input JSON … Unrecognized field") [inferred], so a body the emulator accepts is one HubSpot accepts.
 */

/** A property value as HubSpot accepts it on the wire: strings, and also numbers, booleans and null. */
export const propertyValueSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** `properties` of a create/update input. */
export const propertiesSchema = z.record(z.string(), propertyValueSchema);

/** `AssociationSpec` (`associationCategory` + `associationTypeId`; both required since client 13.0.0). */
export const associationSpecSchema = z.strictObject({
  associationCategory: z.enum(['HUBSPOT_DEFINED', 'USER_DEFINED', 'INTEGRATOR_DEFINED']),
  associationTypeId: z.number().int(),
});

/** `PublicAssociationsForObject`: an inline association of a create input. */
export const inlineAssociationSchema = z.strictObject({
  to: z.strictObject({ id: z.union([z.string().min(1), z.number()]).transform(String) }),
  types: z.array(associationSpecSchema).min(1),
});

/** `SimplePublicObjectInputForCreate` (single create and each batch/create input). */
export const createInputSchema = z.strictObject({
  properties: propertiesSchema,
  associations: z.array(inlineAssociationSchema).optional(),
  objectWriteTraceId: z.string().optional(),
});

/** `SimplePublicObjectInput` (single PATCH). */
export const updateSingleInputSchema = z.strictObject({
  properties: propertiesSchema,
  objectWriteTraceId: z.string().optional(),
});

/** `SimplePublicObjectBatchInput` (batch/update input). */
export const batchUpdateInputSchema = z.strictObject({
  id: z.union([z.string().min(1), z.number()]).transform(String),
  idProperty: z.string().optional(),
  properties: propertiesSchema,
  objectWriteTraceId: z.string().optional(),
});

/** `SimplePublicObjectBatchInputUpsert` (batch/upsert input; the model has no `associations`). */
export const batchUpsertInputSchema = z.strictObject({
  id: z.union([z.string().min(1), z.number()]).transform(String),
  idProperty: z.string().optional(),
  properties: propertiesSchema,
  objectWriteTraceId: z.string().optional(),
});

/** `BatchInputSimplePublicObjectBatchInputForCreate`. */
export const batchCreateBodySchema = z.strictObject({ inputs: z.array(createInputSchema) });
/** `BatchInputSimplePublicObjectBatchInput`. */
export const batchUpdateBodySchema = z.strictObject({ inputs: z.array(batchUpdateInputSchema) });
/** `BatchInputSimplePublicObjectBatchInputUpsert`. */
export const batchUpsertBodySchema = z.strictObject({ inputs: z.array(batchUpsertInputSchema) });

/** `BatchReadInputSimplePublicObjectId`. */
export const batchReadBodySchema = z.strictObject({
  inputs: z.array(z.strictObject({ id: z.union([z.string().min(1), z.number()]).transform(String) })),
  properties: z.array(z.string()).optional(),
  propertiesWithHistory: z.array(z.string()).optional(),
  idProperty: z.string().optional(),
});

/** Search filter operators (`FilterOperatorEnum` of the client). */
export const filterOperatorSchema = z.enum([
  'EQ',
  'NEQ',
  'LT',
  'LTE',
  'GT',
  'GTE',
  'BETWEEN',
  'IN',
  'NOT_IN',
  'HAS_PROPERTY',
  'NOT_HAS_PROPERTY',
  'CONTAINS_TOKEN',
  'NOT_CONTAINS_TOKEN',
]);

const scalarSchema = z.union([z.string(), z.number(), z.boolean()]).transform(String);

/** `Filter`. */
export const filterSchema = z.strictObject({
  propertyName: z.string().min(1),
  operator: filterOperatorSchema,
  value: scalarSchema.optional(),
  highValue: scalarSchema.optional(),
  values: z.array(scalarSchema).optional(),
});

/** `FilterGroup`. */
export const filterGroupSchema = z.strictObject({ filters: z.array(filterSchema) });

/** A sort: the client sends strings; the raw API also takes `{ propertyName, direction }`. */
export const sortSchema = z.union([
  z.string().min(1),
  z.strictObject({ propertyName: z.string().min(1), direction: z.enum(['ASCENDING', 'DESCENDING']).optional() }),
]);

/** `PublicObjectSearchRequest`. */
export const searchBodySchema = z.strictObject({
  filterGroups: z.array(filterGroupSchema).optional(),
  query: z.string().optional(),
  sorts: z.array(sortSchema).optional(),
  properties: z.array(z.string()).optional(),
  limit: z.number().int().min(0).optional(),
  after: z.union([z.string(), z.number()]).transform(String).optional(),
});

/** `PropertyCreate` (Properties v3). */
export const propertyCreateSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'must start with a lowercase letter and hold only a-z, 0-9 and _'),
  label: z.string().min(1),
  type: z.enum(['string', 'number', 'date', 'datetime', 'enumeration', 'bool']),
  fieldType: z.enum([
    'textarea',
    'text',
    'date',
    'file',
    'number',
    'select',
    'radio',
    'checkbox',
    'booleancheckbox',
    'calculation_equation',
    'phonenumber',
    'html',
  ]),
  groupName: z.string().min(1),
  description: z.string().optional(),
  options: z
    .array(
      z.strictObject({
        label: z.string(),
        value: z.string(),
        description: z.string().optional(),
        displayOrder: z.number().optional(),
        hidden: z.boolean().optional(),
      }),
    )
    .optional(),
  displayOrder: z.number().optional(),
  hasUniqueValue: z.boolean().optional(),
  hidden: z.boolean().optional(),
  formField: z.boolean().optional(),
  externalOptions: z.boolean().optional(),
  referencedObjectType: z.string().optional(),
  calculationFormula: z.string().optional(),
  dataSensitivity: z.string().optional(),
});

/** `BatchInputPublicFetchAssociationsBatchRequest` (associations v4 batch read). */
export const associationsBatchReadBodySchema = z.strictObject({
  inputs: z.array(
    z.strictObject({
      id: z.union([z.string().min(1), z.number()]).transform(String),
      after: z.string().optional(),
    }),
  ),
});

/** A parsed search request. */
export type SearchBody = z.infer<typeof searchBodySchema>;
/** A parsed search filter. */
export type SearchFilter = z.infer<typeof filterSchema>;
/** A parsed inline association. */
export type InlineAssociation = z.infer<typeof inlineAssociationSchema>;
/** A parsed property definition request. */
export type PropertyCreateBody = z.infer<typeof propertyCreateSchema>;
/** A property value as received on the wire. */
export type WirePropertyValue = z.infer<typeof propertyValueSchema>;

/** Turns zod issues into HubSpot's `errors[]` entries (`{ message, in }`). */
export function describeIssues(error: z.ZodError): Array<{ message: string; in: string }> {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.') || '(body)';
    return { message: `${path}: ${issue.message}`, in: path };
  });
}
