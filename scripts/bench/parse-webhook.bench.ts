/**
 * Benchmark of `parseWebhook` against `JSON.parse` of the same bytes, measured in the same run.
 *
 *   node --conditions=@coexist/source scripts/bench/parse-webhook.bench.ts
 *
 * Builds realistic payloads (history chunks with 1,000 and 3,000 messages in 50 threads; a 1,000-update batch
 * mixing inbound texts and images with BSUIDs, statuses, echoes and reactions; and both in one POST), then times `JSON.parse(bytes)` alone and
 * `parseWebhook(JSON.parse(bytes))`. The goal: normalization (the second minus the first) costs at most 3× JSON.parse.
 * The last line is a JSON summary.
 */
import { parseWebhook } from '@coexist/core';

const BUSINESS = '15550783881';
const PHONE_NUMBER_ID = '106540352242922';
const WABA_ID = '102290129340398';
const metadata = { display_phone_number: BUSINESS, phone_number_id: PHONE_NUMBER_ID };

function customer(index: number): string {
  return String(16505550000 + index);
}

function wamid(prefix: string, index: number): string {
  return `wamid.HBgL${prefix}${String(index).padStart(8, '0')}VAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=`;
}

const LOREM =
  'Hi! Could you send me the catalogue and the price list for the spring collection? We would like to order for our shop.';

function historyPayload(messageCount: number): unknown {
  const threadCount = 50;
  const perThread = messageCount / threadCount;
  const threads = [];
  let counter = 0;
  for (let thread = 0; thread < threadCount; thread++) {
    const messages = [];
    for (let index = 0; index < perThread; index++) {
      counter++;
      const fromBusiness = index % 2 === 1;
      const base = {
        from: fromBusiness ? BUSINESS : customer(thread),
        id: wamid('HIST', counter),
        timestamp: String(1739230955 + counter),
        history_context: fromBusiness ? { status: 'read', from_me: true } : { status: 'DELIVERED' },
      };
      messages.push(
        counter % 10 === 0
          ? { ...base, type: 'media_placeholder' }
          : { ...base, type: 'text', text: { body: `${LOREM} (${counter})` } },
      );
    }
    threads.push({ id: customer(thread), messages });
  }
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: WABA_ID,
        changes: [
          {
            field: 'history',
            value: {
              messaging_product: 'whatsapp',
              metadata,
              history: [{ metadata: { phase: 1, chunk_order: 3, progress: 40 }, threads }],
            },
          },
        ],
      },
    ],
  };
}

function messagesBatchPayload(updateCount: number): unknown {
  const changes = [];
  for (let index = 0; index < updateCount; index++) {
    const phone = customer(index % 200);
    const kind = index % 5;
    let value: Record<string, unknown>;
    let field = 'messages';
    if (kind === 0 || kind === 1) {
      value = {
        messaging_product: 'whatsapp',
        metadata,
        contacts: [
          { profile: { name: `Customer ${index % 200}` }, wa_id: phone, user_id: `US.${1349120865530 + index}` },
        ],
        messages: [
          kind === 0
            ? {
                from: phone,
                id: wamid('IN', index),
                timestamp: String(1750000000 + index),
                type: 'text',
                text: { body: LOREM },
              }
            : {
                from: phone,
                id: wamid('IN', index),
                timestamp: String(1750000000 + index),
                type: 'image',
                image: {
                  caption: 'Photo of the product',
                  mime_type: 'image/jpeg',
                  sha256: 'SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=',
                  id: String(1003383421387256 + index),
                  url: 'https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=133',
                },
              },
        ],
      };
    } else if (kind === 2) {
      value = {
        messaging_product: 'whatsapp',
        metadata,
        statuses: [
          {
            id: wamid('OUT', index),
            status: 'delivered',
            timestamp: String(1750000000 + index),
            recipient_id: phone,
            pricing: { billable: true, pricing_model: 'PMP', type: 'regular', category: 'utility' },
          },
        ],
      };
    } else if (kind === 3) {
      field = 'smb_message_echoes';
      value = {
        messaging_product: 'whatsapp',
        metadata,
        message_echoes: [
          {
            from: BUSINESS,
            to: phone,
            id: wamid('ECHO', index),
            timestamp: String(1750000000 + index),
            type: 'text',
            text: { body: LOREM },
          },
        ],
      };
    } else {
      value = {
        messaging_product: 'whatsapp',
        metadata,
        contacts: [{ profile: { name: `Customer ${index % 200}` }, wa_id: phone }],
        messages: [
          {
            from: phone,
            id: wamid('REACT', index),
            timestamp: String(1750000000 + index),
            type: 'reaction',
            reaction: { message_id: wamid('OUT', index - 2), emoji: '👍' },
          },
        ],
      };
    }
    changes.push({ value, field });
  }
  return { object: 'whatsapp_business_account', entry: [{ id: WABA_ID, changes }] };
}

