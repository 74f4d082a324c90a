/**
 * The 24-hour customer service window of a Coexistence number: free-form Cloud API messages are allowed only
 * within 24 hours of the customer's last message, and only a message received after onboarding opens it.
 * History messages never open it; echoes (the rep writing from the app) neither open nor extend it.
 * Sources: Meta M-ONB "Customer service window", TNX (`docs/models.md`).
 */
import type { CoexistenceEvent } from '../events/coexistence-event.ts';

/** The window's length: 24 hours. */
export const SERVICE_WINDOW_MS = 24 * 60 * 60 * 1000;

/** What the window depends on: the last qualifying customer message. Plain JSON. */
export interface ServiceWindowState {
  /** ISO time of the latest customer message received live after onboarding. */
  lastCustomerMessageAt?: string;
}

/** The window at one instant. */
export interface ServiceWindow {
  open: boolean;
  /** ISO time the window closes (or closed), when a customer message ever opened it. */
  expiresAt?: string;
  /** Whether a free-form (non-template) API message may be sent now. */
  freeFormAllowed: boolean;
  /** Whether only an approved template may be sent now. */
  templateRequired: boolean;
}

/** Options of `applyServiceWindowEvent`. */
export interface ServiceWindowOptions {
  /** ISO time the number was onboarded; a live message from before it opens nothing. */
  onboardedAt?: string;
}

/** Folds an event into the window state: only a live `message.received` at or after onboarding counts. */
export function applyServiceWindowEvent(
  state: ServiceWindowState,
  event: CoexistenceEvent,
  options: ServiceWindowOptions = {},
): ServiceWindowState {
  if (event.type !== 'message.received' || event.source !== 'live') return state;
  const at = Date.parse(event.occurredAt);
  if (options.onboardedAt !== undefined && at < Date.parse(options.onboardedAt)) return state;
  if (state.lastCustomerMessageAt !== undefined && at <= Date.parse(state.lastCustomerMessageAt)) return state;
  return { lastCustomerMessageAt: new Date(at).toISOString() };
}

/** The window at `now`: open while `now` is before the last customer message + 24 h (closed at exactly 24 h). */
export function serviceWindowAt(state: ServiceWindowState, now: Date): ServiceWindow {
  if (state.lastCustomerMessageAt === undefined) {
    return { open: false, freeFormAllowed: false, templateRequired: true };
  }
  const expiresAt = Date.parse(state.lastCustomerMessageAt) + SERVICE_WINDOW_MS;
  const open = now.getTime() < expiresAt;
  return { open, expiresAt: new Date(expiresAt).toISOString(), freeFormAllowed: open, templateRequired: !open };
}
