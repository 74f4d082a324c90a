import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  API_DOCS_PACKAGES,
  type ApiDocsResult,
  collectApiDocs,
  findStaleApiDocs,
  firstSentence,
  formatApiDocProblem,
} from '../scripts/api-docs.ts';

describe('collectApiDocs on the published packages', () => {
  // One program for every entry of every package: the expensive part, done once for the whole file.
  const result: ApiDocsResult = collectApiDocs();

  it('finds a TSDoc summary on every exported function, class and constant', () => {
    const missing = result.problems.filter((problem) => problem.severity === 'error').map(formatApiDocProblem);
    expect(missing, 'add a one-sentence TSDoc line to each, then run `pnpm docs:api`').toEqual([]);
  });

  it('documents every package entry of the exports map, and each has exports', () => {
    expect(result.pages.map((page) => page.packageDirectory)).toEqual([...API_DOCS_PACKAGES]);
    const specifiers = result.pages.flatMap((page) => page.entries.map((entry) => entry.specifier));
    expect(specifiers).toEqual([
      '@coexist/core',
      '@coexist/core/testing',
      '@coexist/sandbox',
      '@coexist/hubspot',
      '@coexist/salesforce',
      '@coexist/close',
      '@coexist/cli',
    ]);
    for (const page of result.pages) {
      for (const entry of page.entries) expect(entry.exports.length, entry.specifier).toBeGreaterThan(0);
    }
    expect([...result.files.keys()]).toContain('docs/api/README.md');
  });

  it('prints the signature of a known function from the checker', () => {
    const core = result.pages.find((page) => page.packageDirectory === 'core')!;
    const parseWebhook = core.entries[0]!.exports.find((exported) => exported.name === 'parseWebhook')!;
    expect(parseWebhook.kind).toBe('function');
    expect(parseWebhook.signature).toBe(
      'parseWebhook(body: unknown, options?: ParseWebhookOptions): CoexistenceEvent[]',
    );
    expect(parseWebhook.file).toBe('packages/core/src/webhook/parse-webhook.ts');
    expect(core.content).toContain('- **parseWebhook** `parseWebhook(body: unknown');
  });
});

describe('collectApiDocs on a fixture package', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'coexist-api-docs-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const write = (file: string, content: string) => {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), content);
  };
  write(
    'tsconfig.base.json',
    JSON.stringify({
      compilerOptions: {
        target: 'es2023',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        allowImportingTsExtensions: true,
        strict: true,
        types: [],
      },
    }),
  );
  write(
    'packages/demo/package.json',
    JSON.stringify({
      name: '@demo/demo',
      type: 'module',
      exports: {
        '.': { '@coexist/source': './src/index.ts', default: './dist/index.js' },
        './package.json': './package.json',
      },
    }),
  );
  write(
    'packages/demo/src/index.ts',
    [
      "export { add, subtract, Counter, LIMIT, type Named, type Shape } from './math.ts';",
      "export * from './wildcard.ts';",
      '',
    ].join('\n'),
  );
  write(
    'packages/demo/src/math.ts',
    [
      '/** The math module (a file header, not the documentation of `add`). */',
      "import type { Wildcard } from './wildcard.ts';",
      '',
      '/** Adds two numbers, e.g. 1 and 2. Returns the sum. */',
      'export function add(left: number, right: number): number {',
      '  return left + right;',
      '}',
      '',
      'export const subtract = (left: number, right = 0) => left - right;',
      '',
      'export class Counter extends Error {}',
      '',
      '/** The most there is. */',
      'export const LIMIT = 3 as const;',
      '',
      'export interface Named { name: string; wildcard?: Wildcard }',
      '',
      '/** A shape with a `kind`. */',
      "export type Shape = { kind: 'circle' } | { kind: 'square' };",
      '',
    ].join('\n'),
  );
  write('packages/demo/src/wildcard.ts', 'export interface Wildcard { value: string }\n');

  const fixture = collectApiDocs({ rootDirectory: root, packages: ['demo'] });
  const exports = fixture.pages[0]!.entries[0]!.exports;

  it('reports undocumented functions, classes and constants as errors, and `export *` types as warnings', () => {
    const problems = fixture.problems.map((problem) => `${problem.severity} ${formatApiDocProblem(problem)}`);
    expect(problems).toEqual([
      'error demo: Counter (packages/demo/src/math.ts:11)',
      // Named explicitly by the entry file, so an undocumented interface fails too.
      'error demo: Named (packages/demo/src/math.ts:16)',
      'error demo: subtract (packages/demo/src/math.ts:9)',
      'warning demo: Wildcard (packages/demo/src/wildcard.ts:1)',
    ]);
  });

  it('lists each export with its kind, signature and first sentence', () => {
    expect(exports.map((exported) => [exported.name, exported.kind, exported.signature, exported.summary])).toEqual([
      ['add', 'function', 'add(left: number, right: number): number', 'Adds two numbers, e.g. 1 and 2.'],
      [
        'Counter',
        'class',
        'class Counter extends Error; new Counter(message?: string, options?: ErrorOptions)',
        undefined,
      ],
      ['LIMIT', 'constant', 'LIMIT: 3', 'The most there is.'],
      ['Named', 'interface', 'interface Named { name; wildcard? }', undefined],
      ['Shape', 'type', "type Shape = { kind: 'circle' } | { kind: 'square' }", 'A shape with a `kind`.'],
      ['subtract', 'function', 'subtract(left: number, right?: number): number', undefined],
      ['Wildcard', 'interface', 'interface Wildcard { value }', undefined],
    ]);
  });

  it('renders one page grouped by kind, and finds it stale until it is written', () => {
    const page = fixture.files.get('docs/api/demo.md')!;
    expect(page.indexOf('### Functions')).toBeLessThan(page.indexOf('### Classes'));
    expect(page).toContain('- **add** `add(left: number, right: number): number` — Adds two numbers, e.g. 1 and 2.');
    expect(page).toContain('- **subtract** `subtract(left: number, right?: number): number` — _(no TSDoc summary)_');
    expect(findStaleApiDocs(fixture, root)).toEqual(['docs/api/README.md', 'docs/api/demo.md']);
    for (const [file, content] of fixture.files) write(file, content);
    write('docs/api/old.md', '# gone\n');
    expect(findStaleApiDocs(fixture, root)).toEqual(['docs/api/old.md (not generated)']);
  });
});

describe('firstSentence', () => {
  it('stops at the first sentence end outside code, after abbreviations, and renders links', () => {
    expect(firstSentence('Parses a body. Then more.')).toBe('Parses a body.');
    expect(firstSentence('Uses `a.b. c` and i.e. more. Rest.')).toBe('Uses `a.b. c` and i.e. more.');
    expect(firstSentence('Options of {@link createThing}.\n@default x')).toBe('Options of `createThing`.');
    expect(firstSentence('No period at all')).toBe('No period at all');
  });
});
