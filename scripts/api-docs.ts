/**
 * Generates `docs/api/<package>.md` from the public entries of every published package, and checks that every
 * exported function, class and constant carries a one-sentence TSDoc summary.
 *
 *   node --conditions=@coexist/source scripts/api-docs.ts          # write docs/api/
 *   node --conditions=@coexist/source scripts/api-docs.ts --check  # write nothing; exit 1 on missing TSDoc or stale pages
 *
 * The entries are read from each package's `exports` map (the `@coexist/source` condition, so `src/<name>.ts`), and
 * all of them load into ONE `ts.Program`, so a full run costs one type-check of the public surface, not six.
 * It uses the TypeScript compiler API, which is why `typescript` is pinned to 6.x (TypeScript 7 ships none).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The packages whose public API is documented, in the order their pages are listed. */
export const API_DOCS_PACKAGES = ['core', 'sandbox', 'hubspot', 'salesforce', 'close', 'cli'] as const;

/** The kinds of exported symbol a page groups by, in page order. */
export type ApiExportKind = 'function' | 'class' | 'constant' | 'interface' | 'type';

/** One exported symbol of one package entry, as documented on its page. */
export interface ApiExport {
  /** The name it is exported under (an alias when re-exported `as`). */
  readonly name: string;
  readonly kind: ApiExportKind;
  /** A readable signature: parameters and return type for functions, the type for constants, the shape for types. */
  readonly signature: string;
  /** The first sentence of its TSDoc, or `undefined` when it has none. */
  readonly summary: string | undefined;
  /** The declaring file, relative to the repository root. */
  readonly file: string;
  /** The 1-based line of the declaration. */
  readonly line: number;
  /** True when the entry file names it in an `export { … }` (or declares it), false when it arrives via `export *`. */
  readonly direct: boolean;
}

/** One entry of a package's `exports` map (`.` or `./testing`) with its exports. */
export interface ApiEntry {
  /** The import specifier, e.g. `@coexist/core/testing`. */
  readonly specifier: string;
  /** The source entry file, relative to the repository root. */
  readonly file: string;
  readonly exports: readonly ApiExport[];
}

/** The generated page of one package. */
export interface ApiPage {
  /** The directory name under `packages/`, e.g. `core`. */
  readonly packageDirectory: string;
  /** The npm name, e.g. `@coexist/core`. */
  readonly packageName: string;
  readonly entries: readonly ApiEntry[];
  /** The page's path relative to the repository root, e.g. `docs/api/core.md`. */
  readonly file: string;
  readonly content: string;
}

/** An export without a TSDoc summary: a failure for functions, classes and constants, else a warning. */
export interface ApiDocProblem {
  readonly packageDirectory: string;
  readonly name: string;
  readonly kind: ApiExportKind;
  readonly file: string;
  readonly line: number;
  readonly severity: 'error' | 'warning';
}

/** Everything one run produces: the pages (including `docs/api/README.md`) and the missing-TSDoc findings. */
export interface ApiDocsResult {
  readonly pages: readonly ApiPage[];
  /** Every generated file (package pages and the index), path relative to the repository root → content. */
  readonly files: ReadonlyMap<string, string>;
  readonly problems: readonly ApiDocProblem[];
}

/** Options of {@link collectApiDocs}. */
export interface CollectApiDocsOptions {
  /**
   * The repository root.
   * @default the parent directory of `scripts/`
   */
  readonly rootDirectory?: string;
  /**
   * The directories under `packages/` to document.
   * @default API_DOCS_PACKAGES
   */
  readonly packages?: readonly string[];
}

