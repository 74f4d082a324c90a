/**
 * Updates a later one of the same message already supersedes. Meta delivers webhooks out of order and redelivers for
 * up to 7 days (meta-webhooks.md, delivery), and the adapters apply what they are sent — an edit replaces the text, a
 * reaction the actor's reaction, a media follow-up the content — so an update sent after a newer one would leave the
 * older state on the CRM record. The timeline model's rules (docs/models.md) decide: an edit older than another edit
 * of the message, a reaction older than another reaction (or removal) of the same actor, and a media follow-up of a
 * message that was edited or revoked are not sent.
 */
import type { CoexistenceEvent } from '../events/coexistence-event.ts';
import { timelineTargetId } from '../models/timeline.ts';

/** Whether `event` is an update this check can find superseded (edits, reactions, media follow-ups). */
export function canBeSuperseded(event: CoexistenceEvent): boolean {
  return event.type === 'message.edited' || event.type === 'message.reaction' || event.type === 'media.available';
}

/**
 * The ids of the `updates` that an event of `known` (the events stored for their messages, in any state, these
 * included, in `(time, arrival)` order as `listThreadEvents` gives them) supersedes. Of two updates of the same time
 * the one that arrived later wins (WhatsApp's timestamps have whole seconds): an earlier one is superseded too, so a
 * retry of it after the later one was sent cannot bring its older state back.
 */
export function supersededUpdates(
  updates: readonly CoexistenceEvent[],
  known: readonly CoexistenceEvent[],
): Set<string> {
  const byTarget = new Map<string, CoexistenceEvent[]>();
  const arrival = new Map<string, number>();
  for (const [index, event] of known.entries()) {
    arrival.set(event.id, index);
    const target = timelineTargetId(event);
    if (target === undefined) continue;
    const list = byTarget.get(target);
    if (list === undefined) byTarget.set(target, [event]);
    else list.push(event);
  }
  const superseded = new Set<string>();
  for (const update of updates) {
    const target = timelineTargetId(update);
    const others = target === undefined ? undefined : byTarget.get(target);
    const after = (other: CoexistenceEvent) => (arrival.get(other.id) ?? -1) > (arrival.get(update.id) ?? -1);
    if (others?.some((other) => other.id !== update.id && supersedes(other, update, after(other)))) {
      superseded.add(update.id);
    }
  }
  return superseded;
}

/** Whether `other` supersedes `update`; `arrivedAfter`: `other` arrived after it (decides between equal times). */
function supersedes(other: CoexistenceEvent, update: CoexistenceEvent, arrivedAfter: boolean): boolean {
  const otherAt = Date.parse(other.occurredAt);
  const updateAt = Date.parse(update.occurredAt);
  const later = otherAt > updateAt || (otherAt === updateAt && arrivedAfter);
  switch (update.type) {
    case 'message.edited':
      return other.type === 'message.edited' && later;
    case 'message.reaction':
      return other.type === 'message.reaction' && other.actor === update.actor && later;
    case 'media.available':
      // A follow-up carries the message as first sent: never over an edit or a revoke, whenever those came.
      return other.type === 'message.edited' || other.type === 'message.revoked';
    default:
      return false;
  }
}
