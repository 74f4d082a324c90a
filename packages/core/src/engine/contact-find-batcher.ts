/**
 * Coalesces contact look-ups of one connection into full `findContacts` calls. Every message batch and contact
 * sync in flight needs a few contacts resolved; searching each batch's handful separately spends a whole search
 * request (HubSpot: 5 per second per account) on a few phones. The batcher pools them: a look-up waits a little
 * (`lingerMs`, short for live traffic) for others to join, a call is dispatched as soon as a batch is full, and a
 * call waiting for its rate-limit token keeps taking newcomers until the moment it may start (late binding). A key
 * already pending or in flight joins that look-up instead of being searched twice; a live look-up of a key whose
 * backfill call is still waiting for its token moves the key to a live call of its own.
 */
import type { ContactFindRequest, ContactFindResult } from '../adapter/crm-records.ts';
import type { QueueLane } from '../store/coexist-store.ts';

/** The outcome of one key: the adapter's result, or the error of the call (a `CrmError`, or a shutdown). */
export type ContactFindOutcome = ContactFindResult | Error;

/** Sends one `findContacts` call; `take()` is called once the call may start and returns the requests to send. */
export type ContactFindSend = (
  lane: QueueLane,
  take: () => ContactFindRequest[],
) => Promise<{ requests: readonly ContactFindRequest[]; outcomes: readonly ContactFindOutcome[] }>;

/** Options of the `ContactFindBatcher`. */
export interface ContactFindBatcherOptions {
  /** Most requests per call (the adapter's `searchBatchSize`), read at every dispatch. */
  batchSize: () => number;
  /** How long a look-up may wait for others to fill its call. @default { live: 0, history: 100 } */
  lingerMs?: Partial<Record<QueueLane, number>>;
  send: ContactFindSend;
}

interface Entry {
  request: ContactFindRequest;
  lane: QueueLane;
  /** Epoch ms (performance clock) at which the entry stops waiting for company. */
  due: number;
  reserved: boolean;
  waiters: ((outcome: ContactFindOutcome) => void)[];
}

/** Pools contact look-ups into full `findContacts` calls (see the module comment). */
export class ContactFindBatcher {
  readonly #options: ContactFindBatcherOptions;
  readonly #linger: Record<QueueLane, number>;
  /** Keys waiting to be sent, in arrival order. */
  readonly #pending = new Map<string, Entry>();
  /** Keys sent and not answered yet. */
  readonly #inFlight = new Map<string, Entry>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Number.POSITIVE_INFINITY;

  /** Creates a batcher over a `send` function. */
  constructor(options: ContactFindBatcherOptions) {
    this.#options = options;
    this.#linger = { live: options.lingerMs?.live ?? 0, history: options.lingerMs?.history ?? 100 };
  }

  /** Looks up `requests` (keys must be distinct); resolves with every key's outcome, never rejects. */
  find(requests: readonly ContactFindRequest[], lane: QueueLane): Promise<Map<string, ContactFindOutcome>> {
    const now = performance.now();
    const waits = requests.map(
      (request) =>
        new Promise<[string, ContactFindOutcome]>((resolve) => {
          const waiter = (outcome: ContactFindOutcome) => resolve([request.key, outcome]);
          const known = this.#inFlight.get(request.key) ?? this.#pending.get(request.key);
          if (known !== undefined) {
            known.waiters.push(waiter);
            if (lane === 'live' && known.lane === 'history' && !this.#inFlight.has(request.key)) {
              if (known.reserved) {
                // Held by a backfill call still waiting for its token: a live look-up does not wait behind it.
                // The new entry replaces it in `#pending`, which is what makes that call's `take()` leave it out.
                this.#pending.set(request.key, {
                  request,
                  lane,
                  due: now + this.#linger.live,
                  reserved: false,
                  waiters: known.waiters,
                });
              } else {
                known.lane = 'live';
                known.due = Math.min(known.due, now + this.#linger.live);
              }
            }
            return;
          }
          this.#pending.set(request.key, {
            request,
            lane,
            due: now + this.#linger[lane],
            reserved: false,
            waiters: [waiter],
          });
        }),
    );
    this.#plan();
    return Promise.all(waits).then((entries) => new Map(entries));
  }

  /** Dispatches full batches now and schedules the rest for when their linger ends. */
  #plan(): void {
    const size = Math.max(1, this.#options.batchSize());
    let free = this.#unreserved();
    while (free.length >= size) {
      this.#dispatch(free.slice(0, size));
      free = free.slice(size);
    }
    if (free.length === 0) return;
    const now = performance.now();
    const due = Math.min(...free.map((entry) => entry.due));
    if (due <= now) {
      this.#dispatch(free);
      return;
    }
    if (this.#timer !== undefined && this.#timerAt <= due) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = due;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Number.POSITIVE_INFINITY;
        this.#plan();
      },
      Math.max(0, due - now),
    );
  }

  /** Unreserved pending entries, live first, then in arrival order. */
  #unreserved(): Entry[] {
    const entries = [...this.#pending.values()].filter((entry) => !entry.reserved);
    return [...entries.filter((entry) => entry.lane === 'live'), ...entries.filter((entry) => entry.lane !== 'live')];
  }

  #dispatch(reserved: Entry[]): void {
    for (const entry of reserved) entry.reserved = true;
    const lane: QueueLane = reserved.some((entry) => entry.lane === 'live') ? 'live' : 'history';
    let sent: Entry[] | undefined;
    const take = (): ContactFindRequest[] => {
      // The call may start now: top the batch up with whoever joined while it waited for its token.
      const size = Math.max(1, this.#options.batchSize());
      const batch = reserved.filter((entry) => this.#pending.get(entry.request.key) === entry);
      for (const entry of this.#unreserved()) {
        if (batch.length >= size) break;
        entry.reserved = true;
        batch.push(entry);
      }
      for (const entry of batch) {
        this.#pending.delete(entry.request.key);
        this.#inFlight.set(entry.request.key, entry);
      }
      sent = batch;
      return batch.map((entry) => entry.request);
    };
    this.#options.send(lane, take).then(
      ({ requests, outcomes }) => {
        (sent ?? []).forEach((entry, index) => {
          const outcome =
            requests[index]?.key === entry.request.key
              ? outcomes[index]
              : new Error(`[coexist/core] engine: findContacts answered no result for key ${index}`);
          this.#settle(entry, outcome ?? new Error('[coexist/core] engine: findContacts answered too few results'));
        });
      },
      (error: unknown) => {
        const failure = error instanceof Error ? error : new Error(String(error));
        // Sent entries fail with the call; reserved ones that were never sent (the call never started) too.
        const failed = sent ?? reserved.filter((entry) => this.#pending.get(entry.request.key) === entry);
        for (const entry of failed) {
          this.#pending.delete(entry.request.key);
          this.#settle(entry, failure);
        }
      },
    );
  }

  #settle(entry: Entry, outcome: ContactFindOutcome): void {
    if (this.#inFlight.get(entry.request.key) === entry) this.#inFlight.delete(entry.request.key);
    for (const waiter of entry.waiters) waiter(outcome);
  }
}
