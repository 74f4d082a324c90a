/**
 * Where the adapter keeps the id of a running Bulk API 2.0 job, so polling survives a restart. The CRM adapter
 * contract v1 has no hook for long-running CRM jobs, hence this small option: the adapter saves the job id under a
 * key derived from the batch (its connection and message keys) before uploading, and deletes it once the results
 * are read. When the engine resends the same batch after a crash, the adapter finds the id and resumes polling the
 * job instead of starting another (which would be harmless, since the job upserts by `Message_Id__c`, but slow).
 */

/** A durable map of batch key → Bulk API 2.0 job id; sync or async. */
export interface SalesforceJobStore {
  /** The job id saved under `key`, if any. */
  get(key: string): string | undefined | Promise<string | undefined>;
  /** Saves a job id under `key`. */
  set(key: string, jobId: string): void | Promise<void>;
  /** Forgets `key`. */
  delete(key: string): void | Promise<void>;
}

/** An in-memory job store: survives nothing but a thrown poll timeout; pass a durable one in production. */
export function createMemoryJobStore(): SalesforceJobStore & { readonly entries: ReadonlyMap<string, string> } {
  const entries = new Map<string, string>();
  return {
    entries,
    get: (key) => entries.get(key),
    set: (key, jobId) => {
      entries.set(key, jobId);
    },
    delete: (key) => {
      entries.delete(key);
    },
  };
}
