/** `webhook.error` events from `value.errors[]` (system, app or account level errors such as 130429). */
import type { WebhookErrorEvent } from '../events/coexistence-event.ts';
import { hashedEventId } from './event-id.ts';
import type { MetaErrorObject } from './meta-webhook-schema.ts';
import { type ChangeContext, eventBase } from './normalize-context.ts';

/**
 * The event of one value-level error. Meta gives these no id or timestamp, so the id hashes the error, its path
 * and `entry.time` (when present): a redelivery dedupes, two errors in one payload do not collide.
 */
export function normalizeWebhookError(error: MetaErrorObject, path: string, context: ChangeContext): WebhookErrorEvent {
  const id = hashedEventId('webhook-error', {
    wabaId: context.wabaId,
    field: context.field,
    path,
    raw: [context.phoneNumberId ?? null, context.entryTime ?? null, error],
  });
  const event: WebhookErrorEvent = { type: 'webhook.error', ...eventBase(context, id), code: error.code };
  if (error.title !== undefined) event.title = error.title;
  if (error.message !== undefined) event.message = error.message;
  const details = error.error_data?.details;
  if (details !== undefined) event.details = details;
  return event;
}
