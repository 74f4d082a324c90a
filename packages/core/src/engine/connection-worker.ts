/**
 * The worker of one CRM connection: claims batches from the queue by priority (contacts, live messages, live
 * updates, then history), resolves contacts in batches before the messages that need them, writes messages
 * thread by thread, applies updates once their message exists, paces every call through the connection's rate
 * limiter within a bounded concurrency, and turns every item's result into a durable outcome.
 */
import type { OperationContext } from '../adapter/crm-adapter.ts';
import type { CrmOperationName } from '../adapter/crm-capabilities.ts';
import { type CrmError, CrmTransientError, isCrmError } from '../adapter/crm-errors.ts';
import type {
  ContactFindRequest,
  ContactFindResult,
  ContactInput,
  ConversationInput,
  CrmWriteResult,
  MessageRecord,
  MessageUpdate,
} from '../adapter/crm-records.ts';
import type {
  CoexistenceEvent,
  ContactRef,
  MessageEchoedEvent,
  MessageReceivedEvent,
} from '../events/coexistence-event.ts';
import { contactIdentityKeys } from '../models/contact.ts';
import { normalizeOwnerMap } from '../models/owner.ts';
import type {
  CoexistStore,
  Completion,
  ContactMapping,
  EventOutcome,
  QueuedEvent,
  QueueKind,
  QueueLane,
} from '../store/coexist-store.ts';
import { type ApiReply, apiReplyDocument } from './api-replies.ts';
import { fullJitterBackoff } from './backoff.ts';
import {
  type MessageRecordContext,
  toContactFindRequest,
  toContactInput,
  toMessageChange,
  toMessageRecord,
} from './build-records.ts';
import { CarriedUpdates } from './carried-updates.ts';
import { type ContactAhead, ContactsAhead } from './contacts-ahead.ts';
import type { SyncConnection, SyncLogger } from './engine-types.ts';
import { KeyedCallPool } from './keyed-call-pool.ts';
import { type ContactKeyCache, threadKeyOf } from './plan-event.ts';
import { RateLimiter, type RateLimitPermit } from './rate-limiter.ts';
import { canBeSuperseded, supersededUpdates } from './superseded-updates.ts';

/** What the worker needs from the engine. */
export interface WorkerHost {
  store: CoexistStore;
  keys: ContactKeyCache;
  now(): number;
  logger: SyncLogger;
  random: () => number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  callTimeoutMs: number;
  authRetryMs: number;
  /** Called after every completed batch with what it wrote, for progress. */
  onCompleted(
    report: { phoneNumberId: string; lane: QueueLane; kind: QueueKind; written: number; dead: number }[],
  ): void;
  /** Called when an item goes to the dead-letter table. */
  onDeadLetter(letter: {
    eventId: string;
    eventType: string;
    connectionId: string;
    reason: string;
    errorKind: string;
  }): void;
  /** Called on any change that may end `drain()`/`idle()`. */
  onActivity(): void;
  /** Called when an auth failure pauses the connection, with the epoch ms the pause ends (for progress). */
  onPaused(connectionId: string, until: number): void;
  /** Resolves when no webhook ingest is under way (`undefined` when none is): a new batch waits for the acks. */
  afterIngests(): Promise<void> | undefined;
  /** Number-health documents changed by written messages (live echoes show Business App activity). */
  healthDocuments(events: readonly QueuedEvent[]): { key: string; value: unknown }[];
}

/** A claimed batch. */
interface Job {
  kind: QueueKind;
  lane: QueueLane;
  events: QueuedEvent[];
  /** `events` by seq, built once (`eventsBySeq`) for the completion's counters and its report. */
  bySeq?: Map<number, QueuedEvent>;
}

/** The updates a message carries before they are looked up (shared, never changed). */
const NOTHING_CARRIED: readonly CoexistenceEvent[] = Object.freeze([]);

/** A job's events by seq. */
function eventsBySeq(job: Job): Map<number, QueuedEvent> {
  if (job.bySeq === undefined) {
    job.bySeq = new Map();
    for (const event of job.events) job.bySeq.set(event.seq, event);
  }
  return job.bySeq;
}

/** Thrown inside the worker when the engine stops mid-call. */
class ShutdownSignal extends Error {
  override readonly name = 'ShutdownSignal';
}

/** Batches that may wait for a pooled contact search at once, per call slot. */
const PARKED_PER_SLOT = 4;

/** Chunks of backfill customers resolved ahead of their conversations at once (`#resolveAhead`). */
const CHUNKS_AHEAD = 2;

/**
 * While a backfill is still arriving (history ingested within this many ms), a history claim that came back short
 * of a full batch is followed by the next one only after this long: the webhooks meanwhile fill it. Otherwise the
 * worker, whose batches give their slots up while they wait for contacts, claims each history chunk as it lands and
 * sends many small calls, each paying the CRM's per-call latency.
 */
const HISTORY_GATHER_MS = 200;

/**
 * Queues in the order a free slot serves them: live first, messages before their updates, a backfill after live
 * traffic. Address-book syncs (`contact.synced`, thousands at onboarding) go first only within their share of the
 * call slots (`contactShare`), otherwise after everything else: a message resolves (finds or creates) its own
 * contact anyway, so the sync runs beside the messages instead of holding every slot before the first one is
 * written; its app names still reach the contacts, as an update.
 */
const PRIORITIES: readonly { kind: QueueKind; lane: QueueLane; withinShare?: true }[] = [
  { kind: 'contact', lane: 'live', withinShare: true },
  { kind: 'message', lane: 'live' },
  { kind: 'update', lane: 'live' },
  { kind: 'message', lane: 'history' },
  { kind: 'update', lane: 'history' },
  { kind: 'contact', lane: 'live' },
];

/**
 * A backfill's updates (media follow-ups replacing placeholders) come after its messages, but not all after the
 * last one: every so often they get a turn ahead of the backfill's messages, so those whose messages are written go
 * out while the backfill runs (in calls beside its message batches) instead of in a tail after it. The turn comes a
 * second after the last one; after a turn that found less than a batch, twice as long as before (at most
 * `HISTORY_UPDATES_MAX_MS`), so where requests are what limits (HubSpot's ten-secondly bucket) the updates still
 * go in full calls.
 */
const HISTORY_UPDATES_EVERY_MS = 1000;
const HISTORY_UPDATES_MAX_MS = 8000;

/** `PRIORITIES` with the backfill's updates ahead of its messages (their turn, see `HISTORY_UPDATES_EVERY_MS`). */
const UPDATES_TURN: typeof PRIORITIES = [
  ...PRIORITIES.filter((entry) => !(entry.kind === 'update' && entry.lane === 'history')).flatMap((entry) =>
    entry.kind === 'message' && entry.lane === 'history'
      ? [{ kind: 'update', lane: 'history' } as const, entry]
      : [entry],
  ),
];

type MessageEvent = MessageReceivedEvent | MessageEchoedEvent;

