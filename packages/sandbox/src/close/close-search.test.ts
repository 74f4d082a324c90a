import { describe, expect, it } from 'vitest';
import { CloseSearchError, parseCloseSearchQuery } from './close-search.ts';

const phoneCondition = {
  type: 'field_condition',
  field: { type: 'regular_field', object_type: 'contact_phone', field_name: 'phone' },
  condition: { type: 'text', mode: 'exact_value', value: '+14155551234' },
};

function errorOf(query: unknown): CloseSearchError {
  try {
    parseCloseSearchQuery(query, 'US');
  } catch (error) {
    if (error instanceof CloseSearchError) return error;
    throw error;
  }
  throw new Error('expected a CloseSearchError');
}

describe('parseCloseSearchQuery', () => {
  it('accepts the adapter’s contact-by-phone query and a bare object_type', () => {
    const parsed = parseCloseSearchQuery(
      {
        type: 'and',
        queries: [
          { type: 'object_type', object_type: 'contact' },
          {
            type: 'has_related',
            this_object_type: 'contact',
            related_object_type: 'contact_phone',
            related_query: { type: 'or', queries: [phoneCondition] },
          },
        ],
      },
      'US',
    );
    expect(parsed.objectType).toBe('contact');
    expect(parseCloseSearchQuery({ type: 'object_type', object_type: 'lead' }, 'US').objectType).toBe('lead');
  });

  it('names the path of every node outside the grammar', () => {
    expect(errorOf({ type: 'and', queries: [phoneCondition] }).path).toBe('query.queries');
    expect(errorOf({ type: 'object_type', object_type: 'opportunity' }).path).toBe('query.object_type');
    expect(
      errorOf({ type: 'and', queries: [{ type: 'object_type', object_type: 'contact' }, phoneCondition] }).path,
    ).toBe('query.queries[1].field.object_type');
    expect(
      errorOf({
        type: 'and',
        queries: [
          { type: 'object_type', object_type: 'contact' },
          { type: 'has_related', this_object_type: 'contact', related_object_type: 'opportunity', related_query: {} },
        ],
      }).path,
    ).toBe('query.queries[1].related_object_type');
    expect(
      errorOf({
        type: 'and',
        queries: [
          { type: 'object_type', object_type: 'contact' },
          { type: 'or', queries: [] },
        ],
      }).path,
    ).toBe('query.queries[1].queries');
    expect(
      errorOf({
        type: 'and',
        queries: [
          { type: 'object_type', object_type: 'contact' },
          { ...phoneCondition, field: { ...phoneCondition.field, object_type: 'contact', field_name: 'phones' } },
        ],
      }).message,
    ).toMatch(/unsupported field "phones" on contact/);
  });
});
