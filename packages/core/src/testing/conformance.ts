/**
 * The CRM adapter conformance suite: the behaviours contract v1 demands, proven against the CRM itself (its
 * emulator), not the adapter's word. Every adapter package runs it:
 *
 * ```ts
 * runAdapterConformance({ name: 'hubspot', createAdapter, reset, inspect, seedContact });
 * ```
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { CrmAdapter, OperationContext } from '../adapter/crm-adapter.ts';
import { CRM_NOT_FOUND_CODE } from '../adapter/crm-adapter.ts';
import {
  CrmAuthError,
  CrmPermanentError,
  CrmRateLimitedError,
  isCrmError,
  UnsupportedOperationError,
} from '../adapter/crm-errors.ts';
import type {
  ContactFindResult,
  CrmWriteResult,
  CrmWriteSuccess,
  MessageRecord,
  MessageUpdate,
} from '../adapter/crm-records.ts';
import type { DeliveryStatus } from '../events/coexistence-event.ts';
import { phoneVariants } from '../models/phone.ts';

/** A message record as the CRM holds it, read back by the adapter's emulator. */
export interface ConformanceMessage {
  crmId: string;
  /** The idempotency key it was written with (the wamid). */
  key: string;
  contactCrmId?: string;
  occurredAt?: string;
  /** The body as stored; must contain the message text. */
  text?: string;
  status?: DeliveryStatus;
  edited?: boolean;
  revoked?: boolean;
  /** For threading CRMs, the previous message's CRM id. */
  previousMessageCrmId?: string | null;
  /**
   * The stored reactions in any text form that shows each emoji once (a field of their own); omit it when the CRM
   * keeps them in the body, which the suite then reads from `text`.
   */
  reactions?: string;
  /** Why the message failed, as stored (a field of its own); omit it when the CRM shows it in `text`. */
  statusError?: string;
}

/** A contact record as the CRM holds it. */
export interface ConformanceContact {
  crmId: string;
  phone?: string;
  name?: string;
  /** The CRM user owning it (read when `ownerIds` is given). */
  ownerId?: string;
}

/** How the suite reads the CRM's state. */
export interface ConformanceInspector {
  /** Every message record, in the order the CRM created them. */
  messages(): Promise<ConformanceMessage[]>;
  /** Every contact record. */
  contacts(): Promise<ConformanceContact[]>;
}

/** Options of `runAdapterConformance`. */
export interface AdapterConformanceOptions {
  /** Shown in the `describe` title. */
  name: string;
  /** Creates a fresh adapter pointed at the emulator. */
  createAdapter: () => CrmAdapter | Promise<CrmAdapter>;
  /** Empties the CRM before each test, when it can. */
  reset?: () => void | Promise<void>;
  inspect: ConformanceInspector;
  /** Stores a contact in the CRM directly, phone exactly as given (as a rep typed it); returns its CRM id. */
  seedContact: (contact: { phone: string; name: string }) => Promise<string> | string;
  /** Fault hooks of the emulator; the tests that need a missing hook are skipped. */
  faults?: {
    /** The next request the CRM receives answers with its rate-limit error, asking for `retryAfterMs`. */
    rateLimitNextRequest?: (options: { retryAfterMs: number }) => void | Promise<void>;
    /** The next request the CRM receives is refused for bad credentials. */
    rejectNextRequestCredentials?: () => void | Promise<void>;
  };
  /**
   * Two CRM user ids the emulator knows, for the owner tests (an owner is set on create, and an upsert sets one only
   * when the record has none); those tests are skipped without them.
   */
  ownerIds?: readonly [string, string];
  /**
   * The CRM gives every record an owner (Salesforce: its creator, when none is named), so the suite skips the check
   * that an upsert fills an empty owner. @default false
   */
  recordsAlwaysOwned?: boolean;
  /**
   * The CRM can hold a contact known only by its BSUID (no phone). Close cannot: its WhatsApp activities need a
   * phone. @default true
   */
  contactsWithoutPhone?: boolean;
  /** @default 'conformance' */
  connectionId?: string;
}

