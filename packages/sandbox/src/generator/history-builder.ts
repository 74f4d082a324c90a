/**
 * The six-month history backfill of one number (M-HIST, M-ONB): three phases (day 0–1, 1–90,
 * 90–180), each split into chunks delivered out of order, `progress` rising to 100; media as
 * `media_placeholder`, with a later media follow-up (same wamid) for media from the last 14 days;
 * or, when the business declined sharing, the single error-2593109 webhook.
 *
 * Chunks are built lazily from `(seed, phase, customer, position)`, so memory stays bounded by one
 * chunk plus the pending media follow-ups, whatever the history size.
 */
import {
  customerRecipient,
  customerSender,
  echoContactEntry,
  inboundContactEntry,
  threadIdentity,
  visiblePhone,
} from './customer-fields.ts';
import type { ManifestRecorder } from './manifest-recorder.ts';
import { createContent, createMediaContent, MEDIA_TYPES } from './message-content.ts';
import { createWamid, WAMID_STREAM } from './message-ids.ts';
import type { SeededRandom } from './seeded-random.ts';
import { numberMetadata, type TrafficDraft } from './traffic-draft.ts';
import { allocate, type NumberPlan, type PlannedCustomer, type ResolvedTrafficOptions } from './traffic-plan.ts';
import { createEnvelope, sortKeysDeep } from './webhook-json.ts';

const DAY = 86_400;

/** Media newer than this (before onboarding) gets a follow-up with the real media (M-HIST: "the last two weeks"). */
export const MEDIA_FOLLOW_UP_WINDOW_SECONDS = 14 * DAY;

/** The three history phases, as day ranges before onboarding, with a relative message density per day. */
export const HISTORY_PHASES = [
  { phase: 0, fromDays: 0, toDays: 1, density: 6 },
  { phase: 1, fromDays: 1, toDays: 90, density: 1.2 },
  { phase: 2, fromDays: 90, toDays: 180, density: 0.8 },
] as const;

/** Error Meta sends when the business declined history sharing (M-HIST, M-ONB). */
export const HISTORY_DECLINED_ERROR = {
  code: 2593109,
  title: 'History sync is turned off by the business from the WhatsApp Business App',
  message: 'History sync is turned off by the business from the WhatsApp Business App',
  error_data: { details: 'History sharing is turned off by the business' },
} as const;

const HISTORY_TYPES = {
  text: 74,
  image: 9,
  audio: 6,
  video: 2,
  document: 3,
  sticker: 3,
  location: 1.5,
  contacts: 1,
} as const;
const BUSINESS_STATUSES = { READ: 58, DELIVERED: 25, SENT: 10, ERROR: 2, PENDING: 5 } as const;
const CUSTOMER_STATUSES = { READ: 92, DELIVERED: 8 } as const;

interface ThreadSlice {
  customer: PlannedCustomer;
  count: number;
  /** Position of the thread's first message inside the phase. */
  offset: number;
}

interface PhaseLayout {
  phase: 0 | 1 | 2;
  fromDays: number;
  toDays: number;
  total: number;
  /** Messages of all earlier phases (keeps wamid indexes unique and drives `progress`). */
  before: number;
  threads: ThreadSlice[];
  /** Chunk boundaries: chunk k holds positions [chunkStarts[k], chunkStarts[k + 1]). */
  chunkStarts: number[];
}

interface FollowUp {
  readyAt: number;
  draft: TrafficDraft;
}

function layoutPhases(plan: NumberPlan, options: ResolvedTrafficOptions, random: SeededRandom): PhaseLayout[] {
  const phaseTotals = allocate(
    plan.historyMessages,
    HISTORY_PHASES.map((phase) => phase.density * (phase.toDays - phase.fromDays)),
  );
  const historyCustomers = plan.customers.filter((customer) => customer.inHistory);
  let before = 0;
  return HISTORY_PHASES.map((definition, phaseIndex) => {
    const total = phaseTotals[phaseIndex] ?? 0;
    let weights = historyCustomers.map((customer) =>
      customer.firstSeenDaysAgo >= definition.fromDays ? customer.weight : 0,
    );
    if (!weights.some((weight) => weight > 0)) weights = historyCustomers.map((customer) => customer.weight);
    const counts = allocate(total, weights);
    const threads: ThreadSlice[] = [];
    let offset = 0;
    counts.forEach((count, index) => {
      if (count === 0) return;
      threads.push({ customer: historyCustomers[index]!, count, offset });
      offset += count;
    });
    const sizer = random.derive('chunk-sizes', definition.phase);
    const chunkStarts = [0];
    const minimum = Math.max(1, Math.ceil(options.chunkSize * 0.6));
    while (chunkStarts[chunkStarts.length - 1]! < total) {
      chunkStarts.push(Math.min(total, chunkStarts[chunkStarts.length - 1]! + sizer.int(minimum, options.chunkSize)));
    }
    const layout: PhaseLayout = {
      phase: definition.phase,
      fromDays: definition.fromDays,
      toDays: definition.toDays,
      total,
      before,
      threads,
      chunkStarts,
    };
    before += total;
    return layout;
  });
}

