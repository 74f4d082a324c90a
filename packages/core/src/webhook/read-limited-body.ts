/**
 * Bounded reads of a request body: an endpoint any client can reach (a webhook, a card's data endpoint) must not
 * buffer whatever it is sent before it can check a signature.
 */

/**
 * Reads the body of `request` whole, or answers `undefined` once it would exceed `maxBytes`: at once when the declared
 * `Content-Length` says so (before a byte is read), else as soon as the bytes read pass it (a chunked body). Either
 * way the rest of the stream is cancelled.
 */
export async function readLimitedBody(request: Request, maxBytes: number): Promise<Uint8Array | undefined> {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new TypeError('[coexist/core] readLimitedBody: `maxBytes` must be a non-negative integer');
  }
  if (request.body === null) return new Uint8Array(0);
  if (Number(request.headers.get('content-length') ?? Number.NaN) > maxBytes) {
    await request.body.cancel().catch(() => {});
    return undefined;
  }
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > maxBytes) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const body = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
