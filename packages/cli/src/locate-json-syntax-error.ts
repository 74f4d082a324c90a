/** A 1-based line and column in a text. */
export interface TextPosition {
  line: number;
  column: number;
}

class JsonSyntaxErrorAt extends Error {
  readonly offset: number;

  constructor(offset: number) {
    super(`invalid JSON at offset ${offset}`);
    this.offset = offset;
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

/**
 * Finds where a text stops being valid JSON (RFC 8259), as a line and column, or `undefined` when it is valid.
 * V8's `JSON.parse` messages quote the text around the error and often give no position, so the CLI
 * locates the error itself and never echoes payload content.
 */
export function locateJsonSyntaxError(text: string): TextPosition | undefined {
  let index = 0;
  const fail = (): never => {
    throw new JsonSyntaxErrorAt(index);
  };
  const skipWhitespace = (): void => {
    while (index < text.length && ' \t\n\r'.includes(text[index]!)) index += 1;
  };
  const expect = (character: string): void => {
    if (text[index] !== character) fail();
    index += 1;
  };
  const readString = (): void => {
    expect('"');
    while (index < text.length) {
      const character = text[index]!;
      if (character === '"') {
        index += 1;
        return;
      }
      if (character === '\\') {
        index += 1;
        const escaped = text[index];
        if (escaped === 'u') {
          for (let digit = 1; digit <= 4; digit += 1) if (!/[0-9a-fA-F]/.test(text[index + digit] ?? '')) fail();
          index += 5;
        } else if (escaped !== undefined && ESCAPES.has(escaped)) index += 1;
        else fail();
      } else if (character < ' ') fail();
      else index += 1;
    }
    fail();
  };
  const readValue = (): void => {
    skipWhitespace();
    const character = text[index];
    if (character === '{') {
      index += 1;
      skipWhitespace();
      if (text[index] === '}') {
        index += 1;
        return;
      }
      for (;;) {
        skipWhitespace();
        readString();
        skipWhitespace();
        expect(':');
        readValue();
        skipWhitespace();
        if (text[index] === '}') {
          index += 1;
          return;
        }
        expect(',');
      }
    }
    if (character === '[') {
      index += 1;
      skipWhitespace();
      if (text[index] === ']') {
        index += 1;
        return;
      }
      for (;;) {
        readValue();
        skipWhitespace();
        if (text[index] === ']') {
          index += 1;
          return;
        }
        expect(',');
      }
    }
    if (character === '"') {
      readString();
      return;
    }
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, index)) {
        index += literal.length;
        return;
      }
    }
    NUMBER.lastIndex = index;
    if (NUMBER.test(text)) {
      index = NUMBER.lastIndex;
      return;
    }
    fail();
  };

  try {
    readValue();
    skipWhitespace();
    if (index < text.length) fail();
    return undefined;
  } catch (error) {
    if (!(error instanceof JsonSyntaxErrorAt)) throw error;
    const before = text.slice(0, error.offset);
    return { line: before.split('\n').length, column: error.offset - before.lastIndexOf('\n') };
  }
}
