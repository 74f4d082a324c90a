/**
 * A small SOQL subset: `SELECT fields|COUNT() FROM Object [WHERE …] [ORDER BY …] [LIMIT n] [OFFSET n]`, with
 * `=`, `!=`, `<>`, `<`, `<=`, `>`, `>=`, `LIKE`, `IN (…)`, `NOT IN (…)`, `AND`, `OR`, `NOT`, parentheses, and
 * string, number, boolean, `null`, date and datetime literals, as in the SOQL reference
 * (https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select.htm).
 * Anything else is a `MALFORMED_QUERY` error, never silently ignored.
 */

/** A literal in a condition. */
export type SoqlLiteral =
  | { type: 'string'; value: string }
  | { type: 'number'; value: number }
  | { type: 'boolean'; value: boolean }
  | { type: 'null'; value: null }
  | { type: 'date'; value: string }
  | { type: 'datetime'; value: string };

/** Comparison operators of the subset. */
export type SoqlOperator = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'like';

/** A WHERE condition tree. */
export type SoqlCondition =
  | { kind: 'and'; conditions: SoqlCondition[] }
  | { kind: 'or'; conditions: SoqlCondition[] }
  | { kind: 'not'; condition: SoqlCondition }
  | { kind: 'compare'; field: string; operator: SoqlOperator; value: SoqlLiteral }
  | { kind: 'in'; field: string; negated: boolean; values: SoqlLiteral[] };

/** One ORDER BY key. */
export interface SoqlOrder {
  field: string;
  descending: boolean;
  nullsLast: boolean;
}

/** A parsed SOQL query. */
export interface SoqlQuery {
  object: string;
  /** Selected field paths as written (`Id`, `Conversation__r.Thread_Key__c`); empty for `COUNT()`. */
  fields: string[];
  count: boolean;
  where?: SoqlCondition;
  orderBy: SoqlOrder[];
  limit?: number;
  offset?: number;
}

/** A syntax error in SOQL or SOSL text, answered as `MALFORMED_QUERY` / `MALFORMED_SEARCH`. */
export class SoqlSyntaxError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = 'SoqlSyntaxError';
  }
}

/** A lexical token. */
export interface SoqlToken {
  kind: 'word' | 'string' | 'number' | 'symbol';
  text: string;
  /** The decoded value of a string token. */
  value?: string;
}

/** Splits SOQL (or a SOSL RETURNING clause) into tokens. */
export function tokenizeSoql(text: string): SoqlToken[] {
  const tokens: SoqlToken[] = [];
  let index = 0;
  while (index < text.length) {
    const character = text[index]!;
    if (/\s/.test(character)) {
      index++;
      continue;
    }
    if (character === "'") {
      let value = '';
      index++;
      let closed = false;
      while (index < text.length) {
        const next = text[index]!;
        if (next === '\\') {
          const escaped = text[index + 1];
          if (escaped === undefined) break;
          value += ({ n: '\n', r: '\r', t: '\t' } as Record<string, string>)[escaped] ?? escaped;
          index += 2;
          continue;
        }
        if (next === "'") {
          closed = true;
          index++;
          break;
        }
        value += next;
        index++;
      }
      if (!closed) throw new SoqlSyntaxError('unterminated string literal');
      tokens.push({ kind: 'string', text: `'${value}'`, value });
      continue;
    }
    const twoCharacters = text.slice(index, index + 2);
    if (['!=', '<>', '<=', '>='].includes(twoCharacters)) {
      tokens.push({ kind: 'symbol', text: twoCharacters === '<>' ? '!=' : twoCharacters });
      index += 2;
      continue;
    }
    if ('(),=<>'.includes(character)) {
      tokens.push({ kind: 'symbol', text: character });
      index++;
      continue;
    }
    const literal =
      /^(?:\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})|\d{4}-\d{2}-\d{2}|-?\d+(?:\.\d+)?)/.exec(
        text.slice(index),
      );
    if (literal && (character === '-' || /\d/.test(character))) {
      tokens.push({ kind: 'number', text: literal[0] });
      index += literal[0].length;
      continue;
    }
    const word = /^[a-zA-Z_][a-zA-Z0-9_.]*/.exec(text.slice(index));
    if (word) {
      tokens.push({ kind: 'word', text: word[0] });
      index += word[0].length;
      continue;
    }
    throw new SoqlSyntaxError(`unexpected character '${character}' at position ${index}`);
  }
  return tokens;
}