/** The worker of one connection. */
export class ConnectionWorker {
  readonly connection: SyncConnection;
  readonly limiter: RateLimiter;
  readonly maxConcurrency: number;
  /**
   * Contact-sync batches served ahead of messages at once: a quarter of the call slots, but two when that leaves
   * half of them (two batches' look-ups fill the searches messages leave room in), and always at least one.
   */
  readonly contactShare: number;
  readonly #host: WorkerHost;
  readonly #owners: Map<string, string>;
  /** Threads with a call in flight, per queue (see `#blockedSet`). */
  readonly #blocked = new Map<string, Set<string>>();
  /** Whether a queue may have runnable work; a claim that finds nothing clears it, new work sets it. */
  readonly #hints = new Map<string, boolean>();
  /** Counts the times hints were raised, so a claim that found nothing clears its hint only if none was raised since. */
  #hintsRaised = 0;
  readonly #running = new Set<Promise<void>>();
  #abort = new AbortController();
  #inFlight = 0;
  /** Batches waiting for a pooled contact search; they hold no call slot meanwhile. */
  #parked = 0;
  /** Contact-sync batches claimed and not finished (searching or writing). */
  #runningContacts = 0;
  /** Batches back from their search, waiting for a call slot (served before new claims). */
  readonly #slotWaiters: (() => void)[] = [];
  #stopping = false;
  #idle = false;
  #woken = false;
  #wakeResolve: (() => void) | undefined;
  #wakeTimer: ReturnType<typeof setTimeout> | undefined;
  #loop: Promise<void> | undefined;
  #pausedUntil = 0;
  /** When history messages were last ingested (`wake('message', 'history')`), and when a history claim came back short. */
  #historyArrivedAt = Number.NEGATIVE_INFINITY;
  #shortHistoryClaimAt = Number.NEGATIVE_INFINITY;
  /** When the backfill's updates last had their turn ahead of its messages, and how long until the next. */
  #historyUpdatesAt = Number.NEGATIVE_INFINITY;
  #historyUpdatesEveryMs = HISTORY_UPDATES_EVERY_MS;
  #lastError: { kind: string; message: string; at: string } | null = null;
  readonly #penalties = new WeakMap<object, number>();
  /** Pools the contact look-ups of concurrent batches into full `findContacts` calls. */
  readonly #finder: KeyedCallPool<ContactFindRequest, ContactFindResult>;
  /** Pools the contact creations of concurrent batches into full `createContacts` calls, one per new customer. */
  readonly #creator: KeyedCallPool<ContactInput, CrmWriteResult>;
  /** Pools the conversations of concurrent message batches into full `prepareConversations` calls (when supported). */
  readonly #conversations: KeyedCallPool<ConversationInput, CrmWriteResult>;
  /**
   * Contacts being resolved outside the batches — by an address-book sync in flight or ahead of their turn
   * (`#resolveAhead`) — by contact key: the record each will answer (`undefined` if that fails). A backfill batch
   * needing one of those customers waits for it (parked, without a call slot) instead of searching — too early to
   * find the record being written — and creating the same person a second time.
   */
  readonly #syncing = new Map<string, Promise<ContactMapping | undefined>>();
  /** Customers of queued backfill messages, resolved ahead of their conversations' turn (see `contacts-ahead.ts`). */
  readonly #ahead = new ContactsAhead();
  /** Media follow-ups and statuses queued for messages not written yet: a message write carries them. */
  readonly #carriedUpdates = new CarriedUpdates();
  /** Chunks of `#ahead` being resolved. */
  #resolvingAhead = 0;
  /**
   * Whether address-book syncs may be queued and not claimed yet: set when contact events are queued (or a sync
   * finished, possibly putting some back), cleared when a claim of them comes back short of a batch. Their
   * customers are written by the syncs, so `#ahead` waits while it is set.
   */
  #contactSyncsQueued = true;
  /**
   * Backfill threads whose customer is being resolved (a sync or a chunk ahead writes them): skipped by history
   * claims, so a batch takes conversations it can write now instead of parking for a customer; their claims resume
   * when the customer is resolved.
   */
  readonly #resolvingThreads = new Set<string>();

