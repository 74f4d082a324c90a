import type { SendableMessageType } from './meta-outgoing-message.ts';

/** A Coexistence business number the emulator serves. */
export interface MetaNumberOptions {
  /** The Cloud API phone number id (path segment of every call). */
  phoneNumberId: string;
  /** The number as Meta shows it in webhook metadata, digits only, e.g. `15550783881`. */
  displayPhoneNumber: string;
  /** The WhatsApp Business Account id (`entry[].id` of webhooks). */
  wabaId: string;
  /** When Embedded Signup finished: opens the 24 h window for `smb_app_data` (epoch ms, Date or ISO string). */
  onboardedAt: number | Date | string;
  /** `verified_name` of the number. @default 'Emulated Business' */
  verifiedName?: string;
  /** Whether the number is a Business App (Coexistence) number; `smb_app_data` refuses others. @default true */
  isOnBizApp?: boolean;
}

/** A number as stored, with `onboardedAt` as epoch ms. */
export interface MetaNumber extends Required<Omit<MetaNumberOptions, 'onboardedAt'>> {
  onboardedAt: number;
}

/** An accepted `smb_app_data` call. */
export interface MetaSyncRequest {
  phoneNumberId: string;
  syncType: 'smb_app_state_sync' | 'history';
  requestId: string;
  /** Epoch ms of the call. */
  at: number;
}

/** A message accepted by `POST /{phone-number-id}/messages`. */
export interface MetaSentMessage {
  /** The `wamid.…` returned. */
  id: string;
  phoneNumberId: string;
  to: string;
  waId: string;
  type: SendableMessageType;
  /** The request body as posted. */
  request: unknown;
  /** Epoch ms of acceptance. */
  at: number;
}

/** Media the emulator can serve (`GET /{media-id}`, then the URL). */
export interface MetaMedia {
  id: string;
  mimeType: string;
  /** Hex SHA-256 of the bytes. */
  sha256: string;
  fileSize: number;
  bytes: Buffer;
}

/** Reads an `onboardedAt` option as epoch ms, or throws naming the number. */
export function toEpochMs(value: number | Date | string, phoneNumberId: string): number {
  const epoch = value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : value;
  if (typeof epoch !== 'number' || !Number.isFinite(epoch)) {
    throw new TypeError(
      `[coexist/sandbox] startMetaEmulator: numbers[${phoneNumberId}].onboardedAt is not a valid time`,
    );
  }
  return epoch;
}
