/** Types shared by the Coexistence traffic generator: its options, payloads and ground-truth manifest. */
import type { Seed } from './seeded-random.ts';

/** How business-sent messages inside history chunks are encoded. */
export type HistoryEncoding =
  /** Meta's documented form: `to` present on business messages, uppercase `history_context.status`. */
  | 'meta-docs'
  /** The real-data form (Gupshup): `history_context.from_me: true`, no `to`, lowercase status, sorted keys. */
  | 'from-me'
  /** Both: chunks alternate between the two encodings. */
  | 'mixed';

/** How payload bodies are serialized. */
export type JsonStyle =
  /** Like Meta's encoder: non-ASCII as `\uXXXX` (lowercase hex) and `/` as `\/`. */
  | 'meta'
  /** Plain `JSON.stringify` output (UTF-8). */
  | 'plain';

/** Options of {@link generateTraffic}; every size is a total across all business numbers. */
export interface TrafficOptions {
  /** Business numbers onboarded to Coexistence, each with its own WABA. @default 1 */
  numbers?: number;
  /** Distinct messages a CRM should end up with (history + live, inbound + echoed), across all numbers. @default 200 */
  messages?: number;
  /** How many of `messages` arrive as live traffic after onboarding. @default 10% of messages (at least min(messages, 12)) */
  liveMessages?: number;
  /** Customers across all numbers (address-book contacts plus a few people not in the address book); at least 2 per number. @default max(6 × numbers, messages / 10) */
  contacts?: number;
  /** Seed; equal options and seed give byte-identical payloads. @default 1 */
  seed?: Seed;
  /** When the first number finished Embedded Signup (ISO string, `Date` or epoch milliseconds). @default '2026-03-02T09:00:00Z' */
  onboardedAt?: string | number | Date;
  /** Zero-based indexes of numbers whose business declined history sharing (error 2593109). @default [] */
  declinedHistoryNumbers?: number[];
  /** Maximum messages in one history chunk (one chunk per webhook). @default 250 */
  chunkSize?: number;
  /** Maximum updates in one live POST (Meta batches up to 1,000). @default 1000 */
  maxBatchSize?: number;
  /** Encoding of business-sent history messages. @default 'mixed' */
  historyEncoding?: HistoryEncoding;
  /** Body serialization. @default 'meta' */
  jsonStyle?: JsonStyle;
  /** Emit ACCOUNT_OFFBOARDED/ACCOUNT_RECONNECTED on the first number and PARTNER_REMOVED at the very end. @default true */
  accountEvents?: boolean;
  /** Days of live traffic after onboarding. @default 3 */
  liveDays?: number;
}

/** What a payload carries, for filtering and file names. */
export type TrafficPayloadKind =
  | 'contact-sync'
  | 'history-chunk'
  | 'history-media'
  | 'history-declined'
  | 'live-messages'
  | 'live-echoes'
  | 'live-statuses'
  | 'live-contact-sync'
  | 'account-update';

/** One webhook POST, in delivery order. */
export interface TrafficPayload {
  /** 1-based position in delivery order. */
  sequence: number;
  /** `changes[0].field` of the body. */
  field: string;
  kind: TrafficPayloadKind;
  /** Zero-based index of the business number, or `null` for none. */
  numberIndex: number | null;
  /** Simulated delivery time, Unix seconds. */
  deliverAt: number;
  /** Updates in the body (messages, statuses, contacts, history messages…). */
  updates: number;
  /** The exact body bytes Meta would send (sign these, never a re-serialization). */
  body: string;
}

/** Per-phase history figures. */
export interface HistoryPhaseManifest {
  phase: 0 | 1 | 2;
  /** Chunks of this phase; `chunk_order` runs 1..chunks. */
  chunks: number;
  messages: number;
}

/** Ground truth for one business number. */
export interface NumberManifest {
  index: number;
  wabaId: string;
  phoneNumberId: string;
  /** Digits, as `metadata.display_phone_number`. */
  displayPhoneNumber: string;
  businessName: string;
  /** ISO-8601 onboarding time of this number. */
  onboardedAt: string;
  historyShared: boolean;
  /** Distinct message wamids a CRM should hold for this number (placeholder + follow-up count once). */
  messages: number;
  historyMessages: number;
  liveMessages: number;
  /** Messages sent by customers (history and live). */
  inboundMessages: number;
  /** Messages sent by the business from the Business App (history and live echoes). */
  businessMessages: number;
  /** Customers with at least one message: the threads a CRM shows. */
  threads: number;
  contacts: {
    /** `smb_app_state_sync` adds in the initial sync. */
    synced: number;
    /** Synced contacts that never write (no thread). */
    withoutActivity: number;
    /** Customers with a BSUID (`user_id`). */
    withBsuid: number;
    withUsername: number;
    /** Customers whose phone fields are empty strings (username adopters). */
    withoutPhone: number;
    /** Live contact changes: adds of new contacts, edits and removes. */
    liveAdded: number;
    liveEdited: number;
    liveRemoved: number;
  };
  history: {
    declined: boolean;
    phases: HistoryPhaseManifest[];
    chunks: number;
    /** History messages sent as `media_placeholder`. */
    placeholders: number;
    /** Placeholders followed by a media follow-up (media within 14 days of onboarding). */
    mediaFollowUps: number;
    /** Business-sent history messages per encoding. */
    businessMessagesMetaDocs: number;
    businessMessagesFromMe: number;
  };
  live: {
    inbound: number;
    echoes: number;
    byType: Record<string, number>;
  };
  statuses: {
    /** Status updates sent, duplicates included. */
    total: number;
    /** Distinct `(wamid, status)` pairs. */
    distinct: number;
    duplicates: number;
    /** Messages whose statuses are delivered in a different order than they happened. */
    outOfOrder: number;
    byStatus: Record<string, number>;
  };
  edits: number;
  revokes: number;
  reactions: number;
  reactionRemovals: number;
  accountEvents: string[];
}

/** Ground truth for a whole generated run. */
export interface TrafficManifest {
  generator: '@coexist/sandbox traffic generator';
  version: 1;
  seed: Seed;
  options: Required<Omit<TrafficOptions, 'onboardedAt' | 'seed'>> & { onboardedAt: string };
  payloads: number;
  payloadsByKind: Partial<Record<TrafficPayloadKind, number>>;
  totals: {
    messages: number;
    historyMessages: number;
    liveMessages: number;
    threads: number;
    placeholders: number;
    mediaFollowUps: number;
    statuses: number;
    duplicateStatuses: number;
    edits: number;
    revokes: number;
    reactions: number;
  };
  numbers: NumberManifest[];
}
