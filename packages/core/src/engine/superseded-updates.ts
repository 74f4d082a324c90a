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
 * included) supersedes. Events of the same time supersede nothing: they go in arrival order.
 */
export function supersededUpdates(
  updates: readonly CoexistenceEvent[],
  known: readonly CoexistenceEvent[],
): Set<string> {
  const byTarget = new Map<string, CoexistenceEvent[]>();
  for (const event of known) {
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
    if (others?.some((other) => other.id !== update.id && supersedes(other, update))) {
      superseded.add(update.id);
    }
  }
  return superseded;
}

function supersedes(other: CoexistenceEvent, update: CoexistenceEvent): boolean {
  const later = Date.parse(other.occurredAt) > Date.parse(update.occurredAt);
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
