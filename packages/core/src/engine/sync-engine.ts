/**
 * The sync engine: turns a stream of Coexistence events into CRM writes that are complete, exactly-once per key,
 * ordered per thread and paced to each CRM's limits. Webhooks are made durable first (`ingest`, one store
 * transaction, before the ack); one worker per CRM connection then drains the store's queue.
 */
import { createHash } from 'node:crypto';
import type { CoexistenceEvent, MessageEchoedEvent, MessageReceivedEvent } from '../events/coexistence-event.ts';
import {
  applyNumberHealthEvent,
  assessNumberHealth,
  createNumberHealthState,
  type NumberHealthState,
  withAccountHealth,
} from '../models/number-health.ts';
import type {
  CoexistStore,
  DeadLetter,
  InvalidPayload,
  PlannedEvent,
  QueuedEvent,
  QueueLane,
} from '../store/coexist-store.ts';
import { isCarriableUpdate } from './carried-updates.ts';
import { ConnectionWorker, describeError, type WorkerHost } from './connection-worker.ts';
import type { ContactAhead } from './contacts-ahead.ts';
import type {
  IngestOptions,
  IngestReport,
  InvalidPayloadReplay,
  LaneProgress,
  NumberStatus,
  PayloadParser,
  QueueDepth,
  SyncConnection,
  SyncEngine,
  SyncEngineEvents,
  SyncEngineOptions,
  SyncLogger,
  SyncPhase,
  SyncProgress,
  SyncStatus,
} from './engine-types.ts';
import { ContactKeyCache, planEvent } from './plan-event.ts';

/** The longest a worker defers a new batch to webhook ingests under way (docs/engine.md, *Scheduling*). */
const INGEST_PRIORITY_MS = 100;
const PREFIX = '[coexist/core] engine: ';
const NUMBER_DOCUMENT = 'number:';
const WABA_DOCUMENT = 'waba:';
const RATE_WINDOW_MS = 10_000;

/** The per-number document the engine keeps in the store. */
interface NumberDocument {
  health: NumberHealthState;
  wabaId?: string;
}

/** Creates the sync engine over a store and the CRM connections; starts its workers unless `autoStart` is false. */
export function createSyncEngine(options: SyncEngineOptions): SyncEngine {
  return new Engine(options);
}

class Engine implements SyncEngine {
  readonly #store: CoexistStore;
  readonly #connections: readonly SyncConnection[];
  readonly #routes = new Map<string, string>();
  readonly #workers = new Map<string, ConnectionWorker>();
  readonly #keys = new ContactKeyCache();
  readonly #now: () => number;
  readonly #logger: SyncLogger;
  readonly #progressIntervalMs: number;
  readonly #listeners = new Map<keyof SyncEngineEvents, Set<(event: never) => void>>();
  readonly #numbers = new Map<string, NumberDocument>();
  readonly #wabas = new Map<string, NumberDocument>();
  readonly #rates = new Map<string, { at: number; count: number }[]>();
  readonly #dirtyNumbers = new Set<string>();
  readonly #activityWaiters = new Set<() => void>();
  #progressTimer: ReturnType<typeof setTimeout> | undefined;
  #lastProgressAt = 0;
  #ready: Promise<void> | undefined;
  /** Set once `#init` finished, so the ack path does not pay an extra turn of the microtask queue. */
  #initialized = false;
  #running = false;
  #stopped = false;
  #stopping: Promise<void> | undefined;
  #ingesting = 0;
  readonly #ingestWaiters: (() => void)[] = [];
  readonly #pauseTimers = new Set<ReturnType<typeof setTimeout>>();
  /** Every progress flush started, settled once all have emitted. */
  #progressFlushes: Promise<void> = Promise.resolve();
  #metaLoop: Promise<void> | undefined;
  #metaIdle = false;
  #metaWoken = false;
  #metaWake: (() => void) | undefined;

