import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { toNodeListener } from './to-node-listener.ts';

const servers: Server[] = [];

async function listen(listener: RequestListener): Promise<string> {
  const server = createServer(listener);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A web handler that reports what it saw: method, URL, headers and the body bytes as hex. */
async function echo(request: Request): Promise<Response> {
  const body = new Uint8Array(await request.arrayBuffer());
  return Response.json(
    {
      method: request.method,
      url: request.url,
      signature: request.headers.get('x-hub-signature-256'),
      bodyHex: Buffer.from(body).toString('hex'),
    },
    { status: 201, headers: { 'x-seen': 'yes' } },
  );
}

describe('toNodeListener on node:http', () => {
  it('passes method, absolute URL with query, headers and the exact body bytes, and writes status and headers back', async () => {
    const url = await listen(toNodeListener(echo));
    // Bytes that are not valid UTF-8 prove nothing decodes or re-encodes the body on the way.
    const bytes = new Uint8Array([0x7b, 0xff, 0xfe, 0x00, 0xc3, 0xa1, 0x7d]);
    const response = await fetch(`${url}/webhooks/meta?tenant=a%20b`, {
      method: 'POST',
      headers: { 'x-hub-signature-256': 'sha256=abc' },
      body: bytes,
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-seen')).toBe('yes');
    expect(await response.json()).toEqual({
      method: 'POST',
      url: `${url}/webhooks/meta?tenant=a%20b`,
      signature: 'sha256=abc',
      bodyHex: Buffer.from(bytes).toString('hex'),
    });
  });

  it('streams a chunked request body of several megabytes intact', async () => {
    const url = await listen(toNodeListener(echo));
    const chunk = new Uint8Array(64 * 1024).map((_, index) => index % 251);
    const chunkCount = 48; // 3 MiB, Meta's largest payloads
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === chunkCount) controller.close();
        else {
          controller.enqueue(chunk);
          sent += 1;
        }
      },
    });
    const response = await fetch(url, { method: 'POST', body, duplex: 'half' } as RequestInit);
    const { bodyHex } = (await response.json()) as { bodyHex: string };
    expect(bodyHex.length / 2).toBe(chunk.byteLength * chunkCount);
    expect(bodyHex.slice(0, 8)).toBe('00010203');
  });

  it('answers a request whose body the handler refuses to read, without hanging', async () => {
    const url = await listen(
      toNodeListener(async (request) => {
        await request.body?.cancel();
        return new Response('too large', { status: 413 });
      }),
    );
    const response = await fetch(url, { method: 'POST', body: new Uint8Array(2 * 1024 * 1024) });
    expect(response.status).toBe(413);
    expect(await response.text()).toBe('too large');
  });

  it('writes every Set-Cookie header and streams the response body', async () => {
    const url = await listen(
      toNodeListener(async () => {
        const headers = new Headers();
        headers.append('set-cookie', 'a=1');
        headers.append('set-cookie', 'b=2');
        const body = new ReadableStream<string>({
          start(controller) {
            controller.enqueue('first,');
            controller.enqueue('second');
            controller.close();
          },
        }).pipeThrough(new TextEncoderStream());
        return new Response(body, { status: 200, headers });
      }),
    );
    const response = await fetch(url);
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await response.text()).toBe('first,second');
  });

  it('answers 500 when the handler throws', async () => {
    const url = await listen(
      toNodeListener(async () => {
        throw new Error('boom');
      }),
    );
    const response = await fetch(url, { method: 'POST', body: '{}' });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: { message: 'internal error while handling the webhook' } });
  });
});

describe('toNodeListener under Express', () => {
  it('sees the full original URL when mounted under a path prefix, with no body parser', async () => {
    const app = express();
    app.use('/hooks/whatsapp', toNodeListener(echo));
    const url = await listen(app);
    const response = await fetch(`${url}/hooks/whatsapp?hub.mode=subscribe`, { method: 'POST', body: 'raw body' });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({
      url: `${url}/hooks/whatsapp?hub.mode=subscribe`,
      bodyHex: Buffer.from('raw body').toString('hex'),
    });
  });

  it('uses the exact bytes express.raw() kept', async () => {
    const app = express();
    app.post('/webhook', express.raw({ type: '*/*' }), toNodeListener(echo));
    const url = await listen(app);
    const response = await fetch(`${url}/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":"é"}',
    });
    expect(await response.json()).toMatchObject({ bodyHex: Buffer.from('{"a":"é"}').toString('hex') });
  });

  it('answers 500 with a clear message when express.json() already consumed the body', async () => {
    const app = express();
    app.post('/webhook', express.json(), toNodeListener(echo));
    const url = await listen(app);
    const response = await fetch(`${url}/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({
      error: {
        message:
          '[coexist/core] toNodeListener: the request body was already consumed by a body parser; mount the webhook handler before express.json() or use express.raw({ type: "*/*" })',
      },
    });
  });
});
