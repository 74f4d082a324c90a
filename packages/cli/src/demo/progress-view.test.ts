import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatProgressRow, type ProgressRow, ProgressView } from './progress-view.ts';

const row: ProgressRow = {
  crm: 'hubspot',
  businessPhone: '+15550783881',
  phase: 'backfill',
  historyPhase: 1,
  chunksSeen: 7,
  metaProgress: 45,
  written: 1250,
  expected: 5000,
  ratePerSecond: 812.4,
  etaSeconds: 75,
};

function sink(isTTY: boolean) {
  let text = '';
  const stream = Object.assign(
    new Writable({
      write(chunk, _encoding, callback) {
        text += String(chunk);
        callback();
      },
    }),
    { isTTY },
  );
  return { stream, text: () => text };
}

describe('formatProgressRow', () => {
  it('shows the CRM, number, phase, chunks, a bar with the percentage written, counts, rate and ETA', () => {
    const line = formatProgressRow(row);
    expect(line).toContain('hubspot');
    expect(line).toContain('backfill p1');
    expect(line).toContain('chunks   7 ( 45%)');
    expect(line).toContain(`${'█'.repeat(6)}${'░'.repeat(18)}  25%`);
    expect(line).toContain('1,250/5,000 msgs');
    expect(line).toContain('812/s  ETA 1m15s');
  });
});

describe('ProgressView', () => {
  it('redraws in place on a terminal', () => {
    const out = sink(true);
    const view = new ProgressView(out.stream);
    view.update(row);
    view.update({ ...row, businessPhone: '+15550783882' });
    view.render();
    view.render();
    expect(out.text()).toContain('\u001b[2F');
  });

  it('throttles plain lines when not a terminal, and always draws the final state', () => {
    const out = sink(false);
    let now = 10_000;
    const view = new ProgressView(out.stream, { now: () => now });
    view.update(row);
    view.render();
    now += 500;
    view.render();
    expect(out.text().split('\n').filter(Boolean)).toHaveLength(1);
    view.update({ ...row, written: 5000 });
    view.finish();
    expect(out.text()).toContain('5,000/5,000 msgs');
    expect(out.text()).not.toContain('\u001b');
  });
});
