/**
 * Live traffic of one number after onboarding: inbound messages of many types (`messages`), the
 * rep's Business App messages (`smb_message_echoes`) with their statuses — out of order and
 * duplicated —, edits, revokes, reactions and a reaction removal, contact changes in the app, and an
 * ACCOUNT_OFFBOARDED/ACCOUNT_RECONNECTED pair. Updates close in time are batched into one POST, up to
 * `maxBatchSize` (Meta batches up to 1,000, M-EP). Live events of a number are held in memory to be
 * sorted by delivery time; history, the bulk of any large run, is streamed (see history-builder.ts).
 */
import {
  customerRecipient,
  customerSender,
  echoContactEntry,
  inboundContactEntry,
  stateSyncContact,
  visiblePhone,
} from './customer-fields.ts';
import type { ManifestRecorder } from './manifest-recorder.ts';
import { createContent, createText } from './message-content.ts';
import { createWamid, WAMID_STREAM } from './message-ids.ts';
import type { SeededRandom } from './seeded-random.ts';
import { numberMetadata, type TrafficDraft } from './traffic-draft.ts';
import type { NumberPlan, PlannedCustomer, ResolvedTrafficOptions } from './traffic-plan.ts';
import type { TrafficPayloadKind } from './traffic-types.ts';
import { createEnvelope } from './webhook-json.ts';
import { REACTION_EMOJI } from './word-lists.ts';

type LiveEventKind = 'message' | 'echo' | 'status' | 'contact' | 'account';

interface LiveEvent {
  at: number;
  order: number;
  kind: LiveEventKind;
  customer?: PlannedCustomer;
  item: Record<string, unknown>;
}

interface SentMessage {
  id: string;
  at: number;
  customer: PlannedCustomer;
}

const LIVE_INBOUND_TYPES = {
  text: 55,
  image: 8,
  audio: 7,
  video: 3,
  document: 4,
  sticker: 4,
  location: 2,
  contacts: 2,
  button: 4,
  interactive: 6,
} as const;
const LIVE_ECHO_TYPES = { text: 80, image: 8, document: 7, audio: 5 } as const;

const KIND_FIELD: Record<LiveEventKind, string> = {
  message: 'messages',
  echo: 'smb_message_echoes',
  status: 'messages',
  contact: 'smb_app_state_sync',
  account: 'account_update',
};
const KIND_PAYLOAD: Record<LiveEventKind, TrafficPayloadKind> = {
  message: 'live-messages',
  echo: 'live-echoes',
  status: 'live-statuses',
  contact: 'live-contact-sync',
  account: 'account-update',
};

/** Updates further apart than this (seconds) are never batched together. */
const BATCH_WINDOW_SECONDS = 30;

