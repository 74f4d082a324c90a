/**
 * Crash safety: a child process runs a 20,000-message backfill through the engine (SQLite store in a temp dir)
 * into the reference CRM, which lives in this process over HTTP. The child is killed with SIGKILL at random
 * points several times and restarted; at the end every message exists exactly once in the CRM, in order per
 * thread, with one contact per customer.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ReferenceCrmEmulator, startReferenceCrm } from '@coexist/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHILD = fileURLToPath(new URL('./fixtures/engine-crash-child.ts', import.meta.url));
const THREADS = 200;
const PER_THREAD = 100;
const TOTAL = THREADS * PER_THREAD;
const KILLS = 4;

let crm: ReferenceCrmEmulator;
let directory: string;

beforeAll(async () => {
  // A little latency per call so kills land in the middle of the work, not after it.
  crm = await startReferenceCrm({ latency: { baseMs: 8, jitterMs: 4 }, seed: 7 });
  directory = mkdtempSync(join(tmpdir(), 'coexist-crash-'));
});

afterAll(async () => {
  await crm?.close();
  if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
});

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts the child; `writerThread` runs its group commits in a worker thread (runs alternate, so both modes crash). */
function run(writerThread: boolean): Run {
  const child = spawn(
    process.execPath,
    ['--conditions=@coexist/source', '--disable-warning=ExperimentalWarning', CHILD],
    {
      env: {
        ...process.env,
        COEXIST_DB: join(directory, 'coexist.db'),
        CRM_URL: crm.url,
        CRASH_THREADS: String(THREADS),
        CRASH_PER_THREAD: String(PER_THREAD),
        COEXIST_WRITER_THREAD: writerThread ? '1' : '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
function randomSequence(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/** Waits until `done()` or the child exits; false when it exited first (or after 30 s). */
async function waitFor(current: Run, done: () => boolean): Promise<boolean> {
  const startedAt = Date.now();
  while (!done()) {
    if (current.child.exitCode !== null || Date.now() - startedAt > 30_000) return false;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return true;
}

describe('sync engine crash safety', () => {
  it('finishes a 20,000-message backfill exactly once across SIGKILLs', async () => {
    const random = randomSequence(Number(process.env.CRASH_SEED ?? 42));
    const kills: { during: 'ingest' | 'writes'; messagesInCrm: number; resends: number }[] = [];
    for (let attempt = 0; attempt < KILLS; attempt++) {
      const current = run(attempt % 2 === 1);
      const before = crm.messages.size;
      // The first kill lands in the middle of the durable ingest (after 2,000–15,000 of its events); the others at
      // a random point of the writes, chosen by progress (15–45% of what is left), not by time: a quick machine
      // would otherwise finish the backfill before the kills.
      const during = attempt === 0 ? 'ingest' : 'writes';
      const ingested = 1000 * (2 + Math.floor(random() * 14));
      const target = before + Math.floor((TOTAL - before) * (0.15 + random() * 0.3));
      const reached = await waitFor(current, () =>
        during === 'ingest' ? current.output().includes(`INGESTING ${ingested}\n`) : crm.messages.size >= target,
      );
      if (!reached) break;
      current.child.kill('SIGKILL');
      await current.exited;
      kills.push({ during, messagesInCrm: crm.messages.size, resends: crm.counts().duplicateMessageWrites });
      expect(crm.messages.size).toBeGreaterThanOrEqual(before);
    }
    expect(kills.map((kill) => kill.during)).toEqual(['ingest', 'writes', 'writes', 'writes']);
    // Work was genuinely interrupted mid-way.
    expect(kills.every((kill) => kill.messagesInCrm < TOTAL)).toBe(true);
    expect(kills.at(-1)!.messagesInCrm).toBeGreaterThan(0);

    const final = run(true);
    const code = await final.exited;
    expect(final.output()).toContain('DONE');
    expect(code).toBe(0);
    const summary = JSON.parse(final.output().split('DONE ')[1]!.trim()) as {
      deadLetters: number;
      queue: { pending: number };
    };
    expect(summary.deadLetters).toBe(0);
    expect(summary.queue.pending).toBe(0);

    // Every message exactly once; nothing extra.
    expect(crm.messages.size).toBe(TOTAL);
    const counts = crm.counts();
    expect(counts.messageWrites - counts.duplicateMessageWrites).toBe(TOTAL);
    // The CRM dedupes by external key (as adapters must make it), so resends cannot show as duplicates there; what
    // shows the checkpoints work is how little each restart resends: at most the calls that were in flight (4 × 100
    // messages) and the completions not yet committed (a group commit holds up to 2,048 outcomes, and one may be
    // under way), never what was written before.
    const resendsPerRun = [...kills.map((kill) => kill.resends), counts.duplicateMessageWrites].map(
      (resends, index, all) => resends - (index === 0 ? 0 : all[index - 1]!),
    );
    for (const resends of resendsPerRun) expect(resends).toBeLessThanOrEqual(2 * 2_048 + 4 * 100);
    for (let thread = 0; thread < THREADS; thread++) {
      for (let n = 0; n < PER_THREAD; n += 37) expect(crm.messages.has(`wamid.h.${thread}.${n}`)).toBe(true);
    }
    // One contact per customer, never a duplicate created by a replay.
    expect(crm.contacts.size).toBe(THREADS);
    // In order per thread: creation order follows the original time.
    const byThread = new Map<string, { sequence: number; at: number }[]>();
    for (const message of crm.messages.values()) {
      const list = byThread.get(message.conversationKey) ?? [];
      list.push({ sequence: message.sequence, at: Date.parse(message.occurredAt) });
      byThread.set(message.conversationKey, list);
    }
    expect(byThread.size).toBe(THREADS);
    for (const list of byThread.values()) {
      list.sort((left, right) => left.sequence - right.sequence);
      for (let index = 1; index < list.length; index++) expect(list[index]!.at).toBeGreaterThan(list[index - 1]!.at);
    }
  });
});
