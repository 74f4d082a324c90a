/**
 * Runs the store's one SQLite writer (`sqlite-writer.ts`) in a worker thread with its own connection, or on the
 * calling thread, behind one asynchronous interface. Every write of the store goes through it (SQLite has one
 * writer): the ingest transactions, the group commits and the operator writes. Requests run in the order they were
 * sent, each answered only after its transaction committed (or failed).
 *
 * In a worker thread the writes leave the event loop: a webhook's ingest commits while the engine plans and sends
 * CRM calls, on a second core. The worker's source is inline (the writer's own source text) so the built bundle
 * needs no second file.
 */
import type { DatabaseSync } from 'node:sqlite';
import type { Worker } from 'node:worker_threads';
import { createSqliteWriter, type SqliteWriter, type SqliteWriterStart } from './sqlite-writer.ts';

/** The writer's operations that cross to the host (everything but `exec`, which has its own method). */
type WriterOperation = Exclude<keyof SqliteWriter, 'exec'>;

/** The store's writer, asynchronous: on a worker thread, or on this one. */
export interface SqliteWriterHost {
  /** Whether the writer runs in a worker thread. */
  readonly threaded: boolean;
  /** Runs one writer operation; resolves with its result once its transaction committed. */
  call<Operation extends WriterOperation>(
    operation: Operation,
    ...parameters: Parameters<SqliteWriter[Operation]>
  ): Promise<ReturnType<SqliteWriter[Operation]>>;
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

/**
 * Operations whose one parameter crosses as a JSON text: a group commit's thousands of small arrays clone slower
 * than they stringify. An ingest crosses as it is: its event bodies and raw body are JSON already, and escaping them
 * again cost more than the clone (measured: 0.84 s against 0.24 s of the main thread in the engine benchmark).
 */
const AS_JSON: ReadonlySet<string> = new Set(['flush']);

const WORKER_SOURCE = (writerSource: string): string => `
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
const createSqliteWriter = (${writerSource});
const database = new DatabaseSync(workerData.path);
for (const pragma of workerData.pragmas) database.exec(pragma);
const writer = createSqliteWriter(database, workerData.start);
const asJson = new Set(${JSON.stringify([...AS_JSON])});
parentPort.on('message', (request) => {
  if (request.operation === 'close') {
    try { database.close(); } catch {}
    parentPort.postMessage({ id: request.id, result: null });
    parentPort.close();
    return;
  }
  let reply;
  try {
    const parameters = asJson.has(request.operation) ? [JSON.parse(request.parameters[0])] : request.parameters;
    reply = { id: request.id, result: writer[request.operation](...parameters) };
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
 * Starts the store's writer from `start` (its dedupe watermark and the events above it): in a worker thread over its
 * own connection to `path` (configured with `pragmas`), or — when `threaded` is false or worker threads are
 * unavailable — on this thread over `database`.
 */
export function startSqliteWriterHost(options: {
  path: string;
  database: DatabaseSync;
  pragmas: readonly string[];
  threaded: boolean;
  start: SqliteWriterStart;
}): SqliteWriterHost {
  let worker: Worker | undefined;
  if (options.threaded) {
    try {
      const { Worker: WorkerThread } = process.getBuiltinModule('node:worker_threads');
      worker = new WorkerThread(WORKER_SOURCE(String(createSqliteWriter)), {
        eval: true,
        workerData: { path: options.path, pragmas: options.pragmas, start: options.start },
      });
    } catch {
      worker = undefined;
    }
  }
  return worker === undefined ? inlineHost(createSqliteWriter(options.database, options.start)) : threadHost(worker);
}

function inlineHost(writer: SqliteWriter): SqliteWriterHost {
  return {
    threaded: false,
    async call(operation, ...parameters) {
      return (writer[operation] as (...values: unknown[]) => never)(...parameters);
    },
    async exec(sql) {
      writer.exec(sql);
    },
    async close() {},
  };
}

function threadHost(worker: Worker): SqliteWriterHost {
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
    call(operation, ...parameters) {
      const values = AS_JSON.has(operation) ? [JSON.stringify(parameters[0])] : parameters;
      return send(operation, values) as Promise<never>;
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
