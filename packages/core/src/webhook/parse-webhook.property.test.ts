import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { metaWebhookSchema } from './meta-webhook-schema.ts';
import { parseWebhook } from './parse-webhook.ts';
import { isValidWebhookFast } from './validate-webhook-fast.ts';
import { WebhookValidationError } from './webhook-validation-error.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** Every fixture that is a whole webhook (the value-only declined history is wrapped in `variants/`). */
const FIXTURES: unknown[] = ['meta', 'variants'].flatMap((folder) =>
  readdirSync(join(here, '__fixtures__', folder))
    .filter((file) => !file.endsWith('-value-only.json'))
    .map((file) => JSON.parse(readFileSync(join(here, '__fixtures__', folder, file), 'utf8'))),
);

type Path = (string | number)[];

function pathsOf(value: unknown, prefix: Path = [], into: Path[] = []): Path[] {
  into.push(prefix);
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) pathsOf(item, [...prefix, index], into);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) pathsOf(item, [...prefix, key], into);
  }
  return into;
}

type Mutation = { kind: 'replace'; replacement: unknown } | { kind: 'delete' } | { kind: 'duplicate' };

/** A copy of `root` with the value at `path` replaced, deleted, or (in an array) duplicated. */
function mutate(root: unknown, path: Path, mutation: Mutation): unknown {
  const copy = structuredClone(root);
  if (path.length === 0) return mutation.kind === 'replace' ? mutation.replacement : copy;
  let parent = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (mutation.kind === 'replace') parent[last] = mutation.replacement;
  else if (Array.isArray(parent)) {
    if (mutation.kind === 'delete') parent.splice(last as number, 1);
    else parent.splice(last as number, 0, structuredClone(parent[last as number]));
  } else if (mutation.kind === 'delete') delete parent[last];
  return copy;
}

/** Values Meta gets wrong in practice, plus arbitrary JSON. */
const replacement = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom('', '0', '1750000000', 'abc', -1, 0, 1e20, 1.5, null, [], {}, true, 'READ', 'edit', 'reaction'),
);

const mutatedFixture = fc
  .record({
    fixture: fc.constantFrom(...FIXTURES),
    pick: fc.nat(),
    kind: fc.constantFrom('replace', 'delete', 'duplicate'),
    replacement,
  })
  .map(({ fixture, pick, kind, replacement: value }) => {
    const paths = pathsOf(fixture);
    const path = paths[pick % paths.length]!;
    const mutation: Mutation = kind === 'replace' ? { kind, replacement: value } : ({ kind } as Mutation);
    return mutate(fixture, path, mutation);
  });

/**
 * Fails unless `value` is plain JSON: no undefined-valued keys, no NaN or Infinity, no Date or class instances.
 * (A structural check rather than a JSON round trip, which would trip over `-0` that the payload itself carried.)
 */
function expectJsonClean(value: unknown, path = 'events'): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    expect(Number.isFinite(value), `${path} is not a finite number`).toBe(true);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      expectJsonClean(item, `${path}[${index}]`);
    });
    return;
  }
  expect(typeof value, `${path} is not JSON`).toBe('object');
  expect(
    Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null,
    `${path} is not a plain object`,
  ).toBe(true);
  for (const [key, item] of Object.entries(value as object)) {
    expect(item, `${path}.${key} is undefined`).not.toBeUndefined();
    expectJsonClean(item, `${path}.${key}`);
  }
}

/** Runs parseWebhook and fails the property on any throw that is not a WebhookValidationError. */
function parseOrValidationError(body: unknown): 'events' | 'invalid' {
  try {
    const events = parseWebhook(body, { receivedAt: new Date(0) });
    expectJsonClean(events);
    return 'events';
  } catch (error) {
    if (!(error instanceof WebhookValidationError)) throw error;
    expect(error.message).toMatch(/^\[coexist\/core\] Invalid webhook at /);
    expect(error.issues.length).toBeGreaterThan(0);
    return 'invalid';
  }
}

describe('parseWebhook properties', () => {
  it('never throws anything but WebhookValidationError on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => {
        parseOrValidationError(body);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws anything but WebhookValidationError on envelopes holding arbitrary JSON', () => {
    const envelope = fc.record({
      object: fc.oneof(fc.constant('whatsapp_business_account'), fc.jsonValue({ maxDepth: 1 })),
      entry: fc.array(
        fc.record({
          id: fc.oneof(fc.constant('102290129340398'), fc.jsonValue({ maxDepth: 1 })),
          changes: fc.array(
            fc.record({
              field: fc.constantFrom(
                'messages',
                'smb_message_echoes',
                'smb_app_state_sync',
                'history',
                'account_update',
                'x',
              ),
              value: fc.jsonValue({ maxDepth: 4 }),
            }),
          ),
        }),
        { maxLength: 3 },
      ),
    });
    fc.assert(
      fc.property(envelope, (body) => {
        parseOrValidationError(body);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws anything but WebhookValidationError on mutated fixtures', () => {
    fc.assert(
      fc.property(mutatedFixture, (body) => {
        parseOrValidationError(body);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts exactly what the zod schema accepts (fast path and schema agree)', () => {
    fc.assert(
      fc.property(fc.oneof(mutatedFixture, fc.jsonValue()), (body) => {
        expect(isValidWebhookFast(body)).toBe(metaWebhookSchema.safeParse(body).success);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives identical events for a redelivery of the same payload', () => {
    fc.assert(
      fc.property(mutatedFixture, (body) => {
        let first: unknown;
        try {
          first = parseWebhook(body, { receivedAt: new Date(0) });
        } catch {
          return;
        }
        expect(parseWebhook(structuredClone(body), { receivedAt: new Date(0) })).toStrictEqual(first);
      }),
      { numRuns: 300 },
    );
  });
});
