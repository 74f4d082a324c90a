/**
 * Bulk API 2.0 ingest jobs (https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/bulk_api_2_0.htm):
 * create (`Open`) → upload CSV → `UploadComplete` → `InProgress` for a processing time proportional to the rows
 * → `JobComplete` (or `Failed`, `Aborted`), then successful / failed / unprocessed result CSVs. `#N/A` sets a
 * field to null; an empty cell leaves it untouched. Limits: 150 MB per upload, 10,000 records per internal batch
 * (https://developer.salesforce.com/docs/atlas.en-us.228.0.api_bulk_v2.meta/api_bulk_v2/bulk_api_2_limits.htm).
 */

import { bulkColumnDelimiters, parseCsv, toCsv } from './salesforce-csv.ts';
import { SalesforceApiError } from './salesforce-errors.ts';
import { formatSalesforceDateTime, type SalesforceRecordError } from './salesforce-field-values.ts';
import { createSalesforceIdGenerator, type SalesforceIdGenerator } from './salesforce-ids.ts';
import type { SalesforceState, SalesforceWriteResult } from './salesforce-state.ts';

/** Ingest operations the emulator runs. */
export type Bulk2Operation = 'insert' | 'update' | 'upsert' | 'delete' | 'hardDelete';

/** States of an ingest job. */
export type Bulk2JobState = 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Aborted' | 'Failed';

/** Largest CSV upload Salesforce accepts per job. */
export const bulk2MaxUploadBytes = 150 * 1024 * 1024;

/** Records per internal batch (a batch counts toward the daily 15,000 batch limit). */
export const bulk2RecordsPerBatch = 10_000;

interface Bulk2Job {
  id: string;
  object: string;
  operation: Bulk2Operation;
  externalIdFieldName?: string;
  lineEnding: 'LF' | 'CRLF';
  columnDelimiter: string;
  createdDate: string;
  systemModstamp: string;
  createdById: string;
  state: Bulk2JobState;
  uploads: string[];
  uploadedBytes: number;
  header: string[];
  rows: string[][];
  processingStartedAt?: number;
  readyAt?: number;
  successful: string[][];
  failed: string[][];
  processed: boolean;
  errorMessage?: string;
}

/** Options of the job store. */
export interface Bulk2JobsOptions {
  state: SalesforceState;
  now: () => number;
  apiVersion: string;
  /** Processing time per row once uploaded, in ms. @default 0.5 */
  msPerRecord?: number;
  seed?: number | string;
}

const operations: readonly Bulk2Operation[] = ['insert', 'update', 'upsert', 'delete', 'hardDelete'];

/** The ingest jobs of the org. */
export class Bulk2Jobs {
  readonly #options: Bulk2JobsOptions;
  #jobs = new Map<string, Bulk2Job>();
  #ids: SalesforceIdGenerator;
  #timers = new Set<NodeJS.Timeout>();
  #msPerRecord: number;
  /** Timestamps of internal batches processed, for `DailyBulkApiBatches`. */
  #batches: number[] = [];

