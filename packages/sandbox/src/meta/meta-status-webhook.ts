import type { MetaNumber } from './meta-state.ts';

/** A delivery status Meta reports for a message the business sent. */
export type MetaOutgoingStatus = 'sent' | 'delivered' | 'read';

/** What a status webhook says about one sent message. */
export interface MetaStatusWebhookInput {
  number: MetaNumber;
  messageId: string;
  recipientWaId: string;
  status: MetaOutgoingStatus;
  /** Epoch seconds of the status. */
  timestamp: number;
  /** Whether the message was a template (billed) rather than a free-form service reply. */
  template: boolean;
}

/**
 * Builds a `messages` webhook carrying one status, shaped like Meta's v24+ examples (no `conversation`; `pricing` on
 * `sent` only, PMP; see fixtures `statuses-sent-pmp.json`, `statuses-sent-v24-no-conversation-no-pricing.json`).
 * The pricing category of a template is not known to the emulator and is reported as `marketing`.
 */
export function buildStatusWebhook(input: MetaStatusWebhookInput): unknown {
  const status: Record<string, unknown> = {
    id: input.messageId,
    status: input.status,
    timestamp: String(input.timestamp),
    recipient_id: input.recipientWaId,
  };
  if (input.status === 'sent') {
    status.pricing = input.template
      ? { billable: true, pricing_model: 'PMP', type: 'regular', category: 'marketing' }
      : { billable: false, pricing_model: 'PMP', type: 'free_customer_service', category: 'service' };
  }
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: input.number.wabaId,
        changes: [
          {
            value: {
              messaging_product: 'whatsapp',
              metadata: {
                display_phone_number: input.number.displayPhoneNumber,
                phone_number_id: input.number.phoneNumberId,
              },
              statuses: [status],
            },
            field: 'messages',
          },
        ],
      },
    ],
  };
}
