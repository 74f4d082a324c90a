/**
 * RFC 4180 CSV as Bulk API 2.0 reads and writes it: quoted fields with doubled quotes, the job's column delimiter,
 * LF or CRLF line endings (https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/datafiles_csv_preparing.htm).
 */

/** Bulk API 2.0's `columnDelimiter` names and their characters. */
export const bulkColumnDelimiters: Readonly<Record<string, string>> = {
  BACKQUOTE: '`',
  CARET: '^',
  COMMA: ',',
  PIPE: '|',
  SEMICOLON: ';',
  TAB: '\t',
};

/** Parses CSV text into rows of cells; throws on an unterminated quote. */
export function parseCsv(text: string, delimiter = ','): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let index = 0;
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  while (index < body.length) {
    const character = body[index]!;
    if (quoted) {
      if (character === '"') {
        if (body[index + 1] === '"') {
          cell += '"';
          index += 2;
          continue;
        }
        quoted = false;
        index++;
        continue;
      }
      cell += character;
      index++;
      continue;
    }
    if (character === '"' && cell === '') {
      quoted = true;
      index++;
    } else if (character === delimiter) {
      row.push(cell);
      cell = '';
      index++;
    } else if (character === '\n' || character === '\r') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      index += character === '\r' && body[index + 1] === '\n' ? 2 : 1;
    } else {
      cell += character;
      index++;
    }
  }
  if (quoted) throw new Error('unterminated quoted field');
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows.filter((cells) => !(cells.length === 1 && cells[0] === ''));
}

/** Writes rows as CSV with every cell quoted, as Salesforce writes result files. */
export function toCsv(
  header: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<string>>,
  lineEnding = '\n',
): string {
  const quote = (cell: string) => `"${cell.replace(/"/g, '""')}"`;
  return [header, ...rows].map((cells) => cells.map(quote).join(',')).join(lineEnding) + lineEnding;
}
