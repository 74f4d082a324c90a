import type { Writable } from 'node:stream';

/** Writes text and resolves once the stream accepted it, so large outputs respect backpressure. */
export function writeText(stream: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(text, (error) => (error ? reject(error) : resolve()));
  });
}
