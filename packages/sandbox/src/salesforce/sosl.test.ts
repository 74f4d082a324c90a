import { describe, expect, it } from 'vitest';
import { parseSearchTerms, parseSosl, termMatchesValue } from './sosl.ts';

describe('parseSosl', () => {
  it('parses terms, the search group and RETURNING clauses with conditions', () => {
    const search = parseSosl(
      'FIND {4155551212 OR "+1 415 555 3434"} IN PHONE FIELDS RETURNING Contact(Id, Phone, MobilePhone), Lead(Id WHERE IsConverted = false LIMIT 5), Account LIMIT 50',
    );
    expect(search.terms).toEqual([['4155551212'], ['+1 415 555 3434']]);
    expect(search.scope).toBe('PHONE');
    expect(search.returning.map((target) => [target.object, target.fields, target.limit])).toEqual([
      ['Contact', ['Id', 'Phone', 'MobilePhone'], undefined],
      ['Lead', ['Id'], 5],
      ['Account', ['Id'], undefined],
    ]);
    expect(search.returning[1]!.where).toMatchObject({ kind: 'compare', field: 'IsConverted' });
    expect(search.limit).toBe(50);
  });

  it('rejects a missing FIND clause, a one-character term and unknown groups', () => {
    expect(() => parseSosl('SELECT Id FROM Contact')).toThrow(/FIND/);
    expect(() => parseSearchTerms('a')).toThrow(/longer than one character/);
    expect(() => parseSosl('FIND {ab} IN FUNNY FIELDS')).toThrow(/search group/);
  });
});

describe('termMatchesValue', () => {
  it('matches phone fields by digits whatever the format, with or without the country code', () => {
    for (const stored of ['(415) 555-1212', '+1 415-555-1212', '415.555.1212', '4155551212']) {
      expect(termMatchesValue('4155551212', stored, 'phone')).toBe(true);
    }
    expect(termMatchesValue('14155551212', '(415) 555-1212', 'phone')).toBe(true);
    expect(termMatchesValue('4155551213', '(415) 555-1212', 'phone')).toBe(false);
    expect(termMatchesValue('5551212', '+44 20 7946 0958', 'phone')).toBe(false);
  });

  it('matches text fields by whole words with a trailing wildcard', () => {
    expect(termMatchesValue('acme', 'Acme Corp', 'string')).toBe(true);
    expect(termMatchesValue('ac*', 'Acme Corp', 'string')).toBe(true);
    expect(termMatchesValue('acm', 'Acme Corp', 'string')).toBe(false);
  });
});