/** Signatures and types longer than this are cut with `…`, so a page stays a list, not a dump. */
const MAX_TYPE_LENGTH = 160;
const KIND_ORDER: readonly ApiExportKind[] = ['function', 'class', 'constant', 'interface', 'type'];
const KIND_HEADINGS: Record<ApiExportKind, string> = {
  function: 'Functions',
  class: 'Classes',
  constant: 'Constants',
  interface: 'Interfaces',
  type: 'Types',
};
const SOURCE_CONDITION = '@coexist/source';
const DEFAULT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Loads every package entry into one program and returns the generated pages and the missing-TSDoc findings. */
export function collectApiDocs(options: CollectApiDocsOptions = {}): ApiDocsResult {
  const rootDirectory = options.rootDirectory ?? DEFAULT_ROOT;
  const packages = (options.packages ?? API_DOCS_PACKAGES).map((packageDirectory) =>
    readPackageEntries(rootDirectory, packageDirectory),
  );
  const program = ts.createProgram({
    rootNames: packages.flatMap((item) => item.entries.map((entry) => entry.absoluteFile)),
    options: readCompilerOptions(rootDirectory),
  });
  const checker = program.getTypeChecker();

  const pages: ApiPage[] = [];
  const problems: ApiDocProblem[] = [];
  for (const item of packages) {
    const entries = item.entries.map((entry): ApiEntry => {
      const sourceFile = program.getSourceFile(entry.absoluteFile);
      if (sourceFile === undefined) throw new Error(`[coexist/api-docs] entry file not loaded: ${entry.absoluteFile}`);
      return {
        specifier: entry.specifier,
        file: relativePath(rootDirectory, entry.absoluteFile),
        exports: collectEntryExports(checker, sourceFile, rootDirectory),
      };
    });
    // One finding per declaration, even when two entries export it; an error wins over a warning.
    const found = new Map<string, ApiDocProblem>();
    for (const entry of entries) {
      for (const exported of entry.exports) {
        if (exported.summary !== undefined) continue;
        const key = `${exported.kind}:${exported.name}:${exported.file}:${exported.line}`;
        const typeOnly = exported.kind === 'interface' || exported.kind === 'type';
        const severity = typeOnly && !exported.direct ? 'warning' : 'error';
        if (found.get(key)?.severity === 'error') continue;
        found.set(key, {
          packageDirectory: item.packageDirectory,
          name: exported.name,
          kind: exported.kind,
          file: exported.file,
          line: exported.line,
          severity,
        });
      }
    }
    problems.push(...found.values());
    const file = `docs/api/${item.packageDirectory}.md`;
    pages.push({
      packageDirectory: item.packageDirectory,
      packageName: item.packageName,
      entries,
      file,
      content: renderPackagePage(item.packageName, item.description, entries),
    });
  }

  const files = new Map<string, string>();
  files.set('docs/api/README.md', renderIndexPage(pages));
  for (const page of pages) files.set(page.file, page.content);
  return { pages, files, problems };
}

/** Lists the generated files that are missing on disk or differ from it, plus stray files in `docs/api/`. */
export function findStaleApiDocs(result: ApiDocsResult, rootDirectory: string = DEFAULT_ROOT): string[] {
  const stale: string[] = [];
  for (const [file, content] of result.files) {
    const absolute = path.join(rootDirectory, file);
    if (!existsSync(absolute) || readFileSync(absolute, 'utf8') !== content) stale.push(file);
  }
  const directory = path.join(rootDirectory, 'docs/api');
  if (existsSync(directory)) {
    for (const name of readdirSync(directory)) {
      const file = `docs/api/${name}`;
      if (!result.files.has(file)) stale.push(`${file} (not generated)`);
    }
  }
  return stale;
}

/** Formats a finding as `package: name (file:line)`. */
export function formatApiDocProblem(problem: ApiDocProblem): string {
  return `${problem.packageDirectory}: ${problem.name} (${problem.file}:${problem.line})`;
}

interface PackageEntries {
  readonly packageDirectory: string;
  readonly packageName: string;
  readonly description: string | undefined;
  readonly entries: readonly { specifier: string; absoluteFile: string }[];
}

function readPackageEntries(rootDirectory: string, packageDirectory: string): PackageEntries {
  const packageRoot = path.join(rootDirectory, 'packages', packageDirectory);
  const manifest = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as {
    name: string;
    description?: string;
    exports?: Record<string, unknown>;
  };
  const entries: { specifier: string; absoluteFile: string }[] = [];
  for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
    if (typeof target !== 'object' || target === null) continue;
    const source = (target as Record<string, unknown>)[SOURCE_CONDITION];
    if (typeof source !== 'string') continue;
    entries.push({
      specifier: subpath === '.' ? manifest.name : `${manifest.name}/${subpath.replace(/^\.\//, '')}`,
      absoluteFile: path.join(packageRoot, source),
    });
  }
  if (entries.length === 0) {
    throw new Error(
      `[coexist/api-docs] packages/${packageDirectory}/package.json: exports has no "${SOURCE_CONDITION}" entry`,
    );
  }
  return { packageDirectory, packageName: manifest.name, description: manifest.description, entries };
}

