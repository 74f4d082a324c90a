/**
 * Events of `value.history[]`: a `history.chunk` per chunk followed by one message event per thread message
 * (`source: 'history'`), or `history.declined` for error 2593109 (other history errors become `webhook.error`).
 */
import type { CoexistenceEvent, HistoryChunkEvent } from '../events/coexistence-event.ts';
import { historyChunkEventId, historyDeclinedEventId } from './event-id.ts';
import type { MetaHistoryChunk, MetaHistoryItem } from './meta-webhook-schema.ts';
import { type ChangeContext, eventBase } from './normalize-context.ts';
import { historyContact, isBusinessSent, normalizeMessage } from './normalize-message.ts';
import { normalizeWebhookError } from './normalize-webhook-error.ts';
import { isHistoryChunk } from './validate-webhook-fast.ts';

/** The error code Meta sends when the business turned history sharing off in the Business App. */
export const HISTORY_DECLINED_ERROR_CODE = 2593109;

function isChunk(item: MetaHistoryItem): item is MetaHistoryChunk {
  return isHistoryChunk(item);
}

/** Appends the events of one `history[]` item at `path` to `events`. */
export function normalizeHistoryItem(
  item: MetaHistoryItem,
  path: string,
  context: ChangeContext,
  events: CoexistenceEvent[],
): void {
  if (!isChunk(item)) {
    item.errors.forEach((error, errorIndex) => {
      if (error.code !== HISTORY_DECLINED_ERROR_CODE) {
        events.push(normalizeWebhookError(error, `${path}.errors[${errorIndex}]`, context));
        return;
      }
      const details = error.error_data?.details;
      events.push({
        type: 'history.declined',
        ...eventBase(context, historyDeclinedEventId(context.phoneNumberId ?? context.wabaId, error.code)),
        code: error.code,
        ...(details !== undefined && { details }),
      });
    });
    return;
  }

  const threads = item.threads ?? [];
  let messageCount = 0;
  for (const thread of threads) messageCount += thread.messages?.length ?? 0;
  const phase = Number(item.metadata.phase);
  const chunkOrder = Number(item.metadata.chunk_order);
  const chunk: HistoryChunkEvent = {
    type: 'history.chunk',
    ...eventBase(context, historyChunkEventId(context.phoneNumberId ?? context.wabaId, phase, chunkOrder)),
    phase,
    chunkOrder,
    progress: Number(item.metadata.progress),
    threadCount: threads.length,
    messageCount,
  };
  events.push(chunk);

  for (let threadIndex = 0; threadIndex < threads.length; threadIndex++) {
    const thread = threads[threadIndex]!;
    const messages = thread.messages;
    if (messages === undefined) continue;
    for (let messageIndex = 0; messageIndex < messages.length; messageIndex++) {
      const message = messages[messageIndex]!;
      const businessSent = isBusinessSent(message, context);
      events.push(
        normalizeMessage(
          message,
          {
            actor: businessSent ? 'business_app' : 'customer',
            contact: historyContact(message, thread, businessSent, context),
            source: 'history',
            path: `${path}.threads[${threadIndex}].messages[${messageIndex}]`,
          },
          context,
        ),
      );
    }
  }
}
