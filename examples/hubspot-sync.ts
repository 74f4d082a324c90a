/**
 * Mirror a WhatsApp conversation into HubSpot with `@coexist/hubspot`, against the HubSpot emulator from
 * `@coexist/sandbox` (swap `basePath`/`accessToken` for a real portal's private-app token to run it for real).
 *
 *   node --conditions=@coexist/source examples/hubspot-sync.ts
 *
 * It prints counts and ids only: never message bodies or tokens.
 */
import { fileURLToPath } from 'node:url';
import type { MessageRecord, OperationContext } from '@coexist/core';
import { phoneVariants } from '@coexist/core';
import { createHubSpotAdapter } from '@coexist/hubspot';
import { startHubSpotEmulator } from '@coexist/sandbox';

/** What one run did. */
export interface HubSpotSyncSummary {
  propertiesCreated: number;
  idempotency: string;
  matchedContactId: string;
  createdContactId: string;
  messagesWritten: number;
  replaysCreated: number;
  communicationsInHubSpot: number;
  searchRequests: number;
}

/** Runs the example against a fresh emulator and returns what happened. */
export async function runHubSpotSync(log: (line: string) => void = console.log): Promise<HubSpotSyncSummary> {
  const emulator = await startHubSpotEmulator({ tier: 'pro', owners: [{ id: '501', email: 'rep@example.com' }] });
  try {
    // A rep typed this customer's number by hand, long before WhatsApp.
    const [existing] = emulator.seedContacts([{ phone: '(650) 555-1234', firstname: 'Ada', lastname: 'Lovelace' }]);

    const hubspot = createHubSpotAdapter({
      basePath: emulator.url, // omit for https://api.hubapi.com
      accessToken: emulator.token, // a private-app token `pat-…`, or `getAccessToken` for OAuth
      tier: 'pro',
      owners: { '+14155550100': '501' }, // business number → HubSpot owner
      defaultCountry: 'US',
    });
    const context: OperationContext = {
      connectionId: 'example',
      signal: AbortSignal.timeout(30_000),
      // The engine's limiter consumes these; here we only report a bucket running low.
      onRateLimitSignal: (signal) => {
        if (signal.remaining !== undefined && signal.remaining < 10)
          log(`rate limit ${signal.bucket}: ${signal.remaining} left`);
      },
    };

    const setup = await hubspot.setup(context);
    log(`setup: ${setup.created.length} properties created, messages idempotent by ${setup.messageIdempotency}`);

    // Two customers write in: one is already in HubSpot (in another format), one is new.
    const phones = ['+16505551234', '+16505550188'];
    const found = await hubspot.findContacts(
      phones.map((phone) => ({ key: `phone:${phone}`, phone, phoneVariants: phoneVariants(phone) })),
      context,
    );
    const matched = found[0]?.ok ? found[0].matches[0]?.crmId : undefined;
    if (matched !== existing?.id) throw new Error('expected the hand-typed contact to match');
    const [created] = await hubspot.createContacts(
      [{ key: 'phone:+16505550188', phone: '+16505550188', name: 'Grace Hopper', ownerId: '501' }],
      context,
    );
    if (!created?.ok) throw new Error('contact creation failed');
    log(`contacts: matched ${matched}, created ${created.crmId}`);

    const messages: MessageRecord[] = [matched, created.crmId].flatMap((contactCrmId, contact) =>
      Array.from({ length: 3 }, (_, index): MessageRecord => {
        const text = index % 2 === 0 ? 'Hi, is the offer still valid?' : 'Yes! Sending it now.';
        return {
          key: `wamid.example.${contact}.${index}`,
          direction: index % 2 === 0 ? 'inbound' : 'outbound',
          actor: index % 2 === 0 ? 'customer' : 'business_app',
          occurredAt: new Date(Date.UTC(2026, 2, 1, 9, contact, index)).toISOString(),
          source: 'live',
          contactCrmId,
          businessPhone: '+14155550100',
          conversationKey: `+14155550100|phone:${phones[contact]}`,
          content: { kind: 'text', text, summary: text, placeholder: false },
          ...(index % 2 === 0 ? {} : { status: 'sent' as const }),
        };
      }),
    );
    const written = await hubspot.writeMessages(messages, context);
    await hubspot.updateMessages(
      [
        {
          key: 'status-1',
          messageKey: 'wamid.example.0.1',
          change: { kind: 'status', status: 'read', at: '2026-03-01T09:05:00Z' },
        },
      ],
      context,
    );
    // A crash and a resend: nothing is duplicated.
    const replay = await hubspot.writeMessages(messages, context);
    const summary: HubSpotSyncSummary = {
      propertiesCreated: setup.created.length,
      idempotency: setup.messageIdempotency,
      matchedContactId: matched,
      createdContactId: created.crmId,
      messagesWritten: written.filter((result) => result.ok && result.created).length,
      replaysCreated: replay.filter((result) => result.ok && result.created).length,
      communicationsInHubSpot: emulator.countCommunications(),
      searchRequests: emulator.stats.byRoute['POST /crm/v3/objects/:objectType/search'] ?? 0,
    };
    log(
      `messages: ${summary.messagesWritten} written, ${summary.replaysCreated} created on replay, ${summary.communicationsInHubSpot} in HubSpot`,
    );
    return summary;
  } finally {
    await emulator.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runHubSpotSync().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
