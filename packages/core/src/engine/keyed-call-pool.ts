/**
 * Coalesces the per-key work of concurrent batches into full CRM calls: contact look-ups (`findContacts`) and
 * contact creations (`createContacts`) of one connection. Every message batch and contact sync in flight needs a
 * few contacts resolved; searching (or creating) each batch's handful separately spends a whole request (HubSpot
 * search: 5 per second per account) on a few phones, and two batches needing the same new customer would each
 * create it. The pool gathers them: a request waits a little (`lingerMs`, none for live traffic) for others to join,
 * or until a call's worth is pending. One call per lane at a time waits for its rate-limit token, and it picks its
 * requests only when it may start (late binding), in priority order — live first, then backfill, then background
 * (an address-book sync, which only fills what the others leave) — so every call leaves as full as the queue allows
 * and the most urgent requests go first. A key already pending or in flight joins that request instead of being
 * sent twice.
 */
import type { QueueLane } from '../store/coexist-store.ts';

/** The outcome of one key: the adapter's result, or the error of the call (a `CrmError`, or a shutdown). */
export type KeyedOutcome<Result> = Result | Error;

/** Sends one call; `take()` is called once the call may start and returns the requests to send. */
export type KeyedCallSend<Request, Result> = (
  lane: QueueLane,
  take: () => Request[],
) => Promise<{ requests: readonly Request[]; outcomes: readonly KeyedOutcome<Result>[] }>;

/** Options of a `KeyedCallPool`. */
export interface KeyedCallPoolOptions<Request, Result> {
  /** Most requests per call (e.g. the adapter's `searchBatchSize`), read at every dispatch. */
  batchSize: () => number;
  /** How long a request may wait for others to fill its call. @default { live: 0, history: 100 } */
  lingerMs?: Partial<Record<QueueLane, number>>;
  send: KeyedCallSend<Request, Result>;
  /**
   * Whether more requests are likely to join soon (e.g. searches whose misses become creations are still running).
   * A backfill call lingers (up to `lingerMs`) only while this says so; call `replan()` when it changes.
   * @default () => true
   */
  moreComing?: () => boolean;
  /** Most calls dispatched and not answered at once (waiting for a token or running). @default unlimited */
  maxCalls?: number;
}

interface Entry<Request, Result> {
  request: Request;
  lane: QueueLane;
  /** Filler work (an address-book sync): sent after every other request. */
  background: boolean;
  /** Epoch ms (performance clock) at which the entry stops waiting for company. */
  due: number;
  /** Arrival order, to keep it within a priority. */
  order: number;
  waiters: ((outcome: KeyedOutcome<Result>) => void)[];
}

/** Pools the keyed requests of concurrent batches into full calls (see the module comment). */
export class KeyedCallPool<Request extends { key: string }, Result> {
  readonly #options: KeyedCallPoolOptions<Request, Result>;
  readonly #linger: Record<QueueLane, number>;
  /** Keys waiting to be sent. */
  readonly #pending = new Map<string, Entry<Request, Result>>();
  /** Keys sent and not answered yet. */
  readonly #inFlight = new Map<string, Entry<Request, Result>>();
  /** Lanes with a call dispatched that has not started yet (waiting for its token). */
  readonly #waiting = new Set<QueueLane>();
  /** Calls dispatched and not answered yet. */
  #calls = 0;
  #order = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Number.POSITIVE_INFINITY;

  /** Creates a pool over a `send` function. */
  constructor(options: KeyedCallPoolOptions<Request, Result>) {
    this.#options = options;
    this.#linger = { live: options.lingerMs?.live ?? 0, history: options.lingerMs?.history ?? 100 };
  }

