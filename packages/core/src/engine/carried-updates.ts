/**
 * Updates a message write can carry: media follow-ups and delivery statuses that arrived before their message was
 * written.
 *
 * A history placeholder's media follow-up arrives seconds after its chunk, but a backfill writes the chunk's
 * messages over minutes: the follow-up waits (parked) until its message is written, then costs a call of its own —
 * and the last of them run after the last message, a tail of calls the backfill waits for. A message record holds
 * the message's current state (content, status), so the write can carry the follow-ups already known: the engine
 * applies them to the record with the timeline model (`applyTimelineEvent`), and when the write succeeded it
 * completes those update events without a call of their own.
 *
 * Memory only and bounded (the oldest are forgotten first: statuses of messages never written — sent through the
 * Cloud API by another app — would otherwise fill it for good): an update not remembered here (after a restart, or
 * forgotten) is applied on its own as before, and applying an update twice is harmless (adapters apply updates
 * idempotently, statuses never move back), so forgetting is always safe.
 */
import type { CoexistenceEvent, MessageContent } from '../events/coexistence-event.ts';

/**
 * Whether a message record can carry this update: a media follow-up (of a history placeholder, when the message's
 * `content` is given), or a delivery status other than `failed`.
 */
export function isCarriableUpdate(event: CoexistenceEvent, content?: MessageContent): boolean {
  // The timeline model replaces placeholders only; adapters replace any content on a media update, so a follow-up
  // of a message that is not a placeholder (Meta sends none) keeps going as an update.
  if (event.type === 'media.available') return content === undefined || content.kind === 'media_placeholder';
  // The record has no field for a failure's error code: a failed status goes as an update, with its code.
  return event.type === 'message.status' && event.status !== 'failed' && (event.errors?.length ?? 0) === 0;
}

/** No updates (shared, frozen): what `of` answers for a message nothing waits for. */
const NO_UPDATES: readonly CoexistenceEvent[] = Object.freeze([]);

/** Update events waiting for their message's write, by message key, and those a successful write carried. */
export class CarriedUpdates {
  /** Message key → update event id → event. */
  readonly #waiting = new Map<string, Map<string, CoexistenceEvent>>();
  #waitingCount = 0;
  /** Ids of update events a successful message write carried. */
  readonly #carried = new Set<string>();
  readonly #capacity: number;

  /** Remembers at most `capacity` waiting updates and as many carried ones, forgetting the oldest first. */
  constructor(capacity = 20_000) {
    this.#capacity = capacity;
  }

  /** Update events remembered as waiting for their message. */
  get waiting(): number {
    return this.#waitingCount;
  }

  /** Remembers an update of the message `messageKey` (unless no record can carry it). */
  expect(messageKey: string, event: CoexistenceEvent): void {
    if (!isCarriableUpdate(event)) return;
    while (this.#waitingCount >= this.#capacity) {
      const [oldestKey, oldest] = this.#waiting.entries().next().value!;
      this.#waiting.delete(oldestKey);
      this.#waitingCount -= oldest.size;
    }
    let updates = this.#waiting.get(messageKey);
    if (updates === undefined) {
      updates = new Map();
      this.#waiting.set(messageKey, updates);
    }
    if (updates.has(event.id)) return;
    updates.set(event.id, event);
    this.#waitingCount++;
  }

  /** The updates a write of the message `messageKey` (with this `content`) can carry, oldest first. */
  of(messageKey: string, content: MessageContent): readonly CoexistenceEvent[] {
    const updates = this.#waiting.get(messageKey);
    if (updates === undefined) return NO_UPDATES;
    return [...updates.values()].filter((event) => isCarriableUpdate(event, content));
  }

  /** A write of `messageKey` carrying `events` succeeded: their update events need no call of their own. */
  carried(messageKey: string, events: readonly CoexistenceEvent[]): void {
    const updates = this.#waiting.get(messageKey);
    for (const event of events) {
      if (updates?.delete(event.id)) this.#waitingCount--;
      if (this.#carried.size >= this.#capacity) this.#carried.delete(this.#carried.values().next().value!);
      this.#carried.add(event.id);
    }
    if (updates?.size === 0) this.#waiting.delete(messageKey);
  }

  /** Whether a successful write carried the update event `eventId` (answered once: the event is forgotten). */
  consume(eventId: string): boolean {
    return this.#carried.delete(eventId);
  }

  /** Forgets an update applied on its own. */
  forget(messageKey: string, eventId: string): void {
    const updates = this.#waiting.get(messageKey);
    if (updates?.delete(eventId)) this.#waitingCount--;
    if (updates?.size === 0) this.#waiting.delete(messageKey);
  }

  /** Forgets everything (the engine stopped: after a restart the updates are applied on their own). */
  clear(): void {
    this.#waiting.clear();
    this.#carried.clear();
    this.#waitingCount = 0;
  }
}
