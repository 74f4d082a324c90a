import { createSeededRandom, type SeededRandom } from './seeded-random.ts';

/** Faults an emulator injects into a fraction of requests, decided by a seeded random source. */
export interface FaultOptions {
  /** Fraction of requests answered with a 5xx error. @default 0 */
  serverErrorRate?: number;
  /** Fraction of requests held open without an answer for `timeoutMs`, then the socket is destroyed. @default 0 */
  timeoutRate?: number;
  /** How long a timed-out request is held before its socket is destroyed. @default 30000 */
  timeoutMs?: number;
  /** Fraction of requests whose connection is dropped without an answer. @default 0 */
  dropRate?: number;
  /** Fraction of requests delayed by `slowMs` before they are handled. @default 0 */
  slowRate?: number;
  /** Extra delay of a slow request. @default 2000 */
  slowMs?: number;
}

/** The fault chosen for one request. */
export type Fault =
  | { kind: 'none' }
  | { kind: 'server-error' }
  | { kind: 'timeout'; holdMs: number }
  | { kind: 'drop' }
  | { kind: 'slow'; delayMs: number };

/** Decides, per request, which fault (if any) to inject. */
export class FaultInjector {
  #options: FaultOptions;
  #random: SeededRandom;

  /** Creates an injector with the given fault rates and seed. */
  constructor(options: FaultOptions = {}, seed: number | string = 1) {
    this.#options = { ...options };
    this.#random = createSeededRandom(`faults:${seed}`);
  }

  /** Replaces the fault rates (e.g. from a test or the admin endpoint). */
  configure(options: FaultOptions): void {
    this.#options = { ...options };
  }

  /** The fault rates in force. */
  get options(): FaultOptions {
    return { ...this.#options };
  }

  /** Draws the fault for the next request. */
  next(): Fault {
    const options = this.#options;
    const roll = this.#random.next();
    let threshold = options.serverErrorRate ?? 0;
    if (roll < threshold) return { kind: 'server-error' };
    threshold += options.timeoutRate ?? 0;
    if (roll < threshold) return { kind: 'timeout', holdMs: options.timeoutMs ?? 30_000 };
    threshold += options.dropRate ?? 0;
    if (roll < threshold) return { kind: 'drop' };
    threshold += options.slowRate ?? 0;
    if (roll < threshold) return { kind: 'slow', delayMs: options.slowMs ?? 2_000 };
    return { kind: 'none' };
  }
}
