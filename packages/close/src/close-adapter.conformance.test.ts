import { type ConformanceMessage, runAdapterConformance } from '@coexist/core/testing';
import { type CloseUser, type CloseWhatsAppActivity, DEFAULT_CLOSE_ORGANIZATION_ID } from '@coexist/sandbox';
import { afterAll, beforeAll } from 'vitest';
import {
  type CloseHarness,
  exhaustGroup,
  seedCloseContact,
  startCloseHarness,
  TEST_API_KEY,
} from './__fixtures__/close-test-harness.ts';
import { createCloseAdapter } from './close-adapter.ts';

let harness: CloseHarness;
/** Close has no built-in lead owner: the adapter writes it to a lead custom field of type user (docs/close.md). */
const OWNER_FIELD = 'cf_coexist_lead_owner';
/** The organization's users: the API key acts as the first; the two reps are the owners of the owner tests. */
const USERS: CloseUser[] = ['Api', 'Rep One', 'Rep Two'].map((name, index) => ({
  id: `user_conformance_${index}`,
  organization_id: DEFAULT_CLOSE_ORGANIZATION_ID,
  first_name: name.split(' ')[0]!,
  last_name: name.split(' ')[1] ?? 'User',
  email: `user${index}@conformance.example.com`,
}));
/**
 * The emulator's clock (its rate-limit windows and dates): real time, or held still once the rate-limit fault is armed,
 * so the filled window cannot roll over before the adapter's request arrives, however slow the machine. `reset`
 * releases it.
 */
let heldAt: number | undefined;

beforeAll(async () => {
  // A real emulator and a real axios instance (the adapter's documented `axios` option) whose next request can carry
  // a refused key: every request below is HTTP to the emulator.
  harness = await startCloseHarness({ seed: 'conformance', users: USERS, now: () => heldAt ?? Date.now() });
});
afterAll(() => harness.emulator.close());

/** Footer labels of the delivery status (docs/close.md, "Messages": `_WhatsApp · Business App · Read · Edited_`). */
const STATUS_OF_LABEL: Record<string, ConformanceMessage['status']> = {
  Sent: 'sent',
  Delivered: 'delivered',
  Read: 'read',
  Played: 'played',
  Failed: 'failed',
};
/** The body Close shows for a revoked message (docs/close.md: "body replaced by *This message was deleted*"). */
const REVOKED_BODY = '_This message was deleted_';

/**
 * Reads a stored activity as Close holds it. Close has no status or edit fields, so that state is the documented
 * footer (the activity's last paragraph), read here on its own rather than with the adapter's parser.
 */
function toConformanceMessage(activity: CloseWhatsAppActivity): ConformanceMessage {
  const markdown = activity.message_markdown;
  const split = markdown.lastIndexOf('\n\n');
  const footer = split === -1 ? undefined : /^_WhatsApp · (.+)_$/.exec(markdown.slice(split + 2))?.[1]?.split(' · ');
  const body = footer === undefined ? markdown : markdown.slice(0, split);
  // A failed status shows its reason: `Failed (131047: Re-engagement message)`.
  const status = footer
    ?.map((label) => STATUS_OF_LABEL[label.replace(/ \(.*\)$/, '')])
    .find((value) => value !== undefined);
  return {
    crmId: activity.id,
    key: activity.external_whatsapp_message_id,
    ...(activity.contact_id === null ? {} : { contactCrmId: activity.contact_id }),
    occurredAt: activity.activity_at,
    // The body as Close stores it, footer included: reactions live there (Close has no field for them).
    text: markdown,
    ...(status === undefined ? {} : { status }),
    edited: footer?.includes('Edited') ?? false,
    // Revoked as Close shows it: marked in the footer, the body replaced, the attachments removed.
    revoked:
      (footer?.includes('Deleted') ?? false) && body.startsWith(REVOKED_BODY) && activity.attachments.length === 0,
    // Close threads messages: `response_to_id` is the previous message's activity id.
    previousMessageCrmId: activity.response_to_id,
  };
}

function ownerOf(leadId: string): { ownerId?: string } {
  const owner = harness.emulator.state.leads.get(leadId)?.custom[OWNER_FIELD];
  return typeof owner === 'string' ? { ownerId: owner } : {};
}

runAdapterConformance({
  name: 'close (emulator, axios)',
  createAdapter: async () => {
    const adapter = createCloseAdapter({
      baseUrl: harness.emulator.apiUrl,
      apiKey: TEST_API_KEY,
      axios: harness.http,
      defaultCountry: 'US',
      ownerCustomFieldId: OWNER_FIELD,
      // As deployed: every activity carries a signed card link, and `setup()` registers the lead-page link.
      integrationLinkBaseUrl: 'https://coexist.example.com/close/card',
      cardSigningSecret: 'close-conformance-card-signing-secret-0123456789',
    });
    await adapter.setup();
    return adapter;
  },
  reset: () => {
    heldAt = undefined;
    harness.emulator.reset();
  },
  // Stored directly, phone as a rep typed it: Close normalizes what it can parse and keeps the rest as typed.
  seedContact: ({ phone, name }) => seedCloseContact(harness.emulator, { phone, name }),
  inspect: {
    // The activity map keeps creation order.
    messages: async () => [...harness.emulator.state.activities.values()].map(toConformanceMessage),
    contacts: async () =>
      [...harness.emulator.state.contacts.values()].map((contact) => ({
        crmId: contact.id,
        ...(contact.phones[0] === undefined ? {} : { phone: contact.phones[0].phone }),
        name: contact.name,
        // The owner is the lead's: every contact of a lead shares it.
        ...ownerOf(contact.lead_id),
      })),
  },
  ownerIds: [USERS[1]!.id, USERS[2]!.id],
  // Close contacts are found and created by phone: a WhatsApp activity needs one (docs/close.md).
  contactsWithoutPhone: false,
  faults: {
    // A write's first request is its look-up (`GET /activity/whatsapp_message/?external_whatsapp_message_id=`): fill
    // that endpoint group's real window for the key, with the clock held, so Close's 429 (`RateLimit` header,
    // `{"error": {"rate_reset": …}}`) answers it. `rate_reset` is the group's remaining window (1 s), not
    // `retryAfterMs`: Close decides how long, and the suite asserts only the error's kind.
    rateLimitNextRequest: async () => {
      heldAt = Date.now();
      await exhaustGroup(harness.emulator, '/activity/whatsapp_message/');
    },
    // The next request carries an API key the emulator does not know: its real 401.
    rejectNextRequestCredentials: () => harness.refuseNextCredentials(),
  },
});
