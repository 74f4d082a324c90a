import { describe, expect, it } from 'vitest';
import type { CoexistenceEvent } from '../events/coexistence-event.ts';
import { echoed, eventBase } from './__fixtures__/events.ts';
import {
  applyNumberHealthEvent,
  assessNumberHealth,
  createNumberHealthState,
  type NumberHealthState,
  recordSyncRequest,
  withAccountHealth,
} from './number-health.ts';

const account = (event: Record<string, unknown>): CoexistenceEvent =>
  ({ ...eventBase, field: 'account_update', ...event }) as CoexistenceEvent;
const fold = (events: CoexistenceEvent[], start: NumberHealthState = createNumberHealthState()) =>
  events.reduce(applyNumberHealthEvent, start);
const onboarded = account({
  id: 'added',
  type: 'account.updated',
  event: 'PARTNER_ADDED',
  raw: {},
  occurredAt: '2026-03-01T08:00:00.000Z',
});

/** Meta's inactivity disconnect, on 2026-03-20. */
const gone = account({
  id: 'gone',
  type: 'account.disconnected',
  reason: 'PRIMARY_INACTIVITY',
  initiatedBy: 'SYSTEM',
  occurredAt: '2026-03-20T00:00:00.000Z',
});

describe('number health', () => {
  it('follows connected → offboarded → reconnected → disconnected, ignoring late older events', () => {
    const state = fold([
      onboarded,
      account({ id: 'off', type: 'account.offboarded', occurredAt: '2026-03-05T10:00:00.000Z' }),
      account({ id: 'on', type: 'account.reconnected', occurredAt: '2026-03-05T10:05:00.000Z' }),
      account({
        id: 'gone',
        type: 'account.disconnected',
        reason: 'PRIMARY_INACTIVITY',
        initiatedBy: 'SYSTEM',
        occurredAt: '2026-03-20T00:00:00.000Z',
      }),
      account({ id: 'off-late', type: 'account.offboarded', occurredAt: '2026-03-06T00:00:00.000Z' }),
    ]);
    const health = assessNumberHealth(state, new Date('2026-03-21T00:00:00.000Z'));
    expect(health).toMatchObject({
      connection: 'disconnected',
      disconnectReason: 'PRIMARY_INACTIVITY',
      disconnectInitiatedBy: 'SYSTEM',
    });
    expect(health.warnings).toContain('disconnected');
  });

  it('warns from day 12 without Business App activity and predicts the day-14 disconnect', () => {
    const state = fold([
      onboarded,
      echoed('wamid.e', '2026-03-02T08:00:00.000Z'),
      echoed('wamid.h', '2026-03-10T08:00:00.000Z', { source: 'history' }),
    ]);
    const day11 = assessNumberHealth(state, new Date('2026-03-13T07:59:59.000Z'));
    expect(day11.daysSinceAppActivity).toBe(10);
    expect(day11.warnings).not.toContain('app-inactive');
    const day12 = assessNumberHealth(state, new Date('2026-03-14T08:00:00.000Z'));
    expect(day12).toMatchObject({
      daysSinceAppActivity: 12,
      lastAppActivityAt: '2026-03-02T08:00:00.000Z',
      inactivityDisconnectAt: '2026-03-16T08:00:00.000Z',
    });
    expect(day12.warnings).toContain('app-inactive');
  });

  it('counts inactivity from a re-onboarding later than the last echo', () => {
    const reonboarded = { ...onboarded, id: 'added-again', occurredAt: '2026-04-01T08:00:00.000Z' } as CoexistenceEvent;
    const state = fold([onboarded, echoed('wamid.e', '2026-03-02T08:00:00.000Z'), gone, reonboarded]);
    expect(assessNumberHealth(state, new Date('2026-04-01T09:00:00.000Z'))).toMatchObject({
      connection: 'connected',
      lastAppActivityAt: '2026-03-02T08:00:00.000Z',
      daysSinceAppActivity: 0,
      inactivityDisconnectAt: '2026-04-15T08:00:00.000Z',
    });
    expect(assessNumberHealth(state, new Date('2026-04-01T09:00:00.000Z')).warnings).not.toContain('app-inactive');
  });

  it('keeps the latest onboarding as the baseline when an earlier PARTNER_ADDED arrives late', () => {
    const reonboarded = { ...onboarded, id: 'added-again', occurredAt: '2026-04-01T08:00:00.000Z' } as CoexistenceEvent;
    const state = fold([reonboarded, onboarded]);
    expect(state).toMatchObject({
      onboardedAt: '2026-04-01T08:00:00.000Z',
      connectionChangedAt: '2026-04-01T08:00:00.000Z',
    });
    expect(assessNumberHealth(state, new Date('2026-04-01T09:00:00.000Z')).syncDeadline).toBe(
      '2026-04-02T08:00:00.000Z',
    );
    // An onboarding that arrives after a later disconnect still says when the number was onboarded.
    expect(fold([gone, onboarded])).toMatchObject({
      connection: 'disconnected',
      onboardedAt: '2026-03-01T08:00:00.000Z',
    });
  });

  it("takes the account's connection when it changed later than the number's", () => {
    const number = fold([onboarded]);
    expect(withAccountHealth(number, fold([gone]))).toMatchObject({
      connection: 'disconnected',
      disconnectReason: 'PRIMARY_INACTIVITY',
      onboardedAt: '2026-03-01T08:00:00.000Z',
    });
    const reconnected = fold([
      account({ id: 'on', type: 'account.reconnected', occurredAt: '2026-03-25T00:00:00.000Z' }),
    ]);
    expect(withAccountHealth(reconnected, fold([gone]))).toBe(reconnected);
    expect(withAccountHealth(number, undefined)).toBe(number);
  });

  it('records a sync call as made when its webhooks arrive (contact syncs, history chunks or a decline)', () => {
    const synced = { ...eventBase, field: 'smb_app_state_sync', occurredAt: '2026-03-01T08:05:00.000Z' };
    const contacts = fold([
      onboarded,
      { ...synced, id: 'sync', type: 'contact.synced', contact: { phone: '+16505551234', name: 'A' } },
    ] as CoexistenceEvent[]);
    expect(contacts.syncRequestedAt).toEqual({ smb_app_state_sync: '2026-03-01T08:05:00.000Z' });
    const declined = fold(
      [
        {
          ...eventBase,
          id: 'declined',
          type: 'history.declined',
          field: 'history',
          occurredAt: '2026-03-01T08:06:00.000Z',
          code: 2593109,
        },
      ] as CoexistenceEvent[],
      contacts,
    );
    expect(assessNumberHealth(declined, new Date('2026-03-01T09:00:00.000Z'))).toMatchObject({
      pendingSyncTypes: [],
      warnings: ['history-declined'],
    });
  });

  it('takes the onboarding from the account when the number has none or an older one', () => {
    const account = fold([onboarded]);
    expect(withAccountHealth(createNumberHealthState(), account).onboardedAt).toBe('2026-03-01T08:00:00.000Z');
    const number = { ...createNumberHealthState(), onboardedAt: '2026-04-01T00:00:00.000Z' };
    expect(withAccountHealth(number, account).onboardedAt).toBe('2026-04-01T00:00:00.000Z');
  });

  it("compares the account's times with the number's as instants, whatever their offset", () => {
    // 10:00+02:00 is 08:00Z: the account's 09:00Z onboarding and disconnect are the later ones.
    const number: NumberHealthState = {
      ...createNumberHealthState(),
      connection: 'connected',
      onboardedAt: '2026-03-01T10:00:00+02:00',
      connectionChangedAt: '2026-03-01T10:00:00+02:00',
    };
    const later = fold([
      { ...onboarded, occurredAt: '2026-03-01T09:00:00.000Z' } as CoexistenceEvent,
      { ...gone, occurredAt: '2026-03-01T09:00:00.000Z' } as CoexistenceEvent,
    ]);
    expect(withAccountHealth(number, later)).toMatchObject({
      onboardedAt: '2026-03-01T09:00:00.000Z',
      connection: 'disconnected',
    });
  });

  it('tracks the 24-hour deadline of the smb_app_data calls', () => {
    let state = fold([onboarded]);
    const health = assessNumberHealth(state, new Date('2026-03-01T09:00:00.000Z'));
    expect(health).toMatchObject({
      syncDeadline: '2026-03-02T08:00:00.000Z',
      pendingSyncTypes: ['smb_app_state_sync', 'history'],
    });
    expect(health.warnings).toContain('sync-deadline');
    state = recordSyncRequest(
      recordSyncRequest(state, 'smb_app_state_sync', '2026-03-01T08:10:00Z'),
      'history',
      '2026-03-01T08:11:00Z',
    );
    const done = assessNumberHealth(state, new Date('2026-03-01T09:00:00.000Z'));
    expect(done.pendingSyncTypes).toEqual([]);
    expect(done.warnings).toEqual([]);
  });

  it('counts history chunks per phase out of order and completes at 100', () => {
    const chunk = (phase: number, chunkOrder: number, progress: number): CoexistenceEvent =>
      ({
        ...eventBase,
        field: 'history',
        id: `chunk:${phase}:${chunkOrder}`,
        type: 'history.chunk',
        occurredAt: '2026-03-01T09:00:00.000Z',
        phase,
        chunkOrder,
        progress,
        threadCount: 2,
        messageCount: 10,
      }) as CoexistenceEvent;
    let state = fold([onboarded, chunk(0, 2, 20), chunk(0, 1, 10), chunk(0, 2, 20), chunk(1, 1, 60)]);
    let backfill = assessNumberHealth(state, new Date('2026-03-01T10:00:00.000Z')).backfill;
    expect(backfill).toMatchObject({ progress: 60, complete: false, declined: false });
    expect(backfill.phases).toEqual([
      { phase: 0, chunks: [1, 2], threadCount: 4, messageCount: 20 },
      { phase: 1, chunks: [1], threadCount: 2, messageCount: 10 },
    ]);
    state = fold([chunk(2, 1, 100), chunk(1, 2, 80)], state);
    backfill = assessNumberHealth(state, new Date('2026-03-01T10:00:00.000Z')).backfill;
    expect(backfill).toMatchObject({ progress: 100, complete: true });
  });

  it('reports a declined history', () => {
    const state = fold([
      onboarded,
      {
        ...eventBase,
        field: 'history',
        id: 'declined',
        type: 'history.declined',
        code: 2593109,
        occurredAt: '2026-03-01T09:00:00.000Z',
      },
    ]);
    const health = assessNumberHealth(state, new Date('2026-03-01T10:00:00.000Z'));
    expect(health.backfill.declined).toBe(true);
    expect(health.warnings).toContain('history-declined');
  });
});
