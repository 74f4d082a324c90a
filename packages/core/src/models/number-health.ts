/**
 * The health of one Coexistence number: whether the Cloud API link is connected, when the rep last used the
 * Business App (Meta disconnects after ~14 days without it), the 24-hour deadline for the `smb_app_data` sync calls,
 * and the history backfill's progress. Sources: Meta M-ACCT, M-RECON, M-ONB, M-HIST, PYWA (`docs/models.md`).
 */
import type { CoexistenceEvent } from '../events/coexistence-event.ts';

/** The state of the Cloud API link. */
export type NumberConnection = 'unknown' | 'connected' | 'offboarded' | 'disconnected';

/** The two `smb_app_data` sync calls, each allowed once within 24 h of onboarding. */
export type SmbSyncType = 'smb_app_state_sync' | 'history';

/** Backfill progress of one history phase (0: day 0–1, 1: day 1–90, 2: day 90–180). */
export interface HistoryPhaseProgress {
  phase: number;
  /** `chunk_order` values seen, ascending (chunks arrive out of order). */
  chunks: number[];
  threadCount: number;
  messageCount: number;
}

/** Everything the health model remembers. Plain JSON. */
export interface NumberHealthState {
  connection: NumberConnection;
  /** ISO time of the event that set `connection`; older connection events arriving late are ignored. */
  connectionChangedAt?: string;
  /** `disconnection_info.reason` of the last disconnection (e.g. `PRIMARY_INACTIVITY`). */
  disconnectReason?: string;
  /** `disconnection_info.initiated_by` (`USER` or `SYSTEM`). */
  disconnectInitiatedBy?: string;
  onboardedAt?: string;
  /** ISO time of the latest live echo: the rep used the Business App. */
  lastAppActivityAt?: string;
  /** When each `smb_app_data` call was made. */
  syncRequestedAt: Partial<Record<SmbSyncType, string>>;
  phases: HistoryPhaseProgress[];
  /** Highest overall `progress` seen (0–100). */
  historyProgress: number;
  historyDeclined: boolean;
}

/** Thresholds of `assessNumberHealth`. */
export interface NumberHealthOptions {
  /**
   * Days without Business App activity after which to warn.
   * @default 12
   */
  inactivityWarningDays?: number;
  /**
   * Days without Business App activity after which Meta disconnects (`PRIMARY_INACTIVITY`).
   * @default 14
   */
  inactivityLimitDays?: number;
}

/** A warning a person should act on. */
export type NumberHealthWarning = 'disconnected' | 'offboarded' | 'app-inactive' | 'sync-deadline' | 'history-declined';

