import { createSeededRandom, type SeededRandom } from '../emulator/seeded-random.ts';
import type { ClosePhone } from './close-phone.ts';

/** A Close user (`GET /me/`, `GET /user/`). */
export interface CloseUser {
  id: string;
  organization_id: string;
  first_name: string;
  last_name: string;
  email: string;
}

/** A phone on a contact: what Close returns, plus the label posted as `type`. */
export interface CloseContactPhone extends ClosePhone {
  type: string;
}

/** A contact, always attached to one lead. */
export interface CloseContact {
  id: string;
  organization_id: string;
  lead_id: string;
  name: string;
  display_name: string;
  title: string;
  phones: CloseContactPhone[];
  emails: { email: string; type: string }[];
  created_by: string;
  updated_by: string;
  date_created: string;
  date_updated: string;
}

/** A lead (the account every contact and activity hangs off). */
export interface CloseLead {
  id: string;
  organization_id: string;
  name: string;
  display_name: string;
  description: string;
  url: string | null;
  status_label: string;
  /** Custom field values by field id (`cf_…`); a user-type custom field is how Close models a lead owner. */
  custom: Record<string, unknown>;
  created_by: string;
  updated_by: string;
  date_created: string;
  date_updated: string;
}

/** An attachment of a WhatsApp message activity. */
export interface CloseAttachment {
  url: string;
  filename: string;
  content_type: string;
  size: number;
}

/** A WhatsApp message activity (https://developer.close.com/api/resources/activities/whatsapp/create). */
export interface CloseWhatsAppActivity {
  id: string;
  _type: 'WhatsAppMessage';
  organization_id: string;
  lead_id: string;
  contact_id: string | null;
  user_id: string;
  direction: 'incoming' | 'outgoing';
  external_whatsapp_message_id: string;
  activity_at: string;
  local_phone: string;
  local_phone_formatted: string;
  remote_phone: string;
  remote_phone_formatted: string;
  message_markdown: string;
  message_html: string;
  integration_link: string | null;
  response_to_id: string | null;
  attachments: CloseAttachment[];
  source: 'api';
  created_by: string;
  updated_by: string;
  date_created: string;
  date_updated: string;
}

/** A file uploaded through the Files API. */
export interface CloseFile {
  id: string;
  organization_id: string;
  filename: string;
  content_type: string;
  /** Set once the upload target has received the bytes. */
  bytes?: Buffer;
  date_created: string;
}

/** An integration link: a URL template shown on leads, contacts or opportunities. */
export interface CloseIntegrationLink {
  id: string;
  organization_id: string;
  name: string;
  type: 'lead' | 'contact' | 'opportunity';
  url: string;
  created_by: string;
  date_created: string;
  date_updated: string;
}

/** Activities that share one `external_whatsapp_message_id` within one organization. */
export interface CloseDuplicateGroup {
  organizationId: string;
  externalWhatsappMessageId: string;
  activityIds: string[];
}

/**
 * The activities by id, in creation order, with an index on `external_whatsapp_message_id` (per organization): an
 * adapter looks every message up by it before writing, so a scan per look-up would make a backfill quadratic.
 */
export class CloseActivityMap extends Map<string, CloseWhatsAppActivity> {
  readonly #byExternalId = new Map<string, Set<string>>();

  /** The activities of an organization with this external WhatsApp message id, in creation order. */
  byExternalId(organizationId: string, externalId: string): CloseWhatsAppActivity[] {
    const ids = this.#byExternalId.get(`${organizationId}\u0000${externalId}`);
    return ids === undefined ? [] : [...ids].map((id) => this.get(id)!);
  }

  override set(id: string, activity: CloseWhatsAppActivity): this {
    const previous = this.get(id);
    if (previous !== undefined) this.#unindex(previous);
    super.set(id, activity);
    const key = `${activity.organization_id}\u0000${activity.external_whatsapp_message_id}`;
    let ids = this.#byExternalId.get(key);
    if (ids === undefined) {
      ids = new Set();
      this.#byExternalId.set(key, ids);
    }
    ids.add(id);
    return this;
  }

  override delete(id: string): boolean {
    const previous = this.get(id);
    if (previous !== undefined) this.#unindex(previous);
    return super.delete(id);
  }

  override clear(): void {
    this.#byExternalId.clear();
    super.clear();
  }

  #unindex(activity: CloseWhatsAppActivity): void {
    const key = `${activity.organization_id}\u0000${activity.external_whatsapp_message_id}`;
    const ids = this.#byExternalId.get(key);
    ids?.delete(activity.id);
    if (ids?.size === 0) this.#byExternalId.delete(key);
  }
}

const ID_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Everything the Close emulator stores, in creation order, with seeded ids. */
export class CloseState {
  readonly users: CloseUser[];
  readonly leads = new Map<string, CloseLead>();
  readonly contacts = new Map<string, CloseContact>();
  readonly activities = new CloseActivityMap();
  readonly files = new Map<string, CloseFile>();
  readonly integrationLinks = new Map<string, CloseIntegrationLink>();
  /** Activity ids posted with `?send_to_inbox=true`. */
  readonly sentToInbox = new Set<string>();
  #seed: number | string;
  #random: SeededRandom;
  #now: () => number;

  /** Creates empty state with the configured users, ids drawn from `seed`, dates from `now`. */
  constructor(users: CloseUser[], seed: number | string, now: () => number) {
    this.users = users;
    this.#seed = seed;
    this.#random = createSeededRandom(`close:${seed}`);
    this.#now = now;
  }

  /** A new Close-style id (`lead_` + 43 characters). */
  nextId(prefix: string): string {
    let body = '';
    for (let index = 0; index < 43; index++) body += ID_ALPHABET[this.#random.int(0, ID_ALPHABET.length - 1)];
    return `${prefix}_${body}`;
  }

  /** The current time as Close formats dates (`2026-03-01T09:30:00.123000+00:00`). */
  timestamp(): string {
    return formatCloseDate(this.#now());
  }

  /** Activities that share an external WhatsApp message id: Close does not dedupe, so adapters must. */
  findDuplicates(): CloseDuplicateGroup[] {
    const groups = new Map<string, CloseDuplicateGroup>();
    for (const activity of this.activities.values()) {
      const key = `${activity.organization_id}\u0000${activity.external_whatsapp_message_id}`;
      let group = groups.get(key);
      if (group === undefined) {
        group = {
          organizationId: activity.organization_id,
          externalWhatsappMessageId: activity.external_whatsapp_message_id,
          activityIds: [],
        };
        groups.set(key, group);
      }
      group.activityIds.push(activity.id);
    }
    return [...groups.values()].filter((group) => group.activityIds.length > 1);
  }

  /** Empties every collection except users and restarts the id sequence. */
  reset(): void {
    this.leads.clear();
    this.contacts.clear();
    this.activities.clear();
    this.files.clear();
    this.integrationLinks.clear();
    this.sentToInbox.clear();
    this.#random = createSeededRandom(`close:${this.#seed}`);
  }

  /** A JSON-ready snapshot (file bytes reported as sizes). */
  snapshot(): unknown {
    return {
      users: this.users,
      leads: [...this.leads.values()],
      contacts: [...this.contacts.values()],
      activities: [...this.activities.values()],
      files: [...this.files.values()].map(({ bytes, ...file }) => ({ ...file, size: bytes?.length ?? null })),
      integrationLinks: [...this.integrationLinks.values()],
      duplicates: this.findDuplicates(),
    };
  }
}

/** Formats epoch milliseconds as Close writes dates: ISO 8601 with microseconds and `+00:00`. */
export function formatCloseDate(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
}
