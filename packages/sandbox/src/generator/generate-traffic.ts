/**
 * The Coexistence traffic generator: a seeded, reproducible stream of Meta-shaped webhook payloads
 * for one or more business numbers (contact sync, six-month history, live traffic, account events),
 * in delivery order, plus the ground-truth manifest a CRM mirror can be checked against.
 */
import { buildContactSync } from './contact-sync-builder.ts';
import { buildHistory } from './history-builder.ts';
import { buildLiveTraffic } from './live-traffic-builder.ts';
import { ManifestRecorder } from './manifest-recorder.ts';
import { SeededRandom } from './seeded-random.ts';
import type { TrafficDraft } from './traffic-draft.ts';
import { type NumberPlan, planTraffic, type TrafficPlan } from './traffic-plan.ts';
import type { TrafficManifest, TrafficOptions, TrafficPayload } from './traffic-types.ts';
import { createEnvelope, serializeWebhookBody } from './webhook-json.ts';

/** A generated run: iterate it for the payloads (lazily, in delivery order), ask it for the manifest. */
export interface GeneratedTraffic extends Iterable<TrafficPayload> {
  /** The resolved plan: options with defaults, and each number's ids. */
  readonly plan: TrafficPlan;
  /** The ground truth; computed by a separate pass unless an iteration already ran to the end. */
  manifest(): TrafficManifest;
}

interface HeapEntry {
  draft: TrafficDraft;
  stream: number;
  iterator: Iterator<TrafficDraft>;
}

function before(a: HeapEntry, b: HeapEntry): boolean {
  return a.draft.deliverAt < b.draft.deliverAt || (a.draft.deliverAt === b.draft.deliverAt && a.stream < b.stream);
}

/** Merges streams that are each ordered by `deliverAt` into one ordered stream (a binary heap; ties by stream). */
function* mergeByTime(streams: ReadonlyArray<Iterable<TrafficDraft>>): Generator<TrafficDraft> {
  const heap: HeapEntry[] = [];
  const siftUp = (index: number) => {
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(heap[index]!, heap[parent]!)) break;
      [heap[index], heap[parent]] = [heap[parent]!, heap[index]!];
      index = parent;
    }
  };
  const siftDown = (index: number) => {
    for (;;) {
      const left = index * 2 + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === index) return;
      [heap[index], heap[smallest]] = [heap[smallest]!, heap[index]!];
      index = smallest;
    }
  };
  streams.forEach((stream, index) => {
    const iterator = stream[Symbol.iterator]();
    const first = iterator.next();
    if (!first.done) {
      heap.push({ draft: first.value, stream: index, iterator });
      siftUp(heap.length - 1);
    }
  });
  while (heap.length > 0) {
    const top = heap[0]!;
    yield top.draft;
    const next = top.iterator.next();
    if (next.done) {
      const last = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = last;
        siftDown(0);
      }
    } else {
      top.draft = next.value;
      siftDown(0);
    }
  }
}

function* numberStream(plan: TrafficPlan, number: NumberPlan, recorder: ManifestRecorder): Generator<TrafficDraft> {
  const random = SeededRandom.from(plan.options.seed, 'number-traffic', number.index);
  // The integrator calls smb_app_data (contacts) within minutes of onboarding, then history (M-ONB §7).
  const contactsAt = number.onboardedAt + random.int(30, 90);
  let lastContactAt = contactsAt;
  for (const draft of buildContactSync(number, random.derive('contacts'), recorder, contactsAt)) {
    lastContactAt = draft.deliverAt;
    yield draft;
  }
  const historyAt = lastContactAt + random.int(60, 300);
  const liveAt = number.onboardedAt + random.int(600, 1200);
  // Live traffic starts while a large backfill may still be running.
  yield* mergeByTime([
    buildHistory(number, plan.options, random.derive('history'), recorder, historyAt),
    buildLiveTraffic(number, plan.options, random.derive('live'), recorder, liveAt),
  ]);
}

function* allDrafts(plan: TrafficPlan, recorder: ManifestRecorder): Generator<TrafficDraft> {
  let lastAt = plan.options.onboardedAt;
  for (const draft of mergeByTime(plan.numbers.map((number) => numberStream(plan, number, recorder)))) {
    lastAt = draft.deliverAt;
    yield draft;
  }
  const first = plan.numbers[0];
  if (plan.options.accountEvents && first) {
    // The business disconnects from the app (Settings ▸ Account ▸ Business Platform): PARTNER_REMOVED, last.
    const at = lastAt + 3600;
    recorder.number(first.index).accountEvents.push('PARTNER_REMOVED');
    yield {
      kind: 'account-update',
      field: 'account_update',
      numberIndex: first.index,
      deliverAt: at,
      updates: 1,
      body: createEnvelope(
        first.wabaId,
        'account_update',
        {
          phone_number: first.display.digits,
          event: 'PARTNER_REMOVED',
          disconnection_info: { reason: 'ACCOUNT_DISCONNECTED', initiated_by: 'USER' },
        },
        at,
      ),
    };
  }
}

/** Generates a reproducible Coexistence traffic run: equal options and seed give byte-identical payloads. */
export function generateTraffic(options: TrafficOptions = {}): GeneratedTraffic {
  const plan = planTraffic(options);
  let finished: TrafficManifest | undefined;
  return {
    plan,
    *[Symbol.iterator](): Iterator<TrafficPayload> {
      const recorder = new ManifestRecorder(plan);
      let sequence = 0;
      for (const draft of allDrafts(plan, recorder)) {
        recorder.payload(draft.kind);
        yield {
          sequence: ++sequence,
          field: draft.field,
          kind: draft.kind,
          numberIndex: draft.numberIndex,
          deliverAt: draft.deliverAt,
          updates: draft.updates,
          body: serializeWebhookBody(draft.body, plan.options.jsonStyle),
        };
      }
      finished = recorder.finish();
    },
    manifest(): TrafficManifest {
      if (finished) return finished;
      const recorder = new ManifestRecorder(plan);
      for (const draft of allDrafts(plan, recorder)) recorder.payload(draft.kind);
      finished = recorder.finish();
      return finished;
    },
  };
}

/** Returns the ground-truth manifest of a run without serializing its payloads. */
export function buildTrafficManifest(options: TrafficOptions = {}): TrafficManifest {
  return generateTraffic(options).manifest();
}
