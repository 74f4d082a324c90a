import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accountEventId, canonicalJson, contactEventId, hashCanonical, hashedEventId } from './event-id.ts';

describe('canonicalJson', () => {
  it('sorts keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('is valid JSON equal to the input, whatever the key order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(JSON.parse(canonicalJson(value))).toStrictEqual(JSON.parse(JSON.stringify(value)));
        const reversed = JSON.parse(JSON.stringify(value), (_, item) =>
          item && typeof item === 'object' && !Array.isArray(item)
            ? Object.fromEntries(Object.entries(item).reverse())
            : item,
        );
        expect(canonicalJson(reversed)).toBe(canonicalJson(value));
      }),
    );
  });
});

describe('hashed ids', () => {
  const source = { wabaId: '1', field: 'calls', path: 'entry[0].changes[0].value', raw: { a: 1, b: [1, 2] } };

  it('are stable for the same item and differ when the item, field, path or WABA differ', () => {
    const id = hashedEventId('unknown', source);
    expect(id).toMatch(/^unknown:[0-9a-f]{64}$/);
    expect(hashedEventId('unknown', { ...source, raw: { b: [1, 2], a: 1 } })).toBe(id);
    const variants = [
      { ...source, raw: { a: 2, b: [1, 2] } },
      { ...source, raw: { a: 1, b: [2, 1] } },
      { ...source, field: 'messages' },
      { ...source, path: 'entry[0].changes[1].value' },
      { ...source, wabaId: '2' },
    ];
    const ids = new Set([id, ...variants.map((variant) => hashedEventId('unknown', variant))]);
    expect(ids.size).toBe(6);
  });

  it('do not collide across arbitrary distinct items', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.jsonValue(), { selector: canonicalJson, minLength: 2, maxLength: 20 }), (items) => {
        const ids = items.map((raw) => hashedEventId('unknown', { ...source, raw }));
        expect(new Set(ids).size).toBe(items.length);
      }),
    );
  });

  it('hashCanonical is the SHA-256 of the canonical JSON', () => {
    expect(hashCanonical({})).toBe('44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
  });
});

describe('contact and account ids', () => {
  it('use the natural key when Meta gives one and a hash when it does not', () => {
    expect(contactEventId('106', 'add', '+16505551234', 1739321024, {})).toBe(
      'contact:106:add:+16505551234:1739321024:44136fa355b3678a',
    );
    // Two edits of one contact in the same second stay apart; the same item delivered again keeps its id.
    const renamed = (name: string) => ({ type: 'contact', action: 'add', contact: { full_name: name } });
    const first = contactEventId('106', 'add', '+16505551234', 1739321024, renamed('Pablo'));
    expect(contactEventId('106', 'add', '+16505551234', 1739321024, renamed('Pablo M.'))).not.toBe(first);
    expect(contactEventId('106', 'add', '+16505551234', 1739321024, renamed('Pablo'))).toBe(first);
    const withoutTime = contactEventId('106', 'add', '+16505551234', undefined, { a: 1 });
    expect(withoutTime).toMatch(/^contact:106:add:\+16505551234:sha256\.[0-9a-f]{64}$/);
    expect(contactEventId('106', 'add', '+16505551234', undefined, { a: 2 })).not.toBe(withoutTime);
  });

  it('tell apart two events of the same kind in the same second', () => {
    const first = accountEventId('waba', 'PARTNER_APP_INSTALLED', 1745337174, { waba_info: { partner_app_id: '1' } });
    const second = accountEventId('waba', 'PARTNER_APP_INSTALLED', 1745337174, { waba_info: { partner_app_id: '2' } });
    expect(first).toMatch(/^account:waba:PARTNER_APP_INSTALLED:1745337174:[0-9a-f]{16}$/);
    expect(second).not.toBe(first);
  });
});