/** A cursor over tokens shared by the SOQL and SOSL parsers. */
export class SoqlTokenStream {
  readonly tokens: SoqlToken[];
  position = 0;

  /** Wraps a token list. */
  constructor(tokens: SoqlToken[]) {
    this.tokens = tokens;
  }

  /** The next token without consuming it. */
  peek(offset = 0): SoqlToken | undefined {
    return this.tokens[this.position + offset];
  }

  /** Whether the next token is the keyword (case-insensitive) or symbol. */
  isNext(text: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token !== undefined && token.kind !== 'string' && token.text.toUpperCase() === text.toUpperCase();
  }

  /** Consumes the keyword or symbol when it is next. */
  accept(text: string): boolean {
    if (!this.isNext(text)) return false;
    this.position++;
    return true;
  }

  /** Consumes the keyword or symbol, or throws. */
  expect(text: string): void {
    if (!this.accept(text)) throw new SoqlSyntaxError(`expected ${text} but found ${this.describeNext()}`);
  }

  /** Consumes a word (field or object name), or throws. */
  word(what: string): string {
    const token = this.peek();
    if (token?.kind !== 'word') throw new SoqlSyntaxError(`expected ${what} but found ${this.describeNext()}`);
    this.position++;
    return token.text;
  }

  /** Consumes a non-negative integer, or throws. */
  integer(what: string): number {
    const token = this.peek();
    if (token?.kind !== 'number' || !/^\d+$/.test(token.text)) {
      throw new SoqlSyntaxError(`expected a number for ${what} but found ${this.describeNext()}`);
    }
    this.position++;
    return Number(token.text);
  }

  /** Whether all tokens were consumed. */
  get done(): boolean {
    return this.position >= this.tokens.length;
  }

  /** The next token, quoted for an error message. */
  describeNext(): string {
    const token = this.peek();
    return token ? `'${token.text}'` : 'end of query';
  }
}

const clauseKeywords = new Set(['WHERE', 'ORDER', 'LIMIT', 'OFFSET', 'FROM', 'AND', 'OR', 'NOT', 'IN', 'LIKE']);

/** Parses SOQL text into a query. */
export function parseSoql(text: string): SoqlQuery {
  const stream = new SoqlTokenStream(tokenizeSoql(text));
  stream.expect('SELECT');
  const fields: string[] = [];
  let count = false;
  if (stream.isNext('COUNT') && stream.isNext('(', 1)) {
    stream.position += 2;
    stream.expect(')');
    count = true;
  } else {
    do {
      const field = stream.word('a field name');
      if (clauseKeywords.has(field.toUpperCase()))
        throw new SoqlSyntaxError(`expected a field name but found '${field}'`);
      fields.push(field);
    } while (stream.accept(','));
  }
  stream.expect('FROM');
  const object = stream.word('an object name');
  const query: SoqlQuery = { object, fields, count, orderBy: [] };
  if (stream.accept('WHERE')) query.where = parseCondition(stream);
  if (stream.accept('ORDER')) {
    stream.expect('BY');
    query.orderBy = parseOrderBy(stream);
  }
  if (stream.accept('LIMIT')) query.limit = stream.integer('LIMIT');
  if (stream.accept('OFFSET')) query.offset = stream.integer('OFFSET');
  if (!stream.done) throw new SoqlSyntaxError(`unexpected token ${stream.describeNext()}`);
  return query;
}

