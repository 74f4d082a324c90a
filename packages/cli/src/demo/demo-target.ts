import type { PlannedCustomer } from '@coexist/sandbox';
import type { ConnectionConfig } from '../serve/coexist-config.ts';

/** The CRMs the demo can sync into. */
export type DemoCrm = 'hubspot' | 'salesforce' | 'close';

/** What the demo counts in a CRM emulator after a run: read from the emulator's state, not our bookkeeping. */
export interface DemoCrmCounts {
  /** Distinct WhatsApp messages present in the CRM. */
  messagesWritten: number;
  /** Message records beyond the first per WhatsApp message id. */
  duplicates: number;
  /** Contacts that existed before the run (under other phone formats) and received messages. */
  contactsMatched: number;
  /** Contacts (or leads) the run created. */
  contactsCreated: number;
  /** API requests the CRM answered. */
  requests: number;
  /** Requests refused for rate limits (429, or Salesforce's REQUEST_LIMIT_EXCEEDED). */
  rateLimited: number;
}

/** The least time the CRM's documented limits allow for the requests the run made, and how it was computed. */
export interface DemoFloor {
  floorMs: number;
  /** The arithmetic, for people: e.g. `55 requests ÷ 190 per 10 s = 2.9 s`. */
  arithmetic: string;
}

/** One CRM in the demo: its emulator, the seeded "existing" contacts, the connection, and the counts. */
export interface DemoTarget {
  readonly crm: DemoCrm;
  /**
   * Whether the CRM finds and records customers by phone only (Close: `remote_phone` is required), so the messages
   * of customers known only by a BSUID cannot be written and are not expected. @default false
   */
  readonly needsPhone?: boolean;
  /** Starts the CRM's emulator. */
  start(): Promise<void>;
  /** Creates contacts that "already existed" in the CRM, stored in other phone formats than E.164. */
  seedExistingContacts(customers: readonly SeededCustomer[]): void;
  /** The `coexist serve` connection for the business numbers (owners: business phone → CRM user). */
  connection(phoneNumberIds: readonly string[], businessPhones: readonly string[]): ConnectionConfig;
  /** Counts what the CRM holds now. */
  count(): DemoCrmCounts;
  /** The floor implied by the emulator's limits for the requests made. */
  floor(): DemoFloor;
  /** Stops the emulator. */
  stop(): Promise<void>;
}

/** A generated customer the demo seeds into a CRM, with the phone format a rep typed. */
export interface SeededCustomer {
  customer: PlannedCustomer;
  /** E.164 of the customer. */
  e164: string;
  /** How the rep stored it, e.g. `(650) 555-1234`. */
  storedAs: string;
}
