import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySignature } from '@coexist/core';
import { afterEach, describe, expect, it } from 'vitest';
import { DeliverTrafficError, deliverTraffic } from './deliver-traffic.ts';
import { generateTraffic } from './generate-traffic.ts';

const APP_SECRET = 'test-app-secret';

interface Receiver {
  url: string;
  /** sha256 of every body acknowledged with 2xx, in arrival order. */
  accepted: string[];
  requests: number;
  badSignatures: number;
  headers: IncomingMessage['headers'][];
  server: Server;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A webhook endpoint that verifies Meta signatures with core and answers `respond(requestNumber, bodyHash)`. */
async function startReceiver(respond: (request: number, hash: string) => number): Promise<Receiver> {
  const receiver = { accepted: [], requests: 0, badSignatures: 0, headers: [] } as unknown as Receiver;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks);
      const number = ++receiver.requests;
      receiver.headers.push(request.headers);
      const signature = request.headers['x-hub-signature-256'];
      if (
        !verifySignature({
          rawBody: raw,
          signature: typeof signature === 'string' ? signature : undefined,
          appSecret: APP_SECRET,
        })
      ) {
        receiver.badSignatures++;
        response.writeHead(401).end();
        return;
      }
      const hash = createHash('sha256').update(raw).digest('hex');
      const status = respond(number, hash);
      if (status >= 200 && status < 300) receiver.accepted.push(hash);
      response.writeHead(status).end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.server = server;
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`;
  return receiver;
}

const traffic = [...generateTraffic({ messages: 120, seed: 'deliver', chunkSize: 30 })];
const hashOf = (body: string) => createHash('sha256').update(body).digest('hex');

describe('deliverTraffic', () => {
  it('signs every POST over the exact bytes, retries 500s and re-sends duplicates', async () => {
    // Every 7th request fails once with a 500; Meta retries it.
    const receiver = await startReceiver((request) => (request % 7 === 0 ? 500 : 200));
    const stats = await deliverTraffic({
      payloads: traffic,
      url: receiver.url,
      appSecret: APP_SECRET,
      duplicates: 0.2,
      retryDelayMs: 1,
      concurrency: 3,
      seed: 'dup',
    });
    expect(receiver.badSignatures).toBe(0);
    expect(stats.payloads).toBe(traffic.length);
    expect(stats.failed).toBe(0);
    expect(stats.duplicatesSent).toBeGreaterThan(0);
    expect(stats.delivered).toBe(traffic.length + stats.duplicatesSent);
    expect(stats.retries).toBe(Math.floor(receiver.requests / 7));
    expect(stats.statusCounts['500']).toBe(stats.retries);
    expect(stats.requests).toBe(receiver.requests);
    // Every payload arrived; the surplus are the duplicates, byte-identical to their original.
    expect(new Set(receiver.accepted)).toEqual(new Set(traffic.map((payload) => hashOf(payload.body))));
    expect(receiver.accepted.length - new Set(receiver.accepted).size).toBe(stats.duplicatesSent);
    expect(stats.bytes).toBeGreaterThan(0);
    expect(receiver.headers[0]).toMatchObject({
      'content-type': 'application/json',
      'x-hub-signature-256': expect.stringMatching(/^sha256=[0-9a-f]{64}$/),
    });
  });

  it('keeps the delivery order with concurrency 1 and no duplicates', async () => {
    const receiver = await startReceiver(() => 200);
    await deliverTraffic({ payloads: traffic, url: receiver.url, appSecret: APP_SECRET });
    expect(receiver.accepted).toEqual(traffic.map((payload) => hashOf(payload.body)));
  });

  it('gives up after the retries and reports the failure', async () => {
    const failing = hashOf(traffic[2]!.body);
    const receiver = await startReceiver((_, hash) => (hash === failing ? 503 : 204));
    const attempts: number[] = [];
    const stats = await deliverTraffic({
      payloads: traffic.slice(0, 5),
      url: receiver.url,
      appSecret: APP_SECRET,
      retries: 2,
      retryDelayMs: 1,
      onAttempt: (attempt) => {
        if (attempt.sequence === 3) attempts.push(attempt.attempt);
      },
    });
    expect(attempts).toEqual([1, 2, 3]);
    expect(stats).toMatchObject({
      payloads: 5,
      delivered: 4,
      failed: 1,
      retries: 2,
      failures: [{ sequence: 3, status: 503 }],
    });
  });

  it('accepts raw strings and async iterables, and stops when aborted', async () => {
    const receiver = await startReceiver(() => 200);
    const controller = new AbortController();
    async function* bodies() {
      for (const payload of traffic) yield payload.body;
    }
    const stats = await deliverTraffic({
      payloads: bodies(),
      url: receiver.url,
      appSecret: APP_SECRET,
      signal: controller.signal,
      onAttempt: () => {
        if (receiver.requests >= 3) controller.abort();
      },
    });
    expect(stats.aborted).toBe(true);
    expect(stats.delivered).toBe(3);
    expect(receiver.requests).toBe(3);
  });

  it('rejects invalid options with a typed error naming the option', async () => {
    const base = { payloads: [], url: 'http://127.0.0.1:9/', appSecret: APP_SECRET };
    await expect(deliverTraffic({ ...base, url: 'not a url' })).rejects.toMatchObject({ option: 'url' });
    await expect(deliverTraffic({ ...base, appSecret: '' })).rejects.toMatchObject({ option: 'appSecret' });
    await expect(deliverTraffic({ ...base, duplicates: 1.5 })).rejects.toMatchObject({ option: 'duplicates' });
    await expect(deliverTraffic({ ...base, rate: 0 })).rejects.toBeInstanceOf(DeliverTrafficError);
    await expect(deliverTraffic({ ...base, concurrency: 0 })).rejects.toThrow(/^\[coexist\/sandbox\] .*"concurrency"/);
  });
});
