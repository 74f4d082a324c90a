import { describe, expect, it } from 'vitest';
import { createSalesforceIdGenerator, isSalesforceIdShape, toEighteenCharacterId } from './salesforce-ids.ts';

describe('Salesforce ids', () => {
  it('appends the case-safe checksum of the documented 15-to-18 conversion', () => {
    // A published example pair: 001A0000006Vm9r → 001A0000006Vm9rIAC.
    expect(toEighteenCharacterId('001A0000006Vm9r')).toBe('001A0000006Vm9rIAC');
    expect(() => toEighteenCharacterId('short')).toThrow(/15 characters/);
  });

  it('generates unique, reproducible ids with the key prefix', () => {
    const first = createSalesforceIdGenerator(7);
    const second = createSalesforceIdGenerator(7);
    const ids = Array.from({ length: 1000 }, () => first.next('a02'));
    expect(new Set(ids).size).toBe(1000);
    expect(ids.every((id) => id.startsWith('a02') && isSalesforceIdShape(id) && id.length === 18)).toBe(true);
    expect(ids.every((id) => toEighteenCharacterId(id.slice(0, 15)) === id)).toBe(true);
    expect(second.next('a02')).toBe(ids[0]);
    expect(createSalesforceIdGenerator(8).next('a02')).not.toBe(ids[0]);
  });
});
