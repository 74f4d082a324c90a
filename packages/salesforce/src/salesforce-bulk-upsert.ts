/**
 * Upserts a large batch through Bulk API 2.0 (crm-apis.md §3.3): one ingest job, one CSV upload, then polling until
 * Salesforce has processed it. About six calls plus polling, against one Collections call per 200 records. The job
 * id is saved in the `SalesforceJobStore` before the upload, so a restarted process resumes polling the same job.
 * jsforce's own `loadAndWaitForResults` gives up after 30 s by default and keeps the id only in its error; this
 * module polls on its own clock and, past `pollTimeoutMs`, throws a transient error with the job still saved.
 */
import { createHash } from 'node:crypto';
import { CrmPermanentError, CrmTransientError } from '@coexist/core';
import type { Connection } from 'jsforce';
import { parseSalesforceResponse, type SalesforceRecordError, salesforceBulkJobInfoSchema } from './salesforce-api.ts';
import { parseBulkRecordError, SALESFORCE_CRM } from './salesforce-errors.ts';
import type { SalesforceJobStore } from './salesforce-job-store.ts';

/** The outcome of one row, by its external id. */
export type BulkRowOutcome =
  | { ok: true; id: string; created: boolean }
  | { ok: false; errors: SalesforceRecordError[]; transient: boolean };

/** Options of `runBulkUpsert`. */
export interface BulkUpsertOptions {
  connection: Connection;
  /** The sObject, e.g. `WhatsApp_Message__c`. */
  object: string;
  /** The External ID field the job upserts on; every row has it. */
  externalIdField: string;
  /** The CSV columns, in order. */
  columns: readonly string[];
  /** The rows; a missing value leaves the stored field untouched. */
  rows: readonly Record<string, string | boolean | undefined>[];
  jobStore: SalesforceJobStore;
  /** The key the job id is saved under. */
  jobKey: string;
  pollIntervalMs: number;
  pollTimeoutMs: number;
  signal: AbortSignal;
  /** Runs one Salesforce request (limit bookkeeping and error mapping live in the adapter). */
  call: <Result>(request: () => Promise<Result>) => Promise<Result>;
  /** The clock. */
  now: () => number;
}

/** One CSV cell: quoted, quotes doubled; an absent value is an empty cell (Bulk 2.0 leaves the field untouched). */
function csvCell(value: string | boolean | undefined): string {
  if (value === undefined) return '';
  const text = typeof value === 'boolean' ? String(value) : value;
  return `"${text.replace(/"/g, '""')}"`;
}

/** The CSV of the rows, LF line endings. */
export function toBulkCsv(
  columns: readonly string[],
  rows: readonly Record<string, string | boolean | undefined>[],
): string {
  const lines = [columns.join(',')];
  for (const row of rows) lines.push(columns.map((column) => csvCell(row[column])).join(','));
  return `${lines.join('\n')}\n`;
}

/**
 * Reads a CSV text (RFC 4180: quoted cells, doubled quotes, LF or CRLF line endings, line breaks inside quotes) into
 * rows of cells; a blank line (a row of one empty cell) is skipped. jsforce's own reading of a job's results
 * (csv-parse, into an object per row) took ~20 µs a row: in a 50,000-message backfill through Bulk API 2.0, ~1 s of
 * the event loop's CPU, more than the engine's own work.
 */
export function readCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  // A byte order mark is no part of the first cell.
  let index = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const length = text.length;
  while (index < length) {
    let cell: string;
    if (text.charCodeAt(index) === 34 /* " */) {
      let value = '';
      let from = index + 1;
      for (;;) {
        const quote = text.indexOf('"', from);
        if (quote === -1) throw new SyntaxError('an unterminated quoted cell');
        value += text.slice(from, quote);
        if (text.charCodeAt(quote + 1) === 34) {
          value += '"';
          from = quote + 2;
        } else {
          index = quote + 1;
          break;
        }
      }
      cell = value;
    } else {
      let end = index;
      while (end < length) {
        const code = text.charCodeAt(end);
        if (code === 44 /* , */ || code === 10 /* \n */ || code === 13 /* \r */) break;
        end++;
      }
      cell = text.slice(index, end);
      index = end;
    }
    row.push(cell);
    const next = text.charCodeAt(index);
    if (next === 44) {
      index++;
      if (index === length) row.push('');
      continue;
    }
    if (next === 13) index++;
    if (text.charCodeAt(index) === 10 || index >= length) {
      // A blank line is no row.
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
      index++;
      continue;
    }
    throw new SyntaxError(`a character after a quoted cell at offset ${index}`);
  }
  if (row.length > 0) rows.push(row);
  return rows;
}

/**
 * The rows of a job's results CSV as records of the named columns only, checking the header has each of them (a
 * result that does not is a transient error: Salesforce answered something else).
 */