/** The number's health at one instant. */
export interface NumberHealth {
  connection: NumberConnection;
  disconnectReason?: string;
  disconnectInitiatedBy?: string;
  lastAppActivityAt?: string;
  /** Whole days since the last Business App activity (or onboarding), when known. */
  daysSinceAppActivity?: number;
  /** When Meta is expected to disconnect for inactivity, when known. */
  inactivityDisconnectAt?: string;
  onboardedAt?: string;
  /** Onboarding + 24 h: the deadline for both `smb_app_data` calls. */
  syncDeadline?: string;
  /** Sync calls not made yet. */
  pendingSyncTypes: SmbSyncType[];
  backfill: { phases: HistoryPhaseProgress[]; progress: number; complete: boolean; declined: boolean };
  warnings: NumberHealthWarning[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The state of a number nothing is known about yet. */
export function createNumberHealthState(): NumberHealthState {
  return { connection: 'unknown', syncRequestedAt: {}, phases: [], historyProgress: 0, historyDeclined: false };
}

/** Records the onboarding time when it is known from Embedded Signup rather than a `PARTNER_ADDED` webhook. */
export function recordOnboarding(state: NumberHealthState, at: string): NumberHealthState {
  const next = setConnection(state, 'connected', at);
  // The latest onboarding is the baseline: a late redelivery of an earlier one must not move it (or the sync deadline)
  // back. An onboarding older than a later disconnect is still when the number was onboarded.
  const later = state.onboardedAt === undefined || Date.parse(at) > Date.parse(state.onboardedAt);
  return later ? { ...next, onboardedAt: at } : next;
}

/**
 * A number's health with its account's folded in. Meta's `account_update` webhooks carry no phone number id, so an
 * onboarding, disconnect, offboarding or reconnect is recorded on the WhatsApp Business Account (`account`): the newer
 * of the two connection states is the number's, and the later onboarding its onboarding.
 */
export function withAccountHealth(
  number: NumberHealthState,
  account: NumberHealthState | undefined,
): NumberHealthState {
  if (account === undefined) return number;
  // The account's `PARTNER_ADDED` is the number's onboarding too (the baseline of the sync deadline and inactivity).
  const onboardedAt = isLater(account.onboardedAt, number.onboardedAt) ? account.onboardedAt : number.onboardedAt;
  const merged = onboardedAt === number.onboardedAt ? number : { ...number, onboardedAt };
  if (!isLater(account.connectionChangedAt, number.connectionChangedAt)) return merged;
  return {
    ...merged,
    connection: account.connection,
    connectionChangedAt: account.connectionChangedAt,
    disconnectReason: account.disconnectReason,
    disconnectInitiatedBy: account.disconnectInitiatedBy,
  };
}

/** Records that one `smb_app_data` sync call was made (each can be made once). */
export function recordSyncRequest(state: NumberHealthState, syncType: SmbSyncType, at: string): NumberHealthState {
  if (state.syncRequestedAt[syncType] !== undefined) return state;
  return { ...state, syncRequestedAt: { ...state.syncRequestedAt, [syncType]: at } };
}

/** Folds an account, echo, history or contact-sync event into the number's health state. */
export function applyNumberHealthEvent(state: NumberHealthState, event: CoexistenceEvent): NumberHealthState {
  switch (event.type) {
    case 'account.updated':
      return event.event === 'PARTNER_ADDED' ? recordOnboarding(state, event.occurredAt) : state;
    case 'account.disconnected': {
      const next = setConnection(state, 'disconnected', event.occurredAt);
      if (next === state) return state;
      return { ...next, disconnectReason: event.reason, disconnectInitiatedBy: event.initiatedBy };
    }
    case 'account.offboarded':
      return setConnection(state, 'offboarded', event.occurredAt);
    case 'account.reconnected':
      return setConnection(state, 'connected', event.occurredAt);
    case 'message.echoed':
      if (event.source !== 'live') return state;
      if (
        state.lastAppActivityAt !== undefined &&
        Date.parse(event.occurredAt) <= Date.parse(state.lastAppActivityAt)
      ) {
        return state;
      }
      return { ...state, lastAppActivityAt: event.occurredAt };
    // Meta sends these only after the business made the matching `smb_app_data` call: their arrival records it.
    case 'history.chunk':
      return applyHistoryChunk(
        recordSyncRequest(state, 'history', event.occurredAt),
        event.phase,
        event.chunkOrder,
        event.progress,
        event.threadCount,
        event.messageCount,
      );
    case 'history.declined':
      return { ...recordSyncRequest(state, 'history', event.occurredAt), historyDeclined: true };
    case 'contact.synced':
    case 'contact.removed':
      return recordSyncRequest(state, 'smb_app_state_sync', event.occurredAt);
    default:
      return state;
  }
}

function setConnection(state: NumberHealthState, connection: NumberConnection, at: string): NumberHealthState {
  if (state.connectionChangedAt !== undefined && Date.parse(at) < Date.parse(state.connectionChangedAt)) return state;
  const cleared =
    connection === 'disconnected' ? state : { ...state, disconnectReason: undefined, disconnectInitiatedBy: undefined };
  return { ...cleared, connection, connectionChangedAt: at };
}

function applyHistoryChunk(
  state: NumberHealthState,
  phase: number,
  chunkOrder: number,
  progress: number,
  threadCount: number,
  messageCount: number,
): NumberHealthState {
  const existing = state.phases.find((entry) => entry.phase === phase);
  if (existing?.chunks.includes(chunkOrder)) {
    return progress > state.historyProgress ? { ...state, historyProgress: Math.min(progress, 100) } : state;
  }
  const updated: HistoryPhaseProgress = {
    phase,
    chunks: [...(existing?.chunks ?? []), chunkOrder].sort((left, right) => left - right),
    threadCount: (existing?.threadCount ?? 0) + threadCount,
    messageCount: (existing?.messageCount ?? 0) + messageCount,
  };
  const phases = [...state.phases.filter((entry) => entry.phase !== phase), updated].sort(
    (left, right) => left.phase - right.phase,
  );
  return { ...state, phases, historyProgress: Math.min(Math.max(state.historyProgress, progress), 100) };
}

/** Whether ISO time `at` is given and later than `than` (or `than` is not): compared as instants, not as text. */
function isLater(at: string | undefined, than: string | undefined): at is string {
  return at !== undefined && (than === undefined || Date.parse(at) > Date.parse(than));
}

/** Assesses the number at `now`: connection, inactivity countdown (warn from day 12 of 14), sync deadline and backfill. */
export function assessNumberHealth(
  state: NumberHealthState,
  now: Date,
  options: NumberHealthOptions = {},
): NumberHealth {
  const warningDays = options.inactivityWarningDays ?? 12;
  const limitDays = options.inactivityLimitDays ?? 14;
  const warnings: NumberHealthWarning[] = [];
  if (state.connection === 'disconnected') warnings.push('disconnected');
  if (state.connection === 'offboarded') warnings.push('offboarded');

  // Onboarding is Business App activity too (the rep scans the QR code in the app): a re-onboarding after an
  // inactivity disconnect starts the count again.
  const activityBase = isLater(state.onboardedAt, state.lastAppActivityAt)
    ? state.onboardedAt
    : state.lastAppActivityAt;
  let daysSinceAppActivity: number | undefined;
  let inactivityDisconnectAt: string | undefined;
  if (activityBase !== undefined) {
    const base = Date.parse(activityBase);
    daysSinceAppActivity = Math.max(0, Math.floor((now.getTime() - base) / DAY_MS));
    inactivityDisconnectAt = new Date(base + limitDays * DAY_MS).toISOString();
    if (state.connection === 'connected' && daysSinceAppActivity >= warningDays) warnings.push('app-inactive');
  }

  const pendingSyncTypes = (['smb_app_state_sync', 'history'] as const).filter(
    (type) => state.syncRequestedAt[type] === undefined,
  );
  let syncDeadline: string | undefined;
  if (state.onboardedAt !== undefined) {
    const deadline = Date.parse(state.onboardedAt) + DAY_MS;
    syncDeadline = new Date(deadline).toISOString();
    if (pendingSyncTypes.length > 0 && state.connection === 'connected') warnings.push('sync-deadline');
  }
  if (state.historyDeclined) warnings.push('history-declined');

  return {
    connection: state.connection,
    ...(state.disconnectReason === undefined ? {} : { disconnectReason: state.disconnectReason }),
    ...(state.disconnectInitiatedBy === undefined ? {} : { disconnectInitiatedBy: state.disconnectInitiatedBy }),
    ...(state.lastAppActivityAt === undefined ? {} : { lastAppActivityAt: state.lastAppActivityAt }),
    ...(daysSinceAppActivity === undefined ? {} : { daysSinceAppActivity, inactivityDisconnectAt }),
    ...(state.onboardedAt === undefined ? {} : { onboardedAt: state.onboardedAt, syncDeadline }),
    pendingSyncTypes: [...pendingSyncTypes],
    backfill: {
      phases: state.phases,
      progress: state.historyProgress,
      complete: state.historyProgress >= 100,
      declined: state.historyDeclined,
    },
    warnings,
  };
}
