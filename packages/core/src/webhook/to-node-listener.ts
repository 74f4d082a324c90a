import type { IncomingMessage, ServerResponse } from 'node:http';

/** A `node:http` request listener, also usable as Express/Connect middleware. */
export type NodeRequestListener = (request: IncomingMessage, response: ServerResponse) => void;

/** The fields Express and Connect add to `IncomingMessage` that the adapter reads. */
interface FrameworkRequestFields {
  /** Express: the URL before a mount path was stripped from `url`. */
  originalUrl?: string;
  /** A body parser's result, when one ran before the handler. */
  body?: unknown;
}

/**
 * Adapts a web-standard `(request: Request) => Promise<Response>` handler to `node:http`, streaming
 * the raw request body, so it mounts on a plain server, Express or Connect without a body parser.
 */
export function toNodeListener(handler: (request: Request) => Promise<Response>): NodeRequestListener {
  return (incoming, outgoing) => {
    void respond(handler, incoming, outgoing);
  };
}

async function respond(
  handler: (request: Request) => Promise<Response>,
  incoming: IncomingMessage & FrameworkRequestFields,
  outgoing: ServerResponse,
): Promise<void> {
  const abort = new AbortController();
  outgoing.once('close', () => {
    if (!outgoing.writableFinished) abort.abort();
  });
  let response: Response;
  let request: Request | undefined;
  try {
    request = toRequest(incoming, abort.signal);
    response = await handler(request);
  } catch (error) {
    // Only the adapter's own setup error is safe and useful to show; a handler's error may hold data.
    const message =
      request === undefined && error instanceof Error ? error.message : 'internal error while handling the webhook';
    response = Response.json({ error: { message } }, { status: 500 });
  }
  await writeResponse(response, incoming, outgoing);
}

function toRequest(incoming: IncomingMessage & FrameworkRequestFields, signal: AbortSignal): Request {
  const method = incoming.method ?? 'GET';
  const headers = new Headers();
  for (let index = 0; index + 1 < incoming.rawHeaders.length; index += 2) {
    const name = incoming.rawHeaders[index]!;
    // HTTP/2 pseudo-headers (`:path`) are not valid in a Fetch Headers object.
    if (!name.startsWith(':')) headers.append(name, incoming.rawHeaders[index + 1]!);
  }
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal };
  if (method !== 'GET' && method !== 'HEAD') {
    const alreadyParsed = incoming.body;
    if (alreadyParsed instanceof Uint8Array) {
      // express.raw() ran first: it kept the exact bytes, so use them.
      init.body = new Uint8Array(
        alreadyParsed.buffer,
        alreadyParsed.byteOffset,
        alreadyParsed.byteLength,
      ) as Uint8Array<ArrayBuffer>;
      // express.raw() inflates gzip bodies, so the original encoding and length no longer apply.
      headers.delete('content-encoding');
      headers.delete('content-length');
    } else if (incoming.readableEnded || (alreadyParsed !== undefined && typeof alreadyParsed !== 'string')) {
      // A JSON body parser consumed the stream and kept only the parsed value, whose re-serialisation
      // would not match Meta's signature.
      throw new Error(
        '[coexist/core] toNodeListener: the request body was already consumed by a body parser; mount the webhook handler before express.json() or use express.raw({ type: "*/*" })',
      );
    } else if (typeof alreadyParsed === 'string') {
      init.body = alreadyParsed;
    } else {
      init.body = streamBody(incoming);
      init.duplex = 'half';
    }
  }
  return new Request(requestUrl(incoming), init);
}

/** The absolute URL as the client sent it, including an Express mount path stripped from `url`. */
function requestUrl(incoming: IncomingMessage & FrameworkRequestFields): string {
  const path = incoming.originalUrl ?? incoming.url ?? '/';
  const encrypted = (incoming.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
  const host = incoming.headers.host ?? incoming.headers[':authority'] ?? 'localhost';
  return new URL(path, `${encrypted ? 'https' : 'http'}://${host}`).href;
}

async function writeResponse(response: Response, incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
  if (outgoing.headersSent) {
    outgoing.destroy();
    return;
  }
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  // A body the handler did not read (413, 401) would otherwise stall a keep-alive connection.
  if (!incoming.readableEnded) headers.connection = 'close';
  outgoing.writeHead(response.status, response.statusText || undefined, headers);
  if (response.body === null || incoming.method === 'HEAD') {
    outgoing.end();
    return;
  }
  try {
    for await (const chunk of response.body) {
      if (!outgoing.write(chunk)) await drainOrClose(outgoing);
      if (outgoing.destroyed) return;
    }
    outgoing.end();
  } catch {
    outgoing.destroy();
  }
}

/**
 * Streams the request body with backpressure. Unlike `Readable.toWeb`, cancelling (the handler
 * refusing an oversized body) only stops reading: destroying the request would destroy the socket
 * before the 413 answer is written.
 */
function streamBody(incoming: IncomingMessage): ReadableStream<Uint8Array> {
  let stop = (): void => {};
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const onData = (chunk: Buffer): void => {
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) incoming.pause();
      };
      const onEnd = (): void => {
        stop();
        controller.close();
      };
      const onError = (error: Error): void => {
        stop();
        controller.error(error);
      };
      stop = () => {
        incoming.off('data', onData);
        incoming.off('end', onEnd);
        incoming.off('error', onError);
      };
      incoming.on('data', onData);
      incoming.once('end', onEnd);
      incoming.once('error', onError);
      incoming.pause();
    },
    pull() {
      incoming.resume();
    },
    cancel() {
      stop();
      incoming.pause();
    },
  });
}

function drainOrClose(outgoing: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      outgoing.off('drain', done);
      outgoing.off('close', done);
      resolve();
    };
    outgoing.once('drain', done);
    outgoing.once('close', done);
  });
}