/** Registers the conformance suite with vitest (`describe`/`it`); call it at the top level of a test file. */
export function runAdapterConformance(options: AdapterConformanceOptions): void {
  const context = (): OperationContext => ({
    connectionId: options.connectionId ?? 'conformance',
    signal: new AbortController().signal,
  });
  let adapter: CrmAdapter;

  const success = (result: CrmWriteResult | undefined): CrmWriteSuccess => {
    if (result === undefined || !result.ok)
      throw new Error(`expected success, got ${result === undefined ? 'nothing' : result.error.message}`);
    return result;
  };

  let phoneCounter = 0;
  const uniquePhone = (): string => `+1650555${String(1000 + ((Date.now() + phoneCounter++) % 9000)).padStart(4, '0')}`;

  async function createContact(): Promise<{ crmId: string; parentId?: string; phone: string }> {
    const phone = uniquePhone();
    const [result] = await adapter.createContacts(
      [{ key: `phone:${phone}`, phone, name: 'Conformance Contact' }],
      context(),
    );
    const written = success(result);
    return { crmId: written.crmId, ...(written.parentId === undefined ? {} : { parentId: written.parentId }), phone };
  }

  function message(
    contact: { crmId: string; parentId?: string; phone: string },
    index: number,
    overrides: Partial<MessageRecord> = {},
  ): MessageRecord {
    const text = `Conformance message ${index}`;
    return {
      key: `wamid.conformance.${randomUUID()}`,
      direction: index % 2 === 0 ? 'inbound' : 'outbound',
      actor: index % 2 === 0 ? 'customer' : 'business_app',
      occurredAt: new Date(Date.UTC(2026, 2, 1, 9, 0, index)).toISOString(),
      source: 'live',
      contactCrmId: contact.crmId,
      ...(contact.parentId === undefined ? {} : { contactParentCrmId: contact.parentId }),
      contactPhone: contact.phone,
      businessPhone: '+14155550100',
      conversationKey: `conversation:${contact.phone}`,
      ...(adapter.capabilities.threadsMessages ? { previousMessageCrmId: null } : {}),
      content: { kind: 'text', text, summary: text, placeholder: false },
      ...overrides,
    };
  }

  /** Writes one conversation in order, in declared batch sizes, chaining previous ids for threading CRMs. */
  async function writeThread(records: MessageRecord[]): Promise<CrmWriteResult[]> {
    const results: CrmWriteResult[] = [];
    let previous: string | null = null;
    const size = adapter.capabilities.threadsMessages ? 1 : adapter.capabilities.messageBatchSize;
    for (let start = 0; start < records.length; start += size) {
      const batch = records
        .slice(start, start + size)
        .map((record) =>
          adapter.capabilities.threadsMessages ? { ...record, previousMessageCrmId: previous } : record,
        );
      const batchResults = await adapter.writeMessages(batch, context());
      for (const result of batchResults) if (result.ok) previous = result.crmId;
      results.push(...batchResults);
    }
    return results;
  }

  describe(`CRM adapter conformance: ${options.name}`, () => {
    beforeEach(async () => {
      await options.reset?.();
      adapter = await options.createAdapter();
    });

    it('declares contract v1, its name and usable capabilities', () => {
      expect(adapter.specificationVersion).toBe('v1');
      expect(adapter.crm).toMatch(/^[a-z][a-z0-9-]*$/);
      for (const size of [
        adapter.capabilities.contactBatchSize,
        adapter.capabilities.messageBatchSize,
        adapter.capabilities.searchBatchSize,
      ]) {
        expect(Number.isInteger(size) && size >= 1).toBe(true);
      }
      for (const bucket of adapter.capabilities.rateLimits.buckets) {
        expect(bucket.limit).toBeGreaterThan(0);
        expect(bucket.intervalMs).toBeGreaterThan(0);
      }
      expect(['upsert-by-external-id', 'lookup-before-retry']).toContain(adapter.capabilities.idempotency);
    });

    it('creates a contact once for the same key', async () => {
      const phone = uniquePhone();
      const input = { key: `phone:${phone}`, phone, name: 'Ada Lovelace' };
      const first = success((await adapter.createContacts([input], context()))[0]);
      const second = success((await adapter.createContacts([input], context()))[0]);
      expect(first.created).toBe(true);
      expect(second.created).toBe(false);
      expect(second.crmId).toBe(first.crmId);
      const stored = (await options.inspect.contacts()).filter((contact) => contact.crmId === first.crmId);
      expect(stored).toHaveLength(1);
      expect(stored[0]!.name).toContain('Ada');
    });

    it('writes a message once for the same key (a replay answers created: false)', async () => {
      const contact = await createContact();
      const record = message(contact, 0);
      const first = success((await adapter.writeMessages([record], context()))[0]);
      const second = success((await adapter.writeMessages([record], context()))[0]);
      expect([first.created, second.created]).toEqual([true, false]);
      expect(second.crmId).toBe(first.crmId);
      const stored = (await options.inspect.messages()).filter((stored) => stored.key === record.key);
      expect(stored).toHaveLength(1);
      expect(stored[0]!.text).toContain('Conformance message 0');
    });

    it('prepares conversations (when it declares conversationBatchSize): one record per key, messages written under it once', async () => {
      const declares = adapter.capabilities.conversationBatchSize !== undefined;
      expect(typeof adapter.prepareConversations === 'function').toBe(declares);
      if (!declares || adapter.prepareConversations === undefined) return;
      expect(Number.isInteger(adapter.capabilities.conversationBatchSize)).toBe(true);
      expect(adapter.capabilities.conversationBatchSize).toBeGreaterThanOrEqual(1);
      const contact = await createContact();
      const records = Array.from({ length: 3 }, (_, index) => message(contact, index, { source: 'history' }));
      const input = { key: `history:${records[0]!.conversationKey}`, conversationKey: records[0]!.conversationKey };
      const first = success((await adapter.prepareConversations([{ ...input, messages: records }], context()))[0]);
      // A resend after a crash lands on the same record.
      const again = success((await adapter.prepareConversations([{ ...input, messages: records }], context()))[0]);
      expect([first.key, first.created, again.created]).toEqual([input.key, true, false]);
      expect(again.crmId).toBe(first.crmId);
      const written = await adapter.writeMessages(
        records.map((record) => ({ ...record, conversationCrmId: first.crmId })),
        context(),
      );
      expect(written.map((result) => success(result).created)).toEqual([true, true, true]);
      const stored = (await options.inspect.messages()).filter((stored) =>
        records.some((record) => record.key === stored.key),
      );
      expect(stored).toHaveLength(3);
    });

    it('keeps a conversation in order', async () => {
      const contact = await createContact();
      const records = Array.from({ length: 5 }, (_, index) => message(contact, index));
      const results = await writeThread(records);
      const crmIds = results.map((result) => success(result).crmId);
      const stored = (await options.inspect.messages()).filter((stored) => crmIds.includes(stored.crmId));
      expect(stored.map((stored) => stored.key)).toEqual(records.map((record) => record.key));
      const times = stored.map((stored) => Date.parse(stored.occurredAt ?? ''));
      expect(times).toEqual([...times].sort((left, right) => left - right));
      if (adapter.capabilities.threadsMessages) {
        expect(stored.map((stored) => stored.previousMessageCrmId ?? null)).toEqual([null, ...crmIds.slice(0, -1)]);
      }
    });

    it('reports a failed item in its result and writes the others', async () => {
      const contact = await createContact();
      const size = Math.min(3, adapter.capabilities.messageBatchSize);
      const records = Array.from({ length: size }, (_, index) => message(contact, index));
      const badIndex = size === 1 ? 0 : 1;
      records[badIndex] = { ...records[badIndex]!, contactCrmId: 'coexist-missing-contact' };
      const results = await adapter.writeMessages(records, context());
      expect(results.map((result) => result.key)).toEqual(records.map((record) => record.key));
      const failed = results[badIndex]!;
      expect(failed.ok).toBe(false);
      if (!failed.ok) {
        expect(isCrmError(failed.error)).toBe(true);
        expect(failed.error.retryable).toBe(false);
        expect(failed.error.message.startsWith(`[coexist/${adapter.crm}] `)).toBe(true);
      }
      const keys = (await options.inspect.messages()).map((stored) => stored.key);
      expect(records.map((record) => keys.includes(record.key))).toEqual(records.map((_, index) => index !== badIndex));
    });

    it('respects its declared message batch size', async () => {
      const contact = await createContact();
      const before = (await options.inspect.messages()).length;
      const tooMany = Array.from({ length: adapter.capabilities.messageBatchSize + 1 }, (_, index) =>
        message(contact, index),
      );
      await expect(adapter.writeMessages(tooMany, context())).rejects.toBeInstanceOf(CrmPermanentError);
      expect((await options.inspect.messages()).length).toBe(before);
      if (!adapter.capabilities.threadsMessages) {
        const full = tooMany.slice(0, adapter.capabilities.messageBatchSize);
        const results = await adapter.writeMessages(full, context());
        expect(results.every((result) => result.ok)).toBe(true);
        expect((await options.inspect.messages()).length).toBe(before + full.length);
      }
    });

    it('finds a contact stored with the phone in other formats', async () => {
      const stored = [
        { e164: '+16505550134', as: '+1 (650) 555-0134' },
        { e164: '+447911123456', as: '0044 7911 123456' },
        { e164: '+4915123456789', as: '4915123456789' },
        // An Argentine mobile saved without its 9, as dialled at home (its wa_id has the 9).
        { e164: '+5491123456789', as: '+54 11 2345-6789' },
      ];
      const seeded: string[] = [];
      for (const entry of stored)
        seeded.push(await options.seedContact({ phone: entry.as, name: `Seeded ${entry.e164}` }));
      const requests = stored.map((entry) => ({
        key: `phone:${entry.e164}`,
        phone: entry.e164,
        phoneVariants: phoneVariants(entry.e164),
      }));
      requests.push({ key: 'phone:+16505550199', phone: '+16505550199', phoneVariants: phoneVariants('+16505550199') });
      const results: ContactFindResult[] = [];
      for (let start = 0; start < requests.length; start += adapter.capabilities.searchBatchSize) {
        results.push(
          ...(await adapter.findContacts(
            requests.slice(start, start + adapter.capabilities.searchBatchSize),
            context(),
          )),
        );
      }
      expect(results.map((result) => result.key)).toEqual(requests.map((request) => request.key));
      results.forEach((result, index) => {
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        if (index < seeded.length) expect(result.matches.map((match) => match.crmId)).toContain(seeded[index]);
        else expect(result.matches).toEqual([]);
      });
    });

    it('never downgrades a status, and applies edits and revokes', async () => {
      const contact = await createContact();
      const record = message(contact, 1, { status: 'sent' });
      const crmId = success((await adapter.writeMessages([record], context()))[0]).crmId;
      const statuses: DeliveryStatus[] = ['delivered', 'read', 'delivered'];
      for (const [index, status] of statuses.entries()) {
        const at = new Date(Date.UTC(2026, 2, 1, 10, index)).toISOString();
        success(
          (
            await adapter.updateMessages(
              [{ key: `status-${index}`, messageKey: record.key, crmId, change: { kind: 'status', status, at } }],
              context(),
            )
          )[0],
        );
      }
      const edited = {
        kind: 'text',
        text: 'Edited conformance text',
        summary: 'Edited conformance text',
        placeholder: false,
      };
      success(
        (
          await adapter.updateMessages(
            [
              {
                key: 'edit',
                messageKey: record.key,
                change: { kind: 'edit', content: edited, at: '2026-03-01T11:00:00.000Z' },
              },
            ],
            context(),
          )
        )[0],
      );
      let stored = (await options.inspect.messages()).find((stored) => stored.crmId === crmId);
      expect(stored?.status).toBe('read');
      expect(stored?.text).toContain('Edited conformance text');
      expect(stored?.edited).toBe(true);
      success(
        (
          await adapter.updateMessages(
            [{ key: 'revoke', messageKey: record.key, change: { kind: 'revoke', at: '2026-03-01T12:00:00.000Z' } }],
            context(),
          )
        )[0],
      );
      stored = (await options.inspect.messages()).find((stored) => stored.crmId === crmId);
      expect(stored?.revoked).toBe(true);
    });

    it("applies a reaction and its removal, a placeholder's media, and each update replayed after a crash once", async () => {
      const contact = await createContact();
      const placeholder = message(contact, 0, {
        content: { kind: 'media_placeholder', summary: '[media]', placeholder: true },
        source: 'history',
      });
      const crmId = success((await adapter.writeMessages([placeholder], context()))[0]).crmId;
      const update = (key: string, change: MessageUpdate['change']): MessageUpdate => ({
        key,
        messageKey: placeholder.key,
        crmId,
        change,
      });
      const media = { kind: 'image', caption: 'Conformance beach', summary: 'Conformance beach', placeholder: false };
      const reaction = update('reaction', {
        kind: 'reaction',
        actor: 'customer',
        emoji: '🌊',
        at: '2026-03-01T10:01:00.000Z',
      });
      // Each update twice: a resend after a crash must not apply it twice.
      for (const change of [
        update('media', { kind: 'media', content: media, at: '2026-03-01T10:00:00.000Z' }),
        reaction,
      ]) {
        for (let round = 0; round < 2; round++) success((await adapter.updateMessages([change], context()))[0]);
      }
      const reactionsOf = async () => {
        const stored = (await options.inspect.messages()).find((stored) => stored.crmId === crmId);
        return { stored, reactions: stored?.reactions ?? stored?.text ?? '' };
      };
      let { stored, reactions } = await reactionsOf();
      expect(stored?.text).toContain('Conformance beach');
      expect(reactions.split('🌊').length - 1).toBe(1);
      const removal = update('unreaction', {
        kind: 'reaction',
        actor: 'customer',
        emoji: null,
        at: '2026-03-01T10:02:00.000Z',
      });
      success((await adapter.updateMessages([removal], context()))[0]);
      ({ stored, reactions } = await reactionsOf());
      expect(reactions).not.toContain('🌊');
      expect(stored?.text).toContain('Conformance beach');
    });

    it.skipIf(options.contactsWithoutPhone === false)('finds a contact by its BSUID when it has no phone', async () => {
      const userId = `US.${Date.now()}${phoneCounter++}`;
      const created = success(
        (await adapter.createContacts([{ key: `bsuid:${userId}`, userId, name: 'Username Only' }], context()))[0],
      );
      const [found] = await adapter.findContacts([{ key: `bsuid:${userId}`, userId }], context());
      expect(found?.ok).toBe(true);
      if (found?.ok) expect(found.matches.map((match) => match.crmId)).toEqual([created.crmId]);
    });

    it('replaces the stored name with a Business App name on upsert', async () => {
      const phone = uniquePhone();
      const key = `phone:${phone}`;
      const first = success((await adapter.createContacts([{ key, phone, name: 'Profile Name' }], context()))[0]);
      const upserted = success(
        (await adapter.upsertContacts([{ key, crmId: first.crmId, phone, name: 'Saved In App' }], context()))[0],
      );
      expect(upserted.crmId).toBe(first.crmId);
      const stored = (await options.inspect.contacts()).filter((contact) => contact.crmId === first.crmId);
      expect(stored).toHaveLength(1);
      expect(stored[0]!.name).toContain('Saved In App');
    });

    const ownerOf = async (crmId: string) =>
      (await options.inspect.contacts()).find((contact) => contact.crmId === crmId)?.ownerId;

    it.skipIf(options.ownerIds === undefined)(
      'sets the owner on create, and an upsert naming another owner keeps it',
      async () => {
        const [owner, other] = options.ownerIds!;
        const phone = uniquePhone();
        const key = `phone:${phone}`;
        const created = success(
          (await adapter.createContacts([{ key, phone, name: 'Owned', ownerId: owner }], context()))[0],
        );
        expect(await ownerOf(created.crmId)).toBe(owner);
        success((await adapter.upsertContacts([{ key, crmId: created.crmId, phone, ownerId: other }], context()))[0]);
        expect(await ownerOf(created.crmId)).toBe(owner);
      },
    );

    it.skipIf(options.ownerIds === undefined || options.recordsAlwaysOwned === true)(
      'gives an owner to a record that has none on upsert',
      async () => {
        const [, other] = options.ownerIds!;
        const unowned = await createContact();
        expect(await ownerOf(unowned.crmId)).toBeUndefined();
        success(
          (
            await adapter.upsertContacts(
              [{ key: `phone:${unowned.phone}`, crmId: unowned.crmId, phone: unowned.phone, ownerId: other }],
              context(),
            )
          )[0],
        );
        expect(await ownerOf(unowned.crmId)).toBe(other);
      },
    );

    it("records why a message failed: Meta's error code and title", async () => {
      const contact = await createContact();
      const record = message(contact, 1, { status: 'sent' });
      const crmId = success((await adapter.writeMessages([record], context()))[0]).crmId;
      const change = {
        kind: 'status',
        status: 'failed',
        at: '2026-03-01T10:00:00.000Z',
        errorCode: 131047,
        errorTitle: 'Re-engagement message',
      } as const;
      success((await adapter.updateMessages([{ key: 'failed', messageKey: record.key, crmId, change }], context()))[0]);
      const stored = (await options.inspect.messages()).find((stored) => stored.crmId === crmId);
      expect(stored?.status).toBe('failed');
      expect(stored?.statusError ?? stored?.text).toContain('131047: Re-engagement message');
    });

    it('reports an update of an unknown message as a not-found item failure', async () => {
      const [result] = await adapter.updateMessages(
        [
          {
            key: 'missing',
            messageKey: 'wamid.conformance.missing',
            change: { kind: 'revoke', at: '2026-03-01T12:00:00.000Z' },
          },
        ],
        context(),
      );
      expect(result?.ok).toBe(false);
      if (result !== undefined && !result.ok) {
        expect(result.error).toBeInstanceOf(CrmPermanentError);
        expect(result.error.code).toBe(CRM_NOT_FOUND_CODE);
      }
    });

    it('throws UnsupportedOperationError for renderCard without supportsCards, else renders', async () => {
      const card = {
        contact: { name: 'Conformance' },
        messages: [],
        olderMessageCount: 0,
        ownership: {},
        serviceWindow: { open: false, freeFormAllowed: false, templateRequired: true },
        numberHealth: { connection: 'connected', warnings: [], backfillProgress: 0, backfillComplete: false },
        generatedAt: '2026-03-01T12:00:00.000Z',
      };
      if (adapter.capabilities.supportsCards) {
        const rendering = await adapter.renderCard(card, context());
        expect(rendering.body.length).toBeGreaterThan(0);
      } else {
        await expect(adapter.renderCard(card, context())).rejects.toBeInstanceOf(UnsupportedOperationError);
      }
    });

    it.skipIf(options.faults?.rateLimitNextRequest === undefined)(
      'maps the CRM rate-limit answer to CrmRateLimitedError',
      async () => {
        const contact = await createContact();
        await options.faults!.rateLimitNextRequest!({ retryAfterMs: 2000 });
        const outcome = await adapter.writeMessages([message(contact, 0)], context()).then(
          (results) => (results[0]?.ok === false ? results[0].error : results[0]),
          (error: unknown) => error,
        );
        expect(outcome).toBeInstanceOf(CrmRateLimitedError);
        expect((outcome as CrmRateLimitedError).retryable).toBe(true);
      },
    );

    it.skipIf(options.faults?.rejectNextRequestCredentials === undefined)(
      'maps refused credentials to CrmAuthError',
      async () => {
        await options.faults!.rejectNextRequestCredentials!();
        const phone = uniquePhone();
        await expect(adapter.findContacts([{ key: `phone:${phone}`, phone }], context())).rejects.toBeInstanceOf(
          CrmAuthError,
        );
      },
    );
  });
}
