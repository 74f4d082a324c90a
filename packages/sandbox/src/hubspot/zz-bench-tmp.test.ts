import { Client } from '@hubspot/api-client';
import { it } from 'vitest';
import { startHubSpotEmulator } from './hubspot-emulator.ts';
it('bench', async () => {
  const emulator = await startHubSpotEmulator({ tier: 'enterprise', limits: { tenSecondly: 1e9 } });
  const client = new Client({ accessToken: emulator.token, basePath: emulator.url });
  await client.crm.properties.coreApi.create('communications', { name: 'wa_message_id', label: 'x', type: 'string' as never, fieldType: 'text' as never, groupName: 'communication', hasUniqueValue: true });
  const contacts = emulator.seedContacts(Array.from({ length: 2000 }, (_, i) => ({ phone: `+1415555${String(i).padStart(4, '0')}` })));
  const started = performance.now();
  for (let batch = 0; batch < 500; batch++) {
    const inputs = Array.from({ length: 100 }, (_, i) => ({ idProperty: 'wa_message_id', id: `wamid.${batch}.${i}`, properties: { hs_communication_channel_type: 'WHATS_APP', hs_communication_logged_from: 'CRM', hs_communication_body: 'hi', hs_timestamp: String(1772357400000 + batch * 100 + i) } }));
    await client.crm.objects.communications.batchApi.upsert({ inputs });
  }
  const upsertMs = performance.now() - started;
  const s2 = performance.now();
  for (let batch = 0; batch < 50; batch++) {
    await client.crm.objects.communications.batchApi.create({ inputs: Array.from({ length: 100 }, (_, i) => ({ properties: { hs_communication_channel_type: 'WHATS_APP', hs_communication_logged_from: 'CRM', hs_communication_body: 'x', hs_timestamp: '1772357400000' }, associations: [{ to: { id: contacts[(batch * 100 + i) % 2000]!.id }, types: [{ associationCategory: 'HUBSPOT_DEFINED' as never, associationTypeId: 81 }] }] })) });
  }
  const createMs = performance.now() - s2;
  const s3 = performance.now();
  for (let i = 0; i < 20; i++) await client.crm.contacts.searchApi.doSearch({ filterGroups: [{ filters: [{ propertyName: 'phone', operator: 'IN' as never, values: contacts.slice(i * 100, i * 100 + 100).map((c) => c.properties.phone!) }] }], limit: 200, after: '0', properties: [], sorts: [] }).catch(() => undefined);
  const searchMs = performance.now() - s3;
  console.log(JSON.stringify({ upsert50k_ms: Math.round(upsertMs), create5k_with_assoc_ms: Math.round(createMs), search20_ms: Math.round(searchMs), count: emulator.countCommunications() }));
  await emulator.close();
}, 300000);
