/**
 * Traffic on disk: one file per webhook body, `000001-<field>.json` in delivery order, holding the
 * exact bytes to send, plus `manifest.json` with the ground truth.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TrafficManifest, TrafficPayload } from './traffic-types.ts';

/** The manifest's file name inside a traffic directory. */
export const MANIFEST_FILE = 'manifest.json';

const PAYLOAD_FILE = /^(\d{6,})-([a-z_]+)\.json$/;

/** Thrown for a traffic directory that cannot be written or read; the message names the path. */
export class TrafficFilesError extends Error {
  /** The path at fault. */
  readonly path: string;

  /** Creates the error for `path`. */
  constructor(path: string, problem: string) {
    super(`[coexist/sandbox] ${problem}: ${path}`);
    this.name = 'TrafficFilesError';
    this.path = path;
  }
}

/** What {@link writeTraffic} wrote. */
export interface WriteTrafficResult {
  files: number;
  bytes: number;
  manifest: TrafficManifest | undefined;
}

/** Options of {@link writeTraffic}. */
export interface WriteTrafficOptions {
  /** Delete earlier traffic files in the directory first instead of failing. @default false */
  overwrite?: boolean;
  /** The manifest to write; by default `traffic.manifest()` when the traffic has one. */
  manifest?: TrafficManifest;
}

/** A payload read back from a traffic directory. */
export interface StoredTrafficPayload {
  sequence: number;
  field: string;
  file: string;
  /** The exact bytes stored. */
  body: Buffer;
}

/** A traffic directory opened by {@link readTraffic}. */
export interface StoredTraffic {
  manifest: TrafficManifest | undefined;
  /** Payload files in delivery order. */
  files: string[];
  /** The payloads, read one file at a time. */
  payloads: AsyncIterable<StoredTrafficPayload>;
}

/** The file name of a payload: its zero-padded sequence and its field. */
export function trafficFileName(sequence: number, field: string): string {
  return `${String(sequence).padStart(6, '0')}-${field}.json`;
}

async function listPayloadFiles(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new TrafficFilesError(dir, 'traffic directory does not exist');
    throw error;
  }
  return entries
    .filter((name) => PAYLOAD_FILE.test(name))
    .sort((a, b) => Number(PAYLOAD_FILE.exec(a)![1]) - Number(PAYLOAD_FILE.exec(b)![1]));
}

/** Writes payloads (e.g. a `generateTraffic` run) as files in delivery order, then `manifest.json`. */
export async function writeTraffic(
  dir: string,
  traffic: Iterable<TrafficPayload> & { manifest?: () => TrafficManifest },
  options: WriteTrafficOptions = {},
): Promise<WriteTrafficResult> {
  await mkdir(dir, { recursive: true });
  const existing = await listPayloadFiles(dir);
  const entries = await readdir(dir);
  if (existing.length > 0 || entries.includes(MANIFEST_FILE)) {
    if (!options.overwrite)
      throw new TrafficFilesError(dir, 'directory already holds traffic files (pass overwrite to replace them)');
    await Promise.all([...existing, MANIFEST_FILE].map((name) => rm(join(dir, name), { force: true })));
  }
  let files = 0;
  let bytes = 0;
  for (const payload of traffic) {
    const body = Buffer.from(payload.body, 'utf8');
    await writeFile(join(dir, trafficFileName(payload.sequence, payload.field)), body);
    files++;
    bytes += body.byteLength;
  }
  const manifest = options.manifest ?? traffic.manifest?.();
  if (manifest) await writeFile(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return { files, bytes, manifest };
}

/** Opens a traffic directory written by {@link writeTraffic} (or by hand: any `NNNNNN-<field>.json` files). */
export async function readTraffic(dir: string): Promise<StoredTraffic> {
  const files = await listPayloadFiles(dir);
  let manifest: TrafficManifest | undefined;
  try {
    manifest = JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8')) as TrafficManifest;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new TrafficFilesError(
        join(dir, MANIFEST_FILE),
        `unreadable manifest (${error instanceof Error ? error.message : String(error)})`,
      );
    }
  }
  return {
    manifest,
    files,
    payloads: {
      async *[Symbol.asyncIterator]() {
        for (const file of files) {
          const [, sequence, field] = PAYLOAD_FILE.exec(file)!;
          yield { sequence: Number(sequence), field: field!, file, body: await readFile(join(dir, file)) };
        }
      },
    },
  };
}
