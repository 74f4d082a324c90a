/**
 * A small SOSL subset: `FIND {terms} [IN ALL|NAME|EMAIL|PHONE FIELDS] [RETURNING Object(fields [WHERE …]
 * [ORDER BY …] [LIMIT n]), …] [LIMIT n]` (https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_sosl_syntax.htm).
 * Terms may be joined with `OR` and `AND` (adjacent words mean AND); phrases may be quoted.
 */
import type { SalesforceFieldDefinition } from './salesforce-schema.ts';
import {
  parseCondition,
  parseOrderBy,
  type SoqlCondition,
  type SoqlOrder,
  SoqlSyntaxError,
  SoqlTokenStream,
  tokenizeSoql,
} from './soql.ts';

/** The field group a search looks in. */
export type SoslScope = 'ALL' | 'NAME' | 'EMAIL' | 'PHONE' | 'SIDEBAR';

/** One object of a RETURNING clause. */
export interface SoslReturning {
  object: string;
  /** Fields to return; `['Id']` when the clause names none. */
  fields: string[];
  where?: SoqlCondition;
  orderBy: SoqlOrder[];
  limit?: number;
  offset?: number;
}

/** A parsed SOSL search. */
export interface SoslSearch {
  /** OR-groups of AND-terms: `{a OR b c}` → `[['a'], ['b', 'c']]`. */
  terms: string[][];
  scope: SoslScope;
  /** Empty when the search names no object (then every searchable object is searched). */
  returning: SoslReturning[];
  limit?: number;
}

/** Parses SOSL text into a search. */
export function parseSosl(text: string): SoslSearch {
  const match = /^\s*FIND\s*\{((?:\\.|[^}\\])*)\}([\s\S]*)$/i.exec(text);
  if (!match) throw new SoqlSyntaxError('a search must start with FIND {term}');
  const terms = parseSearchTerms(match[1]!);
  const stream = new SoqlTokenStream(tokenizeSoql(match[2]!));
  const search: SoslSearch = { terms, scope: 'ALL', returning: [] };
  if (stream.accept('IN')) {
    const scope = stream.word('a search group').toUpperCase();
    if (!['ALL', 'NAME', 'EMAIL', 'PHONE', 'SIDEBAR'].includes(scope)) {
      throw new SoqlSyntaxError(`unknown search group ${scope}; use ALL, NAME, EMAIL, PHONE or SIDEBAR FIELDS`);
    }
    stream.expect('FIELDS');
    search.scope = scope as SoslScope;
  }
  if (stream.accept('RETURNING')) {
    do search.returning.push(parseReturning(stream));
    while (stream.accept(','));
  }
  if (stream.accept('LIMIT')) search.limit = stream.integer('LIMIT');
  if (!stream.done) throw new SoqlSyntaxError(`unexpected token ${stream.describeNext()}`);
  return search;
}

function parseReturning(stream: SoqlTokenStream): SoslReturning {
  const object = stream.word('an object name');
  const returning: SoslReturning = { object, fields: ['Id'], orderBy: [] };
  if (!stream.accept('(')) return returning;
  returning.fields = [];
  do returning.fields.push(stream.word('a field name'));
  while (stream.accept(','));
  if (stream.accept('WHERE')) returning.where = parseCondition(stream);
  if (stream.accept('ORDER')) {
    stream.expect('BY');
    returning.orderBy = parseOrderBy(stream);
  }
  if (stream.accept('LIMIT')) returning.limit = stream.integer('LIMIT');
  if (stream.accept('OFFSET')) returning.offset = stream.integer('OFFSET');
  stream.expect(')');
  return returning;
}

/** Splits the text between the braces into OR-groups of AND-terms. */
export function parseSearchTerms(text: string): string[][] {
  const words: string[] = [];
  const pattern = /"((?:\\.|[^"\\])*)"|(\S+)/g;
  for (const match of text.matchAll(pattern)) words.push(match[1] !== undefined ? match[1] : match[2]!);
  const groups: string[][] = [[]];
  for (const word of words) {
    const upper = word.toUpperCase();
    if (upper === 'OR') groups.push([]);
    else if (upper !== 'AND') groups.at(-1)!.push(word.replace(/\\(.)/g, '$1'));
  }
  const cleaned = groups.filter((group) => group.length > 0);
  if (cleaned.length === 0) throw new SoqlSyntaxError('search term must not be empty');
  for (const term of cleaned.flat()) {
    if (term.replace(/[*?]/g, '').length < 2) {
      throw new SoqlSyntaxError(`search term must be longer than one character: ${term}`);
    }
  }
  return cleaned;
}

/** The fields of an object a search group looks in. */
export function fieldsInScope(
  fields: readonly SalesforceFieldDefinition[],
  scope: SoslScope,
): SalesforceFieldDefinition[] {
  switch (scope) {
    case 'PHONE':
      return fields.filter((field) => field.type === 'phone');
    case 'EMAIL':
      return fields.filter((field) => field.type === 'email');
    case 'NAME':
      return fields.filter((field) => field.nameField || ['FirstName', 'LastName', 'Company'].includes(field.name));
    default:
      return fields.filter(
        (field) =>
          ['string', 'phone', 'email', 'picklist', 'url'].includes(field.type) ||
          (field.type === 'textarea' && (field.length ?? 255) <= 32000),
      );
  }
}

/** Only the digits of a value. */
export function digitsOf(value: string): string {
  return value.replace(/\D/g, '');
}

/**
 * Whether one term matches one field value. Phone fields match on digit content, as Salesforce indexes phone
 * numbers: `FIND {4155551212}` finds `(415) 555-1212` and `+1 415-555-1212` [inferred: a stored number with a
 * country code matches the national digits and vice versa when the shorter side has at least 7 digits]. Other
 * fields match case-insensitively on whole words, with a trailing `*` as a prefix wildcard.
 */
export function termMatchesValue(term: string, value: unknown, fieldType: string): boolean {
  if (typeof value !== 'string' || value.length === 0) return false;
  if (fieldType === 'phone') {
    const termDigits = digitsOf(term);
    const valueDigits = digitsOf(value);
    if (termDigits.length === 0 || valueDigits.length === 0) return false;
    if (termDigits === valueDigits) return true;
    const [shorter, longer] =
      termDigits.length < valueDigits.length ? [termDigits, valueDigits] : [valueDigits, termDigits];
    return shorter.length >= 7 && longer.endsWith(shorter);
  }
  const needle = term.toLowerCase();
  const haystack = value.toLowerCase();
  if (needle.includes(' ')) return haystack.includes(needle.replace(/\*/g, ''));
  const words = haystack.split(/[^\p{L}\p{N}@._+-]+/u).filter(Boolean);
  const wildcard = needle.endsWith('*');
  const stem = needle.replace(/\*+$/, '');
  return words.some((word) => (wildcard ? word.startsWith(stem) : word === stem)) || haystack === stem;
}
