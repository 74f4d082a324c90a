import { createHash } from 'node:crypto';
import { type CoexistenceEvent, parseWebhook } from '@coexist/core';
import { isValidPhoneNumber } from 'libphonenumber-js/max';
import { describe, expect, it } from 'vitest';
import { buildTrafficManifest, generateTraffic } from './generate-traffic.ts';
import { MEDIA_FOLLOW_UP_WINDOW_SECONDS } from './history-builder.ts';
import { TrafficOptionsError } from './traffic-plan.ts';
import type { TrafficOptions, TrafficPayload } from './traffic-types.ts';

// biome-ignore lint/suspicious/noExplicitAny: walking untyped webhook JSON in assertions
type Json = any;

const OPTIONS: TrafficOptions = {
  numbers: 3,
  messages: 1500,
  seed: 'test',
  chunkSize: 50,
  declinedHistoryNumbers: [2],
};
const payloads = [...generateTraffic(OPTIONS)];
const bodies = payloads.map((payload) => JSON.parse(payload.body) as Json);
const manifest = buildTrafficManifest(OPTIONS);
const onboardedAt = Date.parse('2026-03-02T09:00:00Z') / 1000;

function values(kind: TrafficPayload['kind']): Array<{ payload: TrafficPayload; value: Json }> {
  return payloads.flatMap((payload, index) =>
    payload.kind === kind ? [{ payload, value: bodies[index].entry[0].changes[0].value }] : [],
  );
}

function digest(items: readonly TrafficPayload[]): string {
  const hash = createHash('sha256');
  for (const item of items) hash.update(item.body).update('\n');
  return hash.digest('hex');
}