  /** Sends `requests` (keys must be distinct) in pooled calls; resolves with every key's outcome, never rejects. */
  run(
    requests: readonly Request[],
    lane: QueueLane,
    options: { background?: boolean } = {},
  ): Promise<Map<string, KeyedOutcome<Result>>> {
    const background = options.background === true;
    const now = performance.now();
    const waits = requests.map(
      (request) =>
        new Promise<[string, KeyedOutcome<Result>]>((resolve) => {
          const waiter = (outcome: KeyedOutcome<Result>) => resolve([request.key, outcome]);
          const known = this.#inFlight.get(request.key) ?? this.#pending.get(request.key);
          if (known !== undefined) {
            known.waiters.push(waiter);
            // Still unsent: it now goes as early as its most urgent asker needs.
            if (!background) known.background = false;
            if (lane === 'live' && known.lane === 'history') {
              known.lane = 'live';
              known.due = Math.min(known.due, now + this.#linger.live);
            }
            return;
          }
          this.#pending.set(request.key, {
            request,
            lane,
            background,
            due: now + this.#linger[lane],
            order: this.#order++,
            waiters: [waiter],
          });
        }),
    );
    this.#plan();
    return Promise.all(waits).then((entries) => new Map(entries));
  }

  /**
   * Sends these keys, if still pending, as early as a request of `lane` would go: someone more urgent now waits for
   * them (as when it joins them through `run`). Keys not pending are left alone: nothing is sent for them.
   */
  expedite(keys: readonly string[], lane: QueueLane): void {
    const now = performance.now();
    let changed = false;
    for (const key of keys) {
      const entry = this.#pending.get(key);
      if (entry === undefined) continue;
      if (entry.background) {
        entry.background = false;
        changed = true;
      }
      if (lane === 'live' && entry.lane === 'history') {
        entry.lane = 'live';
        entry.due = Math.min(entry.due, now + this.#linger.live);
        changed = true;
      }
    }
    if (changed) this.#plan();
  }

  /** Whether any request is pending or in flight. */
  get busy(): boolean {
    return this.#pending.size > 0 || this.#inFlight.size > 0;
  }

  /** Re-evaluates what is due now (after `moreComing` changed). */
  replan(): void {
    this.#plan();
  }

  /** Dispatches a call for each lane that has none waiting and is due (a call's worth pending, or lingered enough). */
  #plan(): void {
    const size = Math.max(1, this.#options.batchSize());
    const now = performance.now();
    let nextDue = Number.POSITIVE_INFINITY;
    for (const lane of ['live', 'history'] as const) {
      if (this.#waiting.has(lane)) continue;
      // At the cap, the next answer plans again.
      if (this.#calls >= (this.#options.maxCalls ?? Number.POSITIVE_INFINITY)) break;
      let count = 0;
      let due = Number.POSITIVE_INFINITY;
      for (const entry of this.#pending.values()) {
        if (entry.lane !== lane) continue;
        count++;
        due = Math.min(due, entry.due);
      }
      if (count === 0) continue;
      const lingers = lane === 'history' && (this.#options.moreComing?.() ?? true);
      if (count >= size || due <= now || !lingers) this.#dispatch(lane);
      else nextDue = Math.min(nextDue, due);
    }
    if (nextDue === Number.POSITIVE_INFINITY) return;
    if (this.#timer !== undefined && this.#timerAt <= nextDue) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = nextDue;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Number.POSITIVE_INFINITY;
        this.#plan();
      },
      Math.max(0, nextDue - now),
    );
  }

  /** Pending entries in the order a call takes them: live, then backfill, then background, each by arrival. */
  #ranked(): Entry<Request, Result>[] {
    const rank = (entry: Entry<Request, Result>) => (entry.lane === 'live' ? 0 : entry.background ? 2 : 1);
    return [...this.#pending.values()].sort((left, right) => rank(left) - rank(right) || left.order - right.order);
  }

  #dispatch(lane: QueueLane): void {
    this.#waiting.add(lane);
    this.#calls++;
    const answered = () => {
      this.#calls--;
      this.#plan();
    };
    let sent: Entry<Request, Result>[] | undefined;
    const take = (): Request[] => {
      // The call may start now: it takes the most urgent requests pending at this moment.
      this.#waiting.delete(lane);
      sent = this.#ranked().slice(0, Math.max(1, this.#options.batchSize()));
      for (const entry of sent) {
        this.#pending.delete(entry.request.key);
        this.#inFlight.set(entry.request.key, entry);
      }
      // What is left waits for the next call (one per lane waits for a token at a time).
      this.#plan();
      return sent.map((entry) => entry.request);
    };
    this.#options.send(lane, take).then(
      ({ requests, outcomes }) => {
        if (sent === undefined) this.#waiting.delete(lane);
        (sent ?? []).forEach((entry, index) => {
          const outcome =
            requests[index]?.key === entry.request.key
              ? outcomes[index]
              : new Error(`[coexist/core] engine: a pooled call answered no result for key ${index}`);
          this.#settle(entry, outcome ?? new Error('[coexist/core] engine: a pooled call answered too few results'));
        });
        answered();
      },
      (error: unknown) => {
        const failure = error instanceof Error ? error : new Error(String(error));
        if (sent === undefined) {
          // The call never started (shutdown, a refused token): the requests it would have taken fail with it.
          this.#waiting.delete(lane);
          const lost = this.#ranked()
            .filter((entry) => entry.lane === lane)
            .slice(0, Math.max(1, this.#options.batchSize()));
          for (const entry of lost) {
            this.#pending.delete(entry.request.key);
            for (const waiter of entry.waiters) waiter(failure);
          }
          answered();
          return;
        }
        for (const entry of sent) this.#settle(entry, failure);
        answered();
      },
    );
  }

  #settle(entry: Entry<Request, Result>, outcome: KeyedOutcome<Result>): void {
    if (this.#inFlight.get(entry.request.key) === entry) this.#inFlight.delete(entry.request.key);
    for (const waiter of entry.waiters) waiter(outcome);
  }
}
