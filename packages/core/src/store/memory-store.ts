/**
 * An in-memory `CoexistStore` for tests and demos: the same semantics as the SQLite store, nothing persisted.
 * Events are deep-copied on the way in and out, as a real backend would serialise them.
 */
import type { CoexistenceEvent } from '../events/coexistence-event.ts';
import {
  type ClaimQuery,
  type ClaimResult,
  type CoexistStore,
  CoexistStoreError,
  type Completion,
  type ContactMapping,
  type DeadLetter,
  deadLetterLimit,
  type IngestInput,
  type IngestResult,
  type InvalidPayload,
  type QueueCount,
  type QueuedEvent,
} from './coexist-store.ts';
import { type PendingEntry, PendingQueue } from './pending-queue.ts';

interface StoredPayload {
  id: number;
  sha256: string;
  receivedAt: string;
  rawBody: string;
  status: 'accepted' | 'invalid' | 'replayed';
  error: string | null;
  replayedAt: string | null;
}

/** A queued event as the memory store keeps it: the event's JSON apart, as the SQLite store does. */
type StoredEvent = QueuedEvent & { body: string };
/** Creates an empty in-memory store. */
export function createMemoryStore(): CoexistStore {
  return new MemoryStore();
}

class MemoryStore implements CoexistStore {
  readonly backend = 'memory';
  readonly #payloads = new Map<number, StoredPayload>();
  readonly #payloadBySha = new Map<string, number>();
  readonly #events = new Map<number, StoredEvent>();
  readonly #eventIds = new Set<string>();
  readonly #contacts = new Map<string, ContactMapping>();
  readonly #messages = new Map<string, string>();
  readonly #threads = new Map<string, string>();
  readonly #deadLetters = new Map<number, DeadLetter>();
  readonly #counters = new Map<string, Map<string, number>>();
  readonly #documents = new Map<string, string>();
  /** Rows handed out by `claim` and not completed yet: not handed out again. */
  readonly #claimed = new Set<number>();
  /** Pending rows not handed out, in claim order: the same index the SQLite store claims from. */
  #pending = new PendingQueue();
  /** Seqs in `#pending` (so a row is never queued twice). */
  readonly #queued = new Set<number>();
  /** Waiting rows by `connectionId \0 targetKey`: a written message unparks them without a scan. */
  readonly #waiting = new Map<string, Set<number>>();
  #nextPayloadId = 1;
  #nextSeq = 1;
  #nextDeadLetterId = 1;
  #closed = false;

  #check(): void {
    if (this.#closed) throw new CoexistStoreError('store', 'the store is closed');
  }

