/**
 * An in-memory index of pending queue rows, mirrored from the store's table so a claim never scans SQL:
 * per queue (connection, kind, lane), one sorted list per thread and a heap of threads in claim order. An
 * `oldest-first` claim merges threads in `(sortKey, seq)` order; a `longest-backlog-first` claim takes a thread's
 * run whole, longest backlog first. Both skip blocked or delayed threads whole, so a claim's cost grows with what it
 * returns, not with the backlog. Rebuilt from the table when the store opens.
 */
import type { ClaimOrder, ClaimQuery } from './coexist-store.ts';

/** The light part of a pending row the index keeps: everything of a queued event but its body. */
export interface PendingEntry {
  seq: number;
  connectionId: string;
  kind: string;
  lane: string;
  threadKey: string;
  sortKey: number;
  notBefore: number;
  attempts: number;
  targetKey: string | null;
  payloadId: number | null;
}

interface ThreadList {
  key: string;
  /** Sorted by `(sortKey, seq)`; `head` is the first not taken. */
  entries: PendingEntry[];
  head: number;
  /** Position in the queue's heap, or -1 when not in it. */
  index: number;
}

interface Queue {
  threads: Map<string, ThreadList>;
  /** Rows indexed in this queue. */
  size: number;
  heap: ThreadList[];
  order: ClaimOrder;
}

function before(left: PendingEntry, right: PendingEntry): boolean {
  return left.sortKey < right.sortKey || (left.sortKey === right.sortKey && left.seq < right.seq);
}

/** The pending rows of every queue, in claim order. */
export class PendingQueue {
  readonly #queues = new Map<string, Queue>();
  #size = 0;
  /** The row added last and its queue (`add`'s shortcut; queues are never removed). */
  #lastAdded: PendingEntry | undefined;
  #lastQueue: Queue | undefined;

  /** Rows indexed. */
  get size(): number {
    return this.#size;
  }