function readCompilerOptions(rootDirectory: string): ts.CompilerOptions {
  const configFile = path.join(rootDirectory, 'tsconfig.base.json');
  const read = ts.readConfigFile(configFile, (file) => ts.sys.readFile(file));
  if (read.error !== undefined) {
    throw new Error(`[coexist/api-docs] ${ts.flattenDiagnosticMessageText(read.error.messageText, '\n')}`);
  }
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, rootDirectory, undefined, configFile);
  return { ...parsed.options, noEmit: true, skipLibCheck: true, declaration: false, incremental: false };
}

function collectEntryExports(checker: ts.TypeChecker, sourceFile: ts.SourceFile, rootDirectory: string): ApiExport[] {
  const moduleSymbol = checker.getSymbolAtLocation(sourceFile);
  if (moduleSymbol === undefined) return [];
  const directNames = namesExportedDirectly(sourceFile);
  const result: ApiExport[] = [];
  for (const exportSymbol of checker.getExportsOfModule(moduleSymbol)) {
    const name = exportSymbol.getName();
    const symbol = exportSymbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exportSymbol) : exportSymbol;
    const direct = directNames.has(name);
    // A dependency's type re-exported as ours (`export type { CountryCode } from 'libphonenumber-js'`) is documented
    // and located at our re-export, not in node_modules.
    const reexport = isExternal(symbol) ? lastReexportInRepository(checker, exportSymbol) : undefined;
    for (const described of describeSymbol(checker, symbol, name)) {
      const located = reexport ?? described.declaration;
      const declarationFile = located.getSourceFile();
      const { line } = declarationFile.getLineAndCharacterOfPosition(located.getStart(declarationFile));
      const summary = reexport === undefined ? described.summary : (reexportSummary(reexport) ?? described.summary);
      result.push({
        ...described,
        summary,
        name,
        file: relativePath(rootDirectory, declarationFile.fileName),
        line: line + 1,
        direct,
      });
    }
  }
  return result.sort((left, right) => compareNames(left.name, right.name) || compareNames(left.kind, right.kind));
}

function isExternal(symbol: ts.Symbol): boolean {
  const declaration = symbol.getDeclarations()?.[0];
  return declaration !== undefined && /[\\/]node_modules[\\/]/.test(declaration.getSourceFile().fileName);
}

/** The export specifier in our source that re-exports an external symbol directly from its package. */
function lastReexportInRepository(checker: ts.TypeChecker, exportSymbol: ts.Symbol): ts.ExportSpecifier | undefined {
  let found: ts.ExportSpecifier | undefined;
  let current: ts.Symbol | undefined = exportSymbol;
  for (let depth = 0; current !== undefined && current.flags & ts.SymbolFlags.Alias && depth < 20; depth++) {
    const declaration = current.getDeclarations()?.[0];
    if (declaration === undefined || /[\\/]node_modules[\\/]/.test(declaration.getSourceFile().fileName)) break;
    if (ts.isExportSpecifier(declaration)) found = declaration;
    current = checker.getImmediateAliasedSymbol(current);
  }
  return found;
}

/** The TSDoc summary written above an `export … from` statement. */
function reexportSummary(specifier: ts.ExportSpecifier): string | undefined {
  return tsdocSummary(specifier.parent.parent);
}

/** The names an entry file exports by name (`export { a, type B } from …`, `export function c`), not via `export *`. */
function namesExportedDirectly(sourceFile: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  for (const statement of sourceFile.statements) {
    if (ts.isExportDeclaration(statement)) {
      if (statement.exportClause !== undefined && ts.isNamedExports(statement.exportClause)) {
        for (const element of statement.exportClause.elements) names.add(element.name.text);
      } else if (statement.exportClause !== undefined && ts.isNamespaceExport(statement.exportClause)) {
        names.add(statement.exportClause.name.text);
      }
      continue;
    }
    const modifiers = ts.canHaveModifiers(statement) ? ts.getModifiers(statement) : undefined;
    if (!modifiers?.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword)) continue;
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        if (ts.isIdentifier(declaration.name)) names.add(declaration.name.text);
      }
    } else if (
      (ts.isFunctionDeclaration(statement) ||
        ts.isClassDeclaration(statement) ||
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement)) &&
      statement.name !== undefined
    ) {
      names.add(statement.name.text);
    }
  }
  return names;
}