interface Measurement {
  name: string;
  bytes: number;
  events: number;
  jsonParseMs: number;
  parseWebhookMs: number;
  /** `parseWebhook(JSON.parse(bytes))` time over `JSON.parse(bytes)` time. */
  totalRatio: number;
  /** Normalization alone (total minus JSON.parse) over JSON.parse. The goal is ≤ 3. */
  normalizationRatio: number;
  eventsPerSecond: number;
}

/** Median of several rounds of `iterations` calls, in milliseconds per call. */
function time(iterations: number, rounds: number, run: () => void): number {
  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const start = process.hrtime.bigint();
    for (let index = 0; index < iterations; index++) run();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6 / iterations);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

function measure(name: string, payload: unknown): Measurement {
  const bytes = JSON.stringify(payload);
  const receivedAt = new Date();
  const events = parseWebhook(JSON.parse(bytes), { receivedAt }).length;
  let sink = 0;
  // Warm up both paths so the JIT has compiled them before timing.
  const warm = () => {
    sink += (JSON.parse(bytes) as { entry: unknown[] }).entry.length;
    sink += parseWebhook(JSON.parse(bytes), { receivedAt }).length;
  };
  for (let index = 0; index < 20; index++) warm();
  const iterations = 10;
  const rounds = 15;
  // Interleave the two measurements so drift (thermal, GC) hits both alike.
  const jsonSamples: number[] = [];
  const parseSamples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    jsonSamples.push(
      time(iterations, 1, () => {
        sink += (JSON.parse(bytes) as { entry: unknown[] }).entry.length;
      }),
    );
    parseSamples.push(
      time(iterations, 1, () => {
        sink += parseWebhook(JSON.parse(bytes), { receivedAt }).length;
      }),
    );
  }
  if (sink === 0) throw new Error('unreachable');
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const jsonParseMs = median(jsonSamples);
  const parseWebhookMs = median(parseSamples);
  return {
    name,
    bytes: Buffer.byteLength(bytes),
    events,
    jsonParseMs: round(jsonParseMs),
    parseWebhookMs: round(parseWebhookMs),
    totalRatio: round(parseWebhookMs / jsonParseMs),
    normalizationRatio: round((parseWebhookMs - jsonParseMs) / jsonParseMs),
    eventsPerSecond: Math.round(events / (parseWebhookMs / 1000)),
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function combinedPayload(): unknown {
  const history = historyPayload(1000) as { entry: unknown[] };
  const batch = messagesBatchPayload(1000) as { entry: unknown[] };
  return { object: 'whatsapp_business_account', entry: [...history.entry, ...batch.entry] };
}

const results = [
  measure('history chunk, 1,000 messages', historyPayload(1000)),
  measure('history chunk, 3,000 messages', historyPayload(3000)),
  measure('messages batch, 1,000 updates', messagesBatchPayload(1000)),
  measure('one POST: history 1,000 + batch 1,000', combinedPayload()),
];
for (const result of results) {
  console.log(
    `${result.name}: ${(result.bytes / 1e6).toFixed(2)} MB, ${result.events} events | JSON.parse ${result.jsonParseMs} ms | ` +
      `parseWebhook(JSON.parse) ${result.parseWebhookMs} ms (${result.eventsPerSecond.toLocaleString('en-US')} events/s) | ` +
      `total ${result.totalRatio}× JSON.parse, normalization ${result.normalizationRatio}× JSON.parse (goal ≤ 3)`,
  );
}
const worst = Math.max(...results.map((result) => result.normalizationRatio));
console.log(
  JSON.stringify({
    benchmark: 'parse-webhook',
    node: process.version,
    goal: 3,
    worstNormalizationRatio: worst,
    met: worst <= 3,
    results,
  }),
);
