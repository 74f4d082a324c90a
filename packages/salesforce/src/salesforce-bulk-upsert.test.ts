import { describe, expect, it } from 'vitest';
import { readCsv, toBulkCsv } from './salesforce-bulk-upsert.ts';

describe('readCsv', () => {
  it('reads quoted cells with commas, doubled quotes and line breaks, LF or CRLF, and empty cells', () => {
    const text =
      'sf__Id,sf__Created,Body__c,Note__c\r\n"a0B1","true","Hi, ""Ana""\nsee you",\n"a0B2",false,plain,"x"\n';
    expect(readCsv(text)).toEqual([
      ['sf__Id', 'sf__Created', 'Body__c', 'Note__c'],
      ['a0B1', 'true', 'Hi, "Ana"\nsee you', ''],
      ['a0B2', 'false', 'plain', 'x'],
    ]);
    expect(readCsv('a,b')).toEqual([['a', 'b']]);
    expect(readCsv('a,b\n\n"",c\n\n')).toEqual([
      ['a', 'b'],
      ['', 'c'],
    ]);
    expect(readCsv('')).toEqual([]);
    expect(readCsv('\ufeffsf__Id,x\n1,2\n')).toEqual([
      ['sf__Id', 'x'],
      ['1', '2'],
    ]);
  });

  it('reads back what toBulkCsv writes, absent values as empty cells', () => {
    const rows = [
      { Message_Id__c: 'wamid.1', Body__c: 'line one\nline "two", three', Outbound__c: true },
      { Message_Id__c: 'wamid.2', Body__c: undefined, Outbound__c: false },
    ];
    const columns = ['Message_Id__c', 'Body__c', 'Outbound__c'];
    expect(readCsv(toBulkCsv(columns, rows))).toEqual([
      columns,
      ['wamid.1', 'line one\nline "two", three', 'true'],
      ['wamid.2', '', 'false'],
    ]);
  });

  it('throws on a quoted cell that never ends or is followed by text', () => {
    expect(() => readCsv('"open,cell\n')).toThrow(SyntaxError);
    expect(() => readCsv('"a"b,c\n')).toThrow(SyntaxError);
  });
});
