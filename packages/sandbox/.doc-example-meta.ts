import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { startMetaEmulator } from '@coexist/sandbox';

const appSecret = 'demo-app-secret';
// A webhook receiver that checks X-Hub-Signature-256 over the raw bytes.
const receiver = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const body = Buffer.concat(chunks);
    const expected = `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
    const status = JSON.parse(body.toString()).entry[0].changes[0].value.statuses?.[0]?.status;
    console.log('webhook', status, request.headers['x-hub-signature-256'] === expected ? 'signed ok' : 'BAD SIGNATURE');
    response.writeHead(200).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(8787, '127.0.0.1', resolve));

const meta = await startMetaEmulator({
  appSecret,
  accessTokens: ['EAAG-demo'],
  webhookUrl: 'http://127.0.0.1:8787/webhook',
  numbers: [{ phoneNumberId: '106540352242922', displayPhoneNumber: '15550783881', wabaId: '102290129340398', onboardedAt: Date.now() }],
});
const graph = (path: string, body?: unknown) =>
  fetch(`${meta.url}/v23.0${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { Authorization: 'Bearer EAAG-demo', 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then((response) => response.json());

console.log(await graph('/106540352242922?fields=is_on_biz_app,platform_type'));
console.log(await graph('/106540352242922/smb_app_data', { messaging_product: 'whatsapp', sync_type: 'smb_app_state_sync' }));
console.log(await graph('/106540352242922/smb_app_data', { messaging_product: 'whatsapp', sync_type: 'smb_app_state_sync' })); // error: once only
console.log(await graph('/106540352242922/messages', { messaging_product: 'whatsapp', to: '16505551234', type: 'text', text: { body: 'Hi' } }));

await meta.waitForWebhooks(); // prints: webhook sent / delivered / read, signed ok
await meta.close();
receiver.close();
