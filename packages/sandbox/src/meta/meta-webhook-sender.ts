import { createHmac } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';

/** One webhook POST the emulator made (or tried to make). */
export interface MetaWebhookDelivery {
  /** The payload as sent. */
  payload: unknown;
  /** The exact body bytes (UTF-8) that were signed and sent. */
  body: string;
  /** The `X-Hub-Signature-256` value, `sha256=<hex>`. */
  signature: string;
  /** POST attempts made so far. */
  attempts: number;
  /** HTTP status of the last attempt, when one answered. */
  status?: number;
  /** Network error of the last attempt, when it failed. */
  error?: string;
  /** Whether an attempt got a 2xx. */
  delivered: boolean;
}

/** Options of the webhook sender. */
export interface MetaWebhookSenderOptions {
  /** Where webhooks go; without it they are recorded but not sent. */
  webhookUrl?: string;
  /** Key of the HMAC-SHA256 signature. */
  appSecret: string;
  /** Waits before each retry of a failed delivery (Meta retries with decreasing frequency). @default [] (no retries) */
  retryDelaysMs?: number[];
}

/**
 * Signs payloads as Meta does (`X-Hub-Signature-256: sha256=` HMAC-SHA256 of the exact body bytes with the app secret;
 * meta-webhooks.md §8) and POSTs them one at a time, in the order they were queued.
 */
export class MetaWebhookSender {
  /** Every delivery, in queue order. */
  readonly deliveries: MetaWebhookDelivery[] = [];
  #options: MetaWebhookSenderOptions;
  #queue: Promise<void> = Promise.resolve();
  #pending = 0;
  #scheduled = new Set<NodeJS.Timeout>();
  #idleWaiters: Array<() => void> = [];
  #closed = false;

  /** Creates a sender for one webhook URL and app secret. */
  constructor(options: MetaWebhookSenderOptions) {
    this.#options = options;
  }

  /** The `X-Hub-Signature-256` header value for a body. */
  sign(body: string): string {
    return `sha256=${createHmac('sha256', this.#options.appSecret).update(body, 'utf8').digest('hex')}`;
  }

  /** Queues a payload for delivery and resolves when its delivery (with retries) is over. */
  send(payload: unknown): Promise<MetaWebhookDelivery> {
    const body = JSON.stringify(payload);
    const delivery: MetaWebhookDelivery = { payload, body, signature: this.sign(body), attempts: 0, delivered: false };
    this.deliveries.push(delivery);
    this.#pending++;
    const done = this.#queue.then(() => this.#deliver(delivery));
    this.#queue = done.catch(() => undefined);
    return done
      .then(
        () => delivery,
        () => delivery,
      )
      .finally(() => this.#settle());
  }

  /** Queues a payload after `delayMs` (a status that follows a send). */
  schedule(delayMs: number, build: () => unknown): void {
    if (this.#closed) return;
    this.#pending++;
    const timer = setTimeout(() => {
      this.#scheduled.delete(timer);
      void this.send(build());
      this.#settle();
    }, delayMs);
    this.#scheduled.add(timer);
  }

  /** Counts `work` (e.g. a sync hook producing payloads) as pending until it settles. */
  track(work: Promise<unknown>): void {
    this.#pending++;
    work.then(
      () => this.#settle(),
      () => this.#settle(),
    );
  }

  /** Resolves once nothing is scheduled or in flight. */
  waitForIdle(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Cancels scheduled deliveries. */
  close(): void {
    this.#closed = true;
    for (const timer of this.#scheduled) {
      clearTimeout(timer);
      this.#settle();
    }
    this.#scheduled.clear();
  }

  /** Forgets recorded deliveries. */
  clear(): void {
    this.deliveries.splice(0);
  }

  #settle(): void {
    this.#pending--;
    if (this.#pending === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  async #deliver(delivery: MetaWebhookDelivery): Promise<void> {
    const url = this.#options.webhookUrl;
    if (url === undefined) return;
    const waits = [0, ...(this.#options.retryDelaysMs ?? [])];
    for (const wait of waits) {
      if (wait > 0) await delay(wait);
      if (this.#closed && delivery.attempts > 0) return;
      delivery.attempts++;
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'facebookexternalua',
            'x-hub-signature-256': delivery.signature,
          },
          body: delivery.body,
        });
        await response.arrayBuffer();
        delivery.status = response.status;
        delivery.error = undefined;
        if (response.ok) {
          delivery.delivered = true;
          return;
        }
      } catch (error) {
        delivery.status = undefined;
        delivery.error = (error as Error).message;
      }
    }
  }
}
