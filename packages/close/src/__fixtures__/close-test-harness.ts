/**
 * Test harness: a real Close emulator, a real axios instance pointed at it, and helpers that read the emulator's
 * state the way the conformance suite wants it. Fault helpers use the emulator's real behaviour (its rate limiter,
 * its credential check), not stand-ins.
 */
import {
  type CloseEmulator,
  type CloseEmulatorOptions,
  normalizeClosePhone,
  startCloseEmulator,
} from '@coexist/sandbox';
import axios, { type AxiosInstance } from 'axios';
import { parseCloseMarkdown } from '../map-close-whatsapp-activity.ts';

export const TEST_API_KEY = 'api_close_adapter_test';

/** An emulator plus an axios instance whose next request can carry a refused key. */
export interface CloseHarness {
  emulator: CloseEmulator;
  http: AxiosInstance;
  /** The next request the adapter sends carries an unknown API key, which the emulator refuses (401). */
  refuseNextCredentials(): void;
  /** Every request the adapter sent, as `METHOD /path` (path without the `/api/v1` prefix and query). */
  requests: string[];
  /** Called before each request is sent, with its `METHOD /path`. */
  onRequest?: (request: string) => void;
}

/** Starts an emulator and an instrumented axios instance. */
export async function startCloseHarness(options: CloseEmulatorOptions = {}): Promise<CloseHarness> {
  const emulator = await startCloseEmulator({ apiKeys: [TEST_API_KEY], ...options });
  const http = axios.create();
  const requests: string[] = [];
  let refuse = false;
  const harness: CloseHarness = {
    emulator,
    http,
    requests,
    refuseNextCredentials: () => {
      refuse = true;
    },
  };
  http.interceptors.request.use((config) => {
    const url = new URL(config.url ?? '', 'http://unused');
    const request = `${(config.method ?? 'get').toUpperCase()} ${url.pathname.replace(/^\/api\/v1/, '')}`;
    requests.push(request);
    harness.onRequest?.(request);
    if (refuse) {
      refuse = false;
      config.headers.set('Authorization', `Basic ${Buffer.from('api_revoked_key:').toString('base64')}`);
    }
    return config;
  });
  return harness;
}

/** Stores a lead and contact directly, phone as a rep typed it: Close normalizes what it can parse, keeps the rest. */
export function seedCloseContact(emulator: CloseEmulator, contact: { phone: string; name: string }): string {
  const state = emulator.state;
  const leadId = state.nextId('lead');
  const contactId = state.nextId('cont');
  const at = state.timestamp();
  const user = state.users[0]!;
  const normalized = normalizeClosePhone(contact.phone, 'US');
  state.leads.set(leadId, {
    id: leadId,
    organization_id: user.organization_id,
    name: contact.name,
    display_name: contact.name,
    description: '',
    url: null,
    status_label: 'Potential',
    custom: {},
    created_by: user.id,
    updated_by: user.id,
    date_created: at,
    date_updated: at,
  });
  state.contacts.set(contactId, {
    id: contactId,
    organization_id: user.organization_id,
    lead_id: leadId,
    name: contact.name,
    display_name: contact.name,
    title: '',
    phones: [
      {
        phone: normalized?.phone ?? contact.phone,
        phone_formatted: normalized?.phone_formatted ?? contact.phone,
        country: normalized?.country ?? null,
        type: 'mobile',
      },
    ],
    emails: [],
    created_by: user.id,
    updated_by: user.id,
    date_created: at,
    date_updated: at,
  });
  return contactId;
}

/** The emulator's WhatsApp activities in creation order, with the footer state read back. */
export function storedMessages(emulator: CloseEmulator) {
  return [...emulator.state.activities.values()].map((activity) => {
    const parsed = parseCloseMarkdown(
      activity.message_markdown,
      activity.direction === 'incoming' ? 'customer' : 'business_app',
    );
    return {
      crmId: activity.id,
      key: activity.external_whatsapp_message_id,
      contactCrmId: activity.contact_id ?? undefined,
      occurredAt: activity.activity_at,
      text: activity.message_markdown,
      ...(parsed.state.status === undefined ? {} : { status: parsed.state.status }),
      edited: parsed.state.edited,
      revoked: parsed.state.revoked,
      previousMessageCrmId: activity.response_to_id,
    };
  });
}

/** Exhausts an endpoint group's window for the test key, so the next request to it gets Close's 429. */
export async function exhaustGroup(emulator: CloseEmulator, path: string): Promise<void> {
  const auth = { username: TEST_API_KEY, password: '' };
  for (let attempt = 0; attempt < 200; attempt++) {
    const response = await axios.get(`${emulator.apiUrl}${path}`, { auth, validateStatus: () => true });
    if (response.status === 429) return;
  }
  throw new Error(`no 429 from GET ${path} after 200 requests`);
}
