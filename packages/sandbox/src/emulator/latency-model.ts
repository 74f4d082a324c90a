import { createSeededRandom, type SeededRandom } from './seeded-random.ts';

/** How long an emulator takes to answer: a base, seeded jitter, and a cost per record written. */
export interface LatencyOptions {
  /** Fixed delay of every request, in ms. @default 0 */
  baseMs?: number;
  /** Uniform random extra delay in [0, jitterMs], in ms. @default 0 */
  jitterMs?: number;
  /** Extra delay per record in a batch request, in ms. @default 0 */
  perRecordMs?: number;
}

/** Computes seeded, reproducible response delays. */
export class LatencyModel {
  #options: LatencyOptions;
  #random: SeededRandom;

  /** Creates a latency model with the given options and seed. */
  constructor(options: LatencyOptions = {}, seed: number | string = 1) {
    this.#options = { ...options };
    this.#random = createSeededRandom(`latency:${seed}`);
  }

  /** The options in force. */
  get options(): LatencyOptions {
    return { ...this.#options };
  }

  /** Replaces the options. */
  configure(options: LatencyOptions): void {
    this.#options = { ...options };
  }

  /** The delay for a request that touches `records` records. */
  delayFor(records = 0): number {
    const { baseMs = 0, jitterMs = 0, perRecordMs = 0 } = this.#options;
    return baseMs + (jitterMs > 0 ? this.#random.next() * jitterMs : 0) + perRecordMs * records;
  }
}
