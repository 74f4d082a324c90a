/** Accumulates the ground-truth manifest while payloads are generated (counts only, no message bodies). */
import type { NumberPlan, TrafficPlan } from './traffic-plan.ts';
import type { HistoryPhaseManifest, NumberManifest, TrafficManifest, TrafficPayloadKind } from './traffic-types.ts';

function emptyNumberManifest(plan: NumberPlan): NumberManifest {
  const customers = plan.customers;
  return {
    index: plan.index,
    wabaId: plan.wabaId,
    phoneNumberId: plan.phoneNumberId,
    displayPhoneNumber: plan.display.digits,
    businessName: plan.businessName,
    onboardedAt: new Date(plan.onboardedAt * 1000).toISOString(),
    historyShared: plan.historyShared,
    messages: 0,
    historyMessages: 0,
    liveMessages: 0,
    inboundMessages: 0,
    businessMessages: 0,
    threads: 0,
    contacts: {
      synced: 0,
      withoutActivity: 0,
      withBsuid: customers.filter((customer) => customer.userId).length,
      withUsername: customers.filter((customer) => customer.username).length,
      withoutPhone: customers.filter((customer) => !customer.phoneVisible).length,
      liveAdded: 0,
      liveEdited: 0,
      liveRemoved: 0,
    },
    history: {
      declined: !plan.historyShared,
      phases: [],
      chunks: 0,
      placeholders: 0,
      mediaFollowUps: 0,
      businessMessagesMetaDocs: 0,
      businessMessagesFromMe: 0,
    },
    live: { inbound: 0, echoes: 0, byType: {} },
    statuses: { total: 0, distinct: 0, duplicates: 0, outOfOrder: 0, byStatus: {} },
    edits: 0,
    revokes: 0,
    reactions: 0,
    reactionRemovals: 0,
    accountEvents: [],
  };
}

/** Counts what the generator emits, per business number. */
export class ManifestRecorder {
  readonly numbers: NumberManifest[];
  private readonly threads: Array<Set<number>>;
  private readonly syncedActive: Array<Set<number>>;
  private payloads = 0;
  private readonly payloadsByKind: Partial<Record<TrafficPayloadKind, number>> = {};
  private readonly plan: TrafficPlan;

  /** Starts an empty manifest for a plan. */
  constructor(plan: TrafficPlan) {
    this.plan = plan;
    this.numbers = plan.numbers.map(emptyNumberManifest);
    this.threads = plan.numbers.map(() => new Set<number>());
    this.syncedActive = plan.numbers.map(() => new Set<number>());
  }

  /** The manifest of one number. */
  number(index: number): NumberManifest {
    return this.numbers[index]!;
  }

  /** Records a timeline message (history or live, inbound or business). */
  message(numberIndex: number, customerIndex: number, source: 'history' | 'live', side: 'customer' | 'business'): void {
    const manifest = this.number(numberIndex);
    manifest.messages++;
    if (source === 'history') manifest.historyMessages++;
    else manifest.liveMessages++;
    if (side === 'customer') manifest.inboundMessages++;
    else manifest.businessMessages++;
    this.threads[numberIndex]!.add(customerIndex);
  }

  /** Records a contact of the initial `smb_app_state_sync`. */
  syncedContact(numberIndex: number, customerIndex: number): void {
    this.number(numberIndex).contacts.synced++;
    this.syncedActive[numberIndex]!.add(customerIndex);
  }

  /** Records a history phase's chunk and message counts. */
  phase(numberIndex: number, phase: HistoryPhaseManifest): void {
    const manifest = this.number(numberIndex);
    manifest.history.phases.push(phase);
    manifest.history.chunks += phase.chunks;
  }

  /** Records one emitted payload. */
  payload(kind: TrafficPayloadKind): void {
    this.payloads++;
    this.payloadsByKind[kind] = (this.payloadsByKind[kind] ?? 0) + 1;
  }

  /** The finished manifest (call after every payload was generated). */
  finish(): TrafficManifest {
    const options = this.plan.options;
    for (const manifest of this.numbers) {
      const threads = this.threads[manifest.index]!;
      manifest.threads = threads.size;
      let withoutActivity = 0;
      for (const customerIndex of this.syncedActive[manifest.index]!)
        if (!threads.has(customerIndex)) withoutActivity++;
      manifest.contacts.withoutActivity = withoutActivity;
    }
    const sum = (pick: (manifest: NumberManifest) => number) =>
      this.numbers.reduce((total, manifest) => total + pick(manifest), 0);
    return {
      generator: '@coexist/sandbox traffic generator',
      version: 1,
      seed: options.seed,
      options: {
        numbers: options.numbers,
        messages: options.messages,
        liveMessages: options.liveMessages,
        contacts: options.contacts,
        onboardedAt: new Date(options.onboardedAt * 1000).toISOString(),
        declinedHistoryNumbers: options.declinedHistoryNumbers,
        chunkSize: options.chunkSize,
        maxBatchSize: options.maxBatchSize,
        historyEncoding: options.historyEncoding,
        jsonStyle: options.jsonStyle,
        accountEvents: options.accountEvents,
        liveDays: options.liveDays,
      },
      payloads: this.payloads,
      payloadsByKind: this.payloadsByKind,
      totals: {
        messages: sum((manifest) => manifest.messages),
        historyMessages: sum((manifest) => manifest.historyMessages),
        liveMessages: sum((manifest) => manifest.liveMessages),
        threads: sum((manifest) => manifest.threads),
        placeholders: sum((manifest) => manifest.history.placeholders),
        mediaFollowUps: sum((manifest) => manifest.history.mediaFollowUps),
        statuses: sum((manifest) => manifest.statuses.total),
        duplicateStatuses: sum((manifest) => manifest.statuses.duplicates),
        edits: sum((manifest) => manifest.edits),
        revokes: sum((manifest) => manifest.revokes),
        reactions: sum((manifest) => manifest.reactions),
      },
      numbers: this.numbers,
    };
  }
}