  /** Queues a pending row for `claim` (once). */
  #queue(event: StoredEvent): void {
    if (event.state !== 'pending' || this.#queued.has(event.seq)) return;
    this.#queued.add(event.seq);
    this.#pending.add({
      seq: event.seq,
      connectionId: event.connectionId ?? '',
      kind: event.kind,
      lane: event.lane,
      threadKey: event.threadKey,
      sortKey: event.sortKey,
      notBefore: event.notBefore,
      attempts: event.attempts,
      targetKey: event.targetKey,
      payloadId: event.payloadId,
    } satisfies PendingEntry);
  }

  #count(scope: string, name: string, delta: number): void {
    let names = this.#counters.get(scope);
    if (names === undefined) {
      names = new Map();
      this.#counters.set(scope, names);
    }
    names.set(name, (names.get(name) ?? 0) + delta);
  }

  async ingest(input: IngestInput): Promise<IngestResult> {
    this.#check();
    const seen = new Set<string>();
    const fresh = input.events.filter((planned) => {
      const id = planned.event.id;
      if (seen.has(id) || this.#eventIds.has(id)) return false;
      seen.add(id);
      return true;
    });
    let payloadId: number | null = input.payloadId ?? null;
    if (payloadId === null && (fresh.length > 0 || input.events.length === 0)) {
      payloadId = this.#payloadBySha.get(input.sha256) ?? null;
      if (payloadId === null) {
        payloadId = this.#nextPayloadId++;
        this.#payloads.set(payloadId, {
          id: payloadId,
          sha256: input.sha256,
          receivedAt: input.receivedAt,
          rawBody: input.rawBody,
          status: 'accepted',
          error: null,
          replayedAt: null,
        });
        this.#payloadBySha.set(input.sha256, payloadId);
      }
    }
    const connectionIds = new Set<string>();
    for (const planned of fresh) {
      const seq = this.#nextSeq++;
      const body = JSON.stringify(planned.event);
      const connectionId = planned.kind === 'meta' ? '' : planned.connectionId;
      this.#events.set(seq, {
        ...planned,
        event: JSON.parse(body),
        body,
        connectionId,
        seq,
        state: planned.kind !== 'meta' && planned.connectionId === null ? 'unrouted' : 'pending',
        attempts: 0,
        notBefore: 0,
        payloadId,
      });
      this.#eventIds.add(planned.event.id);
      this.#queue(this.#events.get(seq)!);
      if (planned.kind !== 'meta' && planned.connectionId !== null) connectionIds.add(planned.connectionId);
      this.#count(planned.event.phoneNumberId ?? '', `${planned.kind}.${planned.lane}.received`, 1);
    }
    return {
      payloadId,
      inserted: fresh.length,
      duplicates: input.events.length - fresh.length,
      connectionIds: [...connectionIds],
    };
  }

  async recordInvalidPayload(input: {
    rawBody: string;
    sha256: string;
    error: string;
    receivedAt: string;
  }): Promise<number> {
    this.#check();
    const known = this.#payloadBySha.get(input.sha256);
    if (known !== undefined) return known;
    const id = this.#nextPayloadId++;
    this.#payloads.set(id, {
      id,
      sha256: input.sha256,
      receivedAt: input.receivedAt,
      rawBody: input.rawBody,
      status: 'invalid',
      error: input.error,
      replayedAt: null,
    });
    this.#payloadBySha.set(input.sha256, id);
    return id;
  }

  async listInvalidPayloads(options: { includeReplayed?: boolean } = {}): Promise<InvalidPayload[]> {
    return [...this.#payloads.values()]
      .filter(
        (payload) =>
          payload.status === 'invalid' ||
          (options.includeReplayed === true && payload.status === 'replayed' && payload.error !== null),
      )
      .map((payload) => ({
        id: payload.id,
        receivedAt: payload.receivedAt,
        rawBody: payload.rawBody,
        error: payload.error ?? '',
        replayedAt: payload.replayedAt,
      }));
  }

  async updateInvalidPayload(id: number, update: { replayedAt?: string; error?: string }): Promise<void> {
    this.#check();
    const payload = this.#payloads.get(id);
    if (payload === undefined || payload.status !== 'invalid') {
      throw new CoexistStoreError('id', `no invalid payload ${id}`);
    }
    if (update.replayedAt !== undefined) {
      payload.status = 'replayed';
      payload.replayedAt = update.replayedAt;
    } else {
      payload.error = update.error ?? '';
    }
  }

  async claim(query: ClaimQuery): Promise<ClaimResult> {
    this.#check();
    const { entries, nextDueAt } = this.#pending.claim(query);
    const events: QueuedEvent[] = [];
    for (const entry of entries) {
      this.#queued.delete(entry.seq);
      const stored = this.#events.get(entry.seq);
      // A row completed without being claimed (a caller's mistake) left the queue's copy stale: drop it.
      if (stored === undefined || stored.state !== 'pending' || this.#claimed.has(entry.seq)) continue;
      this.#claimed.add(entry.seq);
      const { body, ...queued } = stored;
      events.push({ ...queued, event: JSON.parse(body) });
    }
    return { events, nextDueAt };
  }

  async complete(completion: Completion): Promise<void> {
    this.#check();
    for (const message of completion.messages ?? []) {
      this.#messages.set(`${message.connectionId}\u0000${message.key}`, message.crmId);
      this.#threads.set(`${message.connectionId}\u0000${message.threadKey}`, message.crmId);
    }
    this.#saveContactsNow(completion.contacts ?? []);
    for (const outcome of completion.outcomes ?? []) {
      const event = this.#events.get(outcome.seq);
      if (event === undefined) throw new CoexistStoreError('outcomes.seq', `no event ${outcome.seq}`);
      this.#claimed.delete(outcome.seq);
      switch (outcome.outcome) {
        case 'done':
          event.state = 'done';
          break;
        case 'retry':
          event.state = 'pending';
          event.attempts = outcome.attempts;
          event.notBefore = outcome.notBefore;
          this.#queue(event);
          break;
        case 'release':
          event.state = 'pending';
          event.notBefore = outcome.notBefore ?? 0;
          this.#queue(event);
          break;
        case 'wait': {
          const key = `${outcome.connectionId}\u0000${outcome.targetKey}`;
          if (this.#messages.has(key)) {
            event.state = 'pending';
            this.#queue(event);
          } else {
            event.state = 'waiting';
            const waits = this.#waiting.get(key) ?? new Set<number>();
            waits.add(event.seq);
            this.#waiting.set(key, waits);
          }
          break;
        }
        case 'dead': {
          event.state = 'dead';
          const id = this.#nextDeadLetterId++;
          this.#deadLetters.set(id, {
            id,
            seq: event.seq,
            eventId: event.event.id,
            eventType: event.event.type,
            connectionId: event.connectionId,
            phoneNumberId: event.event.phoneNumberId ?? null,
            reason: outcome.reason,
            errorKind: outcome.errorKind,
            createdAt: outcome.at,
            replayedAt: null,
          });
          this.#count(event.event.phoneNumberId ?? '', `${event.kind}.${event.lane}.dead`, 1);
          break;
        }
      }
    }
    for (const message of completion.messages ?? []) {
      const key = `${message.connectionId}\u0000${message.key}`;
      for (const seq of this.#waiting.get(key) ?? []) {
        const event = this.#events.get(seq)!;
        if (event.state !== 'waiting') continue;
        event.state = 'pending';
        this.#queue(event);
      }
      this.#waiting.delete(key);
    }
    for (const { scope, name, delta } of completion.counters ?? []) this.#count(scope, name, delta);
    for (const { key, value } of completion.documents ?? []) this.#documents.set(key, JSON.stringify(value));
  }

  async routeUnrouted(phoneNumberIds: readonly string[], connectionId: string): Promise<number> {
    this.#check();
    const numbers = new Set(phoneNumberIds);
    let changed = 0;
    for (const event of this.#events.values()) {
      if (event.state === 'unrouted' && numbers.has(event.event.phoneNumberId ?? '')) {
        event.state = 'pending';
        event.connectionId = connectionId;
        this.#queue(event);
        changed++;
      }
    }
    return changed;
  }

  async rerouteOpenEvents(routes: ReadonlyMap<string, string>): Promise<number> {
    this.#check();
    let moved = 0;
    for (const event of this.#events.values()) {
      if ((event.state !== 'pending' && event.state !== 'waiting') || event.kind === 'meta') continue;
      const connectionId = routes.get(event.event.phoneNumberId ?? '') ?? null;
      if (connectionId === event.connectionId) continue;
      event.connectionId = connectionId;
      event.state = connectionId === null ? 'unrouted' : 'pending';
      moved++;
    }
    if (moved > 0) {
      // The queue files rows by connection: built again from the rows.
      this.#pending = new PendingQueue();
      this.#queued.clear();
      for (const event of this.#events.values()) this.#queue(event);
    }
    return moved;
  }

  #saveContactsNow(entries: readonly ({ connectionId: string; key: string } & ContactMapping)[]): void {
    for (const { connectionId, key, ...mapping } of entries) {
      this.#contacts.set(`${connectionId}\u0000${key}`, { ...mapping });
    }
  }

  async getContacts(connectionId: string, keys: readonly string[]): Promise<Map<string, ContactMapping>> {
    const found = new Map<string, ContactMapping>();
    for (const key of keys) {
      const mapping = this.#contacts.get(`${connectionId}\u0000${key}`);
      if (mapping !== undefined) found.set(key, { ...mapping });
    }
    return found;
  }

  async saveContacts(entries: readonly ({ connectionId: string; key: string } & ContactMapping)[]): Promise<void> {
    this.#check();
    this.#saveContactsNow(entries);
  }

  async getMessages(connectionId: string, keys: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const key of keys) {
      const crmId = this.#messages.get(`${connectionId}\u0000${key}`);
      if (crmId !== undefined) found.set(key, crmId);
    }
    return found;
  }

  async getThreadHeads(connectionId: string, threadKeys: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const key of threadKeys) {
      const crmId = this.#threads.get(`${connectionId}\u0000${key}`);
      if (crmId !== undefined) found.set(key, crmId);
    }
    return found;
  }

  async listThreadEvents(threadKeys: readonly string[]): Promise<CoexistenceEvent[]> {
    this.#check();
    const wanted = new Set(threadKeys);
    return [...this.#events.values()]
      .filter((event) => wanted.has(event.threadKey))
      .sort((left, right) => left.sortKey - right.sortKey || left.seq - right.seq)
      .map((event) => JSON.parse(event.body) as CoexistenceEvent);
  }

  async findContactKeys(connectionId: string, crmId: string): Promise<string[]> {
    this.#check();
    const prefix = `${connectionId}\u0000`;
    const keys: string[] = [];
    for (const [key, mapping] of this.#contacts) {
      if (key.startsWith(prefix) && (mapping.crmId === crmId || mapping.parentId === crmId)) {
        keys.push(key.slice(prefix.length));
      }
    }
    return keys.sort();
  }

  async listDeadLetters(options: { includeReplayed?: boolean; limit?: number } = {}): Promise<DeadLetter[]> {
    const limit = deadLetterLimit(options);
    return [...this.#deadLetters.values()]
      .filter((letter) => options.includeReplayed === true || letter.replayedAt === null)
      .slice(0, limit)
      .map((letter) => ({ ...letter }));
  }

  async replayDeadLetter(id: number, at: string, routes?: ReadonlyMap<string, string>): Promise<DeadLetter> {
    this.#check();
    const letter = this.#deadLetters.get(id);
    if (letter === undefined) throw new CoexistStoreError('id', `no dead letter ${id}`);
    if (letter.replayedAt !== null) throw new CoexistStoreError('id', `dead letter ${id} was already replayed`);
    letter.replayedAt = at;
    const event = this.#events.get(letter.seq);
    if (event !== undefined && event.state === 'dead') {
      this.#count(event.event.phoneNumberId ?? '', `${event.kind}.${event.lane}.dead`, -1);
      if (routes !== undefined && event.kind !== 'meta') {
        event.connectionId = routes.get(event.event.phoneNumberId ?? '') ?? null;
      }
      event.state = event.connectionId === null ? 'unrouted' : 'pending';
      event.attempts = 0;
      event.notBefore = 0;
      this.#queue(event);
    }
    return { ...letter };
  }

  async countOpen(): Promise<QueueCount[]> {
    const counts = new Map<string, QueueCount>();
    for (const event of this.#events.values()) {
      if (event.state === 'done') continue;
      const phoneNumberId = event.event.phoneNumberId ?? null;
      const key = `${phoneNumberId}\u0000${event.kind}\u0000${event.lane}\u0000${event.state}`;
      const count = counts.get(key);
      if (count === undefined) {
        counts.set(key, { phoneNumberId, kind: event.kind, lane: event.lane, state: event.state, count: 1 });
      } else {
        count.count++;
      }
    }
    return [...counts.values()];
  }

  async readCounters(): Promise<Record<string, Record<string, number>>> {
    const counters: Record<string, Record<string, number>> = {};
    for (const [scope, names] of this.#counters) counters[scope] = Object.fromEntries(names);
    return counters;
  }

  async getDocument<T>(key: string): Promise<T | undefined> {
    const value = this.#documents.get(key);
    return value === undefined ? undefined : (JSON.parse(value) as T);
  }

  async listDocuments<T>(prefix: string): Promise<{ key: string; value: T }[]> {
    return [...this.#documents.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, value]) => ({ key, value: JSON.parse(value) as T }));
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