function pickWeighted(random: SeededRandom, cumulative: readonly number[]): number {
  const roll = random.next() * cumulative[cumulative.length - 1]!;
  let low = 0;
  let high = cumulative.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (cumulative[middle]! > roll) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** Yields the live webhooks of one number in delivery order, from `startAt` (Unix seconds). */
export function* buildLiveTraffic(
  plan: NumberPlan,
  options: ResolvedTrafficOptions,
  random: SeededRandom,
  recorder: ManifestRecorder,
  startAt: number,
): Generator<TrafficDraft> {
  const manifest = recorder.number(plan.index);
  const metadata = numberMetadata(plan);
  const events: LiveEvent[] = [];
  let order = 0;
  const push = (at: number, kind: LiveEventKind, item: Record<string, unknown>, customer?: PlannedCustomer) => {
    events.push({ at, order: order++, kind, item, ...(customer ? { customer } : {}) });
  };
  const span = options.liveDays * 86_400 - 1200;
  let liveIndex = 0;
  const nextWamid = (customer: PlannedCustomer, direction: 'inbound' | 'outbound', messageRandom: SeededRandom) =>
    createWamid(customer.phoneDigits, direction, plan.key, WAMID_STREAM.live, liveIndex++, messageRandom);
  const countStatus = (status: string) => {
    manifest.statuses.total++;
    manifest.statuses.byStatus[status] = (manifest.statuses.byStatus[status] ?? 0) + 1;
  };

  // Statuses of a business message. ASSUMPTION (not in Meta's docs): Business App messages get
  // sent/delivered/read statuses like API messages, without `pricing` (app messages are free) and
  // without `conversation` (omitted from v24.0).
  const addStatuses = (
    statusRandom: SeededRandom,
    id: string,
    customer: PlannedCustomer,
    sentAt: number,
    onlySent: boolean,
  ) => {
    const recipient = {
      recipient_id: visiblePhone(customer),
      ...(customer.userId ? { recipient_user_id: customer.userId } : {}),
    };
    const steps: Array<{ status: string; timestamp: number; deliverAt: number }> = [];
    const sent = sentAt + statusRandom.int(1, 3);
    steps.push({ status: 'sent', timestamp: sent, deliverAt: sent + statusRandom.int(0, 2) });
    if (!onlySent) {
      // "delivered" may never arrive when the message is read immediately (M-MSG status).
      const skipDelivered = statusRandom.chance(0.15);
      const delivered = sent + statusRandom.int(1, 60);
      // In the normal case each status arrives no earlier than the one before it.
      const arrival = (timestamp: number) =>
        Math.max(steps[steps.length - 1]!.deliverAt, timestamp + statusRandom.int(0, 2));
      if (!skipDelivered) steps.push({ status: 'delivered', timestamp: delivered, deliverAt: arrival(delivered) });
      if (skipDelivered || statusRandom.chance(0.75)) {
        const read = delivered + statusRandom.int(30, 7200);
        steps.push({ status: 'read', timestamp: read, deliverAt: arrival(read) });
      }
      if (steps.length >= 2 && statusRandom.chance(0.15)) {
        // Out of order: an earlier status arrives after a later one (nothing guarantees order, M-SEND).
        const early = steps[steps.length - 2]!;
        early.deliverAt = steps[steps.length - 1]!.deliverAt + statusRandom.int(1, 30);
        manifest.statuses.outOfOrder++;
      }
    }
    for (const step of steps) {
      const item = { id, status: step.status, timestamp: String(step.timestamp), ...recipient };
      push(step.deliverAt, 'status', item, customer);
      countStatus(step.status);
      manifest.statuses.distinct++;
      if (statusRandom.chance(0.08)) {
        // Duplicate delivery of the same update (M-WH: retries can duplicate notifications).
        push(step.deliverAt + statusRandom.int(1, 900), 'status', { ...item }, customer);
        countStatus(step.status);
        manifest.statuses.duplicates++;
      }
    }
  };

  const inboundTexts: Array<SentMessage & { body: string }> = [];
  const inbound: SentMessage[] = [];
  const echoes: SentMessage[] = [];
  if (plan.liveMessages > 0) {
    let candidates = plan.customers.filter((customer) => customer.inHistory || customer.liveOnly);
    if (candidates.length === 0) candidates = plan.customers;
    const cumulative: number[] = [];
    let running = 0;
    for (const customer of candidates) {
      running += customer.liveOnly ? customer.weight * 2 + 1 : customer.weight;
      cumulative.push(running);
    }
    const greeted = new Set<number>();
    const lastEcho = new Map<number, string>();
    let produced = 0;
    for (let sessionIndex = 0; produced < plan.liveMessages; sessionIndex++) {
      const sessionRandom = random.derive('live-session', sessionIndex);
      const customer = candidates[pickWeighted(sessionRandom, cumulative)]!;
      const size = Math.min(plan.liveMessages - produced, sessionRandom.int(1, 6));
      let at = startAt + Math.floor((span * produced) / plan.liveMessages) + sessionRandom.int(0, 600);
      let fromCustomer = (customer.liveOnly && !greeted.has(customer.index)) || sessionRandom.chance(0.75);
      for (let step = 0; step < size; step++) {
        if (step > 0) {
          at += sessionRandom.int(10, 240);
          if (sessionRandom.chance(0.7)) fromCustomer = !fromCustomer;
        }
        const messageRandom = random.derive('live-message', liveIndex);
        if (fromCustomer) {
          const type = messageRandom.weighted(LIVE_INBOUND_TYPES);
          const id = nextWamid(customer, 'inbound', messageRandom);
          const content = createContent(messageRandom, type, customer.language, 'customer', customer);
          const repliedTo = lastEcho.get(customer.index);
          const context =
            type === 'text' && repliedTo && messageRandom.chance(0.25)
              ? { context: { from: plan.display.digits, id: repliedTo } }
              : {};
          push(
            at,
            'message',
            { ...customerSender(customer), ...context, id, timestamp: String(at), type, ...content },
            customer,
          );
          inbound.push({ id, at, customer });
          if (type === 'text') inboundTexts.push({ id, at, customer, body: (content.text as { body: string }).body });
          manifest.live.inbound++;
          manifest.live.byType[type] = (manifest.live.byType[type] ?? 0) + 1;
          recorder.message(plan.index, customer.index, 'live', 'customer');
          if (customer.liveOnly && !greeted.has(customer.index)) {
            greeted.add(customer.index);
            // The rep saves the new lead in the Business App's address book.
            if (messageRandom.chance(0.7)) {
              const savedAt = at + messageRandom.int(300, 3600);
              push(savedAt, 'contact', {
                type: 'contact',
                contact: stateSyncContact(customer, 'add'),
                action: 'add',
                metadata: { timestamp: String(savedAt) },
              });
              manifest.contacts.liveAdded++;
            }
          }
        } else {
          const type = messageRandom.weighted(LIVE_ECHO_TYPES);
          const id = nextWamid(customer, 'outbound', messageRandom);
          const content = createContent(messageRandom, type, customer.language, 'business', customer);
          push(
            at,
            'echo',
            { from: plan.display.digits, ...customerRecipient(customer), id, timestamp: String(at), type, ...content },
            customer,
          );
          echoes.push({ id, at, customer });
          lastEcho.set(customer.index, id);
          manifest.live.echoes++;
          manifest.live.byType[`echo:${type}`] = (manifest.live.byType[`echo:${type}`] ?? 0) + 1;
          recorder.message(plan.index, customer.index, 'live', 'business');
          addStatuses(messageRandom.derive('statuses'), id, customer, at, false);
        }
      }
      produced += size;
    }
  }

  const extras = random.derive('live-extras');
  const pickDistinct = <T>(items: readonly T[], count: number): T[] => {
    const chosen = new Set<number>();
    const result: T[] = [];
    while (result.length < Math.min(count, items.length)) {
      const index = extras.int(0, items.length - 1);
      if (chosen.has(index)) continue;
      chosen.add(index);
      result.push(items[index]!);
    }
    return result;
  };
  const live = plan.liveMessages;
  // Edits within 15 minutes of the original (M-ONB "Edit").
  for (const target of pickDistinct(inboundTexts, Math.max(1, Math.round(live * 0.02)))) {
    const customer = target.customer;
    const at = target.at + extras.int(30, 840);
    const id = nextWamid(customer, 'inbound', extras);
    const body = `${target.body.replace(/[.!?]*$/, '')} (${createText(extras, customer.language, 'customer').slice(0, 12)})`;
    push(
      at,
      'message',
      {
        ...customerSender(customer),
        id,
        timestamp: String(at),
        type: 'edit',
        edit: { original_message_id: target.id, message: { type: 'text', text: { body } } },
      },
      customer,
    );
    manifest.edits++;
  }
  // Revokes within 2 days (M-ONB "Revoke").
  for (const target of pickDistinct(inbound, Math.max(1, Math.round(live * 0.01)))) {
    const at = target.at + extras.int(60, 172_000);
    const id = nextWamid(target.customer, 'inbound', extras);
    push(
      at,
      'message',
      {
        ...customerSender(target.customer),
        id,
        timestamp: String(at),
        type: 'revoke',
        revoke: { original_message_id: target.id },
      },
      target.customer,
    );
    manifest.revokes++;
  }
  // Customers react to the rep's messages; the first reaction is removed again (no `emoji`).
  pickDistinct(echoes, Math.max(1, Math.round(live * 0.03))).forEach((target, position) => {
    const customer = target.customer;
    const at = target.at + extras.int(60, 3600);
    push(
      at,
      'message',
      {
        ...customerSender(customer),
        id: nextWamid(customer, 'inbound', extras),
        timestamp: String(at),
        type: 'reaction',
        reaction: { message_id: target.id, emoji: extras.pick(REACTION_EMOJI) },
      },
      customer,
    );
    manifest.reactions++;
    if (position === 0) {
      const removedAt = at + extras.int(60, 1800);
      push(
        removedAt,
        'message',
        {
          ...customerSender(customer),
          id: nextWamid(customer, 'inbound', extras),
          timestamp: String(removedAt),
          type: 'reaction',
          reaction: { message_id: target.id },
        },
        customer,
      );
      manifest.reactionRemovals++;
    }
  });
  if (live >= 20 && echoes.length >= 2 && inbound.length >= 1) {
    // Echo edit, revoke and reaction from the Business App (M-ECHO, May 2026 triggers).
    const [edited, revoked] = pickDistinct(echoes, 2) as [SentMessage, SentMessage];
    const editAt = edited.at + extras.int(30, 600);
    push(
      editAt,
      'echo',
      {
        from: plan.display.digits,
        ...customerRecipient(edited.customer),
        id: nextWamid(edited.customer, 'outbound', extras),
        timestamp: String(editAt),
        type: 'edit',
        edit: {
          original_message_id: edited.id,
          message: { type: 'text', text: { body: createText(extras, edited.customer.language, 'business') } },
        },
      },
      edited.customer,
    );
    manifest.edits++;
    const revokeAt = revoked.at + extras.int(30, 3600);
    push(
      revokeAt,
      'echo',
      {
        from: plan.display.digits,
        ...customerRecipient(revoked.customer),
        id: nextWamid(revoked.customer, 'outbound', extras),
        timestamp: String(revokeAt),
        type: 'revoke',
        revoke: { original_message_id: revoked.id },
      },
      revoked.customer,
    );
    manifest.revokes++;
    const liked = extras.pick(inbound);
    const likedAt = liked.at + extras.int(30, 3600);
    const reactionId = nextWamid(liked.customer, 'outbound', extras);
    push(
      likedAt,
      'echo',
      {
        from: plan.display.digits,
        ...customerRecipient(liked.customer),
        id: reactionId,
        timestamp: String(likedAt),
        type: 'reaction',
        reaction: { message_id: liked.id, emoji: '👍' },
      },
      liked.customer,
    );
    manifest.reactions++;
    // A reaction sent by the business triggers only a `sent` status (360dialog reaction page).
    addStatuses(extras.derive('reaction-status'), reactionId, liked.customer, likedAt, true);
  }
  // Contact changes in the Business App: an edited name, a removed contact (no names on remove, M-SYNC).
  const editable = plan.customers.filter((customer) => customer.inAddressBook && customer.inHistory);
  if (editable.length > 0 && live > 0) {
    const customer = extras.pick(editable);
    const at = startAt + extras.int(0, span);
    push(at, 'contact', {
      type: 'contact',
      contact: stateSyncContact(customer, 'add', `${customer.fullName} (${plan.businessName})`),
      action: 'add',
      metadata: { timestamp: String(at) },
    });
    manifest.contacts.liveEdited++;
  }
  const removable = plan.customers.filter(
    (customer) => customer.inAddressBook && !customer.inHistory && !customer.liveOnly,
  );
  if (removable.length > 0 && live > 0) {
    const customer = extras.pick(removable);
    const at = startAt + extras.int(0, span);
    push(at, 'contact', {
      type: 'contact',
      contact: stateSyncContact(customer, 'remove'),
      action: 'remove',
      metadata: { timestamp: String(at) },
    });
    manifest.contacts.liveRemoved++;
  }
  if (options.accountEvents && plan.index === 0) {
    // A device change: the companion is offboarded, then reconnected minutes later (M-RECON).
    const offboardedAt = startAt + Math.floor(span * 0.6);
    push(offboardedAt, 'account', { event: 'ACCOUNT_OFFBOARDED' });
    push(offboardedAt + extras.int(120, 600), 'account', { event: 'ACCOUNT_RECONNECTED' });
    manifest.accountEvents.push('ACCOUNT_OFFBOARDED', 'ACCOUNT_RECONNECTED');
  }

  events.sort((a, b) => a.at - b.at || a.order - b.order);
  let batchIndex = 0;
  for (let start = 0; start < events.length; ) {
    const first = events[start]!;
    const batchRandom = random.derive('batch', batchIndex++);
    const roll = batchRandom.next();
    const target =
      first.kind === 'account'
        ? 1
        : Math.min(
            options.maxBatchSize,
            roll < 0.75 ? 1 : roll < 0.95 ? batchRandom.int(2, 10) : batchRandom.int(11, 1000),
          );
    let end = start + 1;
    while (
      end < events.length &&
      end - start < target &&
      events[end]!.kind === first.kind &&
      events[end]!.at - first.at <= BATCH_WINDOW_SECONDS
    )
      end++;
    const batch = events.slice(start, end);
    start = end;
    const last = batch[batch.length - 1]!;
    const items = batch.map((event) => event.item);
    let body: unknown;
    if (first.kind === 'account') {
      body = createEnvelope(plan.wabaId, 'account_update', first.item, first.at);
      // Only the account event itself; counted in the manifest above.
    } else {
      const value: Record<string, unknown> = { messaging_product: 'whatsapp', metadata };
      const customers = [
        ...new Map(
          batch.flatMap((event) => (event.customer ? [[event.customer.index, event.customer] as const] : [])),
        ).values(),
      ];
      if (first.kind === 'message') {
        value.contacts = customers.map(inboundContactEntry);
        value.messages = items;
      } else if (first.kind === 'echo') {
        const withBsuid = customers.filter((customer) => customer.userId);
        if (withBsuid.length > 0) value.contacts = withBsuid.map(echoContactEntry);
        value.message_echoes = items;
      } else if (first.kind === 'status') {
        value.statuses = items;
      } else {
        value.state_sync = items;
      }
      body = createEnvelope(plan.wabaId, KIND_FIELD[first.kind], value);
    }
    yield {
      kind: KIND_PAYLOAD[first.kind],
      field: KIND_FIELD[first.kind],
      numberIndex: plan.index,
      deliverAt: last.at,
      updates: batch.length,
      body,
    };
  }
}
