/**
 * WAL checkpoints off the event loop. A checkpoint copies the write-ahead log back into the database file and
 * syncs it: tens of milliseconds of I/O that SQLite's auto-checkpoint runs inside whichever commit crosses the
 * threshold — on the thread that answers webhooks. Here a worker thread with its own connection runs
 * `PRAGMA wal_checkpoint(PASSIVE)` every `intervalMs`; in WAL mode that never blocks the main connection's
 * readers or writer, and it changes nothing about durability (the log stays authoritative until copied).
 * The worker's source is inline so the built bundle needs no second file.
 */
import type { Worker } from 'node:worker_threads';

/** A running checkpointer. */
export interface SqliteCheckpointer {
  /** Stops the worker after its current checkpoint and closes its connection. */
  close(): Promise<void>;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
const database = new DatabaseSync(workerData.path);
database.exec('PRAGMA busy_timeout = 1000');
let timer;
function tick() {
  try {
    database.exec('PRAGMA wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or closing: the next tick (or the main connection's fallback threshold) catches up.
  }
  timer = setTimeout(tick, workerData.intervalMs);
}
timer = setTimeout(tick, workerData.intervalMs);
parentPort.once('message', () => {
  clearTimeout(timer);
  try {
    database.close();
  } finally {
    parentPort.close();
  }
});
`;

/**
 * Starts checkpointing the WAL of the database at `path` in a worker thread; returns `undefined` when worker
 * threads are unavailable (the caller keeps SQLite's own auto-checkpoint then).
 */
export function startSqliteCheckpointer(
  path: string,
  options: { intervalMs?: number } = {},
): SqliteCheckpointer | undefined {
  let worker: Worker;
  try {
    const { Worker: WorkerThread } = process.getBuiltinModule('node:worker_threads');
    worker = new WorkerThread(WORKER_SOURCE, {
      eval: true,
      workerData: { path, intervalMs: Math.max(10, options.intervalMs ?? 250) },
    });
  } catch {
    return undefined;
  }
  // Never keeps the process alive; a process exit (or kill) simply ends it, mid-checkpoint or not.
  worker.unref();
  worker.on('error', () => {
    // A failed checkpointer only means the main connection's fallback threshold checkpoints instead.
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async close() {
      worker.postMessage('close');
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, 2000).unref());
      await Promise.race([exited, timeout]);
      await worker.terminate();
    },
  };
}
