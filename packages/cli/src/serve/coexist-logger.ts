/**
 * The logger of `coexist serve`: one line per lifecycle event and per error kind, with known secret values
 * redacted from every line, and repeats of the same warning or error folded into a count.
 */
import type { Writable } from 'node:stream';
import type { SyncLogger } from '@coexist/core';

/** The logger Coexist's server pieces write to; fields never carry message bodies or secrets. */
export interface CoexistLogger extends SyncLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Options of `createLineLogger`. */
export interface LineLoggerOptions {
  /** Where the lines go (stderr for the CLI). */
  stream: Writable;
  /** Suppresses `info` and `debug` lines; warnings and errors are still written. @default false */
  quiet?: boolean;
  /** Values that must never appear in a line (tokens, app secret); each is replaced by `[redacted]`. */
  secrets?: readonly string[];
  /** Milliseconds during which a repeated warning or error is counted instead of written. @default 60000 */
  repeatWindowMs?: number;
  /** The clock. @default Date.now */
  now?: () => number;
}

/** Replaces every occurrence of a secret in a text by `[redacted]`. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let redacted = text;
  // Longest first, so a secret containing another is redacted whole.
  for (const secret of [...secrets].sort((left, right) => right.length - left.length)) {
    if (secret.length >= 4) redacted = redacted.split(secret).join('[redacted]');
  }
  return redacted;
}

/** Creates a logger writing `coexist: <level> <message> key=value…` lines. */
export function createLineLogger(options: LineLoggerOptions): CoexistLogger {
  const secrets = options.secrets ?? [];
  const now = options.now ?? Date.now;
  const window = options.repeatWindowMs ?? 60_000;
  const repeats = new Map<string, { at: number; suppressed: number }>();
  const write = (level: string, message: string, fields?: Record<string, unknown>): void => {
    const line = `coexist: ${level === 'info' ? '' : `${level}: `}${message}${formatFields(fields)}`;
    options.stream.write(`${redactSecrets(line, secrets)}\n`);
  };
  const throttled = (level: 'warn' | 'error') => (message: string, fields?: Record<string, unknown>) => {
    // The kind of a line is its level and message; the fields (ids, counts) vary between repeats.
    const kind = `${level}\u0000${message}`;
    const seen = repeats.get(kind);
    const at = now();
    if (seen !== undefined && at - seen.at < window) {
      seen.suppressed++;
      return;
    }
    const suppressed = seen?.suppressed ?? 0;
    repeats.set(kind, { at, suppressed: 0 });
    write(level, message, suppressed > 0 ? { ...fields, repeated: suppressed } : fields);
  };
  return {
    debug: () => {},
    info: (message, fields) => {
      if (!options.quiet) write('info', message, fields);
    },
    warn: throttled('warn'),
    error: throttled('error'),
  };
}

function formatFields(fields: Record<string, unknown> | undefined): string {
  if (fields === undefined) return '';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    parts.push(`${key}=${/[\s"]/.test(text) ? JSON.stringify(text) : text}`);
  }
  return parts.length === 0 ? '' : ` ${parts.join(' ')}`;
}

/** A logger that writes nothing. */
export const silentLogger: CoexistLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
