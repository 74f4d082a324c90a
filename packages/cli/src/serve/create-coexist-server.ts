/**
 * The production server: Coexist on one `node:http` port, with a graceful stop (no new connections, in-flight
 * webhook acks finished, engine stopped, store closed).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeListener } from '@coexist/core';
import type { CoexistConfig } from './coexist-config.ts';
import { type Coexist, type CreateCoexistOptions, createCoexist } from './create-coexist.ts';

/** A running Coexist server. */
export interface CoexistServer {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly port: number;
  /** The Coexist instance behind the server (engine, store). */
  readonly coexist: Coexist;
  /**
   * Stops accepting connections and answers new webhooks 503 at once, lets webhook requests in flight finish, then
   * closes Coexist (engine, store).
   */
  close(): Promise<void>;
}

/** Starts Coexist on `config.host:config.port` (port 0 picks a free one). */
export async function startCoexistServer(
  config: CoexistConfig,
  options: CreateCoexistOptions = {},
): Promise<CoexistServer> {
  const coexist = createCoexist(config, options);
  const server: Server = createServer(toNodeListener(coexist.fetch));
  // Meta's payloads reach 3 MB; a slow sender must not hold a socket forever.
  server.requestTimeout = 60_000;
  server.headersTimeout = 30_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await coexist.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const logger = options.logger;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    coexist,
    close() {
      closing ??= (async () => {
        const timeoutMs = options.shutdownTimeoutMs ?? 10_000;
        // Stop accepting connections; idle keep-alive sockets go now.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
        // At once, not after the sockets: a keep-alive connection with steady traffic (Meta's) never goes idle, so
        // its new webhooks must be refused (503 with `Connection: close`, which ends the socket) while the ones in
        // flight finish; then the engine stops and the store closes.
        const stopped = coexist.close();
        await closed;
        clearTimeout(timer);
        logger?.info('server closed');
        await stopped;
      })();
      return closing;
    },
  };
}
