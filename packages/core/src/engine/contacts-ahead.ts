/**
 * The customers of a backfill's queued conversations, to be resolved (found, or created) ahead of their turn.
 *
 * A backfill is written thread by thread, longest first, so the conversations of customers that are new to the
 * CRM (not in the Business App's address book, not found by phone) come last, each batch of them waiting for a
 * search and a creation before its messages can go: at the end of a backfill, when no other batch is left to
 * overlap them. Resolving those customers as their history arrives moves that wait to where the call slots are
 * idle anyway, and the batches find their contacts resolved when their turn comes.
 */
import type { ContactRef } from '../events/coexistence-event.ts';

/** A customer to resolve: the contact reference of one of their messages and the business number it reached. */
export interface ContactAhead {
  ref: ContactRef;
  businessPhone: string | undefined;
}

/**
 * A bounded first-in, first-out queue of contact keys, each offered at most once (until `capacity` keys were seen:
 * then the memory of seen keys starts over, and a key offered again is only looked up again).
 */
export class ContactsAhead {
  readonly #queue = new Map<string, ContactAhead>();
  readonly #seen = new Set<string>();
  readonly #capacity: number;

  /** Creates a queue that holds and remembers at most `capacity` keys. */
  constructor(capacity = 20_000) {
    this.#capacity = capacity;
  }

  /** Keys waiting. */
  get size(): number {
    return this.#queue.size;
  }

  /** Queues a customer unless its key was offered before or the queue is full; answers whether it was queued. */
  offer(key: string, contact: ContactAhead): boolean {
    if (this.#seen.has(key) || this.#queue.size >= this.#capacity) return false;
    if (this.#seen.size >= this.#capacity) this.#seen.clear();
    this.#seen.add(key);
    this.#queue.set(key, contact);
    return true;
  }

  /** Removes and returns up to `limit` customers, oldest first. */
  take(limit: number): Map<string, ContactAhead> {
    const taken = new Map<string, ContactAhead>();
    for (const [key, contact] of this.#queue) {
      if (taken.size >= limit) break;
      taken.set(key, contact);
      this.#queue.delete(key);
    }
    return taken;
  }

  /** Forgets every queued and seen customer (the engine stopped: its batches resolve their own after a restart). */
  clear(): void {
    this.#queue.clear();
    this.#seen.clear();
  }
}
