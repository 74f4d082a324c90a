import { describe, expect, it } from 'vitest';
import { echoed, received } from './__fixtures__/events.ts';
import { applyServiceWindowEvent, type ServiceWindowState, serviceWindowAt } from './service-window.ts';

const onboardedAt = '2026-03-01T08:00:00.000Z';

describe('service window', () => {
  it('is closed (template required) until a customer writes', () => {
    expect(serviceWindowAt({}, new Date('2026-03-01T09:00:00Z'))).toEqual({
      open: false,
      freeFormAllowed: false,
      templateRequired: true,
    });
  });

  it('opens on a live customer message and closes exactly 24 h later', () => {
    const state = applyServiceWindowEvent({}, received('wamid.1', '2026-03-01T09:00:00.000Z'), { onboardedAt });
    const justBefore = serviceWindowAt(state, new Date('2026-03-02T08:59:59.999Z'));
    expect(justBefore).toEqual({
      open: true,
      expiresAt: '2026-03-02T09:00:00.000Z',
      freeFormAllowed: true,
      templateRequired: false,
    });
    const atExpiry = serviceWindowAt(state, new Date('2026-03-02T09:00:00.000Z'));
    expect(atExpiry).toMatchObject({
      open: false,
      freeFormAllowed: false,
      templateRequired: true,
      expiresAt: '2026-03-02T09:00:00.000Z',
    });
  });

  it('is not opened by a message from before onboarding, nor by history', () => {
    const before = applyServiceWindowEvent({}, received('wamid.0', '2026-03-01T07:59:59.000Z'), { onboardedAt });
    expect(before).toEqual({});
    const history = applyServiceWindowEvent(
      {},
      received('wamid.h', '2026-03-01T09:00:00.000Z', { source: 'history' }),
      { onboardedAt },
    );
    expect(history).toEqual({});
  });

  it('is neither opened nor extended by echoes', () => {
    let state: ServiceWindowState = applyServiceWindowEvent({}, echoed('wamid.e0', '2026-03-01T09:00:00.000Z'), {
      onboardedAt,
    });
    expect(state).toEqual({});
    state = applyServiceWindowEvent(state, received('wamid.1', '2026-03-01T10:00:00.000Z'), { onboardedAt });
    state = applyServiceWindowEvent(state, echoed('wamid.e1', '2026-03-02T09:00:00.000Z'), { onboardedAt });
    expect(serviceWindowAt(state, new Date('2026-03-02T10:00:00.000Z')).open).toBe(false);
  });

  it('is extended by a later customer message and not shortened by an older one arriving late', () => {
    // In order: the window opened at 10:00 closes at 10:00 the next day until the 12:00 message moves it.
    let state = applyServiceWindowEvent({}, received('wamid.1', '2026-03-01T10:00:00.000Z'));
    expect(serviceWindowAt(state, new Date('2026-03-02T11:00:00.000Z')).open).toBe(false);
    state = applyServiceWindowEvent(state, received('wamid.2', '2026-03-01T12:00:00.000Z'));
    expect(serviceWindowAt(state, new Date('2026-03-02T11:00:00.000Z'))).toMatchObject({
      open: true,
      expiresAt: '2026-03-02T12:00:00.000Z',
    });
    // Out of order: the older message arriving late changes nothing.
    state = applyServiceWindowEvent({}, received('wamid.2', '2026-03-01T12:00:00.000Z'));
    state = applyServiceWindowEvent(state, received('wamid.1', '2026-03-01T10:00:00.000Z'));
    expect(serviceWindowAt(state, new Date('2026-03-02T11:00:00.000Z'))).toMatchObject({
      open: true,
      expiresAt: '2026-03-02T12:00:00.000Z',
    });
  });
});