interface DescribedSymbol {
  readonly kind: ApiExportKind;
  readonly signature: string;
  readonly summary: string | undefined;
  readonly declaration: ts.Node;
}

/** One line per meaning: a zod schema `const X` and `type X` under one name are two exports. */
function describeSymbol(checker: ts.TypeChecker, symbol: ts.Symbol, name: string): DescribedSymbol[] {
  const declarations = symbol.getDeclarations() ?? [];
  const described: DescribedSymbol[] = [];

  const functions = declarations.filter(ts.isFunctionDeclaration);
  if (functions.length > 0) {
    // Overloads: document the declared signatures, not the implementation's.
    const signatures =
      functions.length > 1 ? functions.filter((declaration) => declaration.body === undefined) : functions;
    described.push({
      kind: 'function',
      signature: signatures.map((declaration) => functionSignature(checker, declaration, name)).join('; '),
      summary: firstSummary(functions),
      declaration: functions[0]!,
    });
  }

  const classes = declarations.filter(ts.isClassDeclaration);
  if (classes.length > 0) {
    described.push({
      kind: 'class',
      signature: classSignature(checker, symbol, classes[0]!, name),
      summary: firstSummary(classes),
      declaration: classes[0]!,
    });
  }

  const variables = declarations.filter(ts.isVariableDeclaration);
  if (variables.length > 0) {
    const variable = variables[0]!;
    const initializer = variable.initializer === undefined ? undefined : skipWrappers(variable.initializer);
    const isFunction =
      initializer !== undefined && (ts.isArrowFunction(initializer) || ts.isFunctionExpression(initializer));
    described.push({
      kind: isFunction ? 'function' : 'constant',
      signature: isFunction
        ? functionSignature(checker, initializer as ts.ArrowFunction | ts.FunctionExpression, name)
        : `${name}: ${variableType(checker, variable)}`,
      summary: firstSummary(variables),
      declaration: variable,
    });
  }

  const interfaces = declarations.filter(ts.isInterfaceDeclaration);
  if (interfaces.length > 0) {
    described.push({
      kind: 'interface',
      signature: interfaceSignature(interfaces[0]!),
      summary: firstSummary(interfaces),
      declaration: interfaces[0]!,
    });
  }

  const aliases = declarations.filter(ts.isTypeAliasDeclaration);
  if (aliases.length > 0) {
    const alias = aliases[0]!;
    described.push({
      kind: 'type',
      signature: `type ${name}${typeParameters(alias.typeParameters)} = ${truncate(written(alias.type))}`,
      summary: firstSummary(aliases),
      declaration: alias,
    });
  }

  if (described.length === 0 && declarations.length > 0) {
    // Anything else public (an enum from a dependency, a namespace): list it as a constant so it is not lost.
    described.push({
      kind: 'constant',
      signature: `${name}: ${truncate(checker.typeToString(checker.getTypeOfSymbol(symbol)))}`,
      summary: firstSummary(declarations),
      declaration: declarations[0]!,
    });
  }
  return described;
}

function skipWrappers(expression: ts.Expression): ts.Expression {
  let current = expression;
  while (
    ts.isParenthesizedExpression(current) ||
    ts.isAsExpression(current) ||
    ts.isSatisfiesExpression(current) ||
    ts.isTypeAssertionExpression(current)
  ) {
    current = current.expression;
  }
  return current;
}

type FunctionLike = ts.FunctionDeclaration | ts.ArrowFunction | ts.FunctionExpression;