  /** Creates the worker of a connection. */
  constructor(connection: SyncConnection, host: WorkerHost) {
    this.connection = connection;
    this.#host = host;
    const policy = connection.adapter.capabilities.rateLimits;
    this.limiter = new RateLimiter(policy, { clock: { now: host.now }, random: host.random });
    this.maxConcurrency = Math.max(1, connection.maxConcurrency ?? policy.maxConcurrency ?? 4);
    this.contactShare = Math.max(
      1,
      Math.floor(this.maxConcurrency / 4),
      Math.min(2, Math.floor(this.maxConcurrency / 2)),
    );
    this.#owners = normalizeOwnerMap(connection.owners ?? {});
    for (const { kind, lane } of PRIORITIES) this.#hints.set(`${kind}:${lane}`, true);
    // Lingering for company saves search requests only when something limits them; unlimited, it only waits.
    const searchesLimited =
      policy.dailyAllocation !== undefined ||
      policy.buckets.some((bucket) => bucket.operations === undefined || bucket.operations.includes('findContacts'));
    const creationsLimited = policy.buckets.some(
      (bucket) => bucket.operations === undefined || bucket.operations.includes('createContacts'),
    );
    // A pooled call takes a call slot like a batch (the batches it serves wait parked, without one), so the
    // connection never has more than `maxConcurrency` requests out.
    this.#finder = new KeyedCallPool<ContactFindRequest, ContactFindResult>({
      batchSize: () => this.connection.adapter.capabilities.searchBatchSize,
      maxCalls: this.maxConcurrency,
      ...(searchesLimited ? {} : { lingerMs: { live: 0, history: 0 } }),
      send: (lane, take) =>
        this.#inSlot(() =>
          this.#call('findContacts', lane, async (context) => {
            const requests = take();
            if (requests.length === 0) return { requests, outcomes: [] };
            const results = await this.connection.adapter.findContacts(requests, context).finally(() => {
              // The misses of this search become creations right after; once no search is left, they need not wait.
              setImmediate(() => this.#creator.replan());
            });
            const outcomes = requests.map((request, index) =>
              this.#resultAt(results, index, request.key, 'findContacts'),
            );
            return { requests, outcomes };
          }),
        ),
    });
    this.#creator = new KeyedCallPool<ContactInput, CrmWriteResult>({
      batchSize: () => this.connection.adapter.capabilities.contactBatchSize,
      maxCalls: this.maxConcurrency,
      // A backfill's new customers trickle in behind the searches (HubSpot: ~75 per second). Where a rate-limit
      // window counts creations, waiting up to a second while searches are still running fills a creation call
      // (100 on HubSpot, where each costs two requests of the ten-secondly bucket) instead of spending one per few;
      // where none does (Salesforce: only the daily allocation), a short wait gathers what arrives together. The
      // batches waiting meanwhile hold no call slot.
      lingerMs: { live: 0, history: creationsLimited ? 1000 : 20 },
      moreComing: () => this.#finder.busy,
      send: (lane, take) =>
        this.#inSlot(() =>
          this.#call('createContacts', lane, async (context) => {
            const inputs = take();
            if (inputs.length === 0) return { requests: inputs, outcomes: [] };
            const results = await this.connection.adapter.createContacts(inputs, context);
            const outcomes = inputs.map((input, index) =>
              this.#writeResultAt(results, index, input.key, 'createContacts'),
            );
            return { requests: inputs, outcomes };
          }),
        ),
    });
    this.#conversations = new KeyedCallPool<ConversationInput, CrmWriteResult>({
      batchSize: () => this.connection.adapter.capabilities.conversationBatchSize ?? 1,
      maxCalls: this.maxConcurrency,
      // Backfill batches arrive a few per 100 ms, each with a few dozen conversations: a short wait fills the call.
      lingerMs: { live: 0, history: 50 },
      send: (lane, take) =>
        this.#inSlot(() =>
          this.#call('prepareConversations', lane, async (context) => {
            const inputs = take();
            if (inputs.length === 0) return { requests: inputs, outcomes: [] };
            const results = await this.connection.adapter.prepareConversations!(inputs, context);
            const outcomes = inputs.map((input, index) =>
              this.#writeResultAt(results, index, input.key, 'prepareConversations'),
            );
            return { requests: inputs, outcomes };
          }),
        ),
    });
  }

  /** Calls in flight now. */
  get inFlight(): number {
    return this.#inFlight + this.#parked + this.#slotWaiters.length;
  }

  /** Whether nothing is in flight and the last look found nothing runnable. */
  get idle(): boolean {
    return (
      this.#idle &&
      this.#inFlight === 0 &&
      this.#parked === 0 &&
      this.#slotWaiters.length === 0 &&
      this.#resolvingAhead === 0
    );
  }

  /** Epoch ms until which the connection is paused, or 0. */
  get pausedUntil(): number {
    return this.#pausedUntil;
  }

  /** The last error seen. */
  get lastError(): { kind: string; message: string; at: string } | null {
    return this.#lastError;
  }

  /** Starts the claim loop. */
  start(): void {
    if (this.#loop !== undefined) return;
    this.#stopping = false;
    this.#abort = new AbortController();
    this.#loop = this.#run();
  }

  /** Marks queues as possibly runnable (all when `kind` is omitted) and wakes the loop. */
  wake(kind?: QueueKind, lane?: QueueLane): void {
    if (kind === 'message' && lane === 'history') this.#historyArrivedAt = this.#host.now();
    if (kind === 'contact') this.#contactSyncsQueued = true;
    for (const key of this.#hints.keys()) {
      const [hintKind, hintLane] = key.split(':');
      if ((kind === undefined || hintKind === kind) && (lane === undefined || hintLane === lane))
        this.#hints.set(key, true);
    }
    this.#hintsRaised++;
    this.#idle = false;
    this.#wakeNow();
  }

  /**
   * Announces the customers of backfill messages just queued: those the store has no record of are searched and, if
   * not found, created ahead of their conversations, in chunks that use the call slots the batches leave free (their
   * searches go behind every batch's), and only while no address-book sync is queued (it writes its customers itself).
   */
  expectContacts(contacts: Iterable<readonly [string, ContactAhead]>): void {
    // Customers an address-book sync is writing come from it.
    for (const [key, contact] of contacts) if (!this.#syncing.has(key)) this.#ahead.offer(key, contact);
    this.#resolveAhead();
  }
  /**
   * Remembers update events just queued (media follow-ups, statuses; see `CarriedUpdates`), so that the write of
   * their message, when it comes later, carries them and they need no call of their own.
   */
  expectUpdates(updates: readonly { messageKey: string; event: CoexistenceEvent }[]): void {
    for (const { messageKey, event } of updates) this.#carriedUpdates.expect(messageKey, event);
  }

  /** Starts resolving chunks of `#ahead`, up to `CHUNKS_AHEAD` at once. */
  #resolveAhead(): void {
    while (
      this.#resolvingAhead < CHUNKS_AHEAD &&
      this.#ahead.size > 0 &&
      this.#loop !== undefined &&
      !this.#stopping &&
      !this.#contactSyncsQueued
    ) {
      // A creation's worth at a time (the pooled searches split it into `searchBatchSize` calls).
      const { contactBatchSize, searchBatchSize } = this.connection.adapter.capabilities;
      const chunk = this.#ahead.take(Math.max(1, contactBatchSize, searchBatchSize));
      this.#resolvingAhead++;
      const running: Promise<void> = this.#resolveChunkAhead(chunk)
        .catch((error: unknown) => {
          // Nothing is lost: each batch resolves the contacts it still lacks.
          this.#host.logger.warn?.('[coexist/core] engine: resolving backfill contacts ahead failed', {
            connectionId: this.connection.id,
            error: describeError(error),
          });
        })
        .finally(() => {
          this.#resolvingAhead--;
          this.#running.delete(running);
          this.#resolveAhead();
          this.#host.onActivity();
        });
      this.#running.add(running);
    }
  }

  /** Finds or creates the customers of a chunk the store has no record of, as a batch would (see `#syncing`). */
  async #resolveChunkAhead(chunk: ReadonlyMap<string, ContactAhead>): Promise<void> {
    // One chunk per turn of the event loop, as batches go: with a fast (or in-memory) adapter the chunks would
    // otherwise chain in microtasks (each one's end starts the next) and hold back the webhook acks.
    await yieldToEventLoop();
    if (this.#stopping) return;
    const known = await this.#host.store.getContacts(this.connection.id, [...chunk.keys()]);
    const keys = [...chunk.keys()].filter((key) => !known.has(key) && !this.#syncing.has(key));
    if (keys.length === 0) return;
    const resolved = new Map<string, ContactMapping | CrmError | ShutdownSignal>();
    const settle = this.#announce(keys);
    try {
      await this.#searchAndCreate(keys, chunk, 'history', resolved, 'ahead');
      const found = [...resolved].filter((entry): entry is [string, ContactMapping] => isMapping(entry[1]));
      if (found.length > 0) {
        await this.#host.store.saveContacts(
          found.map(([key, mapping]) => ({ connectionId: this.connection.id, key, ...mapping })),
        );
      }
    } finally {
      settle(resolved);
    }
  }

  /**
   * Registers contact keys as being resolved (`#syncing`), so that batches needing them wait instead of resolving
   * them too; returns the function that answers the waiting batches (a key without a mapping: resolve it yourself).
   */
  #announce(keys: readonly string[]): (mappings: ReadonlyMap<string, unknown>) => void {
    const announced = new Map<string, (mapping: ContactMapping | undefined) => void>();
    for (const key of keys) {
      if (this.#syncing.has(key)) continue;
      for (const id of this.connection.phoneNumberIds) this.#resolvingThreads.add(threadKeyOf(id, key));
      this.#syncing.set(
        key,
        new Promise<ContactMapping | undefined>((resolve) => {
          announced.set(key, resolve);
        }),
      );
    }
    return (mappings) => {
      for (const [key, resolve] of announced) {
        this.#syncing.delete(key);
        for (const id of this.connection.phoneNumberIds) this.#resolvingThreads.delete(threadKeyOf(id, key));
        const mapping = mappings.get(key);
        resolve(isMapping(mapping) ? toMapping(mapping) : undefined);
      }
      if (announced.size > 0) {
        // Their conversations may be claimed now.
        this.#hints.set('message:history', true);
        this.#hintsRaised++;
        this.#wakeNow();
      }
    };
  }

  /** Stops claiming, aborts calls in flight and waits until their items are released. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#ahead.clear();
    this.#carriedUpdates.clear();
    this.#abort.abort(new ShutdownSignal('[coexist/core] engine stopped'));
    this.limiter.close(new ShutdownSignal('[coexist/core] engine stopped'));
    this.#wakeNow();
    await this.#loop;
    await Promise.allSettled([...this.#running]);
    this.#loop = undefined;
    if (this.#wakeTimer !== undefined) clearTimeout(this.#wakeTimer);
  }

  #wakeNow(): void {
    this.#woken = true;
    const resolve = this.#wakeResolve;
    this.#wakeResolve = undefined;
    resolve?.();
  }

  #sleep(delayMs: number | null): Promise<void> {
    if (this.#woken || this.#stopping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#wakeResolve = resolve;
      if (delayMs !== null) {
        if (this.#wakeTimer !== undefined) clearTimeout(this.#wakeTimer);
        this.#wakeTimer = setTimeout(
          () => {
            this.#wakeTimer = undefined;
            this.wake();
          },
          Math.max(1, delayMs),
        );
      }
    });
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      this.#woken = false;
      if (
        this.#inFlight >= this.maxConcurrency ||
        this.#slotWaiters.length > 0 ||
        this.#parked >= this.maxConcurrency * PARKED_PER_SLOT
      ) {
        await this.#sleep(null);
        continue;
      }
      const now = this.#host.now();
      if (this.#pausedUntil > now) {
        // Nothing is runnable until the pause ends (an auth failure): idle, like a delayed retry.
        this.#idle = true;
        this.#host.onActivity();
        await this.#sleep(this.#pausedUntil - now);
        continue;
      }
      const ingests = this.#host.afterIngests();
      if (ingests !== undefined) {
        await ingests;
        continue;
      }
      let picked: { job: Job | undefined; nextDueAt: number | null };
      try {
        picked = await this.#pick(now);
      } catch (error) {
        this.#host.logger.error?.('[coexist/core] engine: claiming work failed', {
          connectionId: this.connection.id,
          error: describeError(error),
        });
        await this.#sleep(1000);
        continue;
      }
      const job = picked.job;
      if (job === undefined) {
        this.#idle = true;
        this.#host.onActivity();
        await this.#sleep(picked.nextDueAt === null ? null : picked.nextDueAt - this.#host.now());
        continue;
      }
      this.#idle = false;
      this.#inFlight++;
      if (job.kind === 'contact') this.#runningContacts++;
      const blocked = this.#blockedSet(job.kind, job.lane);
      for (const event of job.events) blocked.add(event.threadKey);
      const running: Promise<void> = this.#work(job)
        .catch((error: unknown) => {
          this.#host.logger.error?.('[coexist/core] engine: a batch failed unexpectedly', {
            connectionId: this.connection.id,
            error: describeError(error),
          });
        })
        .finally(() => {
          for (const event of job.events) blocked.delete(event.threadKey);
          if (job.kind === 'contact') this.#runningContacts--;
          this.#inFlight--;
          this.#handOverSlots();
          this.#running.delete(running);
          this.wake(job.kind);
          // Written messages unpark the updates that waited for them.
          if (job.kind === 'message') this.wake('update');
          this.#host.onActivity();
        });
      this.#running.add(running);
      // One batch per turn of the event loop: with a fast (or in-memory) adapter the batches would otherwise chain
      // in microtasks and starve timers and I/O, i.e. the webhook acks and the store's group commits.
      await yieldToEventLoop();
    }
  }

  /**
   * The threads a claim of this queue must skip. A thread is in one call at a time per kind, so it is written in
   * order; live and history messages of one thread are apart, though (a live message never waits for a backfill
   * batch of its conversation), unless the CRM chains each message to the previous one (`threadsMessages`).
   */
  #blockedSet(kind: QueueKind, lane: QueueLane): Set<string> {
    const perLane = kind === 'message' && !this.connection.adapter.capabilities.threadsMessages;
    const key = perLane ? `${kind}:${lane}` : kind;
    let blocked = this.#blocked.get(key);
    if (blocked === undefined) {
      blocked = new Set();
      this.#blocked.set(key, blocked);
    }
    return blocked;
  }

  async #pick(now: number): Promise<{ job: Job | undefined; nextDueAt: number | null }> {
    const capabilities = this.connection.adapter.capabilities;
    let nextDueAt: number | null = null;
    const updatesTurn =
      now - this.#historyUpdatesAt >= this.#historyUpdatesEveryMs && this.#hints.get('update:history') === true;
    if (updatesTurn) this.#historyUpdatesAt = now;
    for (const { kind, lane, withinShare } of updatesTurn ? UPDATES_TURN : PRIORITIES) {
      const hintKey = `${kind}:${lane}`;
      if (this.#hints.get(hintKey) !== true) continue;
      if (withinShare && this.#runningContacts >= this.contactShare) continue;
      const gathering = kind === 'message' && lane === 'history';
      if (
        gathering &&
        now - this.#historyArrivedAt < HISTORY_GATHER_MS &&
        now - this.#shortHistoryClaimAt < HISTORY_GATHER_MS
      ) {
        const dueAt = this.#shortHistoryClaimAt + HISTORY_GATHER_MS;
        nextDueAt = nextDueAt === null ? dueAt : Math.min(nextDueAt, dueAt);
        continue;
      }
      const limit = kind === 'contact' ? capabilities.contactBatchSize : capabilities.messageBatchSize;
      const raisedBefore = this.#hintsRaised;
      const claimed = await this.#host.store.claim({
        connectionId: this.connection.id,
        kind,
        lane,
        limit: Math.max(1, limit),
        ...(kind === 'message' && capabilities.threadsMessages ? { maxPerThread: 1 } : {}),
        // A backfill goes thread by thread, longest first: full batches over few threads, no long thread left last.
        order: lane === 'history' ? 'longest-backlog-first' : 'oldest-first',
        // Its last round of batches (it has arrived, and what is left fits the call slots) splits no conversation:
        // the rest of one would wait a whole call for its first part, alone, after everything else.
        ...(gathering && now - this.#historyArrivedAt >= HISTORY_GATHER_MS
          ? { wholeThreadsBelow: this.maxConcurrency * Math.max(1, limit) }
          : {}),
        now,
        blockedThreads:
          gathering && this.#resolvingThreads.size > 0
            ? new Set([...this.#blockedSet(kind, lane), ...this.#resolvingThreads])
            : this.#blockedSet(kind, lane),
      });
      if (gathering && claimed.events.length > 0 && claimed.events.length < limit) this.#shortHistoryClaimAt = now;
      if (updatesTurn && kind === 'update' && lane === 'history') {
        this.#historyUpdatesEveryMs =
          claimed.events.length >= limit
            ? HISTORY_UPDATES_EVERY_MS
            : Math.min(HISTORY_UPDATES_MAX_MS, this.#historyUpdatesEveryMs * 2);
      }
      if (kind === 'contact' && claimed.events.length < limit && claimed.nextDueAt === null) {
        // Every sync that can run is claimed: customers not among theirs may be resolved ahead now.
        this.#contactSyncsQueued = false;
        this.#resolveAhead();
      }
      if (claimed.events.length > 0) return { job: { kind, lane, events: claimed.events }, nextDueAt };
      if (claimed.nextDueAt === null) {
        // Threads blocked by calls in flight come back when those finish (`wake` on completion). A wake during the
        // claim (an ingest, a replay) may have brought work the claim did not see: the hint stays up then.
        if (this.#hintsRaised === raisedBefore) this.#hints.set(hintKey, false);
      } else {
        nextDueAt = nextDueAt === null ? claimed.nextDueAt : Math.min(nextDueAt, claimed.nextDueAt);
      }
    }
    return { job: undefined, nextDueAt };
  }

  async #work(job: Job): Promise<void> {
    let completion: Completion;
    try {
      completion =
        job.kind === 'message'
          ? await this.#writeMessages(job)
          : job.kind === 'update'
            ? await this.#applyUpdates(job)
            : await this.#upsertContacts(job);
    } catch (error) {
      // An unexpected failure (a store read that failed, a bug): without outcomes its events would stay claimed until
      // a restart. They are retried like any transient failure instead, then dead-lettered with the reason; what
      // the batch may have written already is resent, which the adapters' idempotent writes answer.
      this.#host.logger.error?.('[coexist/core] engine: a batch failed unexpectedly; its events are retried', {
        connectionId: this.connection.id,
        error: describeError(error),
      });
      const failure = new CrmTransientError({
        crm: this.connection.adapter.crm,
        message: `the batch failed unexpectedly: ${describeError(error)}`,
      });
      const operation =
        job.kind === 'message' ? 'writeMessages' : job.kind === 'update' ? 'updateMessages' : 'upsertContacts';
      completion = { outcomes: job.events.map((queued) => this.#failure(queued, failure, operation)) };
    }
    await this.#host.store.complete(completion);
    this.#report(job, completion);
  }

  #report(job: Job, completion: Completion): void {
    const bySeq = eventsBySeq(job);
    type Tally = { phoneNumberId: string; lane: QueueLane; kind: QueueKind; written: number; dead: number };
    const tallies = new Map<string, Tally>();
    let last: Tally | undefined;
    for (const outcome of completion.outcomes ?? []) {
      if (outcome.outcome !== 'done' && outcome.outcome !== 'dead') continue;
      const event = bySeq.get(outcome.seq);
      if (event === undefined) continue;
      const phoneNumberId = event.event.phoneNumberId ?? '';
      // A batch's events mostly share number and lane: the previous tally, without building its key.
      let tally = last?.phoneNumberId === phoneNumberId && last.lane === event.lane ? last : undefined;
      if (tally === undefined) {
        const key = `${phoneNumberId}\u0000${event.lane}`;
        tally = tallies.get(key);
        if (tally === undefined) {
          tally = { phoneNumberId, lane: event.lane, kind: job.kind, written: 0, dead: 0 };
          tallies.set(key, tally);
        }
        last = tally;
      }
      if (outcome.outcome === 'done') tally.written++;
      else {
        tally.dead++;
        this.#host.onDeadLetter({
          eventId: event.event.id,
          eventType: event.event.type,
          connectionId: this.connection.id,
          reason: outcome.reason,
          errorKind: outcome.errorKind,
        });
      }
    }
    this.#host.onCompleted([...tallies.values()]);
  }

  /** Counter increments for the written items of a batch (the store counts dead ones itself). */
  #counters(job: Job, outcomes: readonly EventOutcome[]): Completion['counters'] {
    const bySeq = eventsBySeq(job);
    const counters = new Map<string, { scope: string; name: string; delta: number }>();
    let last: { scope: string; name: string; delta: number } | undefined;
    let lastOf: QueuedEvent | undefined;
    for (const outcome of outcomes) {
      if (outcome.outcome !== 'done') continue;
      const event = bySeq.get(outcome.seq)!;
      const scope = event.event.phoneNumberId ?? '';
      // A batch's events mostly share number, kind and lane: the previous counter, without building its key.
      let counter =
        last?.scope === scope && lastOf?.kind === event.kind && lastOf.lane === event.lane ? last : undefined;
      lastOf = event;
      if (counter === undefined) {
        const name = `${event.kind}.${event.lane}.written`;
        const key = `${scope}\u0000${name}`;
        counter = counters.get(key);
        if (counter === undefined) {
          counter = { scope, name, delta: 0 };
          counters.set(key, counter);
        }
        last = counter;
      }
      counter.delta++;
    }
    return [...counters.values()];
  }

  /** One CRM call through the limiter, with a deadline; every failure comes out as a `CrmError` or `ShutdownSignal`. */
  async #call<T>(
    operation: CrmOperationName,
    lane: QueueLane,
    call: (context: OperationContext) => Promise<T>,
  ): Promise<T> {
    const shutdown = this.#abort.signal;
    const priority = lane === 'live' ? 0 : 1;
    // Acks first: no call starts while a webhook is being stored (see `afterIngests`).
    await this.#host.afterIngests();
    let permit: RateLimitPermit;
    try {
      permit = await this.limiter.acquire(operation, priority, shutdown);
    } catch (error) {
      throw shutdown.aborted ? new ShutdownSignal('[coexist/core] engine stopped') : error;
    }
    const deadline = new AbortController();
    const signal = AbortSignal.any([shutdown, deadline.signal]);
    const context: OperationContext = {
      connectionId: this.connection.id,
      signal,
      onRateLimitSignal: (observed) => this.limiter.observe(observed),
      // A call's requests are sequential: the previous one is answered when the next asks, so its slot is
      // released first (a call never waits while holding one). Calls already started go ahead of new ones.
      acquireRequestSlot: async (bucket) => {
        permit.release();
        permit = await this.limiter.acquire(bucket === undefined ? operation : { bucket }, priority - 0.5, signal);
      },
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new CrmTransientError({
          crm: this.connection.adapter.crm,
          message: `${operation}: no answer within ${this.#host.callTimeoutMs} ms`,
          code: 'timeout',
        });
        deadline.abort(error);
        reject(error);
      }, this.#host.callTimeoutMs);
    });
    const pending = call(context);
    try {
      const result = await Promise.race([pending, timeout]);
      // Answered after the deadline aborted it (per-item "aborted" failures, say): timed out all the same.
      if (deadline.signal.aborted) await this.#waitOutTimedOut(undefined, shutdown);
      this.limiter.succeeded(operation);
      return result;
    } catch (error) {
      if (shutdown.aborted) throw new ShutdownSignal('[coexist/core] engine stopped');
      if (deadline.signal.aborted) {
        // The adapter may have answered the abort with its own error before the timeout's: timed out all the same.
        const late = await this.#waitOutTimedOut(pending, shutdown);
        if (shutdown.aborted) throw new ShutdownSignal('[coexist/core] engine stopped');
        if (late !== undefined) {
          this.limiter.succeeded(operation);
          return late.value;
        }
        throw isCrmError(error) ? error : deadline.signal.reason;
      }
      if (isCrmError(error)) throw error;
      if (deadline.signal.aborted && isCrmError(deadline.signal.reason)) throw deadline.signal.reason;
      // Network failures and unexpected adapter errors: we cannot tell whether the write happened, so resend.
      throw new CrmTransientError({
        crm: this.connection.adapter.crm,
        message: `${operation}: ${describeError(error)}`,
        cause: error,
      });
    } finally {
      clearTimeout(timer);
      // The CRM counted the request when it arrived, at the latest now.
      permit.release();
    }
  }

  /**
   * After a call timed out. Its request may still be on the wire, and reach the CRM later whether or not its client
   * gave up (a server that received it processes it): for three times as long again the batch keeps its
   * conversations, so neither its resend nor a later update of its messages can be overtaken by it (an old full-state
   * write landing after a newer one would move a status back). Resolves early with the call's late answer, if any.
   */
  #waitOutTimedOut<T>(pending: Promise<T> | undefined, shutdown: AbortSignal): Promise<{ value: T } | undefined> {
    return lateAnswer(pending, LATE_ANSWER_WAITS * this.#host.callTimeoutMs, shutdown);
  }

  /** The outcome of an item whose call or result failed. */
  #failure(event: QueuedEvent, error: unknown, operation: CrmOperationName): EventOutcome {
    const now = this.#host.now();
    if (error instanceof ShutdownSignal) return { seq: event.seq, outcome: 'release' };
    const crmError = isCrmError(error)
      ? (error as CrmError)
      : new CrmTransientError({ crm: this.connection.adapter.crm, message: describeError(error) });
    this.#lastError = { kind: crmError.kind, message: crmError.message, at: new Date(now).toISOString() };
    switch (crmError.kind) {
      case 'rate-limited': {
        // One 429 answers a whole batch: penalize the bucket once, not once per item.
        let pause = this.#penalties.get(crmError);
        if (pause === undefined) {
          const rateLimited = crmError as CrmError & { retryAfterMs?: number; bucket?: string };
          pause = this.limiter.penalize(operation, rateLimited.bucket, rateLimited.retryAfterMs);
          this.#penalties.set(crmError, pause);
        }
        return { seq: event.seq, outcome: 'release', notBefore: now + pause };
      }
      case 'transient': {
        const attempts = event.attempts + 1;
        if (attempts >= this.#host.maxAttempts) {
          return {
            seq: event.seq,
            outcome: 'dead',
            reason: `gave up after ${attempts} attempts: ${crmError.message}`,
            errorKind: 'transient',
            at: new Date(now).toISOString(),
          };
        }
        const delay = fullJitterBackoff(attempts, {
          baseMs: this.#host.backoffBaseMs,
          capMs: this.#host.backoffCapMs,
          random: this.#host.random,
        });
        return { seq: event.seq, outcome: 'retry', attempts, notBefore: now + delay };
      }
      case 'auth': {
        const pausing = this.#pausedUntil <= now;
        if (pausing) {
          this.#host.logger.warn?.('[coexist/core] engine: CRM credentials refused; connection paused', {
            connectionId: this.connection.id,
            crm: this.connection.adapter.crm,
            retryInMs: this.#host.authRetryMs,
          });
        }
        this.#pausedUntil = Math.max(this.#pausedUntil, now + this.#host.authRetryMs);
        if (pausing) this.#host.onPaused(this.connection.id, this.#pausedUntil);
        return { seq: event.seq, outcome: 'release', notBefore: this.#pausedUntil };
      }
      default:
        return {
          seq: event.seq,
          outcome: 'dead',
          reason: crmError.message,
          errorKind: crmError.kind,
          at: new Date(now).toISOString(),
        };
    }
  }

  /** Matches per-item results to inputs by position and key; a missing or mismatched result is a transient failure. */
  #resultAt<R extends { key: string }>(
    results: readonly R[],
    index: number,
    key: string,
    operation: string,
  ): R | CrmError {
    const result = results[index];
    if (result !== undefined && result.key === key) return result;
    return new CrmTransientError({
      crm: this.connection.adapter.crm,
      message: `${operation}: the adapter returned no result for item ${index} (key mismatch or short answer)`,
    });
  }

  /**
   * `#resultAt` for a write: a success must name the record (`crmId`, a non-empty string; `parentId` a string when
   * given). One without would be stored as written with no id — and a store cannot keep it (SQLite refused every
   * later group commit) — so it is an adapter failure like a missing result: retried, then dead-lettered.
   */
  #writeResultAt(
    results: readonly CrmWriteResult[],
    index: number,
    key: string,
    operation: string,
  ): CrmWriteResult | CrmError {
    const result = this.#resultAt(results, index, key, operation);
    if (!('ok' in result) || result.ok !== true) return result;
    const invalid =
      typeof result.crmId !== 'string' || result.crmId === ''
        ? 'crmId'
        : result.parentId !== undefined && typeof result.parentId !== 'string'
          ? 'parentId'
          : undefined;
    if (invalid === undefined) return result;
    return new CrmTransientError({
      crm: this.connection.adapter.crm,
      message: `${operation}: the adapter answered item ${index} ok without a valid results[${index}].${invalid}`,
      field: `results[${index}].${invalid}`,
    });
  }

  #ownerOf(businessPhone: string | undefined): string | undefined {
    return (
      (businessPhone === undefined ? undefined : this.#owners.get(businessPhone)) ?? this.connection.defaultOwnerId
    );
  }

  /**
   * Waits for a pooled contact search without holding a call slot: while the search bucket (HubSpot: 5/s) is the
   * bottleneck, other batches — a live message first — start meanwhile, and their contacts fill the next search.
   */
  async #parkWhile<T>(waiting: Promise<T>): Promise<T> {
    this.#inFlight--;
    this.#handOverSlots();
    this.#parked++;
    this.#wakeNow();
    try {
      return await waiting;
    } finally {
      this.#parked--;
      // Back to a call slot, ahead of new claims, but never beyond `maxConcurrency`.
      if (this.#inFlight < this.maxConcurrency && this.#slotWaiters.length === 0) this.#inFlight++;
      else await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
    }
  }

  /**
   * Runs a pooled call in a call slot: one free now, else the next freed (queued with the batches back from a pool,
   * ahead of new claims). Nothing that holds a slot waits for a pool (batches park), so a pooled call always gets one.
   */
  async #inSlot<T>(call: () => Promise<T>): Promise<T> {
    if (this.#inFlight < this.maxConcurrency && this.#slotWaiters.length === 0) this.#inFlight++;
    else await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
    try {
      return await call();
    } finally {
      this.#inFlight--;
      this.#handOverSlots();
      this.wake();
    }
  }

  /** Gives freed call slots to the calls and batches waiting for one (the slot is counted for them here). */
  #handOverSlots(): void {
    while (this.#slotWaiters.length > 0 && this.#inFlight < this.maxConcurrency) {
      this.#inFlight++;
      this.#slotWaiters.shift()!();
    }
  }

  /** Finds, then creates in batches, the CRM contacts of these keys; returns a mapping or an error per key. */
  async #resolveContacts(
    wanted: Map<string, { ref: ContactRef; businessPhone: string | undefined }>,
    lane: QueueLane,
  ): Promise<Map<string, ContactMapping | CrmError | ShutdownSignal>> {
    const store = this.#host.store;
    const resolved = new Map<string, ContactMapping | CrmError | ShutdownSignal>(
      await store.getContacts(this.connection.id, [...wanted.keys()]),
    );
    const missing = [...wanted.keys()].filter((key) => !resolved.has(key));
    if (missing.length === 0) {
      await this.#saveAliases(wanted, resolved);
      return resolved;
    }

    // In a backfill batch, customers an address-book sync (or `#resolveAhead`) is writing now get its record; the
    // others are searched and created meanwhile, and so are those whose sync failed. A live batch does not wait for
    // a sync (its searches go behind everything else's): it resolves its customers itself, at live priority.
    const syncing = lane === 'history' ? missing.filter((key) => this.#syncing.has(key)) : [];
    if (syncing.length === 0) {
      await this.#searchAndCreate(missing, wanted, lane, resolved);
    } else {
      const synced = Promise.all(syncing.map((key) => this.#syncing.get(key)!));
      // A sync's searches go behind everything else's; this batch waiting for them makes them as urgent as its own.
      this.#finder.expedite(syncing, lane);
      await this.#searchAndCreate(
        missing.filter((key) => !this.#syncing.has(key)),
        wanted,
        lane,
        resolved,
      );
      const mappings = await this.#parkWhile(synced);
      const failed: string[] = [];
      syncing.forEach((key, index) => {
        const mapping = mappings[index];
        if (mapping === undefined) failed.push(key);
        else resolved.set(key, mapping);
      });
      await this.#searchAndCreate(failed, wanted, lane, resolved);
    }

    const missingKeys = new Set(missing);
    const found = [...resolved].filter(
      (entry): entry is [string, ContactMapping] => missingKeys.has(entry[0]) && isMapping(entry[1]),
    );
    if (found.length > 0) {
      await store.saveContacts(found.map(([key, mapping]) => ({ connectionId: this.connection.id, key, ...mapping })));
    }
    await this.#saveAliases(wanted, resolved);
    return resolved;
  }

  /**
   * Maps a resolved customer's other identity too: one who wrote with a phone and a BSUID is also found by the BSUID
   * alone (a later event, or a status naming only the BSUID; the chat card reads `findContactKeys`). An alias that
   * names another record already is left alone.
   */
  async #saveAliases(
    wanted: ReadonlyMap<string, { ref: ContactRef }>,
    resolved: ReadonlyMap<string, ContactMapping | CrmError | ShutdownSignal>,
  ): Promise<void> {
    const aliases = new Map<string, ContactMapping>();
    for (const [key, { ref }] of wanted) {
      if (ref.userId === undefined || ref.userId === '') continue;
      const mapping = resolved.get(key);
      if (!isMapping(mapping)) continue;
      for (const alias of contactIdentityKeys(ref)) if (alias !== key) aliases.set(alias, mapping);
    }
    if (aliases.size === 0) return;
    const known = await this.#host.store.getContacts(this.connection.id, [...aliases.keys()]);
    const fresh = [...aliases].filter(([alias]) => !known.has(alias));
    if (fresh.length === 0) return;
    await this.#host.store.saveContacts(
      fresh.map(([key, mapping]) => ({ connectionId: this.connection.id, key, ...toMapping(mapping) })),
    );
  }

  /** Searches these contacts, creates those not found, and sets each one's mapping or error in `resolved`. */
  async #searchAndCreate(
    keys: readonly string[],
    wanted: ReadonlyMap<string, { ref: ContactRef; businessPhone: string | undefined }>,
    lane: QueueLane,
    resolved: Map<string, ContactMapping | CrmError | ShutdownSignal>,
    mode: 'batch' | 'ahead' = 'batch',
  ): Promise<void> {
    if (keys.length === 0) return;
    // A batch waits without its call slot; resolving ahead holds none, and searches behind every batch's.
    const wait = <T>(pooled: Promise<T>): Promise<T> => (mode === 'batch' ? this.#parkWhile(pooled) : pooled);
    const toCreate: string[] = [];
    // Searched together with the look-ups of other batches in flight (full `searchBatchSize` calls).
    const searched = await wait(
      this.#finder.run(
        keys.map((key) => toContactFindRequest(key, wanted.get(key)!.ref)),
        lane,
        { background: mode === 'ahead' },
      ),
    );
    for (const key of keys) {
      const result = searched.get(key)!;
      if (!('ok' in result)) resolved.set(key, result as CrmError);
      else if (!result.ok) resolved.set(key, result.error);
      else if (result.matches.length > 0) {
        const match = result.matches[0]!;
        resolved.set(key, toMapping(match));
      } else toCreate.push(key);
    }
    if (toCreate.length === 0) return;
    // Created together with the new customers of other batches in flight; a customer two batches need is created
    // once, and the batch waits without a call slot.
    const notFoundAt = new Date(this.#host.now()).toISOString();
    const inputs: ContactInput[] = toCreate.map((key) => {
      const { ref, businessPhone } = wanted.get(key)!;
      const ownerId = this.#ownerOf(businessPhone);
      return toContactInput(key, ref, { notFoundAt, ...(ownerId === undefined ? {} : { ownerId }) });
    });
    const created = await wait(this.#creator.run(inputs, lane));
    for (const key of toCreate) {
      const result = created.get(key)!;
      if (!('ok' in result)) resolved.set(key, result as CrmError);
      else if (!result.ok) resolved.set(key, result.error);
      // The parent record (Close lead) is kept so cards and later writes can find it.
      else resolved.set(key, toMapping(result));
    }
  }

  async #writeMessages(job: Job): Promise<Completion> {
    const connectionId = this.connection.id;
    const capabilities = this.connection.adapter.capabilities;
    const outcomes: EventOutcome[] = [];
    const at = new Date(this.#host.now()).toISOString();
    const wanted = new Map<string, { ref: ContactRef; businessPhone: string | undefined }>();
    const keyed: {
      queued: QueuedEvent;
      event: MessageEvent;
      contactKey: string;
      carries: readonly CoexistenceEvent[];
    }[] = [];
    for (const queued of job.events) {
      const event = queued.event as MessageEvent;
      const contactKey = this.#host.keys.keyOf(event.contact);
      if (contactKey === undefined) {
        outcomes.push({
          seq: queued.seq,
          outcome: 'dead',
          reason: '[coexist/core] engine: the message names no contact (no phone, wa_id or BSUID)',
          errorKind: 'permanent',
          at,
        });
        continue;
      }
      if (!wanted.has(contactKey)) wanted.set(contactKey, { ref: event.contact, businessPhone: event.businessPhone });
      keyed.push({ queued, event, contactKey, carries: NOTHING_CARRIED });
    }

    const contacts = wanted.size === 0 ? new Map() : await this.#resolveContacts(wanted, job.lane);
    // The last written message of each conversation: chained to (`threadsMessages`), or none yet (a new conversation).
    const heads = await this.#host.store.getThreadHeads(
      connectionId,
      keyed.map((item) => item.queued.threadKey),
    );
    const records: MessageRecord[] = [];
    const writable: (typeof keyed)[number][] = [];
    for (const item of keyed) {
      const contact = contacts.get(item.contactKey);
      if (!isMapping(contact)) {
        outcomes.push(this.#failure(item.queued, contact, 'findContacts'));
        continue;
      }
      const ownerId = this.#ownerOf(item.event.businessPhone);
      item.carries = this.#carriedUpdates.of(item.event.message.id, item.event.message);
      const context: MessageRecordContext = {
        contact,
        conversationKey: item.queued.threadKey,
        firstInConversation: !heads.has(item.queued.threadKey),
      };
      if (item.contactKey.startsWith('phone:')) context.contactPhone = item.contactKey.slice(6);
      if (ownerId !== undefined) context.ownerId = ownerId;
      if (capabilities.threadsMessages) context.previousMessageCrmId = heads.get(item.queued.threadKey) ?? null;
      records.push(toMessageRecord(item.event, context, item.carries));
      writable.push(item);
    }

    if (records.length > 0 && this.#preparesConversations) {
      const prepared = await this.#prepareConversations(records, job.lane);
      for (let index = records.length - 1; index >= 0; index--) {
        const outcome = prepared.get(records[index]!.conversationKey)!;
        if (typeof outcome === 'string') records[index] = { ...records[index]!, conversationCrmId: outcome };
        else {
          outcomes.push(this.#failure(writable[index]!.queued, outcome, 'prepareConversations'));
          records.splice(index, 1);
          writable.splice(index, 1);
        }
      }
    }

    const messages: NonNullable<Completion['messages']>[number][] = [];
    if (records.length > 0) {
      try {
        const results = await this.#call('writeMessages', job.lane, (context) =>
          this.connection.adapter.writeMessages(records, context),
        );
        writable.forEach((item, index) => {
          const result = this.#writeResultAt(results, index, records[index]!.key, 'writeMessages');
          if (!('ok' in result)) outcomes.push(this.#failure(item.queued, result, 'writeMessages'));
          else if (!result.ok) outcomes.push(this.#failure(item.queued, result.error, 'writeMessages'));
          else {
            outcomes.push({ seq: item.queued.seq, outcome: 'done' });
            if (item.carries.length > 0) this.#carriedUpdates.carried(records[index]!.key, item.carries);
            messages.push({
              connectionId,
              key: records[index]!.key,
              crmId: result.crmId,
              threadKey: item.queued.threadKey,
            });
          }
        });
      } catch (error) {
        for (const item of writable) outcomes.push(this.#failure(item.queued, error, 'writeMessages'));
      }
    }
    return {
      outcomes,
      messages,
      counters: this.#counters(job, outcomes),
      // Every echo of the batch, written or not: Meta received it, so the Business App was in use (the 13–14-day
      // inactivity limit counts from it whatever the CRM answered).
      documents: this.#host.healthDocuments(job.events),
    };
  }

  /** Whether the adapter prepares conversation records in their own pooled calls (`prepareConversations`). */
  get #preparesConversations(): boolean {
    const adapter = this.connection.adapter;
    return typeof adapter.prepareConversations === 'function' && (adapter.capabilities.conversationBatchSize ?? 0) > 0;
  }

  /**
   * Creates or brings up to date the conversation records of a batch's messages, pooled with the conversations of
   * the other batches in flight (full `conversationBatchSize` calls, no call slot held meanwhile); answers each
   * conversation key with its CRM id or the error that failed it.
   */
  async #prepareConversations(
    records: readonly MessageRecord[],
    lane: QueueLane,
  ): Promise<Map<string, string | CrmError | ShutdownSignal>> {
    const byConversation = new Map<string, MessageRecord[]>();
    for (const record of records) {
      const list = byConversation.get(record.conversationKey);
      if (list === undefined) byConversation.set(record.conversationKey, [record]);
      else list.push(record);
    }
    // A thread is in one batch per lane at a time, so the lane and the conversation key name one input in flight.
    const inputs: ConversationInput[] = [...byConversation].map(([conversationKey, messages]) => ({
      key: `${lane}:${conversationKey}`,
      conversationKey,
      messages,
    }));
    const answered = await this.#parkWhile(this.#conversations.run(inputs, lane));
    const prepared = new Map<string, string | CrmError | ShutdownSignal>();
    for (const input of inputs) {
      const result = answered.get(input.key)!;
      if (!('ok' in result)) prepared.set(input.conversationKey, result as CrmError);
      else if (!result.ok) prepared.set(input.conversationKey, result.error);
      else prepared.set(input.conversationKey, result.crmId);
    }
    return prepared;
  }

  async #applyUpdates(job: Job): Promise<Completion> {
    const connectionId = this.connection.id;
    const outcomes: EventOutcome[] = [];
    const targets = [...new Set(job.events.map((queued) => queued.targetKey!))];
    const crmIds = await this.#host.store.getMessages(connectionId, targets);
    // Edits, reactions and follow-ups a later update of their message supersedes are not sent (`superseded-updates`).
    const checked = job.events.filter((queued) => canBeSuperseded(queued.event));
    const superseded =
      checked.length === 0
        ? new Set<string>()
        : supersededUpdates(
            checked.map((queued) => queued.event),
            await this.#host.store.listThreadEvents([...new Set(checked.map((queued) => queued.threadKey))]),
          );
    const updates: MessageUpdate[] = [];
    const sent: QueuedEvent[] = [];
    const apiReplies = new Map<string, ApiReply>();
    for (const queued of job.events) {
      const targetKey = queued.targetKey!;
      if (this.#carriedUpdates.consume(queued.event.id)) {
        // Its message's write carried it (see `CarriedUpdates`).
        outcomes.push({ seq: queued.seq, outcome: 'done' });
        continue;
      }
      const crmId = crmIds.get(targetKey);
      if (crmId === undefined) {
        // The message is not written yet (or never will be): park until it is, never drop.
        outcomes.push({ seq: queued.seq, outcome: 'wait', connectionId, targetKey });
        const event = queued.event;
        const recipient = event.type === 'message.status' ? this.#host.keys.keyOf(event.recipient) : undefined;
        if (event.type === 'message.status' && recipient !== undefined) {
          // Perhaps sent through the Cloud API, which no webhook reports: recorded under its conversation.
          const reply = apiReplyDocument(event, threadKeyOf(event.phoneNumberId, recipient));
          if (reply !== undefined) apiReplies.set(reply.key, reply.value);
        }
        continue;
      }
      const change = superseded.has(queued.event.id) ? undefined : toMessageChange(queued.event);
      if (change === undefined) {
        outcomes.push({ seq: queued.seq, outcome: 'done' });
        continue;
      }
      this.#carriedUpdates.forget(targetKey, queued.event.id);
      updates.push({ key: queued.event.id, messageKey: targetKey, crmId, change });
      sent.push(queued);
    }
    if (updates.length > 0) {
      try {
        const results = await this.#call('updateMessages', job.lane, (context) =>
          this.connection.adapter.updateMessages(updates, context),
        );
        sent.forEach((queued, index) => {
          const result = this.#writeResultAt(results, index, updates[index]!.key, 'updateMessages');
          if (!('ok' in result)) outcomes.push(this.#failure(queued, result, 'updateMessages'));
          else if (!result.ok) outcomes.push(this.#failure(queued, result.error, 'updateMessages'));
          else outcomes.push({ seq: queued.seq, outcome: 'done' });
        });
      } catch (error) {
        for (const queued of sent) outcomes.push(this.#failure(queued, error, 'updateMessages'));
      }
    }
    return {
      outcomes,
      counters: this.#counters(job, outcomes),
      ...(apiReplies.size === 0 ? {} : { documents: [...apiReplies].map(([key, value]) => ({ key, value })) }),
    };
  }

  /** Looks contact-sync keys up in the CRM by phone; throws the first failed search (a `CrmError` or shutdown). */
  async #findExisting(
    keys: readonly string[],
    latest: ReadonlyMap<string, QueuedEvent>,
    lane: QueueLane,
  ): Promise<Map<string, ContactMapping>> {
    const found = new Map<string, ContactMapping>();
    const requests = keys.map((key) => {
      const event = latest.get(key)!.event;
      return toContactFindRequest(key, event.type === 'contact.synced' ? event.contact : {});
    });
    // Address-book syncs (Business App contacts, thousands at onboarding) search behind the contacts of live
    // messages: a customer writing now must not wait for the whole address book to be looked up.
    const results = await this.#parkWhile(
      this.#finder.run(requests, lane === 'live' ? 'history' : lane, { background: true }),
    );
    for (const key of keys) {
      const result = results.get(key)!;
      if (!('ok' in result)) throw result;
      if (!result.ok) throw result.error;
      const match = result.matches[0];
      if (match !== undefined) {
        found.set(key, toMapping(match));
      }
    }
    return found;
  }

  async #upsertContacts(job: Job): Promise<Completion> {
    const outcomes: EventOutcome[] = [];
    const at = new Date(this.#host.now()).toISOString();
    // The latest sync of a contact wins; earlier ones in the same batch are superseded.
    const latest = new Map<string, QueuedEvent>();
    for (const queued of job.events) {
      const event = queued.event;
      const ref = event.type === 'contact.synced' ? event.contact : undefined;
      const key = this.#host.keys.keyOf(ref);
      if (key === undefined) {
        outcomes.push({
          seq: queued.seq,
          outcome: 'dead',
          reason: '[coexist/core] engine: the contact names nobody (no phone, wa_id or BSUID)',
          errorKind: 'permanent',
          at,
        });
        continue;
      }
      const previous = latest.get(key);
      if (previous !== undefined) outcomes.push({ seq: previous.seq, outcome: 'done' });
      latest.set(key, queued);
    }
    const keys = [...latest.keys()];
    const contacts: NonNullable<Completion['contacts']>[number][] = [];
    // Message batches of these customers wait for this sync's records (`#syncing`); each is answered when it ends.
    const settle = this.#announce(keys);
    try {
      return await this.#syncContacts(job, latest, keys, outcomes, contacts);
    } finally {
      settle(new Map(contacts.map((contact) => [contact.key, contact])));
    }
  }

  /** Finds the contacts of a sync not resolved yet, then upserts them all; fills `outcomes` and `contacts`. */
  async #syncContacts(
    job: Job,
    latest: ReadonlyMap<string, QueuedEvent>,
    keys: readonly string[],
    outcomes: EventOutcome[],
    contacts: NonNullable<Completion['contacts']>[number][],
  ): Promise<Completion> {
    const connectionId = this.connection.id;
    const known = await this.#host.store.getContacts(connectionId, keys);
    // A contact the engine has not resolved yet may already exist under a phone typed by a rep: find it first,
    // so the upsert updates that record instead of creating a duplicate.
    const unknown = keys.filter((key) => !known.has(key));
    if (unknown.length > 0) {
      try {
        for (const [key, mapping] of await this.#findExisting(unknown, latest, job.lane)) known.set(key, mapping);
      } catch (error) {
        // Upserting without the search could duplicate a rep's contact: retry the whole batch later instead.
        for (const key of keys) outcomes.push(this.#failure(latest.get(key)!, error, 'findContacts'));
        return { outcomes, counters: this.#counters(job, outcomes) };
      }
    }
    const searchedAt = new Date(this.#host.now()).toISOString();
    const inputs = keys.map((key) => {
      const event = latest.get(key)!.event;
      const ref = event.type === 'contact.synced' ? event.contact : {};
      const crmId = known.get(key)?.crmId;
      const ownerId = this.#ownerOf(event.businessPhone);
      return toContactInput(key, ref, {
        ...(crmId === undefined ? {} : { crmId }),
        ...(ownerId === undefined ? {} : { ownerId }),
        // Not in the store and not found by the search just above.
        ...(crmId === undefined ? { notFoundAt: searchedAt } : {}),
      });
    });
    if (inputs.length > 0) {
      try {
        const results = await this.#call('upsertContacts', job.lane, (context) =>
          this.connection.adapter.upsertContacts(inputs, context),
        );
        keys.forEach((key, index) => {
          const queued = latest.get(key)!;
          const result = this.#writeResultAt(results, index, key, 'upsertContacts');
          if (!('ok' in result)) outcomes.push(this.#failure(queued, result, 'upsertContacts'));
          else if (!result.ok) outcomes.push(this.#failure(queued, result.error, 'upsertContacts'));
          else {
            outcomes.push({ seq: queued.seq, outcome: 'done' });
            const parentId = result.parentId ?? known.get(key)?.parentId;
            contacts.push({ connectionId, key, crmId: result.crmId, ...(parentId === undefined ? {} : { parentId }) });
          }
        });
      } catch (error) {
        for (const key of keys) outcomes.push(this.#failure(latest.get(key)!, error, 'upsertContacts'));
      }
    }
    // A contact sync arriving says the business made the contacts sync call (`NumberHealthState.syncRequestedAt`).
    return {
      outcomes,
      contacts,
      counters: this.#counters(job, outcomes),
      documents: this.#host.healthDocuments(job.events),
    };
  }
}

/** How many times `callTimeoutMs` a timed-out call is still waited for (docs/engine.md, *Retries*). */
const LATE_ANSWER_WAITS = 3;

/**
 * `{ value }` as soon as `promise` fulfils (when given), or `undefined` once `ms` have passed (a rejection changes
 * nothing: the request may still be on its way) or `signal` aborted.
 */
function lateAnswer<T>(
  promise: Promise<T> | undefined,
  ms: number,
  signal: AbortSignal,
): Promise<{ value: T } | undefined> {
  return new Promise((resolve) => {
    const done = (outcome: { value: T } | undefined) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', abort);
      resolve(outcome);
    };
    const abort = () => done(undefined);
    const timer = setTimeout(abort, ms);
    signal.addEventListener('abort', abort, { once: true });
    promise?.then(
      (value) => done({ value }),
      () => {},
    );
  });
}

/** Resolves after pending I/O and timers had their turn (`setImmediate`). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The contact mapping of a search match, a write result or a stored mapping: its CRM id and parent id, nothing else. */
function toMapping(record: { crmId: string; parentId?: string | undefined }): ContactMapping {
  return record.parentId === undefined ? { crmId: record.crmId } : { crmId: record.crmId, parentId: record.parentId };
}

function isMapping(value: unknown): value is ContactMapping {
  return typeof value === 'object' && value !== null && 'crmId' in value && !(value instanceof Error);
}

/** An error's name and message, never its payload. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
