import type { Writable } from 'node:stream';

/** One row of the demo's progress display: one business number synced into one CRM. */
export interface ProgressRow {
  crm: string;
  /** The business number, E.164. */
  businessPhone: string;
  /** `backfill`, `live`, `idle`, `paused`. */
  phase: string;
  /** Latest history phase seen (0, 1, 2), when any. */
  historyPhase: number | null;
  chunksSeen: number;
  /** Meta's backfill percentage. */
  metaProgress: number;
  /** Messages written to the CRM. */
  written: number;
  /** Messages the CRM should end up with. */
  expected: number;
  ratePerSecond: number;
  etaSeconds: number | null;
}

const BAR_WIDTH = 24;

/** Formats one progress row as a single line (no colours, so logs stay readable). */
export function formatProgressRow(row: ProgressRow): string {
  const fraction = row.expected > 0 ? Math.min(1, row.written / row.expected) : 0;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
  const phase = row.historyPhase === null ? row.phase : `${row.phase} p${row.historyPhase}`;
  const eta = row.etaSeconds === null ? '' : `  ETA ${formatSeconds(row.etaSeconds)}`;
  return [
    row.crm.padEnd(10),
    row.businessPhone.padEnd(15),
    phase.padEnd(12),
    `chunks ${String(row.chunksSeen).padStart(3)} (${String(Math.round(row.metaProgress)).padStart(3)}%)`,
    `${bar} ${String(Math.round(fraction * 100)).padStart(3)}%`,
    `${row.written.toLocaleString('en-US')}/${row.expected.toLocaleString('en-US')} msgs`,
    `${Math.round(row.ratePerSecond).toLocaleString('en-US')}/s${eta}`,
  ].join('  ');
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  return `${Math.floor(seconds / 60)}m${String(Math.ceil(seconds % 60)).padStart(2, '0')}s`;
}

/**
 * Draws progress rows on a stream: redrawn in place on a terminal, or as periodic plain lines
 * (at most one block every `plainIntervalMs`) when the stream is a pipe or a CI log.
 */
export class ProgressView {
  #stream: Writable & { isTTY?: boolean };
  #rows = new Map<string, ProgressRow>();
  #drawnLines = 0;
  #lastPlainAt = 0;
  #plainIntervalMs: number;
  #now: () => number;

  /** Creates a view writing to `stream`. */
  constructor(stream: Writable, options: { plainIntervalMs?: number; now?: () => number } = {}) {
    this.#stream = stream;
    this.#plainIntervalMs = options.plainIntervalMs ?? 2_000;
    this.#now = options.now ?? Date.now;
  }

  /** Replaces a row's values (keyed by CRM and number). */
  update(row: ProgressRow): void {
    this.#rows.set(`${row.crm}|${row.businessPhone}`, row);
  }

  /** Draws the rows now (in place on a terminal; throttled plain lines otherwise). */
  render(): void {
    // Grouped by CRM, then number, so several CRMs syncing at once read as one block each.
    const lines = [...this.#rows.entries()]
      .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))
      .map(([, row]) => formatProgressRow(row));
    if (this.#stream.isTTY) {
      const up = this.#drawnLines > 0 ? `\u001b[${this.#drawnLines}F` : '';
      this.#stream.write(`${up}${lines.map((line) => `\u001b[2K${line}`).join('\n')}\n`);
      this.#drawnLines = lines.length;
      return;
    }
    const now = this.#now();
    if (now - this.#lastPlainAt < this.#plainIntervalMs) return;
    this.#lastPlainAt = now;
    this.#stream.write(`${lines.join('\n')}\n`);
  }

  /** Draws the final state once, unthrottled. */
  finish(): void {
    this.#lastPlainAt = 0;
    this.render();
  }
}
