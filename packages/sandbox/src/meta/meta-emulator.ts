import { createHash, createHmac } from 'node:crypto';
import { type EmulatorRequest, type EmulatorResponse, EmulatorRouter } from '../emulator/emulator-router.ts';
import { type RunningEmulator, startEmulatorServer } from '../emulator/emulator-server.ts';
import type { FaultOptions } from '../emulator/fault-injector.ts';
import type { LatencyOptions } from '../emulator/latency-model.ts';
import { RollingWindow } from '../emulator/rolling-window.ts';
import { createSeededRandom } from '../emulator/seeded-random.ts';
import { type GraphErrorDetails, graphError } from './meta-graph-error.ts';
import { validateOutgoingMessage } from './meta-outgoing-message.ts';
import {
  type MetaMedia,
  type MetaNumber,
  type MetaNumberOptions,
  type MetaSentMessage,
  type MetaSyncRequest,
  toEpochMs,
} from './meta-state.ts';
import { buildStatusWebhook, type MetaOutgoingStatus } from './meta-status-webhook.ts';
import { type MetaWebhookDelivery, MetaWebhookSender } from './meta-webhook-sender.ts';

/** The access token accepted when `accessTokens` is not given. */
export const DEFAULT_META_ACCESS_TOKEN = 'EAAG-emulator-access-token';
/** How long after onboarding `smb_app_data` is accepted (meta-webhooks.md §7, M-ONB). */
export const SMB_APP_DATA_WINDOW_MS = 24 * 60 * 60 * 1000;
/** How long a media URL works (Meta: URLs are valid for 5 minutes). */
const MEDIA_URL_TTL_MS = 5 * 60 * 1000;
const MEDIA_PATH = '/whatsapp_business/attachments/';

/** Delays (ms after the send) of the status webhooks a send causes; `null` turns one off. */
export interface MetaStatusDelays {
  /** @default 0 */
  sent?: number | null;
  /** @default 20 */
  delivered?: number | null;
  /** @default 40 */
  read?: number | null;
}

/** An accepted `smb_app_data` call, as the `onSync` hook sees it. */
export interface MetaSyncEvent extends MetaSyncRequest {
  number: MetaNumber;
}

/** Options of `startMetaEmulator`. */
export interface MetaEmulatorOptions {
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Access tokens accepted as `Authorization: Bearer` (or `?access_token=`). @default [DEFAULT_META_ACCESS_TOKEN] */
  accessTokens?: string[];
  /** The app secret webhooks are signed with. */
  appSecret: string;
  /** Where webhooks are POSTed; without it they are only recorded. */
  webhookUrl?: string;
  /** The Coexistence numbers served. */
  numbers: MetaNumberOptions[];
  /** Messages per second per number; Coexistence numbers are fixed at 20 (M-TP). @default 20 */
  throughputPerSecond?: number;
  /** Delays of the `sent`/`delivered`/`read` webhooks after a send. */
  statusDelaysMs?: MetaStatusDelays;
  /** Waits before re-POSTing a webhook the receiver did not 2xx. @default [] */
  webhookRetryDelaysMs?: number[];
  /**
   * Called after each accepted `smb_app_data` call; the payloads it returns (contact `smb_app_state_sync` or
   * `history` webhooks, e.g. from the traffic generator) are signed and delivered in order.
   */
  onSync?: (event: MetaSyncEvent) => unknown[] | undefined | Promise<unknown[] | undefined>;
  faults?: FaultOptions;
  latency?: LatencyOptions;
  /** Seed of ids, faults and latency. @default 1 */
  seed?: number | string;
  /** The clock (epoch ms) of the sync window, throughput and timestamps. @default Date.now */
  now?: () => number;
}

/** A running Meta Graph / Cloud API emulator. */
export interface MetaEmulator extends RunningEmulator {
  /** The numbers served, by phone number id. */
  readonly numbers: ReadonlyMap<string, MetaNumber>;
  /** Accepted `smb_app_data` calls. */
  readonly syncRequests: readonly MetaSyncRequest[];
  /** Accepted sends. */
  readonly sentMessages: readonly MetaSentMessage[];
  /** Every webhook POST made or attempted, in order. */
  readonly webhookDeliveries: readonly MetaWebhookDelivery[];
  /** Errors thrown by the `onSync` hook. */
  readonly syncHookErrors: readonly string[];
  /** Registers media for `GET /{media-id}` and its download URL, and for sends by id. */
  addMedia(input: { bytes: Uint8Array | string; mimeType: string; id?: string }): MetaMedia;
  /** Signs and POSTs any payload to the webhook URL (inject traffic). */
  deliverWebhook(payload: unknown): Promise<MetaWebhookDelivery>;
  /** Resolves when no webhook is scheduled or in flight. */
  waitForWebhooks(): Promise<void>;
  /** The `X-Hub-Signature-256` value Meta would send for a body. */
  signBody(body: string): string;
  /** Forgets syncs, sends, media, deliveries and throughput counts. */
  reset(): void;
}

