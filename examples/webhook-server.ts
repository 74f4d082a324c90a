/**
 * A Meta WhatsApp webhook endpoint on a plain `node:http` server.
 *
 *   META_APP_SECRET=… META_VERIFY_TOKEN=… PORT=3000 \
 *     node --conditions=@coexist/source examples/webhook-server.ts
 *
 * Point the App Dashboard's callback URL at it (any path works). It logs event types and counts
 * only: never message bodies or secrets.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type CoexistenceEvent, createWebhookHandler, toNodeListener } from '@coexist/core';

/** Options of `startWebhookServer`. */
export interface WebhookServerOptions {
  /** The Meta app secret (`META_APP_SECRET`). */
  appSecret: string;
  /** The verify token entered in the App Dashboard (`META_VERIFY_TOKEN`). */
  verifyToken: string;
  /** The port to listen on; 0 picks a free one. @default 3000 */
  port?: number;
  /** Where the summary lines go. @default console.log */
  log?: (line: string) => void;
  /** Receives each delivery's events after they are logged, e.g. to hand them to the sync engine. */
  onEvents?: (events: CoexistenceEvent[]) => void | Promise<void>;
}

/** A running webhook server. */
export interface WebhookServer {
  /** The underlying `node:http` server. */
  server: Server;
  /** The base URL it listens on, e.g. `http://127.0.0.1:3000`. */
  url: string;
  /** Stops the server. */
  close(): Promise<void>;
}

/** Starts a `node:http` server whose every path is the Meta webhook endpoint. */
export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const log = options.log ?? ((line: string) => console.log(line));
  const handler = createWebhookHandler({
    appSecret: options.appSecret,
    verifyToken: options.verifyToken,
    async onEvents(events, { receivedAt }) {
      log(`${receivedAt.toISOString()} ${events.length} event(s): ${summarize(events)}`);
      await options.onEvents?.(events);
    },
    onInvalid({ error, receivedAt }) {
      // The path names the field at fault; the body itself is not logged.
      log(`${receivedAt.toISOString()} invalid webhook rejected at ${error.path === '' ? '(body)' : error.path}`);
    },
  });
  const server = createServer(toNodeListener(handler));
  server.listen(options.port ?? 3000);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

/** `message.received×2, message.status×1`: types and counts, nothing else. */
export function summarize(events: CoexistenceEvent[]): string {
  const counts = new Map<string, number>();
  for (const event of events) counts.set(event.type, (counts.get(event.type) ?? 0) + 1);
  return [...counts].map(([type, count]) => `${type}×${count}`).join(', ') || 'none';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const appSecret = process.env.META_APP_SECRET;
  const verifyToken = process.env.META_VERIFY_TOKEN;
  if (!appSecret || !verifyToken) {
    console.error('Set META_APP_SECRET and META_VERIFY_TOKEN (and optionally PORT).');
    process.exit(1);
  }
  const running = await startWebhookServer({ appSecret, verifyToken, port: Number(process.env.PORT ?? 3000) });
  console.log(`Listening for Meta webhooks on ${running.url}`);
}
