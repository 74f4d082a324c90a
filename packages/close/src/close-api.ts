/**
 * Zod schemas of the Close wire format the adapter reads (crm-apis.md §4; https://developer.close.com/api/), and the
 * TypeScript shapes of what it sends. Responses are parsed loosely (`looseObject`): Close adds fields over time, and
 * the adapter only relies on the ones named here.
 */
import { z } from 'zod';

/** The default API base URL. */
export const CLOSE_DEFAULT_BASE_URL = 'https://api.close.com/api/v1';

/** A phone on a Close contact; Close normalizes `phone` to E.164 when it can parse it. */
export const closeContactPhoneSchema = z.looseObject({
  phone: z.string(),
  phone_formatted: z.string().optional(),
  type: z.string().optional(),
});

/** A contact (`/contact/`, and inline in a lead). */
export const closeContactSchema = z.looseObject({
  id: z.string(),
  lead_id: z.string().optional(),
  name: z.string().nullish(),
  phones: z.array(closeContactPhoneSchema).optional(),
});
export type CloseWireContact = z.infer<typeof closeContactSchema>;

/** A lead as `POST /lead/` answers it, with its contacts inline. */
export const closeLeadSchema = z.looseObject({
  id: z.string(),
  name: z.string().nullish(),
  contacts: z.array(closeContactSchema).optional(),
});
export type CloseWireLead = z.infer<typeof closeLeadSchema>;

/** One page of `POST /data/search/`: `{data: [{__object_type, id, …_fields}], cursor}`. */
export const closeSearchResponseSchema = z.looseObject({
  data: z.array(
    z.looseObject({
      __object_type: z.string().optional(),
      id: z.string(),
      lead_id: z.string().optional(),
      name: z.string().nullish(),
      phones: z.array(closeContactPhoneSchema).optional(),
    }),
  ),
  cursor: z.string().nullish(),
});
export type CloseSearchResponse = z.infer<typeof closeSearchResponseSchema>;

/** A WhatsApp message activity, as much of it as the adapter reads back. */
export const closeWhatsAppActivitySchema = z.looseObject({
  id: z.string(),
  lead_id: z.string().nullish(),
  contact_id: z.string().nullish(),
  direction: z.enum(['incoming', 'outgoing']).optional(),
  external_whatsapp_message_id: z.string().optional(),
  message_markdown: z.string().optional(),
  response_to_id: z.string().nullish(),
  attachments: z.array(z.looseObject({ url: z.string(), filename: z.string(), content_type: z.string() })).optional(),
});
export type CloseWireWhatsAppActivity = z.infer<typeof closeWhatsAppActivitySchema>;

/** A `_skip`/`_limit` list page: `{data, has_more}`. */
export function closeListSchema<T extends z.ZodType>(item: T) {
  return z.looseObject({ data: z.array(item), has_more: z.boolean().optional() });
}

/** `POST /files/upload/`: where to send the bytes and where Close serves them. */
export const closeFileUploadSchema = z.looseObject({
  upload: z.looseObject({ url: z.string(), fields: z.record(z.string(), z.string()) }),
  download: z.looseObject({ url: z.string() }),
});
export type CloseFileUpload = z.infer<typeof closeFileUploadSchema>;

/** An integration link (https://developer.close.com/api/resources/integration-links). */
export const closeIntegrationLinkSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  type: z.string(),
  url: z.string(),
});
export type CloseWireIntegrationLink = z.infer<typeof closeIntegrationLinkSchema>;

/** `GET /me/`: the user behind the credentials and their organizations. */
export const closeMeSchema = z.looseObject({
  id: z.string(),
  organizations: z.array(z.looseObject({ id: z.string() })).optional(),
});

/** A 429 body: Close's Python client reads `error.rate_reset` (seconds) (crm-apis.md §4.4). */
export const closeRateLimitBodySchema = z.looseObject({
  error: z.looseObject({ rate_reset: z.number().nonnegative().optional(), message: z.string().optional() }),
});

/** A 400 body: `{"errors": [...], "field-errors": {field: message}}`, or `{"error": message}`. */
export const closeErrorBodySchema = z.looseObject({
  error: z.unknown().optional(),
  errors: z.array(z.unknown()).optional(),
  'field-errors': z.record(z.string(), z.unknown()).optional(),
});

/** The body of `POST /activity/whatsapp_message/` (all fields of crm-apis.md §4.1; unknown fields are rejected). */
export interface CloseWhatsAppActivityCreate {
  lead_id: string;
  contact_id: string;
  direction: 'incoming' | 'outgoing';
  external_whatsapp_message_id: string;
  activity_at: string;
  local_phone: string;
  remote_phone: string;
  message_markdown: string;
  response_to_id: string | null;
  integration_link?: string;
  attachments?: CloseAttachmentInput[];
}

/** The body of `PUT /activity/whatsapp_message/{id}/` the adapter sends (every field but the external id may change). */
export type CloseWhatsAppActivityUpdate = Partial<Omit<CloseWhatsAppActivityCreate, 'external_whatsapp_message_id'>>;

/** An attachment: a Files API download URL (`https://app.close.com/go/file/…`), its name and type. */
export interface CloseAttachmentInput {
  url: string;
  filename: string;
  content_type: string;
}

/** The body of `POST /lead/` with its contact inline. */
export interface CloseLeadCreate {
  name: string;
  contacts: { name?: string; phones: { phone: string; type: string }[] }[];
  /** Custom field values, e.g. the lead-owner user field (`cf_…`). */
  custom?: Record<string, string>;
}
