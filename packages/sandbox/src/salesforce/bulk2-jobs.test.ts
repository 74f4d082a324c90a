import jsforce from 'jsforce';
import { afterEach, describe, expect, it } from 'vitest';
import { type SalesforceEmulator, startSalesforceEmulator } from './salesforce-emulator.ts';

describe('Bulk API 2.0 ingest', () => {
  let emulator: SalesforceEmulator | undefined;
  afterEach(async () => {
    await emulator?.close();
    emulator = undefined;
  });

  it('runs loadAndWaitForResults upserts: created flags, per-row errors, #N/A nulls, no duplicates on re-run', async () => {
    emulator = await startSalesforceEmulator({ bulkProcessingMsPerRecord: 0.01 });
    const connection = new jsforce.Connection(emulator.connectionOptions());
    connection.bulk2.pollInterval = 20;
    emulator.state.insert('WhatsApp_Conversation__c', { Thread_Key__c: 'thread-1' });
    const rows = Array.from({ length: 1200 }, (_, index) => ({
      Message_Id__c: `wamid.bulk.${index}`,
      Body__c: index === 5 ? null : `body, "quoted" ${index}\nsecond line`,
      Direction__c: 'inbound',
      Sent_At__c: '2025-01-01T00:00:00.000Z',
      'Conversation__r.Thread_Key__c': index === 7 ? 'missing-thread' : 'thread-1',
    }));
    const first = await connection.bulk2.loadAndWaitForResults({
      object: 'WhatsApp_Message__c',
      operation: 'upsert',
      externalIdFieldName: 'Message_Id__c',
      input: rows,
    });
    expect(first.successfulResults).toHaveLength(1199);
    expect(first.failedResults).toHaveLength(1);
    expect(first.failedResults[0]!.sf__Error).toMatch(
      /^INVALID_FIELD:Foreign key external ID: missing-thread not found/,
    );
    expect(first.successfulResults.every((row) => row.sf__Created === 'true')).toBe(true);
    expect(emulator.state.count('WhatsApp_Message__c')).toBe(1199);
    const [stored] = emulator.state.findByField('WhatsApp_Message__c', 'Message_Id__c', 'wamid.bulk.3');
    expect(emulator.state.get('WhatsApp_Message__c', stored!)).toMatchObject({
      Body__c: 'body, "quoted" 3\nsecond line',
      Sent_At__c: '2025-01-01T00:00:00.000+0000',
    });
    const [nulled] = emulator.state.findByField('WhatsApp_Message__c', 'Message_Id__c', 'wamid.bulk.5');
    expect(emulator.state.get('WhatsApp_Message__c', nulled!)!.Body__c).toBeNull();

    const again = await connection.bulk2.loadAndWaitForResults({
      object: 'WhatsApp_Message__c',
      operation: 'upsert',
      externalIdFieldName: 'Message_Id__c',
      input: rows.filter((_, index) => index !== 7),
    });
    expect(again.successfulResults.every((row) => row.sf__Created === 'false')).toBe(true);
    expect(emulator.state.count('WhatsApp_Message__c')).toBe(1199);
    expect(emulator.state.duplicates('WhatsApp_Message__c', 'Message_Id__c')).toEqual([]);
  });

  it('stays InProgress for a processing time proportional to the rows, on the injected clock', async () => {
    let clock = Date.UTC(2025, 0, 1);
    emulator = await startSalesforceEmulator({ bulkProcessingMsPerRecord: 100, now: () => clock });
    const connection = new jsforce.Connection(emulator.connectionOptions());
    const job = connection.bulk2.createJob({ object: 'Contact', operation: 'insert' });
    await job.open();
    await job.uploadData('LastName,Phone\nAda,#N/A\nGrace,555\n,556\n');
    await job.close();
    expect((await job.check()).state).toBe('InProgress');
    clock += 150;
    expect(await job.check()).toMatchObject({ state: 'InProgress', numberRecordsProcessed: 1 });
    clock += 200;
    expect(await job.check()).toMatchObject({
      state: 'JobComplete',
      numberRecordsProcessed: 3,
      numberRecordsFailed: 1,
    });
    const failed = await job.getFailedResults();
    expect(failed).toEqual([
      {
        sf__Id: '',
        sf__Error: 'REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --',
        LastName: '',
        Phone: '556',
      },
    ]);
    expect(await job.getUnprocessedRecords()).toEqual([]);
    expect(emulator.state.count('Contact')).toBe(2);
  });

  it('fails a job whose CSV names an unknown field, and aborts open jobs', async () => {
    emulator = await startSalesforceEmulator({ bulkProcessingMsPerRecord: 0 });
    const connection = new jsforce.Connection(emulator.connectionOptions());
    const bad = connection.bulk2.createJob({ object: 'Contact', operation: 'insert' });
    await bad.open();
    await bad.uploadData('LastName,Nope__c\nAda,1\n');
    await bad.close();
    expect(await bad.check()).toMatchObject({
      state: 'Failed',
      errorMessage: 'InvalidBatch : Field name not found : Nope__c',
    });

    const aborted = connection.bulk2.createJob({ object: 'Contact', operation: 'insert' });
    await aborted.open();
    await aborted.abort();
    expect((await aborted.check()).state).toBe('Aborted');
    expect(emulator.state.count('Contact')).toBe(0);

    const upsertWithoutKey = connection.bulk2.createJob({
      object: 'Contact',
      operation: 'upsert',
      externalIdFieldName: 'LastName',
    });
    await expect(upsertWithoutKey.open()).rejects.toMatchObject({ errorCode: 'INVALIDJOB' });
    const unknownObject = connection.bulk2.createJob({ object: 'Nope__c', operation: 'insert' });
    await expect(unknownObject.open()).rejects.toMatchObject({ errorCode: 'INVALIDENTITY' });
  });
});