function readResults<Column extends string>(
  text: string,
  columns: readonly Column[],
  what: string,
): Record<Column, string>[] {
  let table: string[][];
  try {
    table = text.trim() === '' ? [] : readCsv(text);
  } catch (error) {
    throw new CrmTransientError({
      crm: SALESFORCE_CRM,
      message: `Bulk API 2.0 ${what}: not CSV (${(error as Error).message})`,
    });
  }
  const [header, ...rows] = table;
  if (header === undefined) return [];
  const positions = columns.map((column) => {
    const position = header.indexOf(column);
    if (position === -1) {
      throw new CrmTransientError({
        crm: SALESFORCE_CRM,
        message: `Bulk API 2.0 ${what}: no \`${column}\` column`,
      });
    }
    return position;
  });
  return rows.map((cells) => {
    const record = {} as Record<Column, string>;
    columns.forEach((column, position) => {
      record[column] = cells[positions[position]!] ?? '';
    });
    return record;
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs (or resumes) the job and returns each row's outcome keyed by its external id. */
export async function runBulkUpsert(options: BulkUpsertOptions): Promise<Map<string, BulkRowOutcome>> {
  const { connection, call, jobStore, jobKey } = options;
  const checkJob = async (jobId: string) =>
    parseSalesforceResponse(
      salesforceBulkJobInfoSchema,
      await call(() => connection.bulk2.job('ingest', { id: jobId }).check()),
      'Bulk API 2.0 job info',
    );

  const csv = toBulkCsv(options.columns, options.rows);
  // The rows' content, whatever their order: a resend of the same records may carry a newer state (a status or a
  // media follow-up that arrived meanwhile), which a job uploaded with the older rows would never write.
  const contentHash = createHash('sha256').update(csv.split('\n').sort().join('\n')).digest('hex').slice(0, 32);
  const stored = await jobStore.get(jobKey);
  // `<job id> <content hash>`; a bare id (saved before the hash was) counts as other content.
  let [jobId, storedHash] = stored === undefined ? [undefined, undefined] : stored.split(' ');
  if (jobId !== undefined) {
    const info = await checkJob(jobId);
    // An `Open` job crashed mid-upload and an aborted one will never run: start over (the upsert is idempotent).
    if (info.state === 'Open') {
      await call(() => connection.bulk2.job('ingest', { id: info.id }).abort());
      jobId = undefined;
    } else if (info.state === 'Aborted') {
      jobId = undefined;
    } else if (storedHash !== contentHash) {
      // Other rows than the job's: once it has finished, a new job writes these; while it runs, a second job could
      // finish first and leave the older state, so this attempt waits (the engine sends the batch again).
      if (info.state !== 'JobComplete' && info.state !== 'Failed') {
        throw new CrmTransientError({
          crm: SALESFORCE_CRM,
          message: `writeMessages: Bulk API 2.0 job ${jobId} with an older state of these rows is still ${info.state}; the batch goes again once it finished`,
          code: 'bulk_job_pending',
        });
      }
      jobId = undefined;
    }
    if (jobId === undefined) await jobStore.delete(jobKey);
  }
  if (jobId === undefined) {
    const job = connection.bulk2.createJob({
      object: options.object,
      operation: 'upsert',
      externalIdFieldName: options.externalIdField,
      lineEnding: 'LF',
    });
    await call(() => job.open());
    jobId = job.id;
    await jobStore.set(jobKey, `${jobId} ${contentHash}`);
    await call(() => job.uploadData(csv));
    await call(() => job.close());
  }

  const startedAt = options.now();
  for (;;) {
    options.signal.throwIfAborted();
    const info = await checkJob(jobId);
    if (info.state === 'JobComplete') break;
    if (info.state === 'Failed') {
      await jobStore.delete(jobKey);
      throw new CrmPermanentError({
        crm: SALESFORCE_CRM,
        message: `writeMessages: Bulk API 2.0 job ${jobId} failed (${info.errorMessage ?? 'no reason given'})`,
        code: 'bulk_job_failed',
      });
    }
    if (info.state === 'Aborted') {
      await jobStore.delete(jobKey);
      throw new CrmTransientError({
        crm: SALESFORCE_CRM,
        message: `writeMessages: Bulk API 2.0 job ${jobId} was aborted; the batch will be sent again`,
        code: 'bulk_job_aborted',
      });
    }
    if (options.now() - startedAt >= options.pollTimeoutMs) {
      throw new CrmTransientError({
        crm: SALESFORCE_CRM,
        message: `writeMessages: Bulk API 2.0 job ${jobId} is still ${info.state} after ${options.pollTimeoutMs} ms; its id is saved and the next attempt resumes polling`,
        code: 'bulk_job_pending',
      });
    }
    await sleep(options.pollIntervalMs, options.signal);
  }

  const job = connection.bulk2.job('ingest', { id: jobId });
  // Read as text and only the columns needed (see `readCsv`).
  const key = options.externalIdField;
  const successes = readResults(
    (await call(() => job.getSuccessfulResults(true))) ?? '',
    ['sf__Id', 'sf__Created', key],
    'successful results',
  );
  const failures = readResults(
    (await call(() => job.getFailedResults(true))) ?? '',
    ['sf__Error', key],
    'failed results',
  );
  const outcomes = new Map<string, BulkRowOutcome>();
  for (const row of successes) {
    outcomes.set(row[key], { ok: true, id: row.sf__Id, created: row.sf__Created === 'true' });
  }
  for (const row of failures) {
    const error = parseBulkRecordError(row.sf__Error);
    outcomes.set(row[key], {
      ok: false,
      errors: [error],
      transient: error.statusCode === 'UNABLE_TO_LOCK_ROW',
    });
  }
  await jobStore.delete(jobKey);
  return outcomes;
}