/**
 * Starts a Meta Graph / WhatsApp Cloud API emulator on loopback for Coexistence numbers: `smb_app_data` (once per
 * sync type, within 24 h of onboarding), the number's `is_on_biz_app`, sends at 20 messages/s with error 130429
 * beyond, signed status webhooks, and media. Any `/v{n}.0/` prefix is accepted.
 */
export async function startMetaEmulator(options: MetaEmulatorOptions): Promise<MetaEmulator> {
  if (typeof options.appSecret !== 'string' || options.appSecret === '') {
    throw new TypeError('[coexist/sandbox] startMetaEmulator: appSecret must be a non-empty string');
  }
  if (!Array.isArray(options.numbers) || options.numbers.length === 0) {
    throw new TypeError('[coexist/sandbox] startMetaEmulator: numbers must list at least one phone number');
  }
  const throughput = options.throughputPerSecond ?? 20;
  if (!Number.isInteger(throughput) || throughput < 1) {
    throw new TypeError('[coexist/sandbox] startMetaEmulator: throughputPerSecond must be an integer ≥ 1');
  }
  const now = options.now ?? Date.now;
  const seed = options.seed ?? 1;
  const random = createSeededRandom(`meta:${seed}`);
  const mediaUrlSecret = `media:${seed}:${random.next()}`;
  const tokens = new Set(options.accessTokens ?? [DEFAULT_META_ACCESS_TOKEN]);
  const delays = { sent: 0, delivered: 20, read: 40, ...options.statusDelaysMs };
  const numbers = new Map<string, MetaNumber>();
  for (const number of options.numbers) {
    numbers.set(number.phoneNumberId, {
      phoneNumberId: number.phoneNumberId,
      displayPhoneNumber: number.displayPhoneNumber,
      wabaId: number.wabaId,
      verifiedName: number.verifiedName ?? 'Emulated Business',
      isOnBizApp: number.isOnBizApp ?? true,
      onboardedAt: toEpochMs(number.onboardedAt, number.phoneNumberId),
    });
  }
  const syncRequests: MetaSyncRequest[] = [];
  const sentMessages: MetaSentMessage[] = [];
  const syncHookErrors: string[] = [];
  const media = new Map<string, MetaMedia>();
  const throughputWindows = new Map<string, RollingWindow>();
  const sender = new MetaWebhookSender({
    webhookUrl: options.webhookUrl,
    appSecret: options.appSecret,
    retryDelaysMs: options.webhookRetryDelaysMs,
  });
  const error = (details: GraphErrorDetails): EmulatorResponse => graphError(details, random);
  const randomDigits = (length: number): string => Array.from({ length }, () => random.int(0, 9)).join('');

  const authorized = (handler: (request: EmulatorRequest) => EmulatorResponse | Promise<EmulatorResponse>) => {
    return (request: EmulatorRequest): EmulatorResponse | Promise<EmulatorResponse> => {
      const header = request.headers.authorization;
      const bearer =
        typeof header === 'string' && /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, '').trim() : undefined;
      const token = bearer ?? request.query.get('access_token') ?? undefined;
      if (token === undefined || !tokens.has(token)) {
        return error({ status: 401, code: 190, message: 'Invalid OAuth access token - Cannot parse access token' });
      }
      if (request.params.version !== undefined && !/^v\d+\.\d+$/.test(request.params.version)) {
        return error({ code: 2500, message: `Unknown path components: /${request.params.version}` });
      }
      return handler(request);
    };
  };
  const unknownObject = (id: string, method: string): EmulatorResponse =>
    error({
      type: 'GraphMethodException',
      code: 100,
      subcode: 33,
      message: `Unsupported ${method} request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api`,
    });

  const router = new EmulatorRouter();

  // Before `/:version/:objectId`, which would otherwise match this path.
  router.add(
    'GET',
    MEDIA_PATH,
    authorized((request) => {
      const id = request.query.get('mid') ?? '';
      const expires = Number(request.query.get('ext'));
      const item = media.get(id);
      if (item === undefined || request.query.get('hash') !== mediaHash(id, expires)) {
        return { status: 404, body: 'Media not found' };
      }
      if (now() > expires * 1000)
        return { status: 404, body: 'Media URL expired; fetch a new one with GET /{media-id}' };
      return {
        status: 200,
        headers: { 'content-type': item.mimeType, 'content-length': String(item.fileSize) },
        body: item.bytes,
      };
    }),
  );

  router.add(
    'GET',
    '/:version/:objectId',
    authorized((request) => {
      const id = request.params.objectId!;
      const number = numbers.get(id);
      if (number !== undefined) return phoneNumberFields(number, request.query.get('fields'));
      const item = media.get(id);
      if (item === undefined) return unknownObject(id, 'get');
      const expires = Math.floor((now() + MEDIA_URL_TTL_MS) / 1000);
      const url = `http://${request.headers.host}${MEDIA_PATH}?mid=${item.id}&ext=${expires}&hash=${mediaHash(item.id, expires)}`;
      return {
        status: 200,
        body: {
          messaging_product: 'whatsapp',
          url,
          mime_type: item.mimeType,
          sha256: item.sha256,
          file_size: item.fileSize,
          id: item.id,
        },
      };
    }),
  );

  router.add(
    'POST',
    '/:version/:phoneNumberId/smb_app_data',
    authorized((request) => {
      const number = numbers.get(request.params.phoneNumberId!);
      if (number === undefined) return unknownObject(request.params.phoneNumberId!, 'post');
      const body = (request.body ?? {}) as Record<string, unknown>;
      if (body.messaging_product !== 'whatsapp') {
        return error({ code: 100, message: '(#100) The parameter messaging_product is required.' });
      }
      if (body.sync_type !== 'smb_app_state_sync' && body.sync_type !== 'history') {
        return error({
          code: 100,
          message: '(#100) Param sync_type must be one of {smb_app_state_sync, history}',
          details: `sync_type ${JSON.stringify(body.sync_type)} is not supported`,
        });
      }
      const syncType = body.sync_type;
      if (!number.isOnBizApp) {
        return error({
          code: 100,
          message: '(#100) Invalid parameter',
          userTitle: 'Not a WhatsApp Business app number',
          details: `Phone number ${number.phoneNumberId} was not onboarded from the WhatsApp Business app (Coexistence)`,
        });
      }
      if (syncRequests.some((sync) => sync.phoneNumberId === number.phoneNumberId && sync.syncType === syncType)) {
        return error({
          code: 100,
          message: '(#100) Invalid parameter',
          userTitle: 'Sync already requested',
          details: `sync_type ${syncType} was already requested for this phone number; each sync type can be requested once per onboarding`,
        });
      }
      if (now() - number.onboardedAt > SMB_APP_DATA_WINDOW_MS) {
        return error({
          code: 100,
          message: '(#100) Invalid parameter',
          userTitle: 'Sync window expired',
          details:
            'smb_app_data can only be called within 24 hours of onboarding; offboard and onboard the number again',
        });
      }
      const sync: MetaSyncRequest = {
        phoneNumberId: number.phoneNumberId,
        syncType,
        requestId: `${randomDigits(16)}`,
        at: now(),
      };
      syncRequests.push(sync);
      if (options.onSync !== undefined) {
        const hook = options.onSync;
        sender.track(
          (async () => {
            try {
              const payloads = (await hook({ ...sync, number })) ?? [];
              for (const payload of payloads) void sender.send(payload);
            } catch (hookError) {
              syncHookErrors.push(String(hookError));
            }
          })(),
        );
      }
      return { status: 200, body: { messaging_product: 'whatsapp', request_id: sync.requestId } };
    }),
  );

  router.add(
    'POST',
    '/:version/:phoneNumberId/messages',
    authorized((request) => {
      const number = numbers.get(request.params.phoneNumberId!);
      if (number === undefined) return unknownObject(request.params.phoneNumberId!, 'post');
      if (request.bodyError !== undefined)
        return error({ code: 100, message: '(#100) The request body is not valid JSON.' });
      const message = validateOutgoingMessage(request.body, (id) => media.has(id));
      if ('code' in message) return error(message);
      let window = throughputWindows.get(number.phoneNumberId);
      if (window === undefined) {
        window = new RollingWindow(throughput, 1000);
        throughputWindows.set(number.phoneNumberId, window);
      }
      if (!window.take(now()).allowed) {
        // M-TP: Coexistence numbers are fixed at 20 mps; Meta's error-code table answers 130429 with HTTP 400.
        return {
          ...error({
            code: 130429,
            message: '(#130429) Rate limit hit',
            details: 'Cloud API message throughput has been reached.',
          }),
          tags: ['rate-limited'],
        };
      }
      const id = `wamid.${Buffer.from(`${number.phoneNumberId}:${message.waId}:${randomDigits(20)}`).toString('base64')}`;
      sentMessages.push({
        id,
        phoneNumberId: number.phoneNumberId,
        to: message.to,
        waId: message.waId,
        type: message.type,
        request: request.body,
        at: now(),
      });
      // A reaction sent by the business only gets `sent` (meta-webhooks.md §2.2).
      const statuses: MetaOutgoingStatus[] = message.type === 'reaction' ? ['sent'] : ['sent', 'delivered', 'read'];
      for (const status of statuses) {
        const wait = delays[status];
        if (wait === null || wait === undefined) continue;
        sender.schedule(wait, () =>
          buildStatusWebhook({
            number,
            messageId: id,
            recipientWaId: message.waId,
            status,
            timestamp: Math.floor(now() / 1000),
            template: message.type === 'template',
          }),
        );
      }
      const sent: Record<string, unknown> = { id };
      if (message.type === 'template') sent.message_status = 'accepted';
      return {
        status: 200,
        body: {
          messaging_product: 'whatsapp',
          contacts: [{ input: message.to, wa_id: message.waId }],
          messages: [sent],
        },
      };
    }),
  );

  function mediaHash(id: string, expires: number): string {
    return createHmac('sha256', mediaUrlSecret).update(`${id}:${expires}`).digest('base64url').slice(0, 22);
  }

  function phoneNumberFields(number: MetaNumber, fieldsParameter: string | null): EmulatorResponse {
    const all: Record<string, unknown> = {
      verified_name: number.verifiedName,
      code_verification_status: 'VERIFIED',
      display_phone_number: number.displayPhoneNumber,
      quality_rating: 'GREEN',
      platform_type: 'CLOUD_API',
      is_on_biz_app: number.isOnBizApp,
      throughput: { level: 'STANDARD' },
      id: number.phoneNumberId,
    };
    const requested = fieldsParameter
      ?.split(',')
      .map((field) => field.trim())
      .filter(Boolean);
    if (requested === undefined || requested.length === 0) {
      const { is_on_biz_app: _hidden, ...defaults } = all;
      return { status: 200, body: defaults };
    }
    const body: Record<string, unknown> = {};
    for (const field of requested) {
      if (!(field in all)) {
        return error({
          code: 100,
          message: `(#100) Tried accessing nonexisting field (${field}) on node type (WhatsAppBusinessPhoneNumber)`,
        });
      }
      body[field] = all[field];
    }
    body.id = number.phoneNumberId;
    return { status: 200, body };
  }

  const reset = (): void => {
    syncRequests.splice(0);
    sentMessages.splice(0);
    syncHookErrors.splice(0);
    media.clear();
    throughputWindows.clear();
    sender.clear();
  };

  const running = await startEmulatorServer({
    name: 'meta',
    router,
    port: options.port,
    host: options.host,
    faults: options.faults,
    latency: options.latency,
    seed,
    serverErrorResponse: () =>
      graphError(
        { status: 500, code: 131000, message: '(#131000) Something went wrong', details: 'Injected fault' },
        random,
      ),
    notFoundResponse: (request) => error({ code: 2500, message: `Unknown path components: ${request.path}` }),
    inspectState: () => ({
      numbers: [...numbers.values()],
      syncRequests,
      sentMessages,
      media: [...media.values()].map(({ bytes: _bytes, ...item }) => item),
      webhookDeliveries: sender.deliveries.map(({ body: _body, ...delivery }) => delivery),
      syncHookErrors,
    }),
    resetState: reset,
  });
  const closeServer = running.close;
  return Object.assign(running, {
    numbers,
    syncRequests,
    sentMessages,
    webhookDeliveries: sender.deliveries,
    syncHookErrors,
    addMedia(input: { bytes: Uint8Array | string; mimeType: string; id?: string }): MetaMedia {
      if (typeof input.mimeType !== 'string' || !input.mimeType.includes('/')) {
        throw new TypeError('[coexist/sandbox] addMedia: mimeType must be a MIME type such as image/jpeg');
      }
      const bytes = Buffer.from(input.bytes);
      const item: MetaMedia = {
        id: input.id ?? randomDigits(16),
        mimeType: input.mimeType,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        fileSize: bytes.length,
        bytes,
      };
      if (numbers.has(item.id)) throw new TypeError(`[coexist/sandbox] addMedia: id ${item.id} is a phone number id`);
      media.set(item.id, item);
      return item;
    },
    deliverWebhook: (payload: unknown) => sender.send(payload),
    waitForWebhooks: () => sender.waitForIdle(),
    signBody: (body: string) => sender.sign(body),
    reset,
    close: async () => {
      sender.close();
      await closeServer();
    },
  });
}
