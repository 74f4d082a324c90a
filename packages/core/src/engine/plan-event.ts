/**
 * Planning: what one event asks of the CRM, decided from the event alone so it can happen inside the ingest
 * transaction. The queue kind (contact, message, update, meta), the lane (live or history), the thread its
 * order is kept in, the message it targets and the time it sorts by.
 */
import type { CoexistenceEvent, ContactRef } from '../events/coexistence-event.ts';
import { contactKey, contactPhone } from '../models/contact.ts';
import { timelineTargetId } from '../models/timeline.ts';
import type { PlannedEvent } from '../store/coexist-store.ts';

/** Resolves contact keys with a bounded cache: phone normalization is the costliest step of planning. */
export class ContactKeyCache {
  readonly #cache = new Map<string, string | null>();
  /** Keys of references that carry a phone, by that phone: the key depends on nothing else when it is valid. */
  readonly #byPhone = new Map<string, string>();
  readonly #capacity: number;

  /** Creates a cache of at most `capacity` entries. */
  constructor(capacity = 50_000) {
    this.#capacity = capacity;
  }

  /** The stable contact key of a reference (`phone:+…` or `bsuid:…`), or `undefined` when it names nobody. */
  keyOf(ref: ContactRef | undefined): string | undefined {
    if (ref === undefined) return undefined;
    // Most references carry a phone (Meta's events do): looked up by it, without building a composite key.
    const phoneKey = ref.phone === undefined || ref.phone === '' ? undefined : this.#byPhone.get(ref.phone);
    if (phoneKey !== undefined) return phoneKey;
    const cacheKey = `${ref.phone ?? ''}\u0000${ref.waId ?? ''}\u0000${ref.userId ?? ''}`;
    const cached = this.#cache.get(cacheKey);
    if (cached !== undefined) return cached ?? undefined;
    // `normalizePhone` remembers its results, so the contact's find request and input reuse this parse.
    const phone = contactPhone(ref);
    const key = phone !== undefined ? `phone:${phone}` : contactKey(ref);
    if (this.#cache.size >= this.#capacity) this.#cache.clear();
    this.#cache.set(cacheKey, key ?? null);
    if (phone !== undefined && ref.phone !== undefined && ref.phone !== '' && key !== undefined) {
      if (this.#byPhone.size >= this.#capacity) this.#byPhone.clear();
      this.#byPhone.set(ref.phone, key);
    }
    return key;
  }
}

/** The contact a message or contact event is about. */
export function eventContact(event: CoexistenceEvent): ContactRef | undefined {
  switch (event.type) {
    case 'message.received':
    case 'message.echoed':
    case 'contact.synced':
    case 'contact.removed':
      return event.contact;
    default:
      return undefined;
  }
}

/** The thread (conversation) key of a message: business number and contact key. */
export function threadKeyOf(phoneNumberId: string | undefined, contactKeyValue: string | undefined): string {
  return `${phoneNumberId ?? '?'}|${contactKeyValue ?? '?'}`;
}

/** Plans one event for the queue; `connectionId` is `null` when no connection serves the event's number. */
export function planEvent(event: CoexistenceEvent, connectionId: string | null, keys: ContactKeyCache): PlannedEvent {
  const parsed = Date.parse(event.occurredAt);
  const sortKey = Number.isFinite(parsed) ? parsed : 0;
  switch (event.type) {
    case 'message.received':
    case 'message.echoed':
      return {
        event,
        connectionId,
        kind: 'message',
        lane: event.source === 'history' ? 'history' : 'live',
        threadKey: threadKeyOf(event.phoneNumberId, keys.keyOf(event.contact)),
        targetKey: event.message.id,
        sortKey,
      };
    case 'message.status':
    case 'message.edited':
    case 'message.revoked':
    case 'message.reaction':
    case 'media.available': {
      const target = timelineTargetId(event);
      if (target === undefined) break;
      return {
        event,
        connectionId,
        kind: 'update',
        // Media follow-ups belong to the backfill; everything else is live traffic.
        lane: event.type === 'media.available' ? 'history' : 'live',
        // Updates of one message are applied one claim at a time, in order.
        threadKey: `message|${target}`,
        targetKey: target,
        sortKey,
      };
    }
    case 'contact.synced':
      return {
        event,
        connectionId,
        kind: 'contact',
        lane: 'live',
        threadKey: `contact|${keys.keyOf(event.contact) ?? '?'}`,
        targetKey: null,
        sortKey,
      };
    case 'contact.removed':
      // No CRM write (a contact leaving the phone's address book stays in the CRM), but on its contact's thread, so
      // a chat card reads it with the contact's syncs and shows the profile name again.
      return {
        event,
        connectionId: '',
        kind: 'meta',
        lane: 'live',
        threadKey: `contact|${keys.keyOf(event.contact) ?? '?'}`,
        targetKey: null,
        sortKey,
      };
    default:
      break;
  }
  return {
    event,
    connectionId: '',
    kind: 'meta',
    lane: 'live',
    threadKey: event.phoneNumberId ?? `waba|${event.wabaId}`,
    targetKey: null,
    sortKey,
  };
}