describe('generateTraffic', () => {
  it('is reproducible: the same options and seed give byte-identical payloads, another seed does not', () => {
    expect(digest([...generateTraffic(OPTIONS)])).toBe(digest(payloads));
    expect(digest([...generateTraffic({ ...OPTIONS, seed: 'other' })])).not.toBe(digest(payloads));
    const run = generateTraffic(OPTIONS);
    for (const _ of run);
    expect(run.manifest()).toEqual(manifest);
  });

  it('emits full envelopes in delivery order with consecutive sequences', () => {
    payloads.forEach((payload, index) => {
      expect(payload.sequence).toBe(index + 1);
      const body = bodies[index];
      expect(body.object).toBe('whatsapp_business_account');
      expect(body.entry).toHaveLength(1);
      expect(body.entry[0].changes[0].field).toBe(payload.field);
      if (index > 0) expect(payload.deliverAt).toBeGreaterThanOrEqual(payloads[index - 1]!.deliverAt);
    });
    expect(manifest.payloads).toBe(payloads.length);
  });

  it('escapes non-ASCII and slashes like Meta by default, and not with jsonStyle plain', () => {
    expect(payloads.every((payload) => /^[\x20-\x7e]*$/.test(payload.body))).toBe(true);
    expect(payloads.some((payload) => payload.body.includes('\\u00'))).toBe(true);
    const plain = [...generateTraffic({ ...OPTIONS, jsonStyle: 'plain' })];
    expect(plain.some((payload) => /[\u0080-\uffff]/.test(payload.body))).toBe(true);
    expect(plain.map((payload) => JSON.parse(payload.body))).toEqual(bodies);
  });

  it('starts each number with the contact sync, including contacts that never write', () => {
    for (const number of manifest.numbers) {
      const first = payloads.find((payload) => payload.numberIndex === number.index)!;
      expect(first.kind).toBe('contact-sync');
      expect(number.contacts.synced).toBeGreaterThan(0);
    }
    expect(manifest.numbers.some((number) => number.contacts.withoutActivity > 0)).toBe(true);
    const contacts = values('contact-sync').flatMap(({ value }) => value.state_sync);
    for (const item of contacts) {
      expect(item).toMatchObject({ type: 'contact', action: 'add', metadata: { timestamp: expect.any(String) } });
      expect(item.contact.full_name).toEqual(expect.any(String));
      expect(item.contact.first_name).toEqual(expect.any(String));
    }
  });

  it('uses valid phone numbers from several countries, BSUIDs, usernames and a few empty phone strings', () => {
    const contacts = values('contact-sync').flatMap(({ value }) => value.state_sync.map((item: Json) => item.contact));
    const withPhone = contacts.filter((contact: Json) => contact.phone_number !== '');
    expect(withPhone.every((contact: Json) => isValidPhoneNumber(`+${contact.phone_number}`))).toBe(true);
    const callingCodes = new Set(withPhone.map((contact: Json) => contact.phone_number.slice(0, 2)));
    expect(callingCodes.size).toBeGreaterThanOrEqual(5);
    expect(contacts.some((contact: Json) => /^[A-Z]{2}\.\d{19,20}$/.test(contact.user_id ?? ''))).toBe(true);
    expect(contacts.some((contact: Json) => contact.username)).toBe(true);
    const threads = values('history-chunk').flatMap(({ value }) => value.history[0].threads);
    expect(threads.some((thread: Json) => thread.id === '' && thread.context?.user_id)).toBe(true);
  });

  it('splits history into three phases of chunks delivered out of order, chunk_order 1..n, progress reaching 100', () => {
    for (const number of manifest.numbers.filter((item) => item.historyShared)) {
      const chunks = values('history-chunk')
        .filter(({ payload }) => payload.numberIndex === number.index)
        .map(({ value }) => value.history[0].metadata);
      let outOfOrder = false;
      for (const phase of number.history.phases) {
        const orders = chunks
          .filter((chunk: Json) => chunk.phase === phase.phase)
          .map((chunk: Json) => chunk.chunk_order);
        expect([...orders].sort((a, b) => a - b)).toEqual(
          Array.from({ length: phase.chunks }, (_, index) => index + 1),
        );
        if (orders.some((order: number, index: number) => index > 0 && order < orders[index - 1])) outOfOrder = true;
      }
      expect(outOfOrder).toBe(true);
      // Phases arrive in order; progress rises with (phase, chunk_order) and the last chunk says 100.
      const produced = [...chunks].sort((a: Json, b: Json) => a.phase - b.phase || a.chunk_order - b.chunk_order);
      expect(chunks.map((chunk: Json) => chunk.phase)).toEqual(produced.map((chunk: Json) => chunk.phase));
      produced.forEach((chunk: Json, index) => {
        if (index > 0) expect(chunk.progress).toBeGreaterThanOrEqual(produced[index - 1].progress);
      });
      expect(produced.at(-1).progress).toBe(100);
      expect(number.history.phases.map((phase) => phase.messages).reduce((a, b) => a + b, 0)).toBe(
        number.historyMessages,
      );
    }
  });

  it('keeps history timestamps inside their phase window (day 0–1, 1–90, 90–180)', () => {
    for (const { payload, value } of values('history-chunk')) {
      const number = manifest.numbers[payload.numberIndex!]!;
      const start = Date.parse(number.onboardedAt) / 1000;
      const { phase } = value.history[0].metadata;
      const [from, to] = phase === 0 ? [0, 1] : phase === 1 ? [1, 90] : [90, 180];
      for (const thread of value.history[0].threads) {
        for (const message of thread.messages) {
          const age = (start - Number(message.timestamp)) / 86_400;
          expect(age).toBeGreaterThanOrEqual(from);
          expect(age).toBeLessThanOrEqual(to);
        }
      }
    }
  });

  it('sends media as placeholders and a later follow-up with the same wamid only for media of the last 14 days', () => {
    const placeholders = new Map<string, { sequence: number; timestamp: number; numberIndex: number }>();
    for (const { payload, value } of values('history-chunk')) {
      for (const thread of value.history[0].threads) {
        for (const message of thread.messages) {
          if (message.type === 'media_placeholder') {
            placeholders.set(message.id, {
              sequence: payload.sequence,
              timestamp: Number(message.timestamp),
              numberIndex: payload.numberIndex!,
            });
          }
        }
      }
    }
    const followUps = values('history-media');
    expect(followUps.length).toBe(manifest.totals.mediaFollowUps);
    const sides = new Set<string>();
    for (const { payload, value } of followUps) {
      expect(payload.field).toBe('history');
      const message = (value.messages ?? value.message_echoes)[0];
      sides.add(value.messages ? 'customer' : 'business');
      expect(['image', 'audio', 'video', 'document', 'sticker']).toContain(message.type);
      expect(message[message.type].id).toEqual(expect.any(String));
      const placeholder = placeholders.get(message.id);
      expect(placeholder).toBeDefined();
      expect(payload.sequence).toBeGreaterThan(placeholder!.sequence);
      expect(String(placeholder!.timestamp)).toBe(message.timestamp);
    }
    expect(sides).toEqual(new Set(['customer', 'business']));
    const followed = new Set(followUps.map(({ value }) => (value.messages ?? value.message_echoes)[0].id));
    let old = 0;
    for (const [id, placeholder] of placeholders) {
      const numberOnboardedAt = Date.parse(manifest.numbers[placeholder.numberIndex]!.onboardedAt) / 1000;
      const recent = placeholder.timestamp >= numberOnboardedAt - MEDIA_FOLLOW_UP_WINDOW_SECONDS;
      expect(followed.has(id)).toBe(recent);
      if (!recent) old++;
    }
    expect(old).toBeGreaterThan(0);
    expect(placeholders.size).toBe(manifest.totals.placeholders);
  });

  it('encodes business-sent history messages both ways: with `to` (Meta docs) and with from_me + lowercase status', () => {
    const business = values('history-chunk').flatMap(({ value }) =>
      value.history[0].threads.flatMap((thread: Json) =>
        thread.messages.filter((message: Json) => message.from === value.metadata.display_phone_number),
      ),
    );
    const metaDocs = business.filter((message: Json) => 'to' in message);
    const fromMe = business.filter((message: Json) => message.history_context.from_me === true);
    expect(metaDocs.length).toBeGreaterThan(0);
    expect(fromMe.length).toBeGreaterThan(0);
    expect(
      metaDocs.every(
        (message: Json) => /^[A-Z]+$/.test(message.history_context.status) && !('from_me' in message.history_context),
      ),
    ).toBe(true);
    expect(fromMe.every((message: Json) => /^[a-z]+$/.test(message.history_context.status) && !('to' in message))).toBe(
      true,
    );
    const totals = manifest.numbers.reduce(
      (sum, number) => sum + number.history.businessMessagesMetaDocs + number.history.businessMessagesFromMe,
      0,
    );
    expect(metaDocs.length + fromMe.length).toBe(totals);
    const onlyDocs = [...generateTraffic({ ...OPTIONS, historyEncoding: 'meta-docs' })];
    expect(onlyDocs.some((payload) => payload.body.includes('"from_me"'))).toBe(false);
  });

  it('sends the declined-history error 2593109 for the selected number and no chunks for it', () => {
    const declined = values('history-declined');
    expect(declined).toHaveLength(1);
    expect(declined[0]!.payload.numberIndex).toBe(2);
    expect(declined[0]!.value.history[0].errors[0].code).toBe(2593109);
    expect(values('history-chunk').some(({ payload }) => payload.numberIndex === 2)).toBe(false);
    expect(manifest.numbers[2]!.historyMessages).toBe(0);
    expect(manifest.numbers[2]!.liveMessages).toBeGreaterThan(0);
  });

  it('sends echo statuses out of order and duplicated, as the manifest says', () => {
    const rank: Record<string, number> = { sent: 0, delivered: 1, read: 2 };
    const firstSeen = new Map<string, string[]>();
    const pairs = new Map<string, number>();
    for (const { value } of values('live-statuses')) {
      for (const status of value.statuses) {
        const key = `${status.id}/${status.status}`;
        pairs.set(key, (pairs.get(key) ?? 0) + 1);
        if (pairs.get(key) === 1) firstSeen.set(status.id, [...(firstSeen.get(status.id) ?? []), status.status]);
      }
    }
    const total = [...pairs.values()].reduce((sum, count) => sum + count, 0);
    const duplicates = total - pairs.size;
    const outOfOrder = [...firstSeen.values()].filter((list) =>
      list.some((status, index) => index > 0 && rank[status]! < rank[list[index - 1]!]!),
    ).length;
    expect(total).toBe(manifest.totals.statuses);
    expect(duplicates).toBe(manifest.totals.duplicateStatuses);
    expect(duplicates).toBeGreaterThan(0);
    expect(outOfOrder).toBe(manifest.numbers.reduce((sum, number) => sum + number.statuses.outOfOrder, 0));
    expect(outOfOrder).toBeGreaterThan(0);
  });

  it('batches live updates (never above maxBatchSize) and ends with ACCOUNT events then PARTNER_REMOVED last', () => {
    const small = [...generateTraffic({ ...OPTIONS, liveMessages: 600, maxBatchSize: 3, liveDays: 1 })];
    const live = small.filter((payload) => payload.kind.startsWith('live-'));
    expect(Math.max(...live.map((payload) => payload.updates))).toBe(3);
    const account = payloads
      .filter((payload) => payload.kind === 'account-update')
      .map((payload) => JSON.parse(payload.body).entry[0]);
    expect(account.map((entry: Json) => entry.changes[0].value.event)).toEqual([
      'ACCOUNT_OFFBOARDED',
      'ACCOUNT_RECONNECTED',
      'PARTNER_REMOVED',
    ]);
    expect(account.every((entry: Json) => typeof entry.time === 'number')).toBe(true);
    const last = bodies.at(-1).entry[0].changes[0].value;
    expect(last).toMatchObject({
      event: 'PARTNER_REMOVED',
      disconnection_info: { reason: expect.any(String), initiated_by: expect.any(String) },
    });
  });

  it('passes parseWebhook, and the normalized events agree with the manifest', () => {
    const events: CoexistenceEvent[] = bodies.flatMap((body) =>
      parseWebhook(body, { receivedAt: new Date(onboardedAt * 1000) }),
    );
    const count = (type: CoexistenceEvent['type']) => events.filter((event) => event.type === type).length;
    expect(count('unknown')).toBe(0);
    expect(count('webhook.error')).toBe(0);
    for (const number of manifest.numbers) {
      const ofNumber = events.filter((event) => event.phoneNumberId === number.phoneNumberId);
      const messageIds = new Set(
        ofNumber.flatMap((event) =>
          event.type === 'message.received' || event.type === 'message.echoed' ? [event.message.id] : [],
        ),
      );
      expect(messageIds.size).toBe(number.messages);
      const echoed = ofNumber.filter((event) => event.type === 'message.echoed');
      expect(new Set(echoed.map((event) => (event.type === 'message.echoed' ? event.message.id : ''))).size).toBe(
        number.businessMessages,
      );
      const media = ofNumber.flatMap((event) => (event.type === 'media.available' ? [event.messageId] : []));
      expect(media.length).toBe(number.history.mediaFollowUps);
      expect(media.every((id) => messageIds.has(id))).toBe(true);
      expect(ofNumber.filter((event) => event.type === 'history.chunk').length).toBe(number.history.chunks);
      expect(ofNumber.filter((event) => event.type === 'message.status').length).toBe(number.statuses.total);
      expect(ofNumber.filter((event) => event.type === 'message.edited').length).toBe(number.edits);
      expect(ofNumber.filter((event) => event.type === 'message.revoked').length).toBe(number.revokes);
      const reactions = ofNumber.filter((event) => event.type === 'message.reaction');
      expect(reactions.length).toBe(number.reactions + number.reactionRemovals);
      expect(reactions.filter((event) => event.type === 'message.reaction' && event.emoji === null).length).toBe(
        number.reactionRemovals,
      );
      expect(ofNumber.filter((event) => event.type === 'contact.synced').length).toBe(
        number.contacts.synced + number.contacts.liveAdded + number.contacts.liveEdited,
      );
    }
    expect(count('history.declined')).toBe(1);
    expect(count('account.offboarded')).toBe(1);
    expect(count('account.reconnected')).toBe(1);
    expect(events.at(-1)?.type).toBe('account.disconnected');
    const receivedTypes = new Set(
      events.flatMap((event) =>
        event.type === 'message.received' && event.source === 'live' ? [event.message.kind] : [],
      ),
    );
    for (const type of ['text', 'image', 'audio', 'document', 'interactive']) expect(receivedTypes).toContain(type);
  });

  it('rejects invalid options with a typed error naming the option', () => {
    const attempt = (options: TrafficOptions) => {
      try {
        generateTraffic(options);
      } catch (error) {
        return error;
      }
      return undefined;
    };
    expect(attempt({ numbers: 0 })).toBeInstanceOf(TrafficOptionsError);
    expect(attempt({ numbers: 0 })).toMatchObject({ option: 'numbers' });
    expect(attempt({ numbers: 2, declinedHistoryNumbers: [5] })).toMatchObject({ option: 'declinedHistoryNumbers[0]' });
    expect(attempt({ messages: 10, liveMessages: 11 })).toMatchObject({ option: 'liveMessages' });
    expect(attempt({ onboardedAt: 'yesterday' })).toMatchObject({ option: 'onboardedAt' });
    expect(attempt({ chunkSize: 1.5 })).toMatchObject({ option: 'chunkSize' });
    expect((attempt({ numbers: -1 }) as Error).message).toMatch(/^\[coexist\/sandbox\] /);
  });
});
