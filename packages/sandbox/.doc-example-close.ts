import axios from 'axios';
import { startCloseEmulator } from '@coexist/sandbox';

const emulator = await startCloseEmulator({ apiKeys: ['api_demo'] });
const close = axios.create({ baseURL: emulator.apiUrl, auth: { username: 'api_demo', password: '' } });

const lead = await close.post('/lead/', {
  name: 'Acme',
  contacts: [{ name: 'Ana', phones: [{ phone: '(415) 555-1234', type: 'mobile' }] }],
});
const contact = lead.data.contacts[0];
console.log(contact.phones[0]); // { phone: '+14155551234', phone_formatted: '+1 415 555 1234', country: 'US', type: 'mobile' }

const found = await close.post('/data/search/', {
  query: {
    type: 'and',
    queries: [
      { type: 'object_type', object_type: 'contact' },
      {
        type: 'has_related',
        this_object_type: 'contact',
        related_object_type: 'contact_phone',
        related_query: {
          type: 'or',
          queries: ['+14155551234', '+4930123456'].map((value) => ({
            type: 'field_condition',
            field: { type: 'regular_field', object_type: 'contact_phone', field_name: 'phone' },
            condition: { type: 'text', mode: 'exact_value', value },
          })),
        },
      },
    ],
  },
  _fields: { contact: ['id', 'lead_id', 'phones', 'name'] },
});
console.log(found.data.data.length, found.headers.ratelimit); // 1 'limit=16, remaining=15, reset=1'

const message = {
  lead_id: lead.data.id,
  contact_id: contact.id,
  direction: 'incoming',
  external_whatsapp_message_id: 'wamid.HBgL123',
  activity_at: '2026-03-01T09:30:00+00:00',
  local_phone: '+4930123456',
  remote_phone: '+14155551234',
  message_markdown: 'Hi *there*',
};
await close.post('/activity/whatsapp_message/', message);
await close.post('/activity/whatsapp_message/', message); // Close does not dedupe
console.log(emulator.findDuplicates()); // [{ externalWhatsappMessageId: 'wamid.HBgL123', activityIds: [two ids], … }]

await emulator.close();
