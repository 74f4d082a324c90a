import { deliverTraffic, generateTraffic } from '@coexist/sandbox';
import { startCoexistServer } from '../serve/create-coexist-server.ts';
import { createSalesforceDemoTarget } from '../demo/salesforce-demo-target.ts';
import { pickExistingContacts } from '../demo/seed-existing-contacts.ts';

const traffic = generateTraffic({ numbers: 2, messages: 2000, seed: 1 });
const payloads = [...traffic];
const target = createSalesforceDemoTarget({ seed: 1 });
await target.start();
target.seedExistingContacts(pickExistingContacts(traffic.plan));
const server = await startCoexistServer({
  port: 0, host: '127.0.0.1', webhookPath: '/webhooks/meta', store: { type: 'memory' },
  meta: { appSecret: 's', verifyToken: 'v' },
  connections: [target.connection(traffic.plan.numbers.map((n) => n.phoneNumberId), traffic.plan.numbers.map((n) => `+${n.display.digits}`))],
});
await deliverTraffic({ payloads, url: `${server.url}/webhooks/meta`, appSecret: 's', duplicates: 0.02, concurrency: 2, seed: 1 });
await server.coexist.engine.drain({ timeoutMs: 60000 });
const letters = await server.coexist.engine.listDeadLetters({ limit: 500 });
const reasons = new Map<string, number>();
for (const l of letters) { const k = `${l.eventType} ${l.errorKind} ${l.reason}`.slice(0, 300); reasons.set(k, (reasons.get(k) ?? 0) + 1); }
console.log(reasons);
console.log(target.count());
await server.close(); await target.stop();