function findThread(threads: readonly ThreadSlice[], position: number): number {
  let low = 0;
  let high = threads.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (threads[middle]!.offset <= position) low = middle;
    else high = middle - 1;
  }
  return low;
}

/** Yields the history webhooks of one number in delivery order, starting at `startAt` (Unix seconds). */
export function* buildHistory(
  plan: NumberPlan,
  options: ResolvedTrafficOptions,
  random: SeededRandom,
  recorder: ManifestRecorder,
  startAt: number,
): Generator<TrafficDraft> {
  const metadata = numberMetadata(plan);
  if (!plan.historyShared) {
    yield {
      kind: 'history-declined',
      field: 'history',
      numberIndex: plan.index,
      deliverAt: startAt,
      updates: 1,
      body: createEnvelope(plan.wabaId, 'history', {
        messaging_product: 'whatsapp',
        metadata,
        history: [{ errors: [HISTORY_DECLINED_ERROR] }],
      }),
    };
    return;
  }
  const layouts = layoutPhases(plan, options, random);
  for (const layout of layouts) {
    recorder.phase(plan.index, { phase: layout.phase, chunks: layout.chunkStarts.length - 1, messages: layout.total });
  }
  // A phase (or a whole history) without messages sends no webhooks (M-HIST).
  const total = plan.historyMessages;
  const numberManifest = recorder.number(plan.index);
  let clock = startAt;
  let chunksProduced = 0;
  const pending: FollowUp[] = [];

  const buildMessage = (
    layout: PhaseLayout,
    thread: ThreadSlice,
    position: number,
    encoding: 'meta-docs' | 'from-me',
    followUps: FollowUp[],
  ) => {
    const customer = thread.customer;
    const phaseStart = plan.onboardedAt - layout.toDays * DAY;
    const phaseEnd = plan.onboardedAt - layout.fromDays * DAY - 60;
    const seenStart = plan.onboardedAt - (customer.firstSeenDaysAgo + 1) * DAY;
    const windowStart = Math.max(phaseStart, Math.min(seenStart, phaseEnd - 3600));
    const span = phaseEnd - windowStart;
    // Messages come in conversations of a few messages minutes apart, spread over the window.
    const sessions = Math.max(1, Math.ceil(thread.count / 4));
    const session = Math.floor((position * sessions) / thread.count);
    const first = Math.ceil((session * thread.count) / sessions);
    const perSession = Math.ceil(((session + 1) * thread.count) / sessions) - first;
    const sessionRandom = random.derive('session', layout.phase, customer.index, session);
    const slot = span / sessions;
    const sessionStart = windowStart + session * slot + sessionRandom.next() * slot * 0.5;
    const gap = Math.min(sessionRandom.float(20, 600), (slot * 0.5) / (perSession + 1));
    const timestamp = Math.floor(sessionStart + (position - first) * gap);

    const messageRandom = random.derive('message', layout.phase, customer.index, position);
    const fromBusiness = messageRandom.chance(0.45);
    const type = messageRandom.weighted(HISTORY_TYPES);
    const id = createWamid(
      customer.phoneDigits,
      fromBusiness ? 'outbound' : 'inbound',
      plan.key,
      WAMID_STREAM.history,
      layout.before + thread.offset + position,
      messageRandom,
    );
    const isMedia = MEDIA_TYPES.has(type);
    const content = isMedia
      ? createMediaContent(messageRandom, type, customer.language, 'history-follow-up')
      : createContent(messageRandom, type, customer.language, fromBusiness ? 'business' : 'customer', customer);
    let status: string = fromBusiness
      ? messageRandom.weighted(BUSINESS_STATUSES)
      : messageRandom.weighted(CUSTOMER_STATUSES);
    if (status === 'PENDING' && layout.phase !== 0) status = 'DELIVERED';
    if (type === 'audio' && status === 'READ' && messageRandom.chance(0.6)) status = 'PLAYED';
    const historyContext: Record<string, unknown> =
      encoding === 'meta-docs'
        ? { status }
        : fromBusiness
          ? { from_me: true, status: status.toLowerCase() }
          : { status: status.toLowerCase() };
    const timestampText = String(timestamp);
    const sender = fromBusiness
      ? encoding === 'meta-docs'
        ? { from: plan.display.digits, to: visiblePhone(customer) }
        : { from: plan.display.digits }
      : customerSender(customer);
    const message: Record<string, unknown> = {
      ...sender,
      id,
      timestamp: timestampText,
      type: isMedia ? 'media_placeholder' : type,
      ...(isMedia ? {} : content),
      history_context: historyContext,
    };

    recorder.message(plan.index, customer.index, 'history', fromBusiness ? 'business' : 'customer');
    if (fromBusiness) {
      if (encoding === 'meta-docs') numberManifest.history.businessMessagesMetaDocs++;
      else numberManifest.history.businessMessagesFromMe++;
    }
    if (isMedia) {
      numberManifest.history.placeholders++;
      if (timestamp >= plan.onboardedAt - MEDIA_FOLLOW_UP_WINDOW_SECONDS) {
        numberManifest.history.mediaFollowUps++;
        const media = { id, timestamp: timestampText, type, ...content };
        const value: Record<string, unknown> = fromBusiness
          ? {
              messaging_product: 'whatsapp',
              metadata,
              ...(customer.userId ? { contacts: [echoContactEntry(customer)] } : {}),
              message_echoes: [{ from: plan.display.digits, ...customerRecipient(customer), ...media }],
            }
          : {
              messaging_product: 'whatsapp',
              metadata,
              ...(customer.userId ? { contacts: [inboundContactEntry(customer)] } : {}),
              messages: [{ ...customerSender(customer), ...media }],
            };
        followUps.push({
          readyAt: 0,
          draft: {
            kind: 'history-media',
            field: 'history',
            numberIndex: plan.index,
            deliverAt: 0,
            updates: 1,
            body: createEnvelope(plan.wabaId, 'history', value),
          },
        });
      }
    }
    return message;
  };

  function* release(upTo: number): Generator<TrafficDraft> {
    pending.sort((a, b) => a.readyAt - b.readyAt);
    while (pending.length > 0 && pending[0]!.readyAt <= upTo) {
      const followUp = pending.shift()!;
      clock = Math.max(clock, followUp.readyAt);
      followUp.draft.deliverAt = clock;
      yield followUp.draft;
    }
  }

  for (const layout of layouts) {
    const chunkCount = layout.chunkStarts.length - 1;
    if (chunkCount === 0) continue;
    // Chunks "may not be delivered sequentially" (M-HIST): deliver each phase in a shuffled order.
    const order = random
      .derive('chunk-order', layout.phase)
      .shuffle(Array.from({ length: chunkCount }, (_, index) => index));
    const firstChunkOfPhase = chunksProduced;
    for (const chunkIndex of order) {
      const start = layout.chunkStarts[chunkIndex]!;
      const end = layout.chunkStarts[chunkIndex + 1]!;
      const productionIndex = firstChunkOfPhase + chunkIndex;
      const encoding =
        options.historyEncoding === 'mixed'
          ? productionIndex % 2 === 0
            ? 'meta-docs'
            : 'from-me'
          : options.historyEncoding;
      const followUps: FollowUp[] = [];
      const threads: Array<Record<string, unknown>> = [];
      let threadIndex = findThread(layout.threads, start);
      let position = start;
      while (position < end) {
        const thread = layout.threads[threadIndex]!;
        const from = position - thread.offset;
        const to = Math.min(thread.count, end - thread.offset);
        const messages: Array<Record<string, unknown>> = [];
        for (let index = from; index < to; index++)
          messages.push(buildMessage(layout, thread, index, encoding, followUps));
        threads.push({ ...threadIdentity(thread.customer), messages });
        position = thread.offset + to;
        threadIndex++;
      }
      // Progress is the overall share produced once this chunk was built (100 = the last chunk of the last phase).
      const progress = Math.floor(((layout.before + end) * 100) / total);
      const envelope = createEnvelope(plan.wabaId, 'history', {
        messaging_product: 'whatsapp',
        metadata,
        history: [{ metadata: { phase: layout.phase, chunk_order: chunkIndex + 1, progress }, threads }],
      });
      yield {
        kind: 'history-chunk',
        field: 'history',
        numberIndex: plan.index,
        deliverAt: clock,
        updates: end - start,
        // The real-data variant arrives with sorted keys.
        body: encoding === 'from-me' ? sortKeysDeep(envelope) : envelope,
      };
      for (const followUp of followUps) {
        followUp.readyAt =
          clock + random.derive('follow-up', productionIndex, followUp.draft.updates, pending.length).int(20, 240);
        pending.push(followUp);
      }
      clock += random.derive('chunk-gap', productionIndex).int(1, 6);
      yield* release(clock);
    }
    chunksProduced += chunkCount;
  }
  yield* release(Number.POSITIVE_INFINITY);
}
