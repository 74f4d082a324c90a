import { describe, expect, it } from 'vitest';
import { locateJsonSyntaxError } from './locate-json-syntax-error.ts';

describe('locateJsonSyntaxError', () => {
  it('returns undefined for every kind of valid JSON', () => {
    for (const text of [
      '{}',
      ' [ ] ',
      '{"a":[1,-2.5e+3,true,false,null,"x\\u00e9\\n\\"y"],"b":{"c":{}}}\n',
      '"string"',
      '0',
      JSON.stringify({ nested: [{ deep: ['ünïcödé 👋'] }] }, null, 2),
    ]) {
      expect(locateJsonSyntaxError(text), text).toBeUndefined();
      expect(() => JSON.parse(text)).not.toThrow();
    }
  });

  it('points at the first character that breaks the JSON, 1-based', () => {
    const cases: [string, number, number][] = [
      ['{\n  "entry": [oops\n', 2, 13],
      ['{"a" 1}', 1, 6],
      ['{"a":1,}', 1, 8],
      ['[1 2]', 1, 4],
      ['{"a":01}', 1, 7],
      ['"bad \\x escape"', 1, 7],
      ['{"a":1} trailing', 1, 9],
      ['', 1, 1],
      ['{"a":', 1, 6],
      ['"unterminated', 1, 14],
      ["{'a':1}", 1, 2],
    ];
    for (const [text, line, column] of cases) {
      expect(locateJsonSyntaxError(text), text).toEqual({ line, column });
      expect(() => JSON.parse(text), text).toThrow();
    }
  });
});
