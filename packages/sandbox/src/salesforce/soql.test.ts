import { describe, expect, it } from 'vitest';
import { evaluateCondition, parseSoql, SoqlSyntaxError } from './soql.ts';

describe('parseSoql', () => {
  it('parses fields, conditions, ordering, limit and offset', () => {
    const query = parseSoql(
      "SELECT Id, Conversation__r.Thread_Key__c FROM WhatsApp_Message__c WHERE (Direction__c = 'inbound' OR Direction__c != 'x') AND NOT Message_Id__c IN ('a', 'b\\'c') AND Sent_At__c >= 2025-01-01T00:00:00Z ORDER BY Sent_At__c DESC NULLS LAST, Id LIMIT 10 OFFSET 5",
    );
    expect(query).toMatchObject({
      object: 'WhatsApp_Message__c',
      fields: ['Id', 'Conversation__r.Thread_Key__c'],
      count: false,
      orderBy: [
        { field: 'Sent_At__c', descending: true, nullsLast: true },
        { field: 'Id', descending: false, nullsLast: false },
      ],
      limit: 10,
      offset: 5,
    });
    expect(query.where).toMatchObject({ kind: 'and' });
    expect(JSON.stringify(query.where)).toContain("b'c");
    expect(parseSoql('select count() from Lead where IsConverted = false')).toMatchObject({
      count: true,
      object: 'Lead',
    });
  });

  it('rejects what it does not understand, naming the spot', () => {
    expect(() => parseSoql('SELECT FROM Contact')).toThrow(SoqlSyntaxError);
    expect(() => parseSoql("SELECT Id FROM Contact WHERE Phone = 'x")).toThrow(/unterminated/);
    expect(() => parseSoql('SELECT Id FROM Contact WHERE Phone = :bind')).toThrow(/unexpected character ':'/);
    expect(() => parseSoql('SELECT Id FROM Contact GROUP BY Phone')).toThrow(/unexpected token 'GROUP'/);
  });
});

describe('evaluateCondition', () => {
  const record: Record<string, { value: unknown; type: string }> = {
    Name: { value: 'Ada Lovelace', type: 'string' },
    IsConverted: { value: false, type: 'boolean' },
    Id: { value: '003Ab00000AbCdEFGH', type: 'id' },
    Sent_At__c: { value: '2025-01-02T00:00:00.000+0000', type: 'datetime' },
    Phone: { value: null, type: 'phone' },
  };
  const read = (field: string) => record[field]!;
  const matches = (where: string) => evaluateCondition(parseSoql(`SELECT Id FROM X WHERE ${where}`).where!, read);

  it('compares text case-insensitively, ids by 15 characters, datetimes by instant, and nulls as SOQL does', () => {
    expect(matches("Name = 'ada lovelace'")).toBe(true);
    expect(matches("Name LIKE 'ada%'")).toBe(true);
    expect(matches("Id = '003Ab00000AbCdE'")).toBe(true);
    expect(matches('Sent_At__c > 2025-01-01T23:59:59Z')).toBe(true);
    expect(matches('IsConverted = false AND Phone = null')).toBe(true);
    expect(matches("Phone != null OR Name IN ('x', 'y')")).toBe(false);
    expect(matches("Name NOT IN ('x')")).toBe(true);
  });
});