function functionSignature(checker: ts.TypeChecker, declaration: FunctionLike, name: string): string {
  const parameters = declaration.parameters.map((parameter) => parameterText(checker, parameter)).join(', ');
  let returnType: string;
  if (declaration.type !== undefined) {
    returnType = written(declaration.type);
  } else {
    const signature = checker.getSignatureFromDeclaration(declaration);
    returnType =
      signature === undefined
        ? 'unknown'
        : checker.typeToString(
            checker.getReturnTypeOfSignature(signature),
            declaration,
            ts.TypeFormatFlags.NoTruncation,
          );
  }
  return `${name}${typeParameters(declaration.typeParameters)}(${parameters}): ${truncate(returnType)}`;
}

function parameterText(checker: ts.TypeChecker, parameter: ts.ParameterDeclaration): string {
  const rest = parameter.dotDotDotToken === undefined ? '' : '...';
  const optional = parameter.questionToken !== undefined || parameter.initializer !== undefined ? '?' : '';
  // A destructured parameter reads best by its type; name it `options` like the house style does.
  const name = ts.isIdentifier(parameter.name) ? parameter.name.text : 'options';
  const type =
    parameter.type === undefined
      ? checker.typeToString(checker.getTypeAtLocation(parameter), parameter, ts.TypeFormatFlags.NoTruncation)
      : written(parameter.type);
  return `${rest}${name}${optional}: ${truncate(type, 100)}`;
}

function classSignature(
  checker: ts.TypeChecker,
  symbol: ts.Symbol,
  declaration: ts.ClassDeclaration,
  name: string,
): string {
  const heritage = (declaration.heritageClauses ?? []).map((clause) => written(clause)).join(' ');
  const prefix = `class ${name}${typeParameters(declaration.typeParameters)}${heritage === '' ? '' : ` ${heritage}`}`;
  const explicit = declaration.members.filter(ts.isConstructorDeclaration);
  const publicConstructors = explicit.filter(
    (member) =>
      !ts
        .getModifiers(member)
        ?.some(
          (modifier) =>
            modifier.kind === ts.SyntaxKind.PrivateKeyword || modifier.kind === ts.SyntaxKind.ProtectedKeyword,
        ),
  );
  let constructors: string[];
  if (explicit.length > 0) {
    const declared =
      publicConstructors.length > 1
        ? publicConstructors.filter((member) => member.body === undefined)
        : publicConstructors;
    constructors = declared.map(
      (member) => `new ${name}(${member.parameters.map((parameter) => parameterText(checker, parameter)).join(', ')})`,
    );
  } else {
    // Inherited constructor (e.g. an error class extending `Error`): ask the checker for it.
    const inherited = checker
      .getTypeOfSymbolAtLocation(symbol, declaration)
      .getConstructSignatures()
      .map((signature) =>
        signature.getParameters().map((parameter) => {
          const parameterDeclaration = parameter.valueDeclaration;
          if (parameterDeclaration !== undefined && ts.isParameter(parameterDeclaration)) {
            return parameterText(checker, parameterDeclaration);
          }
          return `${parameter.getName()}: ${truncate(checker.typeToString(checker.getTypeOfSymbolAtLocation(parameter, declaration)), 100)}`;
        }),
      );
    // `Error` has `(message?)` and `(message?, options?)`: an overload that only drops trailing parameters adds nothing.
    constructors = inherited
      .filter(
        (parameters) =>
          !inherited.some(
            (other) => other.length > parameters.length && parameters.every((text, index) => other[index] === text),
          ),
      )
      .map((parameters) => `new ${name}(${parameters.join(', ')})`);
  }
  return constructors.length === 0 ? prefix : `${prefix}; ${constructors.join('; ')}`;
}

function interfaceSignature(declaration: ts.InterfaceDeclaration): string {
  const heritage = (declaration.heritageClauses ?? []).map((clause) => written(clause)).join(' ');
  const members = declaration.members.map((member) => {
    const memberName =
      member.name === undefined ? (ts.isIndexSignatureDeclaration(member) ? '[key]' : '()') : written(member.name);
    const optional = 'questionToken' in member && member.questionToken !== undefined ? '?' : '';
    const call = ts.isMethodSignature(member) ? '()' : '';
    return `${memberName}${optional}${call}`;
  });
  const body = members.length === 0 ? '{}' : `{ ${members.join('; ')} }`;
  return truncate(
    `interface ${declaration.name.text}${typeParameters(declaration.typeParameters)}${heritage === '' ? '' : ` ${heritage}`} ${body}`,
  );
}

