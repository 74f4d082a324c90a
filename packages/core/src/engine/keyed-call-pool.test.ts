import { describe, expect, it } from 'vitest';
import type { ContactFindRequest, ContactFindResult } from '../adapter/crm-records.ts';
import type { QueueLane } from '../store/coexist-store.ts';
import { KeyedCallPool, type KeyedOutcome } from './keyed-call-pool.ts';

/** A `send` whose calls wait for a token the test hands out, like a rate limiter with no tokens left. */
function gatedSend() {
  const calls: { lane: QueueLane; keys: string[] }[] = [];
  const gates: (() => void)[] = [];
  const send = async (lane: QueueLane, take: () => ContactFindRequest[]) => {
    await new Promise<void>((resolve) => gates.push(resolve));
    const requests = take();
    calls.push({ lane, keys: requests.map((request) => request.key) });
    const outcomes: KeyedOutcome<ContactFindResult>[] = requests.map((request) => ({
      key: request.key,
      ok: true as const,
      matches: [{ crmId: `crm-${request.key}`, matchedOn: 'phone' as const }],
    }));
    return { requests, outcomes };
  };
  /** Lets the waiting call at `index` (dispatch order; default the oldest) start; resolves after it answered. */
  const grant = async (index = 0) => {
    gates.splice(index, 1)[0]?.();
    await new Promise((resolve) => setTimeout(resolve, 0));
  };
  return { send, calls, grant, waiting: () => gates.length };
}

const request = (key: string): ContactFindRequest => ({ key, phone: `+1650555${key.padStart(4, '0')}` });

describe('KeyedCallPool', () => {
  it('fills calls to the batch size and searches a key once however many look it up', async () => {
    const gate = gatedSend();
    const pool = new KeyedCallPool<ContactFindRequest, ContactFindResult>({
      batchSize: () => 2,
      lingerMs: { history: 0 },
      send: gate.send,
    });
    const first = pool.run([request('1'), request('2'), request('3')], 'history');
    const second = pool.run([request('3'), request('4')], 'history');
    while (gate.waiting() > 0) await gate.grant();
    const [a, b] = await Promise.all([first, second]);
    expect(gate.calls.flatMap((call) => call.keys).sort()).toEqual(['1', '2', '3', '4']);
    expect(gate.calls.every((call) => call.keys.length <= 2)).toBe(true);
    expect(a.get('3')).toEqual(b.get('3'));
    expect(a.get('1')).toMatchObject({ ok: true, matches: [{ crmId: 'crm-1' }] });
  });

  it('keeps one call per lane waiting for its token and fills it, when it starts, with the most urgent requests', async () => {
    const gate = gatedSend();
    const pool = new KeyedCallPool<ContactFindRequest, ContactFindResult>({
      batchSize: () => 2,
      lingerMs: { history: 0 },
      send: gate.send,
    });
    // An address-book sync queues first, then a backfill batch: one history call waits for its token.
    const addressBook = pool.run([request('1'), request('2'), request('3')], 'history', { background: true });
    const backfill = pool.run([request('4'), request('2')], 'history');
    expect(gate.waiting()).toBe(1);
    // A live look-up of a key no call has taken yet gets a live call of its own.
    const live = pool.run([request('3')], 'live');
    expect(gate.waiting()).toBe(2);
    // Whichever call starts first takes the live key, then the backfill's, before the address book's.
    await gate.grant(0);
    expect(gate.calls[0]!.keys).toEqual(['3', '2']);
    await gate.grant(0);
    expect(gate.calls[1]!.keys).toEqual(['4', '1']);
    while (gate.waiting() > 0) await gate.grant();
    const [book, batch, liveOutcome] = await Promise.all([addressBook, backfill, live]);
    // Every key was sent once; each asker has its answer.
    expect(gate.calls.flatMap((call) => call.keys).sort()).toEqual(['1', '2', '3', '4']);
    expect(liveOutcome.get('3')).toMatchObject({ ok: true, matches: [{ crmId: 'crm-3' }] });
    expect(book.get('2')).toEqual(batch.get('2'));
    expect(book.size + batch.size).toBe(5);
  });

  it('expedites pending background keys someone now waits for, and sends nothing for keys not pending', async () => {
    const gate = gatedSend();
    const pool = new KeyedCallPool<ContactFindRequest, ContactFindResult>({
      batchSize: () => 2,
      lingerMs: { history: 0 },
      send: gate.send,
    });
    // An address-book sync's keys wait behind a backfill batch's.
    const addressBook = pool.run([request('1'), request('2'), request('3')], 'history', { background: true });
    const backfill = pool.run([request('4'), request('5')], 'history');
    // A batch now waits for key 3 (and for key 9, which nobody searches): 3 goes with the backfill's.
    pool.expedite(['3', '9'], 'history');
    await gate.grant(0);
    expect(gate.calls[0]!.keys).toEqual(['3', '4']);
    while (gate.waiting() > 0) await gate.grant();
    await Promise.all([addressBook, backfill]);
    expect(gate.calls.flatMap((call) => call.keys).sort()).toEqual(['1', '2', '3', '4', '5']);
  });

  it('fails the requests a call would have taken when it cannot start, and goes on with the rest', async () => {
    let refuse = true;
    const sent: string[][] = [];
    const pool = new KeyedCallPool<ContactFindRequest, ContactFindResult>({
      batchSize: () => 2,
      lingerMs: { history: 0 },
      send: async (_lane, take) => {
        if (refuse) {
          refuse = false;
          throw new Error('no token');
        }
        const requests = take();
        sent.push(requests.map((entry) => entry.key));
        return {
          requests,
          outcomes: requests.map((entry) => ({ key: entry.key, ok: true as const, matches: [] })),
        };
      },
    });
    const outcomes = await pool.run([request('1'), request('2'), request('3')], 'history');
    expect(outcomes.get('1')).toBeInstanceOf(Error);
    expect(outcomes.get('2')).toBeInstanceOf(Error);
    expect(outcomes.get('3')).toMatchObject({ ok: true, matches: [] });
    expect(sent).toEqual([['3']]);
  });

  it('never has more than maxCalls calls dispatched at once, and goes on as they answer', async () => {
    const gate = gatedSend();
    const pool = new KeyedCallPool<ContactFindRequest, ContactFindResult>({
      batchSize: () => 1,
      lingerMs: { history: 0 },
      maxCalls: 2,
      send: gate.send,
    });
    const all = pool.run([request('1'), request('2'), request('3'), request('4')], 'history');
    const live = pool.run([request('5')], 'live');
    // One history call waits for its token and takes one key; the live call makes two: the cap.
    expect(gate.waiting()).toBe(2);
    await gate.grant();
    // Started and answered: a slot freed, the next call goes.
    expect(gate.waiting()).toBe(2);
    while (gate.waiting() > 0) await gate.grant();
    expect((await all).size).toBe(4);
    expect((await live).size).toBe(1);
    expect(gate.calls.every((call) => call.keys.length === 1)).toBe(true);
    expect(gate.calls).toHaveLength(5);
  });
});