  /** Creates an empty job store. */
  constructor(options: Bulk2JobsOptions) {
    this.#options = options;
    this.#ids = createSalesforceIdGenerator(`${options.seed ?? 1}:bulk2`);
    this.#msPerRecord = options.msPerRecord ?? 0.5;
    if (!Number.isFinite(this.#msPerRecord) || this.#msPerRecord < 0) {
      throw new Error(
        `[coexist/sandbox] bulkProcessingMsPerRecord must be a non-negative number, got ${this.#msPerRecord}`,
      );
    }
  }

  /** Processing time per row, in ms. */
  get msPerRecord(): number {
    return this.#msPerRecord;
  }

  /** Changes the processing time per row for jobs closed from now on. */
  setMsPerRecord(msPerRecord: number): void {
    this.#msPerRecord = msPerRecord;
  }

  /** Internal batches processed in the 24 h before now. */
  batchesUsed(): number {
    const since = this.#options.now() - 24 * 60 * 60 * 1000;
    this.#batches = this.#batches.filter((timestamp) => timestamp > since);
    return this.#batches.length;
  }

  /** Drops every job and pending timer. */
  reset(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#jobs.clear();
    this.#batches = [];
    this.#ids = createSalesforceIdGenerator(`${this.#options.seed ?? 1}:bulk2`);
  }

  /** Stops pending timers (the emulator is closing). */
  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  /** Summaries of every job, for `/__admin/state`. */
  summary(): Array<{ id: string; object: string; operation: string; state: string; rows: number }> {
    this.advance();
    return [...this.#jobs.values()].map((job) => ({
      id: job.id,
      object: job.object,
      operation: job.operation,
      state: job.state,
      rows: job.rows.length,
    }));
  }

  /** `POST jobs/ingest`: validates the request and opens a job. */
  create(body: unknown): Record<string, unknown> {
    if (body === null || typeof body !== 'object')
      throw new SalesforceApiError(400, 'INVALIDJOB', 'The request body must be a JSON object');
    const request = body as Record<string, unknown>;
    const objectName = typeof request.object === 'string' ? request.object : '';
    const definition = this.#options.state.definition(objectName);
    if (!definition)
      throw new SalesforceApiError(400, 'INVALIDENTITY', `Entity '${objectName}' is not supported by the Bulk API.`);
    const operation = request.operation as Bulk2Operation;
    if (!operations.includes(operation)) {
      throw new SalesforceApiError(400, 'INVALIDJOB', `InvalidJob : Invalid operation: ${String(request.operation)}`);
    }
    let externalIdFieldName: string | undefined;
    if (operation === 'upsert') {
      const field =
        typeof request.externalIdFieldName === 'string'
          ? this.#options.state.field(definition.name, request.externalIdFieldName)
          : undefined;
      if (!field || !(field.externalId || field.name === 'Id')) {
        throw new SalesforceApiError(
          400,
          'INVALIDJOB',
          `InvalidJob : External ID field '${String(request.externalIdFieldName)}' is not an External ID field of ${definition.name}`,
        );
      }
      externalIdFieldName = field.name;
    }
    const contentType = request.contentType ?? 'CSV';
    if (contentType !== 'CSV') throw new SalesforceApiError(400, 'INVALIDJOB', `InvalidJob : contentType must be CSV`);
    const lineEnding = request.lineEnding ?? 'LF';
    if (lineEnding !== 'LF' && lineEnding !== 'CRLF') {
      throw new SalesforceApiError(400, 'INVALIDJOB', `InvalidJob : lineEnding must be LF or CRLF`);
    }
    const columnDelimiter = (request.columnDelimiter as string | undefined) ?? 'COMMA';
    if (!(columnDelimiter in bulkColumnDelimiters)) {
      throw new SalesforceApiError(400, 'INVALIDJOB', `InvalidJob : unknown columnDelimiter ${columnDelimiter}`);
    }
    const timestamp = formatSalesforceDateTime(this.#options.now());
    const job: Bulk2Job = {
      id: this.#ids.next('750'),
      object: definition.name,
      operation,
      externalIdFieldName,
      lineEnding,
      columnDelimiter,
      createdDate: timestamp,
      systemModstamp: timestamp,
      createdById: this.#options.state.defaultUserId,
      state: 'Open',
      uploads: [],
      uploadedBytes: 0,
      header: [],
      rows: [],
      successful: [],
      failed: [],
      processed: false,
    };
    this.#jobs.set(job.id, job);
    return this.#describe(job);
  }

  /** `PUT jobs/ingest/{id}/batches`: stores CSV data of an open job. */
  upload(id: string, data: Buffer): void {
    const job = this.#job(id);
    if (job.state !== 'Open') {
      throw new SalesforceApiError(
        409,
        'INVALIDJOBSTATE',
        `Job ${id} is in state ${job.state}; data can only be uploaded while it is Open`,
      );
    }
    if (job.uploadedBytes + data.length > bulk2MaxUploadBytes) {
      throw new SalesforceApiError(400, 'INVALIDBATCH', 'InvalidBatch : The data of a job must not exceed 150 MB');
    }
    // [unverified] Whether Salesforce accepts a second upload to the same job; the emulator appends it.
    job.uploads.push(data.toString('utf8'));
    job.uploadedBytes += data.length;
  }

  /** `PATCH jobs/ingest/{id}`: closes (`UploadComplete`) or aborts a job. */
  setState(id: string, body: unknown): Record<string, unknown> {
    const job = this.#job(id);
    const requested = (body as { state?: unknown } | undefined)?.state;
    if (requested === 'Aborted') {
      if (job.state === 'JobComplete' || job.state === 'Failed' || job.state === 'Aborted') {
        throw new SalesforceApiError(400, 'INVALIDJOBSTATE', `Job ${id} is already ${job.state}`);
      }
      this.advance();
      if (job.processed) throw new SalesforceApiError(400, 'INVALIDJOBSTATE', `Job ${id} is already ${job.state}`);
      job.state = 'Aborted';
      this.#parseUploads(job);
      return this.#describe(job);
    }
    if (requested !== 'UploadComplete') {
      throw new SalesforceApiError(
        400,
        'INVALIDJOBSTATE',
        `state must be UploadComplete or Aborted, got ${String(requested)}`,
      );
    }
    if (job.state !== 'Open')
      throw new SalesforceApiError(409, 'INVALIDJOBSTATE', `Job ${id} is not Open (it is ${job.state})`);
    job.state = 'UploadComplete';
    job.systemModstamp = formatSalesforceDateTime(this.#options.now());
    const error = this.#parseUploads(job);
    if (error) {
      job.state = 'Failed';
      job.errorMessage = error;
      return this.#describe(job);
    }
    const now = this.#options.now();
    job.processingStartedAt = now;
    const processingMs = job.rows.length * this.#msPerRecord;
    job.readyAt = now + processingMs;
    // Settle the job on time even when nobody polls; with an injected clock, polling settles it.
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.advance();
    }, Math.ceil(processingMs) + 1);
    timer.unref();
    this.#timers.add(timer);
    return this.#describe(job);
  }

  /** `GET jobs/ingest/{id}`. */
  info(id: string): Record<string, unknown> {
    this.advance();
    return this.#describe(this.#job(id), true);
  }

  /** `GET jobs/ingest`. */
  list(): Record<string, unknown> {
    this.advance();
    return { done: true, nextRecordsUrl: null, records: [...this.#jobs.values()].map((job) => this.#describe(job)) };
  }

  /** `DELETE jobs/ingest/{id}`: only a closed, aborted, completed or failed job. */
  delete(id: string): void {
    const job = this.#job(id);
    if (job.state === 'Open')
      throw new SalesforceApiError(400, 'INVALIDJOBSTATE', `Job ${id} is Open; close or abort it first`);
    this.#jobs.delete(id);
  }

  /** `GET jobs/ingest/{id}/successfulResults|failedResults|unprocessedrecords` as CSV. */
  results(id: string, kind: 'successfulResults' | 'failedResults' | 'unprocessedrecords'): string {
    this.advance();
    const job = this.#job(id);
    const lineEnding = job.lineEnding === 'CRLF' ? '\r\n' : '\n';
    if (kind === 'unprocessedrecords') {
      const unprocessed = job.processed ? [] : job.state === 'Aborted' || job.state === 'Failed' ? job.rows : [];
      return job.header.length === 0 ? '' : toCsv(job.header, unprocessed, lineEnding);
    }
    if (!job.processed && job.state !== 'Aborted' && job.state !== 'Failed') {
      throw new SalesforceApiError(409, 'INVALIDJOBSTATE', `Job ${id} has not completed (it is ${job.state})`);
    }
    if (kind === 'successfulResults')
      return toCsv(['sf__Id', 'sf__Created', ...job.header], job.successful, lineEnding);
    return toCsv(['sf__Id', 'sf__Error', ...job.header], job.failed, lineEnding);
  }

  /** Processes every job whose processing time has elapsed. */
  advance(): void {
    const now = this.#options.now();
    for (const job of this.#jobs.values()) {
      if (job.state === 'UploadComplete' || job.state === 'InProgress') {
        if (job.readyAt !== undefined && now >= job.readyAt) this.#process(job);
        else job.state = 'InProgress';
      }
    }
  }

  #job(id: string): Bulk2Job {
    const job = this.#jobs.get(id);
    if (!job) throw new SalesforceApiError(404, 'NOT_FOUND', `The requested resource does not exist`);
    return job;
  }

  /** Parses the uploaded CSV; answers the job's error message when the data cannot be processed. */
  #parseUploads(job: Bulk2Job): string | undefined {
    const delimiter = bulkColumnDelimiters[job.columnDelimiter]!;
    let rows: string[][] = [];
    try {
      for (const [index, upload] of job.uploads.entries()) {
        const parsed = parseCsv(upload, delimiter);
        rows.push(...(index === 0 ? parsed : parsed.slice(1)));
      }
    } catch (error) {
      return `InvalidBatch : Failed to parse CSV: ${(error as Error).message}`;
    }
    if (rows.length === 0) return 'InvalidBatch : No data uploaded';
    const header = rows[0]!.map((name) => name.trim());
    rows = rows.slice(1);
    job.header = header;
    job.rows = rows;
    for (const column of header) {
      const [first, second] = column.split('.');
      const known = second
        ? this.#options.state.relationship(job.object, first!) !== undefined
        : this.#options.state.field(job.object, column) !== undefined;
      if (!known) return `InvalidBatch : Field name not found : ${column}`;
    }
    if (rows.some((cells) => cells.length !== header.length)) {
      return 'InvalidBatch : Wrong number of columns in a row: every row must have as many cells as the header';
    }
    return undefined;
  }

  #process(job: Bulk2Job): void {
    const state = this.#options.state;
    const externalColumn =
      job.externalIdFieldName === undefined
        ? -1
        : job.header.findIndex((column) => column.toLowerCase() === job.externalIdFieldName!.toLowerCase());
    const idColumn = job.header.findIndex((column) => column.toLowerCase() === 'id');
    for (let start = 0; start < job.rows.length; start += bulk2RecordsPerBatch) {
      this.#batches.push(this.#options.now());
      const chunk = job.rows.slice(start, start + bulk2RecordsPerBatch);
      const seen = new Map<string, number>();
      if (job.operation === 'upsert' && externalColumn >= 0) {
        for (const cells of chunk) {
          const key = cells[externalColumn]!.toLowerCase();
          if (key) seen.set(key, (seen.get(key) ?? 0) + 1);
        }
      }
      for (const cells of chunk) {
        const input = this.#recordOf(job, cells);
        let result: SalesforceWriteResult;
        const externalValue = externalColumn >= 0 ? cells[externalColumn]! : '';
        const id = idColumn >= 0 ? cells[idColumn]! : '';
        if (job.operation === 'upsert' && (seen.get(externalValue.toLowerCase()) ?? 0) > 1) {
          result = {
            success: false,
            errors: [
              {
                statusCode: 'DUPLICATE_EXTERNAL_ID',
                message: `Duplicate external id specified: ${externalValue}`,
                fields: [job.externalIdFieldName!],
              },
            ],
          };
        } else if (job.operation === 'insert') {
          result = state.create(job.object, withoutId(input));
        } else if (job.operation === 'update') {
          result = id ? state.update(job.object, id, withoutId(input)) : missingId();
        } else if (job.operation === 'upsert') {
          result = state.upsert(job.object, job.externalIdFieldName!, externalValue, withoutId(input));
        } else {
          result = id ? state.delete(job.object, id) : missingId();
        }
        if (result.success) job.successful.push([result.id, String(result.created), ...cells]);
        else job.failed.push([id, formatBulkError(result.errors), ...cells]);
      }
    }
    job.processed = true;
    job.state = 'JobComplete';
    job.systemModstamp = formatSalesforceDateTime(this.#options.now());
  }

  /** Turns CSV cells into a record input: empty cells are skipped, `#N/A` is null, `Rel__r.Field` nests. */
  #recordOf(job: Bulk2Job, cells: string[]): Record<string, unknown> {
    const input: Record<string, unknown> = {};
    for (const [index, column] of job.header.entries()) {
      const cell = cells[index]!;
      if (cell === '') continue;
      const value = cell === '#N/A' ? null : cell;
      const [first, second] = column.split('.');
      if (second) input[first!] = { [second]: value };
      else input[column] = value;
    }
    return input;
  }

  #describe(job: Bulk2Job, detailed = false): Record<string, unknown> {
    const base: Record<string, unknown> = {
      id: job.id,
      operation: job.operation,
      object: job.object,
      createdById: job.createdById,
      createdDate: job.createdDate,
      systemModstamp: job.systemModstamp,
      state: job.state,
      ...(job.externalIdFieldName ? { externalIdFieldName: job.externalIdFieldName } : {}),
      concurrencyMode: 'Parallel',
      contentType: 'CSV',
      apiVersion: Number(this.#options.apiVersion),
      contentUrl: `services/data/v${this.#options.apiVersion}/jobs/ingest/${job.id}/batches`,
      lineEnding: job.lineEnding,
      columnDelimiter: job.columnDelimiter,
      jobType: 'V2Ingest',
    };
    if (!detailed) return base;
    const now = this.#options.now();
    const processed = job.processed
      ? job.rows.length
      : job.processingStartedAt !== undefined && this.#msPerRecord > 0
        ? Math.min(job.rows.length, Math.floor((now - job.processingStartedAt) / this.#msPerRecord))
        : 0;
    return {
      ...base,
      ...(job.errorMessage ? { errorMessage: job.errorMessage } : {}),
      numberRecordsProcessed: processed,
      numberRecordsFailed: job.failed.length,
      retries: 0,
      totalProcessingTime:
        job.processed && job.readyAt !== undefined ? Math.round(job.readyAt - job.processingStartedAt!) : 0,
      apiActiveProcessingTime: 0,
      apexProcessingTime: 0,
    };
  }
}

function withoutId(input: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([name]) => name.toLowerCase() !== 'id'));
}

function missingId(): SalesforceWriteResult {
  return {
    success: false,
    errors: [{ statusCode: 'MISSING_ARGUMENT', message: 'Id not specified in an update call', fields: ['Id'] }],
  };
}

/** Formats record errors as Bulk API result files do: `CODE:message:fields --`. */
function formatBulkError(errors: SalesforceRecordError[]): string {
  return errors.map((error) => `${error.statusCode}:${error.message}:${error.fields.join(',')} --`).join(' ');
}
