/**
 * Mirrors a small WhatsApp conversation into Salesforce with `@coexist/salesforce`, against the sandbox's Salesforce
 * emulator (real jsforce over HTTP), so it runs without an org:
 *
 *   node --conditions=@coexist/source examples/salesforce-sync.ts
 *
 * Against a real org, drop the emulator and pass `instanceUrl` + `accessToken` (or `oauth2` + `refreshToken`).
 * It prints ids and counts only: never message bodies or tokens.
 */
import { fileURLToPath } from 'node:url';
import { type MessageRecord, type OperationContext, phoneVariants } from '@coexist/core';
import { createSalesforceAdapter } from '@coexist/salesforce';
import { startSalesforceEmulator } from '@coexist/sandbox';

/** What `runSalesforceSync` reports. */
export interface SalesforceSyncSummary {
  contactId: string;
  created: number;
  replayedAsCreated: number;
  messagesInSalesforce: number;
  conversationsInSalesforce: number;
  status: unknown;
  apiUsage: string;
}

/** Runs the example end to end and returns what Salesforce holds afterwards. */
export async function runSalesforceSync(log: (line: string) => void = console.log): Promise<SalesforceSyncSummary> {
  const emulator = await startSalesforceEmulator();
  try {
    // A rep typed the customer's number in their own format.
    emulator.state.create('Contact', { LastName: 'Lovelace', FirstName: 'Ada', Phone: '(650) 555-1234' });
    const repId = emulator.state.defaultUserId;
    const salesforce = createSalesforceAdapter({
      instanceUrl: emulator.url,
      accessToken: emulator.accessToken,
      owners: { '+14155550100': repId },
      defaultCountry: 'US',
    });
    const context: OperationContext = {
      connectionId: 'example',
      signal: AbortSignal.timeout(30_000),
      onRateLimitSignal: (signal) => log(`rate limit: ${signal.bucket} ${signal.remaining}/${signal.limit} left`),
    };

    const phone = '+16505551234';
    const [found] = await salesforce.findContacts(
      [{ key: `phone:${phone}`, phone, phoneVariants: phoneVariants(phone) }],
      context,
    );
    if (!found?.ok) throw new Error('lookup failed');
    let contactId = found.matches[0]?.crmId;
    if (contactId === undefined) {
      const [created] = await salesforce.createContacts([{ key: `phone:${phone}`, phone, ownerId: repId }], context);
      if (!created?.ok) throw new Error('contact creation failed');
      contactId = created.crmId;
    }
    log(`contact ${contactId} (${found.matches.length} match by phone)`);

    const thread: MessageRecord[] = ['Hi, is the offer still valid?', 'Yes, until Friday.'].map((text, index) => ({
      key: `wamid.example.${index}`,
      direction: index === 0 ? 'inbound' : 'outbound',
      actor: index === 0 ? 'customer' : 'business_app',
      occurredAt: new Date(Date.now() - (2 - index) * 60_000).toISOString(),
      source: 'live',
      contactCrmId: contactId!,
      contactPhone: phone,
      businessPhone: '+14155550100',
      conversationKey: `+14155550100:${phone}`,
      content: { kind: 'text', text, summary: text, placeholder: false },
      ...(index === 1 ? { status: 'sent' as const } : {}),
    }));
    const written = await salesforce.writeMessages(thread, context);
    const replayed = await salesforce.writeMessages(thread, context); // a replay after a crash: no duplicates
    await salesforce.updateMessages(
      [
        {
          key: 'status-1',
          messageKey: 'wamid.example.1',
          change: { kind: 'status', status: 'read', at: new Date().toISOString() },
        },
      ],
      context,
    );
    const messages = emulator.state.records('WhatsApp_Message__c');
    const summary: SalesforceSyncSummary = {
      contactId: contactId!,
      created: written.filter((result) => result.ok && result.created).length,
      replayedAsCreated: replayed.filter((result) => result.ok && result.created).length,
      messagesInSalesforce: messages.length,
      conversationsInSalesforce: emulator.state.records('WhatsApp_Conversation__c').length,
      status: messages.find((message) => message.Message_Id__c === 'wamid.example.1')?.Status__c,
      apiUsage: emulator.limits.header(Date.now()),
    };
    log(
      `messages: ${summary.created} created, ${summary.replayedAsCreated} created again on replay; Salesforce holds ${summary.messagesInSalesforce} messages in ${summary.conversationsInSalesforce} conversation; status of the reply: ${String(summary.status)}; ${summary.apiUsage}`,
    );
    return summary;
  } finally {
    await emulator.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runSalesforceSync();
}
