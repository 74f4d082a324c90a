/**
 * Coexist mounted in an existing Express 5 app: the Meta webhook, the card endpoints, /health and /status next
 * to the app's own JSON routes, on the app's port.
 *
 *   META_APP_SECRET=… META_VERIFY_TOKEN=… HUBSPOT_TOKEN=… HUBSPOT_CLIENT_SECRET=… COEXIST_ADMIN_TOKEN=… \
 *     node --conditions=@coexist/source examples/express-app.ts examples/coexist.config.json
 *
 * (the variables `examples/coexist.config.json` names; docs/serve.md lists them)
 *
 * The webhook route is mounted before `express.json()`: Meta signs the raw bytes, so no body parser may run first.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type Coexist, type CoexistConfig, createCoexist, createLineLogger, loadCoexistConfig } from '@coexist/cli';
import { toNodeListener } from '@coexist/core';
import express from 'express';

/** A running Express app with Coexist mounted. */
export interface ExpressApp {
  url: string;
  coexist: Coexist;
  /** Stops the HTTP server first (no new webhooks), then Coexist (in-flight acks, engine, store). */
  close(): Promise<void>;
}

/** Builds the Express app with Coexist mounted and starts it on `port` (0 picks a free one). */
export async function startExpressApp(config: CoexistConfig, port = 3000): Promise<ExpressApp> {
  const coexist = createCoexist(config, { logger: createLineLogger({ stream: process.stderr, quiet: true }) });
  const app = express();

  // 1. Coexist first, on the raw request stream: the webhook, its cards, health and status.
  const coexistListener = toNodeListener(coexist.fetch);
  app.all(config.webhookPath, coexistListener);
  app.get(['/health', '/status'], coexistListener);
  app.all('/cards/{*rest}', coexistListener);

  // 2. The application's own routes, with the body parser they need.
  app.use(express.json());
  app.get('/api/backfill', async (_request, response) => {
    const status = await coexist.engine.status();
    response.json(
      status.numbers.map((number) => ({ phoneNumberId: number.phoneNumberId, progress: number.backfill.progress })),
    );
  });

  const server: Server = app.listen(port, config.host);
  await once(server, 'listening');
  const { port: actualPort } = server.address() as AddressInfo;
  return {
    url: `http://${config.host}:${actualPort}`,
    coexist,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await coexist.close();
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const config = await loadCoexistConfig(process.argv[2] ?? 'coexist.config.json', process.env);
  const running = await startExpressApp(config, config.port);
  console.log(`Coexist mounted in Express on ${running.url} (webhook ${config.webhookPath})`);
  const stop = async () => {
    await running.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
