/**
 * Runs a SQLite writer (`sqlite-writer.ts`) in a worker thread with its own connection, or on the calling thread,
 * behind one asynchronous interface. The store sends it its group commits: requests are answered in the order they
 * were sent, each only after its transaction committed.
 *
 * The worker's source is inline (the writer's own source text) so the built bundle needs no second file.
 */
import type { DatabaseSync } from 'node:sqlite';
import type { Worker } from 'node:worker_threads';
import { createSqliteWriter, type WriterFlushRequest } from './sqlite-writer.ts';

/** A writer's group commits (and pragmas), each answered once committed. */
export interface SqliteFlusher {
  /** Whether the writer runs in a worker thread. */
  readonly threaded: boolean;
  /** Writes one group commit in one transaction; resolves once it committed. */
  flush(request: WriterFlushRequest): Promise<void>;
  /** Runs a statement on the writer's connection (a pragma). */
  exec(sql: string): Promise<void>;
  /** Closes the writer (and its worker and connection, when threaded) after the requests already sent. */
  close(): Promise<void>;
}

/** An error a writer operation threw, as it crosses the thread boundary. */
interface WriterFailure {
  message: string;
  name?: string;
  code?: unknown;
  storeField?: string;
}

type Reply = { id: number; result?: unknown; error?: WriterFailure };

const WORKER_SOURCE = (writerSource: string): string => `
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
const createSqliteWriter = (${writerSource});
const database = new DatabaseSync(workerData.path);
for (const pragma of workerData.pragmas) database.exec(pragma);
const writer = createSqliteWriter(database, { indexedSeq: 0, unindexed: [] });
parentPort.on('message', (request) => {
  // A flush crosses as one JSON text (see \`flush\` below).
  if (request.operation === 'flush') request.parameters = [JSON.parse(request.parameters[0])];
  if (request.operation === 'close') {
    try { database.close(); } catch {}
    parentPort.postMessage({ id: request.id, result: null });
    parentPort.close();
    return;
  }
  let reply;
  try {
    reply = { id: request.id, result: writer[request.operation](...request.parameters) };
  } catch (error) {
    reply = { id: request.id, error: {
      message: String(error && error.message !== undefined ? error.message : error),
      name: error && error.name, code: error && error.code, storeField: error && error.storeField,
    } };
  }
  parentPort.postMessage(reply);
});
`;

/** Rebuilds a writer error on this side: keeps the message, name and code, and `storeField` for store errors. */
function toError(failure: WriterFailure): Error {
  const error = new Error(failure.message) as Error & { code?: unknown; storeField?: string };
  if (typeof failure.name === 'string') error.name = failure.name;
  if (failure.code !== undefined) error.code = failure.code;
  if (failure.storeField !== undefined) error.storeField = failure.storeField;
  return error;
}

/**
 * Starts a writer for group commits: in a worker thread over its own connection to `path` (configured with
 * `pragmas`), or — when `threaded` is false or worker threads are unavailable — on this thread over `database`.
 */
export function startSqliteFlusher(options: {
  path: string;
  database: DatabaseSync;
  pragmas: readonly string[];
  threaded: boolean;
}): SqliteFlusher {
  let worker: Worker | undefined;
  if (options.threaded) {
    try {
      const { Worker: WorkerThread } = process.getBuiltinModule('node:worker_threads');
      worker = new WorkerThread(WORKER_SOURCE(String(createSqliteWriter)), {
        eval: true,
        workerData: { path: options.path, pragmas: options.pragmas },
      });
    } catch {
      worker = undefined;
    }
  }
  return worker === undefined ? inlineFlusher(options.database) : threadFlusher(worker);
}

function inlineFlusher(database: DatabaseSync): SqliteFlusher {
  const writer = createSqliteWriter(database, { indexedSeq: 0, unindexed: [] });
  return {
    threaded: false,
    async flush(request) {
      writer.flush(request);
    },
    async exec(sql) {
      writer.exec(sql);
    },
    async close() {},
  };
}

function threadFlusher(worker: Worker): SqliteFlusher {
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  let failure: Error | undefined;
  // The worker keeps the process alive only while a request waits for its answer.
  worker.unref();
  const fail = (error: Error): void => {
    failure ??= error;
    for (const { reject } of waiting.values()) reject(failure);
    waiting.clear();
  };
  worker.on('message', (reply: Reply) => {
    const request = waiting.get(reply.id);
    if (request === undefined) return;
    waiting.delete(reply.id);
    if (waiting.size === 0) worker.unref();
    if (reply.error !== undefined) request.reject(toError(reply.error));
    else request.resolve(reply.result);
  });
  worker.on('error', (error) =>
    fail(new Error(`[coexist/core] store: the SQLite writer thread failed: ${error.message}`)),
  );
  worker.on('exit', () => fail(new Error('[coexist/core] store: the SQLite writer thread exited')));
  const send = (operation: string, parameters: unknown[]): Promise<unknown> => {
    if (failure !== undefined) return Promise.reject(failure);
    const id = nextId++;
    if (waiting.size === 0) worker.ref();
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      worker.postMessage({ id, operation, parameters });
    });
  };
  return {
    threaded: true,
    // One JSON text crosses the thread boundary: the structured clone of thousands of small arrays costs more.
    flush: async (request) => {
      await send('flush', [JSON.stringify(request)]);
    },
    exec: async (sql) => {
      await send('exec', [sql]);
    },
    close: async () => {
      if (failure === undefined) {
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        await send('close', []).catch(() => {});
        // Kept alive until it exited, or `await store.close()` could be the last thing a process waits for.
        worker.ref();
        await exited;
      }
      await worker.terminate();
    },
  };
}
