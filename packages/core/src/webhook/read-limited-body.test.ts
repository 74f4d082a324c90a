import { describe, expect, it } from 'vitest';
import { readLimitedBody } from './read-limited-body.ts';

/** A stream of `chunks` chunks of `size` bytes that counts how many were pulled. */
function counted(chunks: number, size: number): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled === chunks) return controller.close();
      pulled += 1;
      controller.enqueue(new Uint8Array(size).fill(pulled));
    },
  });
  return { stream, pulled: () => pulled };
}

const post = (body: BodyInit | null, headers: Record<string, string> = {}) =>
  new Request('https://example.test/cards', { method: 'POST', headers, body, duplex: 'half' } as RequestInit);

describe('readLimitedBody', () => {
  it('reads a body up to the limit whole, chunks in order', async () => {
    const { stream } = counted(3, 4);
    expect([...((await readLimitedBody(post(stream), 12)) ?? [])]).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
    expect(await readLimitedBody(post(null), 0)).toEqual(new Uint8Array(0));
    expect(new TextDecoder().decode(await readLimitedBody(post('{"a":1}'), 7))).toBe('{"a":1}');
  });

  it('refuses by the declared Content-Length before reading a byte', async () => {
    const { stream, pulled } = counted(1000, 1024);
    expect(await readLimitedBody(post(stream, { 'content-length': String(1000 * 1024) }), 64 * 1024)).toBeUndefined();
    // The stream starts one chunk ahead on its own; nothing was read past it.
    expect(pulled()).toBeLessThanOrEqual(1);
  });

  it('stops a body without Content-Length as soon as it passes the limit', async () => {
    const { stream, pulled } = counted(1000, 1024);
    expect(await readLimitedBody(post(stream), 64 * 1024)).toBeUndefined();
    expect(pulled()).toBeLessThanOrEqual(64 + 2);
  });

  it('names its argument when the limit is not a non-negative integer', async () => {
    await expect(readLimitedBody(post('x'), -1)).rejects.toThrow('readLimitedBody: `maxBytes`');
    await expect(readLimitedBody(post('x'), 1.5)).rejects.toThrow('readLimitedBody: `maxBytes`');
  });
});