/** Parses ORDER BY keys up to the next clause. */
export function parseOrderBy(stream: SoqlTokenStream): SoqlOrder[] {
  const keys: SoqlOrder[] = [];
  do {
    const field = stream.word('an ORDER BY field');
    let descending = false;
    if (stream.accept('DESC')) descending = true;
    else stream.accept('ASC');
    let nullsLast = descending;
    if (stream.accept('NULLS')) {
      if (stream.accept('LAST')) nullsLast = true;
      else {
        stream.expect('FIRST');
        nullsLast = false;
      }
    }
    keys.push({ field, descending, nullsLast });
  } while (stream.accept(','));
  return keys;
}

/** Parses a WHERE condition (OR of ANDs of NOTs of comparisons). */
export function parseCondition(stream: SoqlTokenStream): SoqlCondition {
  const conditions = [parseAnd(stream)];
  while (stream.accept('OR')) conditions.push(parseAnd(stream));
  return conditions.length === 1 ? conditions[0]! : { kind: 'or', conditions };
}

function parseAnd(stream: SoqlTokenStream): SoqlCondition {
  const conditions = [parseNot(stream)];
  while (stream.accept('AND')) conditions.push(parseNot(stream));
  return conditions.length === 1 ? conditions[0]! : { kind: 'and', conditions };
}

function parseNot(stream: SoqlTokenStream): SoqlCondition {
  if (stream.accept('NOT')) return { kind: 'not', condition: parseNot(stream) };
  if (stream.accept('(')) {
    const condition = parseCondition(stream);
    stream.expect(')');
    return condition;
  }
  const field = stream.word('a field name');
  if (stream.accept('NOT')) {
    stream.expect('IN');
    return { kind: 'in', field, negated: true, values: parseLiteralList(stream) };
  }
  if (stream.accept('IN')) return { kind: 'in', field, negated: false, values: parseLiteralList(stream) };
  if (stream.accept('LIKE')) {
    const value = parseLiteral(stream);
    if (value.type !== 'string') throw new SoqlSyntaxError(`LIKE on ${field} needs a quoted string`);
    return { kind: 'compare', field, operator: 'like', value };
  }
  const operator = stream.peek();
  if (operator?.kind !== 'symbol' || !['=', '!=', '<', '<=', '>', '>='].includes(operator.text)) {
    throw new SoqlSyntaxError(`expected an operator after ${field} but found ${stream.describeNext()}`);
  }
  stream.position++;
  return { kind: 'compare', field, operator: operator.text as SoqlOperator, value: parseLiteral(stream) };
}

function parseLiteralList(stream: SoqlTokenStream): SoqlLiteral[] {
  stream.expect('(');
  const values = [parseLiteral(stream)];
  while (stream.accept(',')) values.push(parseLiteral(stream));
  stream.expect(')');
  return values;
}

function parseLiteral(stream: SoqlTokenStream): SoqlLiteral {
  const token = stream.peek();
  if (!token) throw new SoqlSyntaxError('expected a value but found end of query');
  stream.position++;
  if (token.kind === 'string') return { type: 'string', value: token.value ?? '' };
  if (token.kind === 'number') {
    if (token.text.includes('T')) return { type: 'datetime', value: token.text };
    if (/^\d{4}-\d{2}-\d{2}$/.test(token.text)) return { type: 'date', value: token.text };
    return { type: 'number', value: Number(token.text) };
  }
  const upper = token.text.toUpperCase();
  if (upper === 'TRUE' || upper === 'FALSE') return { type: 'boolean', value: upper === 'TRUE' };
  if (upper === 'NULL') return { type: 'null', value: null };
  throw new SoqlSyntaxError(
    `expected a value but found '${token.text}' (bind variables and date functions are not supported)`,
  );
}

/** A field's value and type as the evaluator sees it. */
export interface SoqlFieldValue {
  value: unknown;
  /** The Salesforce field type (`id`, `reference`, `datetime`, …). */
  type: string;
}

/** Reads a field path of a record for the evaluator. */
export type SoqlFieldReader = (field: string) => SoqlFieldValue;