  /** Adds a pending row. */
  add(entry: PendingEntry): void {
    // Rows come in runs of one connection, kind and lane (a payload's events): the previous queue, without its key.
    const previous = this.#lastAdded;
    const queue =
      previous !== undefined &&
      previous.connectionId === entry.connectionId &&
      previous.kind === entry.kind &&
      previous.lane === entry.lane
        ? this.#lastQueue!
        : this.#queue(`${entry.connectionId}\u0000${entry.kind}\u0000${entry.lane}`);
    this.#lastAdded = entry;
    this.#lastQueue = queue;
    let thread = queue.threads.get(entry.threadKey);
    if (thread === undefined) {
      thread = { key: entry.threadKey, entries: [], head: 0, index: -1 };
      queue.threads.set(entry.threadKey, thread);
    }
    const entries = thread.entries;
    const last = entries[entries.length - 1];
    if (last === undefined || before(last, entry)) {
      entries.push(entry);
    } else {
      // Out of order (history chunks arrive shuffled): binary insertion after the taken prefix.
      let low = thread.head;
      let high = entries.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (before(entries[middle]!, entry)) low = middle + 1;
        else high = middle;
      }
      entries.splice(low, 0, entry);
    }
    this.#size++;
    queue.size++;
    // A new head moves a thread up in oldest-first order, a longer backlog in longest-first order: never down.
    if (thread.index < 0) this.#push(queue, thread);
    else this.#up(queue, thread.index);
  }

  /** The lowest seq of the rows indexed, or `undefined` when there are none (a walk over every row). */
  lowestSeq(): number | undefined {
    let lowest: number | undefined;
    for (const queue of this.#queues.values()) {
      for (const thread of queue.threads.values()) {
        for (let index = thread.head; index < thread.entries.length; index++) {
          const seq = thread.entries[index]!.seq;
          if (lowest === undefined || seq < lowest) lowest = seq;
        }
      }
    }
    return lowest;
  }

  /**
   * Takes the rows a store's `claim` hands out for `query`, with the contract's defaults: no per-thread bound, a scan
   * of at most five times the limit (at least 500 threads), `oldest-first`.
   */
  claim(query: ClaimQuery): { entries: PendingEntry[]; nextDueAt: number | null } {
    return this.take(query, {
      limit: query.limit,
      maxPerThread: query.maxPerThread ?? Number.POSITIVE_INFINITY,
      now: query.now,
      blocked: query.blockedThreads,
      maxScan: query.maxScan ?? Math.max(query.limit * 5, 500),
      order: query.order ?? 'oldest-first',
      wholeThreadsBelow: query.wholeThreadsBelow ?? 0,
    });
  }

  /**
   * Takes the next rows of one queue: at most `limit`, at most `maxPerThread` per thread, skipping threads in
   * `blocked` and threads whose oldest row is delayed past `now`, in `order` (see `ClaimOrder`); in
   * `longest-backlog-first` order, while the queue holds at most `wholeThreadsBelow` rows, threads whose run does not
   * fit the room left are left whole for a later claim (see `ClaimQuery.wholeThreadsBelow`). Taken rows leave the
   * index; `add` them back to retry. Returns the rows and the earliest delay among skipped threads.
   */
  take(
    queueKey: { connectionId: string; kind: string; lane: string },
    options: {
      limit: number;
      maxPerThread: number;
      now: number;
      blocked: ReadonlySet<string>;
      maxScan: number;
      order: ClaimOrder;
      wholeThreadsBelow?: number;
    },
  ): { entries: PendingEntry[]; nextDueAt: number | null } {
    const queue = this.#queues.get(`${queueKey.connectionId}\u0000${queueKey.kind}\u0000${queueKey.lane}`);
    const taken: PendingEntry[] = [];
    if (queue === undefined) return { entries: taken, nextDueAt: null };
    if (queue.order !== options.order) this.#reorder(queue, options.order);
    // Oldest-first interleaves threads (one row, then back into the heap); longest-first takes a thread's run whole.
    const runs = options.order === 'longest-backlog-first';
    const whole = runs && queue.size <= (options.wholeThreadsBelow ?? 0);
    const setAside: ThreadList[] = [];
    const perThread = new Map<string, number>();
    let nextDueAt: number | null = null;
    let scanned = 0;
    while (taken.length < options.limit && queue.heap.length > 0 && scanned < options.maxScan) {
      scanned++;
      const thread = this.#pop(queue);
      if (options.blocked.has(thread.key)) {
        setAside.push(thread);
        continue;
      }
      if (whole && taken.length > 0 && thread.entries.length - thread.head > options.limit - taken.length) {
        setAside.push(thread);
        continue;
      }
      let count = perThread.get(thread.key) ?? 0;
      do {
        const head = thread.entries[thread.head]!;
        if (head.notBefore > options.now) {
          nextDueAt = nextDueAt === null ? head.notBefore : Math.min(nextDueAt, head.notBefore);
          break;
        }
        taken.push(head);
        thread.head++;
        this.#size--;
        queue.size--;
        count++;
      } while (
        runs &&
        thread.head < thread.entries.length &&
        taken.length < options.limit &&
        count < options.maxPerThread
      );
      perThread.set(thread.key, count);
      if (thread.head >= thread.entries.length) {
        queue.threads.delete(thread.key);
        continue;
      }
      if (thread.head > 64 && thread.head * 2 > thread.entries.length) {
        thread.entries = thread.entries.slice(thread.head);
        thread.head = 0;
      }
      const delayed = thread.entries[thread.head]!.notBefore > options.now;
      if (runs || delayed || count >= options.maxPerThread) setAside.push(thread);
      else this.#push(queue, thread);
    }
    for (const thread of setAside) this.#push(queue, thread);
    return { entries: taken, nextDueAt };
  }

  #queue(key: string): Queue {
    let queue = this.#queues.get(key);
    if (queue === undefined) {
      queue = { threads: new Map(), size: 0, heap: [], order: 'oldest-first' };
      this.#queues.set(key, queue);
    }
    return queue;
  }

  /** Rebuilds a queue's heap for another claim order (a queue is normally always claimed in one order). */
  #reorder(queue: Queue, order: ClaimOrder): void {
    queue.order = order;
    const heap = queue.heap;
    heap.forEach((thread, index) => {
      thread.index = index;
    });
    for (let index = (heap.length >>> 1) - 1; index >= 0; index--) this.#down(queue, index);
  }

  // ---- a binary heap of threads: the first is the one a claim serves next ----

  #first(queue: Queue, left: ThreadList, right: ThreadList): boolean {
    const leftHead = left.entries[left.head]!;
    const rightHead = right.entries[right.head]!;
    if (queue.order === 'longest-backlog-first') {
      const leftBacklog = left.entries.length - left.head;
      const rightBacklog = right.entries.length - right.head;
      if (leftBacklog !== rightBacklog) return leftBacklog > rightBacklog;
    }
    return before(leftHead, rightHead);
  }

  #push(queue: Queue, thread: ThreadList): void {
    const heap = queue.heap;
    thread.index = heap.length;
    heap.push(thread);
    this.#up(queue, thread.index);
  }

  #pop(queue: Queue): ThreadList {
    const heap = queue.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      last.index = 0;
      this.#down(queue, 0);
    }
    top.index = -1;
    return top;
  }

  #swap(heap: ThreadList[], left: number, right: number): void {
    const thread = heap[left]!;
    heap[left] = heap[right]!;
    heap[right] = thread;
    heap[left]!.index = left;
    thread.index = right;
  }

  #up(queue: Queue, index: number): void {
    const heap = queue.heap;
    let child = index;
    while (child > 0) {
      const parent = (child - 1) >>> 1;
      if (!this.#first(queue, heap[child]!, heap[parent]!)) break;
      this.#swap(heap, child, parent);
      child = parent;
    }
  }

  #down(queue: Queue, index: number): void {
    const heap = queue.heap;
    let parent = index;
    for (;;) {
      const left = parent * 2 + 1;
      const right = left + 1;
      let first = parent;
      if (left < heap.length && this.#first(queue, heap[left]!, heap[first]!)) first = left;
      if (right < heap.length && this.#first(queue, heap[right]!, heap[first]!)) first = right;
      if (first === parent) return;
      this.#swap(heap, parent, first);
      parent = first;
    }
  }
}
