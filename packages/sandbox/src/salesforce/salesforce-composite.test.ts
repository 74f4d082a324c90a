import jsforce from 'jsforce';
import { afterEach, describe, expect, it } from 'vitest';
import { type SalesforceEmulator, startSalesforceEmulator } from './salesforce-emulator.ts';

interface SubrequestResult {
  body: unknown;
  httpHeaders: Record<string, string>;
  httpStatusCode: number;
  referenceId: string;
}

interface ApiError extends Error {
  errorCode: string;
}

const V = '/services/data/v62.0';

describe('Composite (POST /composite) with jsforce', () => {
  let emulator: SalesforceEmulator | undefined;
  afterEach(async () => {
    await emulator?.close();
    emulator = undefined;
  });

  async function start() {
    emulator = await startSalesforceEmulator();
    const connection = new jsforce.Connection({ ...emulator.connectionOptions(), version: '62.0' });
    const composite = async (body: unknown) =>
      (await connection.requestPost('/composite', body as object)) as { compositeResponse: SubrequestResult[] };
    return { emulator, connection, composite };
  }

  it('upserts conversations and the messages that reference them by External ID in one call', async () => {
    const { emulator, composite } = await start();
    const answer = await composite({
      allOrNone: false,
      compositeRequest: [
        {
          method: 'PATCH',
          url: `${V}/composite/sobjects/WhatsApp_Conversation__c/Thread_Key__c`,
          referenceId: 'conversations',
          body: {
            allOrNone: false,
            records: ['t-1', 't-2'].map((key) => ({
              attributes: { type: 'WhatsApp_Conversation__c' },
              Thread_Key__c: key,
            })),
          },
        },
        {
          method: 'PATCH',
          url: `${V}/composite/sobjects/WhatsApp_Message__c/Message_Id__c`,
          referenceId: 'messages',
          body: {
            allOrNone: false,
            records: [
              { key: 'wamid.1', thread: 't-1' },
              { key: 'wamid.2', thread: 't-2' },
              { key: 'wamid.3', thread: 't-missing' },
            ].map(({ key, thread }) => ({
              attributes: { type: 'WhatsApp_Message__c' },
              Message_Id__c: key,
              Body__c: 'hello',
              Conversation__r: { Thread_Key__c: thread },
            })),
          },
        },
      ],
    });
    const [conversations, messages] = answer.compositeResponse;
    expect(conversations).toMatchObject({ httpStatusCode: 200, referenceId: 'conversations' });
    expect(conversations!.body).toEqual([
      expect.objectContaining({ success: true, created: true }),
      expect.objectContaining({ success: true, created: true }),
    ]);
    expect(messages).toMatchObject({ httpStatusCode: 200, referenceId: 'messages' });
    const results = messages!.body as { success: boolean; errors: unknown[] }[];
    expect(results.map((result) => result.success)).toEqual([true, true, false]);
    expect(emulator.state.count('WhatsApp_Message__c')).toBe(2);
    const conversationIds = (conversations!.body as { id: string }[]).map((result) => result.id);
    expect(emulator.state.records('WhatsApp_Message__c').map((record) => record.Conversation__c)).toEqual(
      conversationIds,
    );
    // One call toward the limits.
    expect(emulator.stats.byRoute['POST /services/data/:version/composite']).toBe(1);
    expect(emulator.stats.requests).toBe(1);
  });

  it('resolves @{reference} in bodies and urls, arrays by index', async () => {
    const { emulator, composite } = await start();
    const answer = await composite({
      compositeRequest: [
        { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'account', body: { Name: 'Acme' } },
        {
          method: 'POST',
          url: `${V}/composite/sobjects`,
          referenceId: 'contacts',
          body: {
            records: [
              { attributes: { type: 'Contact' }, LastName: 'One', AccountId: '@{account.id}' },
              { attributes: { type: 'Contact' }, LastName: 'Two', AccountId: '@{account.id}' },
            ],
          },
        },
        { method: 'GET', url: `${V}/sobjects/Contact/@{contacts[1].id}?fields=LastName`, referenceId: 'second' },
        {
          method: 'GET',
          url: `${V}/query?q=${encodeURIComponent('SELECT Id, LastName FROM Contact ORDER BY LastName')}`,
          referenceId: 'query',
        },
      ],
    });
    const [account, contacts, second, query] = answer.compositeResponse;
    expect(account!.httpStatusCode).toBe(201);
    const accountId = (account!.body as { id: string }).id;
    expect(contacts!.httpStatusCode).toBe(200);
    expect(emulator.state.records('Contact').map((record) => record.AccountId)).toEqual([accountId, accountId]);
    expect(second).toMatchObject({ httpStatusCode: 200, body: { LastName: 'Two' } });
    expect(query!.body).toMatchObject({ totalSize: 2, records: [{ LastName: 'One' }, { LastName: 'Two' }] });
  });

  it('allOrNone true: a failed subrequest rolls every write back and the others answer 400', async () => {
    const { emulator, composite } = await start();
    const answer = await composite({
      allOrNone: true,
      compositeRequest: [
        { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'account', body: { Name: 'Acme' } },
        { method: 'POST', url: `${V}/sobjects/Contact`, referenceId: 'contact', body: { FirstName: 'no last name' } },
        { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'later', body: { Name: 'Later' } },
      ],
    });
    expect(answer.compositeResponse.map((result) => result.httpStatusCode)).toEqual([400, 400, 400]);
    expect(answer.compositeResponse[0]!.body).toEqual([expect.objectContaining({ errorCode: 'PROCESSING_HALTED' })]);
    expect(answer.compositeResponse[1]!.body).toEqual([
      expect.objectContaining({ errorCode: 'REQUIRED_FIELD_MISSING' }),
    ]);
    expect(emulator.state.count('Account')).toBe(0);
    expect(emulator.state.count('Contact')).toBe(0);
  });

  it('allOrNone false: subrequests depending on a failed one do not run, the others do', async () => {
    const { emulator, composite } = await start();
    const answer = await composite({
      allOrNone: false,
      compositeRequest: [
        { method: 'POST', url: `${V}/sobjects/Contact`, referenceId: 'bad', body: { FirstName: 'no last name' } },
        { method: 'PATCH', url: `${V}/sobjects/Contact/@{bad.id}`, referenceId: 'dependent', body: { LastName: 'X' } },
        { method: 'POST', url: `${V}/sobjects/Account`, referenceId: 'independent', body: { Name: 'Acme' } },
      ],
    });
    expect(answer.compositeResponse.map((result) => result.httpStatusCode)).toEqual([400, 400, 201]);
    expect(answer.compositeResponse[1]!.body).toEqual([expect.objectContaining({ errorCode: 'PROCESSING_HALTED' })]);
    expect(emulator.state.count('Account')).toBe(1);
  });

  it('refuses more than 25 subrequests, more than 5 Collections or queries, and unsupported resources', async () => {
    const { composite } = await start();
    const account = (index: number) => ({
      method: 'POST',
      url: `${V}/sobjects/Account`,
      referenceId: `a${index}`,
      body: { Name: `A${index}` },
    });
    const tooMany = (await composite({
      compositeRequest: Array.from({ length: 26 }, (_, index) => account(index)),
    }).catch((error: unknown) => error)) as ApiError;
    expect(tooMany.errorCode).toBe('INVALID_BATCH_REQUEST');
    const queries = (await composite({
      compositeRequest: Array.from({ length: 6 }, (_, index) => ({
        method: 'GET',
        url: `${V}/query?q=SELECT+Id+FROM+Account`,
        referenceId: `q${index}`,
      })),
    }).catch((error: unknown) => error)) as ApiError;
    expect(queries.errorCode).toBe('INVALID_BATCH_REQUEST');
    const search = await composite({
      compositeRequest: [{ method: 'GET', url: `${V}/search?q=FIND+%7Bx%7D`, referenceId: 'search' }],
    });
    expect(search.compositeResponse[0]!.httpStatusCode).toBe(400);
    const duplicate = (await composite({
      compositeRequest: [account(1), account(1)],
    }).catch((error: unknown) => error)) as ApiError;
    expect(duplicate.errorCode).toBe('JSON_PARSER_ERROR');
  });
});
