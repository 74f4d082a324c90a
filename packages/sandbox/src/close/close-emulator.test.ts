import axios, { type AxiosInstance } from 'axios';
import { afterEach, describe, expect, it } from 'vitest';
import { type CloseEmulator, type CloseEmulatorOptions, startCloseEmulator } from './close-emulator.ts';

const KEY = 'api_test_key';

describe('Close emulator (axios)', () => {
  const running: CloseEmulator[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((emulator) => emulator.close()));
  });

  async function start(options: CloseEmulatorOptions = {}): Promise<{ emulator: CloseEmulator; close: AxiosInstance }> {
    const emulator = await startCloseEmulator({ apiKeys: [KEY], ...options });
    running.push(emulator);
    const close = axios.create({
      baseURL: `${emulator.url}/api/v1`,
      auth: { username: KEY, password: '' },
      validateStatus: () => true,
    });
    return { emulator, close };
  }

  async function leadWithContact(close: AxiosInstance, phone = '(415) 555-1234') {
    const lead = await close.post('/lead/', {
      name: 'Acme',
      contacts: [{ name: 'Ana', phones: [{ phone, type: 'mobile' }], emails: [{ email: 'ana@acme.test' }] }],
    });
    expect(lead.status).toBe(200);
    return { leadId: lead.data.id as string, contactId: lead.data.contacts[0].id as string };
  }

  function whatsapp(leadId: string, contactId: string, overrides: Record<string, unknown> = {}) {
    return {
      lead_id: leadId,
      contact_id: contactId,
      direction: 'incoming',
      external_whatsapp_message_id: 'wamid.A1',
      activity_at: '2026-03-01T09:30:00+00:00',
      local_phone: '+4930123456',
      remote_phone: '+1 (415) 555-1234',
      message_markdown: 'Hi *there*',
      ...overrides,
    };
  }

  it('authenticates API keys (Basic, empty password) and OAuth tokens (Bearer), and refuses everything else', async () => {
    const { emulator, close } = await start({ oauthTokens: ['oauth-token'] });
    expect((await close.get('/me/')).status).toBe(200);
    const bearer = await axios.get(`${emulator.apiUrl}/me/`, { headers: { Authorization: 'Bearer oauth-token' } });
    expect(bearer.data.organizations[0].id).toBe('orga_emulator');
    const attempts = [
      {},
      { auth: { username: 'wrong', password: '' } },
      { auth: { username: KEY, password: 'not-empty' } },
      { headers: { Authorization: 'Bearer nope' } },
    ];
    for (const config of attempts) {
      const response = await axios.get(`${emulator.apiUrl}/me/`, { ...config, validateStatus: () => true });
      expect(response.status).toBe(401);
      expect(response.data.error).toMatch(/invalid/);
      expect(response.headers.ratelimit).toBeUndefined();
    }
  });

  it('creates leads with inline contacts, normalizes phones, and manages contacts', async () => {
    const { close } = await start();
    const lead = await close.post('/lead/', {
      name: 'Acme',
      'custom.cf_owner': 'user_emulator',
      contacts: [{ name: 'Ana', title: 'CEO', phones: [{ phone: '(415) 555-1234', type: 'mobile' }] }],
    });
    expect(lead.status).toBe(200);
    expect(lead.data.id).toMatch(/^lead_[0-9A-Za-z]{43}$/);
    expect(lead.data['custom.cf_owner']).toBe('user_emulator');
    expect(lead.data.contacts[0].phones).toEqual([
      { phone: '+14155551234', phone_formatted: '+1 415 555 1234', country: 'US', type: 'mobile' },
    ]);

    const contact = await close.post('/contact/', {
      lead_id: lead.data.id,
      name: 'Ben',
      phones: [{ phone: '+49 30 123456', type: 'office' }],
    });
    expect(contact.status).toBe(200);
    expect(contact.data.phones[0].phone).toBe('+4930123456');
    const updated = await close.put(`/contact/${contact.data.id}/`, { phones: [{ phone: '0049 171 1234567' }] });
    expect(updated.data.phones[0]).toMatchObject({ phone: '+491711234567', type: 'office' });
    expect((await close.get(`/contact/${contact.data.id}/`)).data.phones[0].phone).toBe('+491711234567');

    const list = await close.get('/contact/', { params: { lead_id: lead.data.id } });
    expect(list.data.data.map((item: { name: string }) => item.name)).toEqual(['Ana', 'Ben']);
    expect(list.data.has_more).toBe(false);
    const fetched = await close.get(`/lead/${lead.data.id}/`, { params: { _fields: 'id,name' } });
    expect(fetched.data).toEqual({ id: lead.data.id, name: 'Acme' });
    expect((await close.put(`/lead/${lead.data.id}/`, { name: 'Acme GmbH' })).data.display_name).toBe('Acme GmbH');

    const bad = await close.post('/lead/', { name: 'X', owner: 'me', contacts: [{ phones: [{ phone: 'call me' }] }] });
    expect(bad.status).toBe(400);
    expect(bad.data).toEqual({
      errors: [],
      'field-errors': { owner: 'Unknown field.', 'contacts.0.phones.0.phone': 'Invalid phone number: "call me".' },
    });
    expect((await close.post('/contact/', { name: 'Orphan' })).data['field-errors'].lead_id).toBeDefined();
    expect((await close.get('/lead/lead_missing/')).status).toBe(404);
    expect((await close.get('/user/')).data.data).toHaveLength(1);
  });

  it('finds contacts by phone across stored formats with many phones in one `or`', async () => {
    const { close } = await start();
    const stored = ['(415) 555-1234', '+1 650 555 0000', '0049 30 123456', '415.555.9999'];
    const leadIds: string[] = [];
    for (const phone of stored) leadIds.push((await leadWithContact(close, phone)).leadId);
    const condition = (value: string, mode = 'exact_value') => ({
      type: 'field_condition',
      field: { type: 'regular_field', object_type: 'contact_phone', field_name: 'phone' },
      condition: { type: 'text', mode, value },
    });
    const search = (queries: unknown[], extra: Record<string, unknown> = {}, type = 'or') =>
      close.post('/data/search/', {
        query: {
          type: 'and',
          queries: [
            { type: 'object_type', object_type: 'contact' },
            {
              type: 'has_related',
              this_object_type: 'contact',
              related_object_type: 'contact_phone',
              related_query: { type, queries },
            },
          ],
        },
        _fields: { contact: ['id', 'lead_id', 'phones', 'name'] },
        ...extra,
      });

    const wanted = ['+14155551234', '+4930123456', '+14155559999', '+19999999999'];
    const many = [...wanted, ...Array.from({ length: 96 }, (_, index) => `+1212555${String(index).padStart(4, '0')}`)];
    const found = await search(many.map((phone) => condition(phone)));
    expect(found.status).toBe(200);
    expect(found.data.cursor).toBeNull();
    expect(found.data.data.map((item: { lead_id: string }) => item.lead_id)).toEqual([
      leadIds[0],
      leadIds[2],
      leadIds[3],
    ]);
    expect(found.data.data[0]).toMatchObject({ __object_type: 'contact', name: 'Ana' });
    expect(Object.keys(found.data.data[0]).sort()).toEqual(['__object_type', 'id', 'lead_id', 'name', 'phones']);

    // exact_value normalizes the searched value too; phrase and full_words match digits.
    expect((await search([condition('415-555-1234')])).data.data).toHaveLength(1);
    expect((await search([condition('5551234', 'phrase')])).data.data).toHaveLength(1);
    expect((await search([condition('6505550000', 'full_words')])).data.data).toHaveLength(1);
    expect((await search([condition('650555', 'full_words')])).data.data).toHaveLength(0);

    const first = await search(
      stored.map((_, index) => condition(['+14155551234', '+16505550000', '+4930123456', '+14155559999'][index]!)),
      { _limit: 3 },
    );
    expect(first.data.data).toHaveLength(3);
    const second = await search(
      [condition('+14155551234'), condition('+16505550000'), condition('+4930123456'), condition('+14155559999')],
      {
        _limit: 3,
        cursor: first.data.cursor,
      },
    );
    expect(second.data.data.map((item: { lead_id: string }) => item.lead_id)).toEqual([leadIds[3]]);
    expect(second.data.cursor).toBeNull();

    const unknown = await search([{ type: 'regex', value: '.*' }]);
    expect(unknown.status).toBe(400);
    expect(unknown.data['field-errors']).toEqual({
      'query.queries[1].related_query.queries[0].type':
        'query.queries[1].related_query.queries[0].type: unsupported query type "regex"',
    });
    const badMode = await search([{ ...condition('+1'), condition: { type: 'text', mode: 'fuzzy', value: '+1' } }]);
    expect(badMode.status).toBe(400);
    expect((await search([condition('+14155551234')], { _limit: 201 })).status).toBe(400);
  });

  it('creates, filters, updates and deletes WhatsApp activities without deduping', async () => {
    const { emulator, close } = await start();
    const { leadId, contactId } = await leadWithContact(close);
    const other = await leadWithContact(close, '+1 650 555 0000');

    const created = await close.post('/activity/whatsapp_message/', whatsapp(leadId, contactId), {
      params: { send_to_inbox: 'true' },
    });
    expect(created.status).toBe(200);
    expect(created.data).toMatchObject({
      _type: 'WhatsAppMessage',
      source: 'api',
      message_html: '<p>Hi <strong>there</strong></p>',
      remote_phone: '+1 (415) 555-1234',
      remote_phone_formatted: '+14155551234',
      local_phone_formatted: '+4930123456',
      activity_at: '2026-03-01T09:30:00.000000+00:00',
    });
    expect(created.data.id).toMatch(/^acti_/);
    expect(created.data.date_created).toMatch(/^\d{4}-\d{2}-\d{2}T.*\+00:00$/);
    expect(emulator.state.sentToInbox.has(created.data.id)).toBe(true);

    // No dedupe: the same external id twice makes two activities.
    const again = await close.post('/activity/whatsapp_message/', whatsapp(leadId, contactId));
    expect(again.status).toBe(200);
    expect(again.data.id).not.toBe(created.data.id);
    expect(emulator.findDuplicates()).toEqual([
      {
        organizationId: 'orga_emulator',
        externalWhatsappMessageId: 'wamid.A1',
        activityIds: [created.data.id, again.data.id],
      },
    ]);

    const reply = await close.post(
      '/activity/whatsapp_message/',
      whatsapp(leadId, contactId, {
        external_whatsapp_message_id: 'wamid.B2',
        direction: 'outgoing',
        response_to_id: created.data.id,
        activity_at: '2026-03-01T09:31:00Z',
      }),
    );
    expect(reply.data.response_to_id).toBe(created.data.id);
    await close.post(
      '/activity/whatsapp_message/',
      whatsapp(other.leadId, other.contactId, { external_whatsapp_message_id: 'wamid.C3' }),
    );

    const byExternal = await close.get('/activity/whatsapp_message/', {
      params: { external_whatsapp_message_id: 'wamid.A1', _fields: 'id,external_whatsapp_message_id' },
    });
    expect(byExternal.data).toEqual({
      data: [
        { id: again.data.id, external_whatsapp_message_id: 'wamid.A1' },
        { id: created.data.id, external_whatsapp_message_id: 'wamid.A1' },
      ],
      has_more: false,
    });
    const byLead = await close.get('/activity/whatsapp_message/', { params: { lead_id: leadId, _limit: 2 } });
    expect(byLead.data.data.map((item: { id: string }) => item.id)).toEqual([reply.data.id, again.data.id]);
    expect(byLead.data.has_more).toBe(true);
    const page2 = await close.get('/activity/whatsapp_message/', { params: { lead_id: leadId, _limit: 2, _skip: 2 } });
    expect(page2.data).toMatchObject({ data: [{ id: created.data.id }], has_more: false });

    const updated = await close.put(`/activity/whatsapp_message/${created.data.id}/`, {
      message_markdown: 'edited _now_',
    });
    expect(updated.data).toMatchObject({
      message_markdown: 'edited _now_',
      message_html: '<p>edited <em>now</em></p>',
    });
    const immutable = await close.put(`/activity/whatsapp_message/${created.data.id}/`, {
      external_whatsapp_message_id: 'wamid.X',
    });
    expect(immutable.status).toBe(400);
    expect(immutable.data['field-errors']).toEqual({ external_whatsapp_message_id: 'This field cannot be changed.' });

    expect((await close.delete(`/activity/whatsapp_message/${again.data.id}/`)).data).toEqual({});
    expect((await close.get(`/activity/whatsapp_message/${again.data.id}/`)).status).toBe(404);
    expect(emulator.findDuplicates()).toEqual([]);

    expect((await close.get('/activity/whatsapp_message/', { params: { _limit: 101 } })).status).toBe(400);
    expect((await close.get('/activity/whatsapp_message/', { params: { _limit: 100 } })).status).toBe(200);
  });

  it('rejects unknown fields, missing fields and invalid response_to_id with field errors', async () => {
    const { close } = await start();
    const { leadId, contactId } = await leadWithContact(close);
    const other = await leadWithContact(close, '+1 650 555 0000');
    const otherActivity = await close.post(
      '/activity/whatsapp_message/',
      whatsapp(other.leadId, other.contactId, { external_whatsapp_message_id: 'wamid.O' }),
    );

    const unknown = await close.post('/activity/whatsapp_message/', { ...whatsapp(leadId, contactId), status: 'read' });
    expect(unknown.status).toBe(400);
    expect(unknown.data).toEqual({ errors: [], 'field-errors': { status: 'Unknown field.' } });

    const missing = await close.post('/activity/whatsapp_message/', { lead_id: leadId });
    expect(Object.keys(missing.data['field-errors']).sort()).toEqual([
      'activity_at',
      'contact_id',
      'direction',
      'external_whatsapp_message_id',
      'local_phone',
      'message_markdown',
      'remote_phone',
    ]);

    const nowhere = await close.post(
      '/activity/whatsapp_message/',
      whatsapp(leadId, contactId, { response_to_id: 'acti_nope' }),
    );
    expect(nowhere.data['field-errors'].response_to_id).toMatch(/does not exist/);
    const otherLead = await close.post(
      '/activity/whatsapp_message/',
      whatsapp(leadId, contactId, { response_to_id: otherActivity.data.id }),
    );
    expect(otherLead.data['field-errors'].response_to_id).toMatch(/another lead/);
    const wrongContact = await close.post('/activity/whatsapp_message/', whatsapp(leadId, other.contactId));
    expect(wrongContact.data['field-errors'].contact_id).toMatch(/does not belong/);
    const badAttachment = await close.post(
      '/activity/whatsapp_message/',
      whatsapp(leadId, contactId, {
        attachments: [{ url: 'https://cdn.example.com/a.jpg', filename: 'a.jpg', content_type: 'image/jpeg' }],
      }),
    );
    expect(badAttachment.data['field-errors']['attachments.0.url']).toMatch(/Files API/);
  });

  it('uploads a file through the Files API and attaches it to an activity', async () => {
    const { close } = await start();
    const { leadId, contactId } = await leadWithContact(close);
    const upload = await close.post('/files/upload/', { filename: 'photo.jpg', content_type: 'image/jpeg' });
    expect(upload.status).toBe(200);
    expect(upload.data.download.url).toMatch(/^https:\/\/app\.close\.com\/go\/file\/file_/);
    const bytes = new Uint8Array([0xff, 0xd8, 0xff, 0x00, 0x80, 0x7f]);
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.data.upload.fields as Record<string, string>))
      form.append(name, value);
    form.append('file', new Blob([bytes], { type: 'image/jpeg' }), 'photo.jpg');
    expect((await axios.post(upload.data.upload.url, form)).status).toBe(204);

    const attached = await close.post(
      '/activity/whatsapp_message/',
      whatsapp(leadId, contactId, {
        attachments: [{ url: upload.data.download.url, filename: 'photo.jpg', content_type: 'image/jpeg' }],
      }),
    );
    expect(attached.status).toBe(200);
    expect(attached.data.attachments[0].size).toBe(bytes.length);
    const path = new URL(upload.data.download.url).pathname;
    const download = await close.get(path, {
      baseURL: attached.config.baseURL!.replace('/api/v1', ''),
      responseType: 'arraybuffer',
    });
    expect(new Uint8Array(download.data)).toEqual(bytes);
  });

  it('manages integration links', async () => {
    const { close } = await start();
    const link = await close.post('/integration_link/', {
      name: 'WhatsApp chat',
      type: 'lead',
      url: 'https://app.example.com/chat?lead={{ lead.id }}',
    });
    expect(link.data.id).toMatch(/^intlink_/);
    expect((await close.put(`/integration_link/${link.data.id}/`, { name: 'Chat' })).data.name).toBe('Chat');
    expect((await close.get('/integration_link/')).data.data).toHaveLength(1);
    expect(
      (await close.post('/integration_link/', { name: 'x', type: 'deal', url: 'ftp://x' })).data['field-errors'],
    ).toEqual({
      type: 'Must be one of lead, contact, opportunity.',
      url: expect.stringMatching(/URL template/),
    });
  });

  it('limits per endpoint group and per key, answers 429 with rate_reset, and heals as the clock moves', async () => {
    let clock = 1_000_000;
    const { close } = await start({
      now: () => clock,
      limits: { groups: { 'POST /activity/whatsapp_message/': { limit: 3, windowMs: 1000 } } },
    });
    const { leadId, contactId } = await leadWithContact(close);
    const statuses: number[] = [];
    let last = await close.post('/activity/whatsapp_message/', whatsapp(leadId, contactId));
    expect(last.headers.ratelimit).toBe('limit=3, remaining=2, reset=1');
    clock += 400;
    for (let index = 0; index < 3; index++) {
      last = await close.post('/activity/whatsapp_message/', whatsapp(leadId, contactId));
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(last.data).toEqual({
      error: {
        rate_reset: 0.6,
        message: 'API call count exceeded for this period',
        rate_limit: 3,
        rate_window: 1,
        rate_limit_type: 'key',
      },
    });
    expect(last.headers.ratelimit).toBe('limit=3, remaining=0, reset=1');
    expect(last.headers['retry-after']).toBeUndefined();
    // Another group is counted separately.
    expect((await close.get('/activity/whatsapp_message/')).status).toBe(200);
    clock += 600;
    expect((await close.post('/activity/whatsapp_message/', whatsapp(leadId, contactId))).status).toBe(200);
  });

  it('uses the observed /me/ and /data/search/ defaults and both RateLimit separators', async () => {
    const comma = await start();
    const semicolon = await start({
      rateLimitSeparator: ';',
      retryAfterHeader: true,
      limits: { default: { limit: 1, windowMs: 2000 } },
    });
    expect((await comma.close.get('/me/')).headers.ratelimit).toBe('limit=160, remaining=159, reset=8');
    const search = await comma.close.post('/data/search/', { query: { type: 'object_type', object_type: 'lead' } });
    expect(search.headers.ratelimit).toBe('limit=16, remaining=15, reset=1');
    expect((await comma.close.get('/user/')).headers.ratelimit).toBe('limit=20, remaining=19, reset=1');

    expect((await semicolon.close.get('/me/')).headers.ratelimit).toBe('limit=160; remaining=159; reset=8');
    expect((await semicolon.close.get('/user/')).headers.ratelimit).toBe('limit=1; remaining=0; reset=2');
    const limited = await semicolon.close.get('/user/');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('2');
    expect(limited.data.error.rate_reset).toBeGreaterThan(1);
    expect(limited.data.error.rate_reset).toBeLessThanOrEqual(2);
  });

  it('applies an organization-wide limit across keys', async () => {
    const clock = 5_000;
    const { emulator } = await start({
      now: () => clock,
      apiKeys: ['key-a', 'key-b', { secret: 'key-other-org', organizationId: 'orga_other' }],
      limits: { default: { limit: 2, windowMs: 1000 }, organizationMultiplier: 1.5 },
    });
    const client = (key: string) =>
      axios.create({ baseURL: emulator.apiUrl, auth: { username: key, password: '' }, validateStatus: () => true });
    const statuses = [];
    for (const key of ['key-a', 'key-a', 'key-b', 'key-b', 'key-other-org'])
      statuses.push((await client(key).get('/user/')).status);
    expect(statuses).toEqual([200, 200, 200, 429, 200]);
    const otherGroup = await client('key-b').get('/lead/');
    expect(otherGroup.status).toBe(200);
    expect((await client('key-a').get('/user/')).data.error.rate_limit_type).toBe('key');
    expect((await client('key-b').get('/user/')).data.error.rate_limit_type).toBe('org');
  });

  it('exposes state over /__admin/state and resets it', async () => {
    const { emulator, close } = await start();
    await leadWithContact(close);
    const state = (await axios.get(`${emulator.url}/__admin/state`)).data;
    expect(state.leads).toHaveLength(1);
    expect(state.contacts[0].phones[0].phone).toBe('+14155551234');
    await axios.post(`${emulator.url}/__admin/reset`);
    expect(emulator.state.leads.size).toBe(0);
  });
});
