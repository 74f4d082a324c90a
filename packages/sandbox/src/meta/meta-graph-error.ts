import type { EmulatorResponse } from '../emulator/emulator-router.ts';
import type { SeededRandom } from '../emulator/seeded-random.ts';

/** What a Graph API error says. */
export interface GraphErrorDetails {
  /** HTTP status. @default 400 */
  status?: number;
  code: number;
  /** The message; Graph prefixes it with `(#code)` for most codes. */
  message: string;
  /** @default 'OAuthException' */
  type?: 'OAuthException' | 'GraphMethodException';
  subcode?: number;
  /** `error_data.details`, the Cloud API's explanation. */
  details?: string;
  /** `error_user_title`, a short human title. */
  userTitle?: string;
}

const TRACE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A Graph API error response, `{"error": {message, type, code, error_subcode?, error_data?, fbtrace_id}}`
 * (https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes).
 */
export function graphError(details: GraphErrorDetails, random: SeededRandom): EmulatorResponse {
  let trace = 'A';
  for (let index = 0; index < 22; index++) trace += TRACE_ALPHABET[random.int(0, TRACE_ALPHABET.length - 1)];
  const error: Record<string, unknown> = {
    message: details.message,
    type: details.type ?? 'OAuthException',
    code: details.code,
  };
  if (details.subcode !== undefined) error.error_subcode = details.subcode;
  if (details.userTitle !== undefined) error.error_user_title = details.userTitle;
  if (details.details !== undefined) error.error_data = { messaging_product: 'whatsapp', details: details.details };
  error.fbtrace_id = trace;
  return {
    status: details.status ?? 400,
    headers: details.code === 190 ? { 'www-authenticate': 'OAuth "Facebook Platform" "invalid_token"' } : {},
    body: { error },
    tags: [`graph-${details.code}`],
  };
}