  constructor(options: SyncEngineOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError(`${PREFIX}options: expected an object`);
    if (options.store === undefined || typeof options.store.claim !== 'function') {
      throw new TypeError(`${PREFIX}options.store: expected a CoexistStore (createSqliteStore or createMemoryStore)`);
    }
    if (!Array.isArray(options.connections)) {
      throw new TypeError(`${PREFIX}options.connections: expected an array of { id, adapter, phoneNumberIds }`);
    }
    this.#store = options.store;
    this.#connections = options.connections;
    const clock = options.now ?? (() => Date.now());
    this.#now = () => {
      const value = clock();
      return typeof value === 'number' ? value : value.getTime();
    };
    this.#logger = options.logger ?? {};
    this.#progressIntervalMs = options.progressIntervalMs ?? 250;
    const retry = options.retry ?? {};
    const host: WorkerHost = {
      store: this.#store,
      keys: this.#keys,
      now: this.#now,
      logger: this.#logger,
      random: options.random ?? Math.random,
      maxAttempts: Math.max(1, retry.maxAttempts ?? 8),
      backoffBaseMs: retry.baseMs ?? 500,
      backoffCapMs: retry.capMs ?? 60_000,
      callTimeoutMs: options.callTimeoutMs ?? 30_000,
      authRetryMs: options.authRetryMs ?? 60_000,
      onCompleted: (reports) => {
        const now = this.#now();
        for (const report of reports) {
          if (report.kind === 'message' && report.written > 0) {
            const samples = this.#rates.get(report.phoneNumberId) ?? [];
            samples.push({ at: now, count: report.written });
            while (samples.length > 0 && samples[0]!.at < now - RATE_WINDOW_MS) samples.shift();
            this.#rates.set(report.phoneNumberId, samples);
          }
          this.#markDirty(report.phoneNumberId);
        }
      },
      onDeadLetter: (letter) => {
        this.#logger.warn?.(`${PREFIX}an event went to the dead-letter table`, { ...letter });
        this.#emit('dead-letter', letter);
      },
      onActivity: () => this.#activity(),
      onPaused: (connectionId, until) => this.#onPaused(connectionId, until),
      // Acks first: a worker starts no batch while a webhook is being stored (it would sit between the request and
      // its answer on this thread), but waits at most INGEST_PRIORITY_MS, so a steady stream of webhooks cannot
      // starve the writes.
      afterIngests: () =>
        this.#ingesting === 0
          ? undefined
          : new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, INGEST_PRIORITY_MS);
              this.#ingestWaiters.push(() => {
                clearTimeout(timer);
                resolve();
              });
            }),
      healthDocuments: (events) => this.#applyWorkerHealth(events),
    };
    options.connections.forEach((connection, index) => {
      const field = `options.connections[${index}]`;
      if (typeof connection?.id !== 'string' || connection.id === '') {
        throw new TypeError(`${PREFIX}${field}.id: expected a non-empty string`);
      }
      if (this.#workers.has(connection.id))
        throw new TypeError(`${PREFIX}${field}.id: "${connection.id}" is used twice`);
      if (connection.adapter?.specificationVersion !== 'v1') {
        throw new TypeError(`${PREFIX}${field}.adapter: expected a CrmAdapter with specificationVersion 'v1'`);
      }
      if (
        connection.defaultOwnerId !== undefined &&
        (typeof connection.defaultOwnerId !== 'string' || connection.defaultOwnerId === '')
      ) {
        throw new TypeError(`${PREFIX}${field}.defaultOwnerId: expected a non-empty CRM user id`);
      }
      if (!Array.isArray(connection.phoneNumberIds)) {
        throw new TypeError(`${PREFIX}${field}.phoneNumberIds: expected an array of phone number ids`);
      }
      for (const phoneNumberId of connection.phoneNumberIds) {
        const taken = this.#routes.get(phoneNumberId);
        if (taken !== undefined) {
          throw new TypeError(
            `${PREFIX}${field}.phoneNumberIds: "${phoneNumberId}" is already served by connection "${taken}"`,
          );
        }
        this.#routes.set(phoneNumberId, connection.id);
      }
      this.#workers.set(connection.id, new ConnectionWorker(connection, host));
    });
    if (options.autoStart !== false) void this.start();
  }

  #init(): Promise<void> {
    this.#ready ??= (async () => {
      // A number moved to another connection, or dropped from the configuration, takes its open events along.
      await this.#store.rerouteOpenEvents(this.#routes);
      for (const connection of this.#connections) {
        await this.#store.routeUnrouted(connection.phoneNumberIds, connection.id);
      }
      for (const { key, value } of await this.#store.listDocuments<NumberDocument>(NUMBER_DOCUMENT)) {
        this.#numbers.set(key.slice(NUMBER_DOCUMENT.length), value);
      }
      for (const { key, value } of await this.#store.listDocuments<NumberDocument>(WABA_DOCUMENT)) {
        this.#wabas.set(key.slice(WABA_DOCUMENT.length), value);
      }
      this.#initialized = true;
    })();
    return this.#ready;
  }

  async start(): Promise<void> {
    await this.#init();
    if (this.#running || this.#stopped) return;
    this.#running = true;
    for (const worker of this.#workers.values()) worker.start();
    this.#metaLoop = this.#runMeta();
  }

  async ingest(events: readonly CoexistenceEvent[], options: IngestOptions): Promise<IngestReport> {
    if (!Array.isArray(events)) throw new TypeError(`${PREFIX}events: expected an array of CoexistenceEvent`);
    events.forEach((event, index) => {
      if (typeof event?.id !== 'string' || event.id === '') {
        throw new TypeError(`${PREFIX}events[${index}].id: expected a non-empty string`);
      }
      if (typeof event.type !== 'string') throw new TypeError(`${PREFIX}events[${index}].type: expected a string`);
    });
    const rawBody = this.#rawText(options?.rawBody, 'options.rawBody');
    if (!this.#initialized) await this.#init();
    const planned = events.map((event) =>
      planEvent(
        event,
        event.phoneNumberId === undefined ? null : (this.#routes.get(event.phoneNumberId) ?? null),
        this.#keys,
      ),
    );
    this.#ingesting++;
    let result: Awaited<ReturnType<CoexistStore['ingest']>>;
    try {
      result = await this.#store.ingest({
        rawBody,
        sha256: sha256(options.rawBody),
        receivedAt: this.#isoTime(options.receivedAt, 'options.receivedAt'),
        events: planned,
      });
    } finally {
      this.#ingesting--;
      if (this.#ingesting === 0) for (const resume of this.#ingestWaiters.splice(0)) resume();
    }
    if (result.inserted > 0) {
      this.#wakeFor(planned);
      this.#expectContacts(planned);
      this.#expectUpdates(planned);
    }
    return { payloadId: result.payloadId, accepted: result.inserted, duplicates: result.duplicates };
  }

  /** Tells each worker the updates just queued that a later write of their message can carry (`CarriedUpdates`). */
  #expectUpdates(planned: readonly PlannedEvent[]): void {
    const updates = groupByConnection(planned, (item) =>
      item.kind === 'update' && item.targetKey !== null && isCarriableUpdate(item.event)
        ? { messageKey: item.targetKey, event: item.event }
        : undefined,
    );
    for (const [connectionId, list] of updates) this.#workers.get(connectionId)?.expectUpdates(list);
  }

  /** Tells each worker the customers of the backfill messages just queued, to resolve ahead of their turn. */
  #expectContacts(planned: readonly PlannedEvent[]): void {
    const contacts = groupByConnection(planned, (item): [string, ContactAhead] | undefined => {
      if (item.kind !== 'message' || item.lane !== 'history') return undefined;
      const event = item.event as MessageReceivedEvent | MessageEchoedEvent;
      const key = this.#keys.keyOf(event.contact);
      return key === undefined ? undefined : [key, { ref: event.contact, businessPhone: event.businessPhone }];
    });
    for (const [connectionId, list] of contacts) this.#workers.get(connectionId)?.expectContacts(list);
  }

  #wakeFor(planned: readonly { kind: string; lane: QueueLane; connectionId: string | null }[]): void {
    const woken = new Set<string>();
    // A payload's events mostly share connection, kind and lane: skip the key for a repeat of the previous one.
    let previous: { kind: string; lane: QueueLane; connectionId: string | null } | undefined;
    for (const item of planned) {
      if (item.kind === 'meta') {
        this.#wakeMeta();
        continue;
      }
      if (item.connectionId === null) continue;
      if (
        previous !== undefined &&
        previous.connectionId === item.connectionId &&
        previous.kind === item.kind &&
        previous.lane === item.lane
      ) {
        continue;
      }
      previous = item;
      const key = `${item.connectionId}\u0000${item.kind}\u0000${item.lane}`;
      if (woken.has(key)) continue;
      woken.add(key);
      this.#workers.get(item.connectionId)?.wake(item.kind as 'message', item.lane);
    }
  }

  async recordInvalidPayload(input: {
    rawBody: string | Uint8Array;
    error: unknown;
    receivedAt?: string | Date;
  }): Promise<number> {
    const rawBody = this.#rawText(input?.rawBody, 'input.rawBody');
    await this.#init();
    const error = input.error instanceof Error ? input.error.message : String(input.error);
    const id = await this.#store.recordInvalidPayload({
      rawBody,
      sha256: sha256(input.rawBody),
      error,
      receivedAt: this.#isoTime(input.receivedAt, 'input.receivedAt'),
    });
    this.#logger.warn?.(`${PREFIX}kept a payload that failed validation`, { payloadId: id });
    return id;
  }

  async listInvalidPayloads(): Promise<InvalidPayload[]> {
    await this.#init();
    return this.#store.listInvalidPayloads();
  }

  async replayInvalidPayloads(parse: PayloadParser): Promise<InvalidPayloadReplay> {
    if (typeof parse !== 'function') throw new TypeError(`${PREFIX}parse: expected a function (rawBody) => events`);
    await this.#init();
    const report: InvalidPayloadReplay = { replayed: 0, failed: 0, accepted: 0 };
    for (const payload of await this.#store.listInvalidPayloads()) {
      let events: readonly CoexistenceEvent[];
      try {
        events = await parse(payload.rawBody);
      } catch (error) {
        report.failed++;
        await this.#store.updateInvalidPayload(payload.id, {
          error: error instanceof Error ? error.message : String(error),
        });
        continue;
      }
      const planned = events.map((event) =>
        planEvent(
          event,
          event.phoneNumberId === undefined ? null : (this.#routes.get(event.phoneNumberId) ?? null),
          this.#keys,
        ),
      );
      const result = await this.#store.ingest({
        rawBody: payload.rawBody,
        sha256: '',
        receivedAt: payload.receivedAt,
        events: planned,
        payloadId: payload.id,
      });
      await this.#store.updateInvalidPayload(payload.id, { replayedAt: new Date(this.#now()).toISOString() });
      report.replayed++;
      report.accepted += result.inserted;
      if (result.inserted > 0) {
        this.#wakeFor(planned);
        this.#expectContacts(planned);
      }
    }
    return report;
  }

  async listDeadLetters(options?: { includeReplayed?: boolean; limit?: number }): Promise<DeadLetter[]> {
    await this.#init();
    return this.#store.listDeadLetters(options);
  }

  async replayDeadLetter(id: number): Promise<DeadLetter> {
    if (!Number.isInteger(id)) throw new TypeError(`${PREFIX}id: expected a dead letter's integer id`);
    await this.#init();
    // To the connection serving its number now: the one it died on may no longer (docs/engine.md, Multi-tenant).
    const letter = await this.#store.replayDeadLetter(id, new Date(this.#now()).toISOString(), this.#routes);
    if (letter.phoneNumberId !== null) this.#markDirty(letter.phoneNumberId);
    this.#wakeAll();
    return letter;
  }

  #wakeAll(): void {
    for (const worker of this.#workers.values()) worker.wake();
    this.#wakeMeta();
  }

  on<Name extends keyof SyncEngineEvents>(name: Name, listener: (event: SyncEngineEvents[Name]) => void): () => void {
    let listeners = this.#listeners.get(name);
    if (listeners === undefined) {
      listeners = new Set();
      this.#listeners.set(name, listeners);
    }
    listeners.add(listener as (event: never) => void);
    return () => listeners.delete(listener as (event: never) => void);
  }

  progress(): AsyncIterableIterator<SyncProgress> {
    const buffered: SyncProgress[] = [];
    let notify: (() => void) | undefined;
    let done = false;
    const unsubscribe = this.on('progress', (event) => {
      buffered.push(event);
      notify?.();
    });
    const finish = () => {
      done = true;
      unsubscribe();
      notify?.();
    };
    this.#stopCallbacks.add(finish);
    const iterator: AsyncIterableIterator<SyncProgress> = {
      next: async () => {
        while (buffered.length === 0 && !done && !this.#stopped) {
          await new Promise<void>((resolve) => {
            notify = resolve;
          });
          notify = undefined;
        }
        const value = buffered.shift();
        return value === undefined ? { value: undefined, done: true } : { value, done: false };
      },
      return: async () => {
        finish();
        this.#stopCallbacks.delete(finish);
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  readonly #stopCallbacks = new Set<() => void>();

  #emit<Name extends keyof SyncEngineEvents>(name: Name, event: SyncEngineEvents[Name]): void {
    for (const listener of this.#listeners.get(name) ?? []) {
      try {
        (listener as (event: SyncEngineEvents[Name]) => void)(event);
      } catch (error) {
        this.#logger.error?.(`${PREFIX}a ${name} listener threw`, { error: describeError(error) });
      }
    }
  }

  #activity(): void {
    for (const resolve of [...this.#activityWaiters]) resolve();
    this.#activityWaiters.clear();
  }

  #waitActivity(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#activityWaiters.add(done);
    });
  }

  #allIdle(): boolean {
    if (!this.#metaIdle) return false;
    for (const worker of this.#workers.values()) if (!worker.idle) return false;
    return true;
  }

  async idle(): Promise<void> {
    await this.start();
    while (!this.#stopped && !this.#allIdle()) await this.#waitActivity(50);
  }

  async drain(options: { timeoutMs?: number } = {}): Promise<void> {
    await this.start();
    const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
    for (;;) {
      if (this.#stopped) throw new Error(`${PREFIX}drain: the engine was stopped`);
      if (this.#allIdle()) {
        const open = await this.#store.countOpen();
        const runnable = open.filter((count) => count.state === 'pending').reduce((sum, count) => sum + count.count, 0);
        if (runnable === 0 && this.#allIdle()) {
          // The last progress event is out before drain() resolves.
          await this.#flushProgress();
          return;
        }
      }
      if (Date.now() > deadline) {
        throw new Error(`${PREFIX}drain: timed out after ${options.timeoutMs} ms with work still pending`);
      }
      await this.#waitActivity(50);
    }
  }

  stop(): Promise<void> {
    // A second call waits for the first: its caller may close the store next.
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([...this.#workers.values()].map((worker) => worker.stop()));
    this.#wakeMeta();
    await this.#metaLoop;
    if (this.#progressTimer !== undefined) clearTimeout(this.#progressTimer);
    this.#progressTimer = undefined;
    for (const timer of this.#pauseTimers) clearTimeout(timer);
    this.#pauseTimers.clear();
    this.#activity();
    for (const callback of this.#stopCallbacks) callback();
    this.#stopCallbacks.clear();
    this.#running = false;
  }

  // ---- meta events: account, history progress, errors → number health documents ----

  #wakeMeta(): void {
    this.#metaIdle = false;
    this.#metaWoken = true;
    const resolve = this.#metaWake;
    this.#metaWake = undefined;
    resolve?.();
  }

  async #runMeta(): Promise<void> {
    while (!this.#stopped) {
      this.#metaWoken = false;
      try {
        const { events } = await this.#store.claim({
          connectionId: '',
          kind: 'meta',
          lane: 'live',
          limit: 500,
          now: this.#now(),
          blockedThreads: new Set(),
        });
        if (events.length > 0) {
          const documents = this.#applyMeta(events);
          await this.#store.complete({
            outcomes: events.map((event) => ({ seq: event.seq, outcome: 'done' as const })),
            documents,
          });
          continue;
        }
      } catch (error) {
        this.#logger.error?.(`${PREFIX}applying account and history events failed`, { error: describeError(error) });
      }
      this.#metaIdle = true;
      this.#activity();
      if (this.#metaWoken || this.#stopped) continue;
      await new Promise<void>((resolve) => {
        this.#metaWake = resolve;
      });
    }
  }

  #numberDocument(phoneNumberId: string): NumberDocument {
    let document = this.#numbers.get(phoneNumberId);
    if (document === undefined) {
      document = { health: createNumberHealthState() };
      this.#numbers.set(phoneNumberId, document);
    }
    return document;
  }

  #applyMeta(events: readonly QueuedEvent[]): { key: string; value: unknown }[] {
    const changed = new Map<string, NumberDocument>();
    for (const { event } of events) {
      if (event.phoneNumberId !== undefined) {
        const document = this.#numberDocument(event.phoneNumberId);
        document.health = applyNumberHealthEvent(document.health, event);
        document.wabaId = event.wabaId;
        changed.set(`${NUMBER_DOCUMENT}${event.phoneNumberId}`, document);
        this.#markDirty(event.phoneNumberId);
      } else {
        // Account events carry no metadata: they describe the whole WABA.
        let document = this.#wabas.get(event.wabaId);
        if (document === undefined) {
          document = { health: createNumberHealthState(), wabaId: event.wabaId };
          this.#wabas.set(event.wabaId, document);
        }
        document.health = applyNumberHealthEvent(document.health, event);
        changed.set(`${WABA_DOCUMENT}${event.wabaId}`, document);
        for (const [phoneNumberId, number] of this.#numbers)
          if (number.wabaId === event.wabaId) this.#markDirty(phoneNumberId);
      }
    }
    return [...changed].map(([key, value]) => ({ key, value }));
  }

  /** Folds what a worker's batch says about its numbers into their documents: live echoes (app activity), syncs. */
  #applyWorkerHealth(events: readonly QueuedEvent[]): { key: string; value: unknown }[] {
    const changed = new Map<string, NumberDocument>();
    for (const { event } of events) {
      if (event.phoneNumberId === undefined) continue;
      const document = this.#numberDocument(event.phoneNumberId);
      if (document.wabaId === undefined) {
        document.wabaId = event.wabaId;
        changed.set(`${NUMBER_DOCUMENT}${event.phoneNumberId}`, document);
      }
      if (!((event.type === 'message.echoed' && event.source === 'live') || event.type === 'contact.synced')) continue;
      const next = applyNumberHealthEvent(document.health, event);
      if (next !== document.health) {
        document.health = next;
        changed.set(`${NUMBER_DOCUMENT}${event.phoneNumberId}`, document);
      }
    }
    return [...changed].map(([key, value]) => ({ key, value }));
  }

  // ---- progress and status ----

  /** A paused connection's numbers report `paused` now and their work again when the pause ends. */
  #onPaused(connectionId: string, until: number): void {
    const numbers = this.#workers.get(connectionId)?.connection.phoneNumberIds ?? [];
    for (const phoneNumberId of numbers) this.#markDirty(phoneNumberId);
    const timer = setTimeout(
      () => {
        this.#pauseTimers.delete(timer);
        for (const phoneNumberId of numbers) this.#markDirty(phoneNumberId);
      },
      Math.max(0, until - this.#now()) + 1,
    );
    this.#pauseTimers.add(timer);
  }

  #markDirty(phoneNumberId: string): void {
    if (phoneNumberId === '') return;
    this.#dirtyNumbers.add(phoneNumberId);
    if (this.#progressTimer !== undefined || this.#stopped) return;
    const wait = Math.max(0, this.#lastProgressAt + this.#progressIntervalMs - Date.now());
    this.#progressTimer = setTimeout(() => {
      this.#progressTimer = undefined;
      void this.#flushProgress();
    }, wait);
  }

  /** Emits the progress of the numbers that changed; resolves once every flush started so far has emitted. */
  #flushProgress(): Promise<void> {
    if (this.#dirtyNumbers.size === 0 || (this.#listeners.get('progress')?.size ?? 0) === 0) {
      this.#dirtyNumbers.clear();
      // A flush the timer started may still be reading the counters: whoever waits, waits for it too.
      return this.#progressFlushes;
    }
    if (this.#progressTimer !== undefined) clearTimeout(this.#progressTimer);
    this.#progressTimer = undefined;
    const numbers = [...this.#dirtyNumbers];
    this.#dirtyNumbers.clear();
    this.#lastProgressAt = Date.now();
    const flush = this.#store
      .readCounters()
      .then((counters) => {
        for (const phoneNumberId of numbers) this.#emit('progress', this.#progressOf(phoneNumberId, counters));
      })
      .catch((error: unknown) => {
        this.#logger.error?.(`${PREFIX}reading progress counters failed`, { error: describeError(error) });
      });
    // drain() waits for every flush started so far, this one and any a timer started before.
    this.#progressFlushes = Promise.all([this.#progressFlushes, flush]).then(() => {});
    return this.#progressFlushes;
  }

  #progressOf(phoneNumberId: string, counters: Record<string, Record<string, number>>): SyncProgress {
    const scope = counters[phoneNumberId] ?? {};
    const lane = (name: QueueLane): LaneProgress => {
      const received = scope[`message.${name}.received`] ?? 0;
      const written = scope[`message.${name}.written`] ?? 0;
      const dead = scope[`message.${name}.dead`] ?? 0;
      return { received, written, dead, pending: Math.max(0, received - written - dead) };
    };
    const history = lane('history');
    const live = lane('live');
    const health = this.#numbers.get(phoneNumberId)?.health ?? createNumberHealthState();
    const now = this.#now();
    const samples = (this.#rates.get(phoneNumberId) ?? []).filter((sample) => sample.at >= now - RATE_WINDOW_MS);
    const oldest = samples[0]?.at ?? now;
    const span = Math.max(1000, now - oldest);
    const ratePerSecond =
      samples.length === 0 ? 0 : (samples.reduce((sum, sample) => sum + sample.count, 0) * 1000) / span;
    const connectionId = this.#routes.get(phoneNumberId) ?? null;
    const paused = connectionId !== null && (this.#workers.get(connectionId)?.pausedUntil ?? 0) > now;
    const phase: SyncPhase = paused
      ? 'paused'
      : connectionId === null && history.pending + live.pending > 0
        ? 'unrouted'
        : history.pending > 0
          ? 'backfill'
          : live.pending > 0 || live.received > 0
            ? 'live'
            : 'idle';
    const phases = health.phases;
    return {
      phoneNumberId,
      connectionId,
      phase,
      history: {
        ...history,
        historyPhase: phases.length === 0 ? null : Math.max(...phases.map((entry) => entry.phase)),
        chunksSeen: phases.reduce((sum, entry) => sum + entry.chunks.length, 0),
        metaProgress: health.historyProgress,
      },
      live,
      messagesWritten: history.written + live.written,
      ratePerSecond: Math.round(ratePerSecond * 10) / 10,
      etaSeconds: history.pending === 0 ? 0 : ratePerSecond > 0 ? Math.ceil(history.pending / ratePerSecond) : null,
      at: new Date(now).toISOString(),
    };
  }

  async status(): Promise<SyncStatus> {
    await this.#init();
    const [open, counters, deadLetters, invalid] = await Promise.all([
      this.#store.countOpen(),
      this.#store.readCounters(),
      this.#store.listDeadLetters({ limit: 100_000 }),
      this.#store.listInvalidPayloads(),
    ]);
    const now = this.#now();
    const ids = new Set<string>(this.#routes.keys());
    for (const id of this.#numbers.keys()) ids.add(id);
    for (const count of open) if (count.phoneNumberId !== null) ids.add(count.phoneNumberId);
    for (const scope of Object.keys(counters)) if (scope !== '') ids.add(scope);
    const numbers: NumberStatus[] = [...ids].sort().map((phoneNumberId) => {
      const document = this.#numbers.get(phoneNumberId);
      const waba = document?.wabaId === undefined ? undefined : this.#wabas.get(document.wabaId);
      const health = withAccountHealth(document?.health ?? createNumberHealthState(), waba?.health);
      const link = assessNumberHealth(health, new Date(now));
      const queue: QueueDepth = { pending: 0, waiting: 0, unrouted: 0, byLane: { live: 0, history: 0 } };
      for (const count of open) {
        if (count.phoneNumberId !== phoneNumberId || count.state === 'dead') continue;
        if (count.state === 'pending' || count.state === 'waiting' || count.state === 'unrouted') {
          queue[count.state] += count.count;
        }
        if (count.state === 'pending') queue.byLane[count.lane] += count.count;
      }
      const progress = this.#progressOf(phoneNumberId, counters);
      return {
        phoneNumberId,
        connectionId: this.#routes.get(phoneNumberId) ?? null,
        wabaId: document?.wabaId ?? null,
        link,
        backfill: {
          progress: link.backfill.progress,
          complete: link.backfill.complete,
          declined: link.backfill.declined,
          phases: link.backfill.phases,
          received: progress.history.received,
          written: progress.history.written,
          pending: progress.history.pending,
        },
        queue,
        deadLetters: deadLetters.filter((letter) => letter.phoneNumberId === phoneNumberId).length,
        progress,
      };
    });
    return {
      at: new Date(now).toISOString(),
      running: this.#running && !this.#stopped,
      numbers,
      connections: [...this.#workers.values()].map((worker) => ({
        id: worker.connection.id,
        crm: worker.connection.adapter.crm,
        phoneNumberIds: worker.connection.phoneNumberIds,
        inFlight: worker.inFlight,
        maxConcurrency: worker.maxConcurrency,
        pausedUntil: worker.pausedUntil > now ? new Date(worker.pausedUntil).toISOString() : null,
        lastError: worker.lastError,
        rateLimits: worker.limiter.snapshot(),
      })),
      deadLetters: deadLetters.length,
      invalidPayloads: invalid.length,
    };
  }

  // ---- helpers ----

  #rawText(rawBody: unknown, field: string): string {
    if (typeof rawBody === 'string') return rawBody;
    // The BOM kept (as U+FEFF), so the text encodes back to the bytes the signature covered.
    if (rawBody instanceof Uint8Array) return new TextDecoder('utf-8', { ignoreBOM: true }).decode(rawBody);
    throw new TypeError(`${PREFIX}${field}: expected the raw body as a string or Uint8Array`);
  }

  #isoTime(value: string | Date | undefined, field: string): string {
    if (value === undefined) return new Date(this.#now()).toISOString();
    const time = value instanceof Date ? value.getTime() : Date.parse(value);
    if (!Number.isFinite(time)) throw new TypeError(`${PREFIX}${field}: expected an ISO-8601 time or a Date`);
    return new Date(time).toISOString();
  }
}

function sha256(body: string | Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

/** What `pick` finds in the planned events of each connection (events no connection serves are skipped). */
function groupByConnection<T>(
  planned: readonly PlannedEvent[],
  pick: (item: PlannedEvent) => T | undefined,
): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of planned) {
    if (item.connectionId === null) continue;
    const value = pick(item);
    if (value === undefined) continue;
    const group = groups.get(item.connectionId);
    if (group === undefined) groups.set(item.connectionId, [value]);
    else group.push(value);
  }
  return groups;
}