function variableType(checker: ts.TypeChecker, variable: ts.VariableDeclaration): string {
  if (variable.type !== undefined) return truncate(written(variable.type));
  const type = checker.getTypeAtLocation(variable);
  return truncate(checker.typeToString(type, variable, ts.TypeFormatFlags.NoTruncation));
}

function typeParameters(parameters: ts.NodeArray<ts.TypeParameterDeclaration> | undefined): string {
  if (parameters === undefined || parameters.length === 0) return '';
  return `<${parameters.map((parameter) => written(parameter)).join(', ')}>`;
}

const printer = ts.createPrinter({ removeComments: true, omitTrailingSemicolon: true });

/** A node as written, on one line and without its comments (an inline TSDoc inside a type literal is noise here). */
function written(node: ts.Node): string {
  return printer
    .printNode(ts.EmitHint.Unspecified, node, node.getSourceFile())
    .replace(/\s+/g, ' ')
    .replace(/; \}/g, ' }')
    .replace(/([([{<]) (?=[)\]}>])/g, '$1')
    .replace(/\( /g, '(')
    .replace(/ \)/g, ')')
    .trim();
}

function truncate(text: string, limit: number = MAX_TYPE_LENGTH): string {
  // The checker prints `{ a: 1; }`; written types come without the last `;` (see `written`), so match them.
  const oneLine = text.replace(/\s+/g, ' ').replace(/; \}/g, ' }').trim();
  return oneLine.length <= limit ? oneLine : `${oneLine.slice(0, limit - 1).trimEnd()}…`;
}

/** The summary of the first declaration that has one. */
function firstSummary(declarations: readonly ts.Node[]): string | undefined {
  for (const declaration of declarations) {
    const summary = tsdocSummary(declaration);
    if (summary !== undefined) return summary;
  }
  return undefined;
}

/** The first sentence of a declaration's TSDoc comment (the text before the first tag), or `undefined`. */
function tsdocSummary(declaration: ts.Node): string | undefined {
  const documents = ts.getJSDocCommentsAndTags(declaration).filter(ts.isJSDoc);
  // The comment closest to the declaration wins (a file header above it is not its documentation).
  for (const document of [...documents].reverse()) {
    const text = ts.getTextOfJSDocComment(document.comment);
    if (text === undefined) continue;
    const sentence = firstSentence(text);
    if (sentence !== '') return sentence;
  }
  return undefined;
}

const ABBREVIATION = /(?:\b(?:e\.g|i\.e|etc|vs|cf|approx|incl|no)|\.\.)$/i;

/** The first sentence of a comment, on one line, with `{@link X}` rendered as `X`. */
export function firstSentence(comment: string): string {
  const text = comment
    .replace(
      /\{@(?:link|linkcode|linkplain)\s+([^}|\s]+)(?:\s*\|\s*|\s+)?([^}]*)\}/g,
      (_, target: string, label: string) => (label.trim() === '' ? `\`${target}\`` : label.trim()),
    )
    .replace(/\s+/g, ' ')
    .trim();
  let inCode = false;
  for (let index = 0; index < text.length; index++) {
    const character = text[index];
    if (character === '`') inCode = !inCode;
    if (inCode || (character !== '.' && character !== '!' && character !== '?')) continue;
    const next = text[index + 1];
    if (next !== undefined && next !== ' ') continue;
    if (character === '.' && ABBREVIATION.test(text.slice(0, index))) continue;
    return text.slice(0, index + 1);
  }
  return text;
}

