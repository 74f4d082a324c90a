import { describe, expect, it } from 'vitest';
import type { ContactFindRequest } from '../adapter/crm-records.ts';
import type { QueueLane } from '../store/coexist-store.ts';
import { ContactFindBatcher, type ContactFindOutcome } from './contact-find-batcher.ts';

/** A `send` whose calls wait for a token the test hands out, like a rate limiter with no tokens left. */
function gatedSend() {
  const calls: { lane: QueueLane; keys: string[] }[] = [];
  const gates: (() => void)[] = [];
  const send = async (lane: QueueLane, take: () => ContactFindRequest[]) => {
    await new Promise<void>((resolve) => gates.push(resolve));
    const requests = take();
    calls.push({ lane, keys: requests.map((request) => request.key) });
    const outcomes: ContactFindOutcome[] = requests.map((request) => ({
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

describe('ContactFindBatcher', () => {
  it('fills calls to the batch size and searches a key once however many look it up', async () => {
    const gate = gatedSend();
    const batcher = new ContactFindBatcher({ batchSize: () => 2, lingerMs: { history: 0 }, send: gate.send });
    const first = batcher.find([request('1'), request('2'), request('3')], 'history');
    const second = batcher.find([request('3'), request('4')], 'history');
    while (gate.waiting() > 0) await gate.grant();
    const [a, b] = await Promise.all([first, second]);
    expect(gate.calls.flatMap((call) => call.keys).sort()).toEqual(['1', '2', '3', '4']);
    expect(gate.calls.every((call) => call.keys.length <= 2)).toBe(true);
    expect(a.get('3')).toEqual(b.get('3'));
    expect(a.get('1')).toMatchObject({ ok: true, matches: [{ crmId: 'crm-1' }] });
  });

  it('moves a live look-up out of a backfill call still waiting for its token', async () => {
    const gate = gatedSend();
    const batcher = new ContactFindBatcher({ batchSize: () => 2, lingerMs: { history: 0 }, send: gate.send });
    // Two backfill calls wait for tokens; key 3 sits in the second one.
    const backfill = batcher.find([request('1'), request('2'), request('3'), request('4')], 'history');
    expect(gate.waiting()).toBe(2);
    const live = batcher.find([request('3')], 'live');
    expect(gate.waiting()).toBe(3);
    const order: string[] = [];
    void live.then(() => order.push('live'));
    // The limiter serves live first: the live call (the last dispatched) gets the next token.
    await gate.grant(2);
    expect(order).toEqual(['live']);
    expect(gate.calls[0]).toEqual({ lane: 'live', keys: ['3'] });
    while (gate.waiting() > 0) await gate.grant();
    const outcomes = await backfill;
    // The backfill batch that held key 3 no longer sends it, yet its waiter has the live call's answer.
    expect(gate.calls.flatMap((call) => call.keys).filter((key) => key === '3')).toHaveLength(1);
    expect(outcomes.get('3')).toMatchObject({ ok: true, matches: [{ crmId: 'crm-3' }] });
  });
});