/** Whether a record satisfies a condition. */
export function evaluateCondition(condition: SoqlCondition, read: SoqlFieldReader): boolean {
  switch (condition.kind) {
    case 'and':
      return condition.conditions.every((inner) => evaluateCondition(inner, read));
    case 'or':
      return condition.conditions.some((inner) => evaluateCondition(inner, read));
    case 'not':
      return !evaluateCondition(condition.condition, read);
    case 'in': {
      const field = read(condition.field);
      const found = condition.values.some((literal) => compareToLiteral(field, literal) === 0);
      return condition.negated ? !found : found;
    }
    case 'compare': {
      const field = read(condition.field);
      if (condition.operator === 'like') {
        if (typeof field.value !== 'string') return false;
        return likeToRegExp(condition.value.value as string).test(field.value);
      }
      if (condition.value.type === 'null' || field.value === null || field.value === undefined) {
        const bothNull = condition.value.type === 'null' && (field.value === null || field.value === undefined);
        if (condition.operator === '=') return bothNull;
        if (condition.operator === '!=') return !bothNull;
        return false;
      }
      const order = compareToLiteral(field, condition.value);
      if (order === undefined) return condition.operator === '!=';
      switch (condition.operator) {
        case '=':
          return order === 0;
        case '!=':
          return order !== 0;
        case '<':
          return order < 0;
        case '<=':
          return order <= 0;
        case '>':
          return order > 0;
        default:
          return order >= 0;
      }
    }
  }
}

/** Compares a field value to a literal: negative, zero, positive, or `undefined` when incomparable. */
function compareToLiteral(field: SoqlFieldValue, literal: SoqlLiteral): number | undefined {
  const { value, type } = field;
  if (literal.type === 'null') return value === null || value === undefined ? 0 : undefined;
  if (value === null || value === undefined) return undefined;
  return compareValues(value, literal.value, type);
}

/** Compares two values of a field's type: ids by their 15-character form, text case-insensitively. */
export function compareValues(left: unknown, right: unknown, type: string): number | undefined {
  if (left === null || left === undefined || right === null || right === undefined) return undefined;
  if (type === 'id' || type === 'reference') {
    const a = String(left).slice(0, 15);
    const b = String(right).slice(0, 15);
    return a === b ? 0 : a < b ? -1 : 1;
  }
  if (type === 'datetime' || type === 'date') {
    const a = Date.parse(String(left));
    const b = Date.parse(String(right));
    if (Number.isNaN(a) || Number.isNaN(b)) return undefined;
    return Math.sign(a - b);
  }
  if (typeof left === 'boolean' || typeof right === 'boolean') return left === right ? 0 : left ? 1 : -1;
  if (typeof left === 'number' && typeof right === 'number') return Math.sign(left - right);
  const a = String(left).toLowerCase();
  const b = String(right).toLowerCase();
  return a === b ? 0 : a < b ? -1 : 1;
}

function likeToRegExp(pattern: string): RegExp {
  const source = pattern
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/%/g, '.*')
    .replace(/_/g, '.');
  return new RegExp(`^${source}$`, 'is');
}

/** Lists every field path a condition reads. */
export function conditionFields(condition: SoqlCondition): string[] {
  switch (condition.kind) {
    case 'and':
    case 'or':
      return condition.conditions.flatMap(conditionFields);
    case 'not':
      return conditionFields(condition.condition);
    default:
      return [condition.field];
  }
}

/** Lists every (field, literal) pair of a condition, for type checks. */
export function conditionLiterals(condition: SoqlCondition): Array<{ field: string; literal: SoqlLiteral }> {
  switch (condition.kind) {
    case 'and':
    case 'or':
      return condition.conditions.flatMap(conditionLiterals);
    case 'not':
      return conditionLiterals(condition.condition);
    case 'in':
      return condition.values.map((literal) => ({ field: condition.field, literal }));
    default:
      return [{ field: condition.field, literal: condition.value }];
  }
}