function renderPackagePage(packageName: string, description: string | undefined, entries: readonly ApiEntry[]): string {
  const lines: string[] = [
    `# ${packageName} API`,
    '',
    '<!-- Generated by `pnpm docs:api` (scripts/api-docs.ts) from the TSDoc in the source. Do not edit by hand. -->',
    '',
  ];
  if (description !== undefined && description.trim() !== '') lines.push(description.trim(), '');
  const counts = entries.map((entry) => `\`${entry.specifier}\` (${entry.exports.length} exports)`).join(', ');
  lines.push(`Entries: ${counts}.`, '');
  for (const entry of entries) {
    lines.push(`## \`${entry.specifier}\``, '', `Source: [\`${entry.file}\`](../../${entry.file})`, '');
    for (const kind of KIND_ORDER) {
      const ofKind = entry.exports.filter((exported) => exported.kind === kind);
      if (ofKind.length === 0) continue;
      lines.push(`### ${KIND_HEADINGS[kind]}`, '');
      for (const exported of ofKind) {
        const summary = exported.summary === undefined ? '_(no TSDoc summary)_' : exported.summary;
        lines.push(`- **${exported.name}** ${codeSpan(exported.signature)} — ${summary}`);
      }
      lines.push('');
    }
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

function renderIndexPage(pages: readonly ApiPage[]): string {
  const lines = [
    '# API reference',
    '',
    '<!-- Generated by `pnpm docs:api` (scripts/api-docs.ts). Do not edit by hand. -->',
    '',
    'One page per published package, generated from the TSDoc in the source by `pnpm docs:api`.',
    '`pnpm docs:api:check` fails when an exported function, class or constant has no TSDoc summary, or when',
    'these pages are stale.',
    '',
  ];
  for (const page of pages) {
    const total = page.entries.reduce((sum, entry) => sum + entry.exports.length, 0);
    const specifiers = page.entries.map((entry) => `\`${entry.specifier}\``).join(', ');
    lines.push(`- [${page.packageName}](./${path.basename(page.file)}) — ${specifiers}: ${total} exports`);
  }
  return `${lines.join('\n')}\n`;
}

/** A Markdown code span that survives backticks inside (template literal types). */
function codeSpan(text: string): string {
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const padding = longestRun > 0 ? ' ' : '';
  return `${fence}${padding}${text}${padding}${fence}`;
}

function compareNames(left: string, right: string): number {
  const folded = left.toLowerCase().localeCompare(right.toLowerCase(), 'en');
  return folded !== 0 ? folded : left < right ? -1 : left > right ? 1 : 0;
}

function relativePath(rootDirectory: string, file: string): string {
  return path.relative(rootDirectory, file).split(path.sep).join('/');
}

function run(argv: readonly string[]): number {
  const check = argv.includes('--check');
  const started = performance.now();
  const result = collectApiDocs();
  const errors = result.problems.filter((problem) => problem.severity === 'error');
  const warnings = result.problems.filter((problem) => problem.severity === 'warning');
  const exportCount = result.pages.reduce(
    (sum, page) => sum + page.entries.reduce((entrySum, entry) => entrySum + entry.exports.length, 0),
    0,
  );

  if (warnings.length > 0) {
    console.warn(`api-docs: ${warnings.length} interface/type export(s) re-exported via \`export *\` without TSDoc:`);
    for (const warning of warnings) console.warn(`  warning ${formatApiDocProblem(warning)}`);
  }
  if (errors.length > 0) {
    console.error(`api-docs: ${errors.length} public export(s) without a TSDoc summary:`);
    for (const error of errors) console.error(`  ${formatApiDocProblem(error)}`);
  }

  if (check) {
    const stale = findStaleApiDocs(result);
    if (stale.length > 0) {
      console.error(`api-docs: docs/api is stale (run \`pnpm docs:api\`): ${stale.join(', ')}`);
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`api-docs: checked ${exportCount} exports of ${result.pages.length} packages in ${seconds} s`);
    return errors.length > 0 || stale.length > 0 ? 1 : 0;
  }

  const directory = path.join(DEFAULT_ROOT, 'docs/api');
  if (existsSync(directory)) {
    for (const name of readdirSync(directory)) {
      if (!result.files.has(`docs/api/${name}`)) rmSync(path.join(directory, name), { recursive: true });
    }
  }
  mkdirSync(directory, { recursive: true });
  for (const [file, content] of result.files) writeFileSync(path.join(DEFAULT_ROOT, file), content);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`api-docs: wrote ${result.files.size} pages (${exportCount} exports) to docs/api in ${seconds} s`);
  // Writing succeeds even with missing TSDoc (the page shows the gap); `--check` is the gate.
  return 0;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = run(process.argv.slice(2));
}
