/**
 * An in-memory index of pending queue rows, mirrored from the store's table so a claim never scans SQL:
 * per queue (connection, kind, lane), one sorted list per thread and a heap of threads ordered by their oldest
 * row. A claim merges threads in `(sortKey, seq)` order and skips blocked or delayed threads whole, so its cost
 * grows with what it returns, not with the backlog. Rebuilt from the table when the store opens.
 */

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
  /** Whether the thread is in the queue's heap. */
  queued: boolean;
}

interface Queue {
  threads: Map<string, ThreadList>;
  heap: ThreadList[];
}

function before(left: PendingEntry, right: PendingEntry): boolean {
  return left.sortKey < right.sortKey || (left.sortKey === right.sortKey && left.seq < right.seq);
}

/** The pending rows of every queue, in claim order. */
export class PendingQueue {
  readonly #queues = new Map<string, Queue>();
  #size = 0;

  /** Rows indexed. */
  get size(): number {
    return this.#size;
  }

  /** Adds a pending row. */
  add(entry: PendingEntry): void {
    const queue = this.#queue(`${entry.connectionId}\u0000${entry.kind}\u0000${entry.lane}`);
    let thread = queue.threads.get(entry.threadKey);
    if (thread === undefined) {
      thread = { key: entry.threadKey, entries: [], head: 0, queued: false };
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
      if (low === thread.head && thread.queued) this.#reposition(queue, thread);
    }
    this.#size++;
    if (!thread.queued) this.#push(queue, thread);
  }

  /**
   * Takes the next rows of one queue: at most `limit`, at most `maxPerThread` per thread, skipping threads in
   * `blocked` and threads whose oldest row is delayed past `now`. Taken rows leave the index; `add` them back to
   * retry. Returns the rows and the earliest delay among skipped threads.
   */
  take(
    queueKey: { connectionId: string; kind: string; lane: string },
    options: { limit: number; maxPerThread: number; now: number; blocked: ReadonlySet<string>; maxScan: number },
  ): { entries: PendingEntry[]; nextDueAt: number | null } {
    const queue = this.#queues.get(`${queueKey.connectionId}\u0000${queueKey.kind}\u0000${queueKey.lane}`);
    const taken: PendingEntry[] = [];
    if (queue === undefined) return { entries: taken, nextDueAt: null };
    const setAside: ThreadList[] = [];
    const perThread = new Map<string, number>();
    let nextDueAt: number | null = null;
    let scanned = 0;
    while (taken.length < options.limit && queue.heap.length > 0 && scanned < options.maxScan) {
      scanned++;
      const thread = this.#pop(queue);
      const head = thread.entries[thread.head]!;
      if (options.blocked.has(thread.key)) {
        setAside.push(thread);
        continue;
      }
      if (head.notBefore > options.now) {
        nextDueAt = nextDueAt === null ? head.notBefore : Math.min(nextDueAt, head.notBefore);
        setAside.push(thread);
        continue;
      }
      taken.push(head);
      thread.head++;
      this.#size--;
      const count = (perThread.get(thread.key) ?? 0) + 1;
      perThread.set(thread.key, count);
      if (thread.head >= thread.entries.length) {
        queue.threads.delete(thread.key);
      } else {
        if (thread.head > 64 && thread.head * 2 > thread.entries.length) {
          thread.entries = thread.entries.slice(thread.head);
          thread.head = 0;
        }
        if (count >= options.maxPerThread) setAside.push(thread);
        else this.#push(queue, thread);
      }
    }
    for (const thread of setAside) this.#push(queue, thread);
    return { entries: taken, nextDueAt };
  }

  #queue(key: string): Queue {
    let queue = this.#queues.get(key);
    if (queue === undefined) {
      queue = { threads: new Map(), heap: [] };
      this.#queues.set(key, queue);
    }
    return queue;
  }

  // ---- a binary min-heap of threads by their head entry ----

  #less(left: ThreadList, right: ThreadList): boolean {
    return before(left.entries[left.head]!, right.entries[right.head]!);
  }

  #push(queue: Queue, thread: ThreadList): void {
    thread.queued = true;
    const heap = queue.heap;
    heap.push(thread);
    this.#up(heap, heap.length - 1);
  }

  #pop(queue: Queue): ThreadList {
    const heap = queue.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.#down(heap, 0);
    }
    top.queued = false;
    return top;
  }

  /** Restores heap order after a thread's head moved earlier. */
  #reposition(queue: Queue, thread: ThreadList): void {
    const index = queue.heap.indexOf(thread);
    if (index >= 0) this.#up(queue.heap, index);
  }

  #up(heap: ThreadList[], index: number): void {
    let child = index;
    while (child > 0) {
      const parent = (child - 1) >>> 1;
      if (!this.#less(heap[child]!, heap[parent]!)) break;
      [heap[child], heap[parent]] = [heap[parent]!, heap[child]!];
      child = parent;
    }
  }

  #down(heap: ThreadList[], index: number): void {
    let parent = index;
    for (;;) {
      const left = parent * 2 + 1;
      const right = left + 1;
      let smallest = parent;
      if (left < heap.length && this.#less(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && this.#less(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === parent) return;
      [heap[parent], heap[smallest]] = [heap[smallest]!, heap[parent]!];
      parent = smallest;
    }
  }
}
