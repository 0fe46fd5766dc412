/**
 * The README's option lists agree with the code: for every `#### \`factory(…)\`` heading of the
 * README's options section, the table below it names exactly the options of that parameter of
 * the function the public entry exports (or, for `cache.method(…)`, of that method of the cache
 * `createResponseCache` returns), each with the `@default` its TSDoc states ("required" for an
 * option without a default). Read from the sources at test time, through the type
 * checker, so it holds whichever file declares an options interface. And the README's examples
 * import the package by its name only.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
const entry = fileURLToPath(new URL('../../plugins/index.ts', import.meta.url));

interface DocumentedOption {
  name: string;
  /** The `@default` text, or "required". */
  default: string;
}

const normalise = (text: string) => text.replace(/\s+/g, ' ').trim();

/** `factory(a, options)` headings of the options section, with the rows of the table under each. */
function readmeOptionTables(): Map<string, { parameter: number; rows: DocumentedOption[] }> {
  const section = /^### Options\n([\s\S]*?)(?=^## |^### (?!Options))/m.exec(readme)?.[1];
  if (section === undefined) throw new Error('README.md has no "### Options" section');
  const tables = new Map<string, { parameter: number; rows: DocumentedOption[] }>();
  for (const block of section.split(/^#### /m).slice(1)) {
    const heading = /^`((?:cache\.)?\w+)\(([^)]*)\)`/.exec(block);
    if (!heading) throw new Error(`expected a heading like \`factory(options)\` or \`cache.method(options)\`, got: ${block.split('\n')[0]}`);
    const parameters = heading[2].split(',').map((name) => name.trim());
    const rows = block
      .split('\n')
      .filter((line) => /^\| `\w+` \|/.test(line))
      .map((line) => {
        const [, name, defaultText] = line.split('|').map((cell) => cell.trim());
        return { name: name.slice(1, -1), default: normalise(defaultText) };
      });
    tables.set(heading[1], { parameter: parameters.indexOf('options'), rows });
  }
  return tables;
}

/** The options of a parameter of an exported function, or of a method of the cache, as the type checker sees them. */
function optionsInCode(program: ts.Program, name: string, parameter: number): DocumentedOption[] {
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  const exportedType = (exported: string) => {
    const symbol = checker.getExportsOfModule(module).find((candidate) => candidate.name === exported);
    if (symbol === undefined) throw new Error(`plugins/index.ts exports no ${exported}`);
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    return checker.getTypeOfSymbol(target);
  };
  let callable: ts.Type;
  if (name.startsWith('cache.')) {
    const cache = checker.getSignaturesOfType(exportedType('createResponseCache'), ts.SignatureKind.Call)[0].getReturnType();
    const method = cache.getProperty(name.slice('cache.'.length));
    if (method === undefined) throw new Error(`the cache has no method ${name}`);
    callable = checker.getTypeOfSymbol(method);
  } else {
    callable = exportedType(name);
  }
  const signature = checker.getSignaturesOfType(callable, ts.SignatureKind.Call)[0];
  const options = signature?.parameters[parameter];
  if (options === undefined) throw new Error(`${name} has no parameter ${parameter}`);
  const type = checker.getNonNullableType(checker.getTypeOfSymbol(options));
  return checker.getPropertiesOfType(type).map((property) => {
    const tag = property.getJsDocTags(checker).find((candidate) => candidate.name === 'default');
    const optional = (property.flags & ts.SymbolFlags.Optional) !== 0;
    if (optional && tag === undefined) return { name: property.name, default: '(no @default in its TSDoc)' };
    return { name: property.name, default: tag ? normalise(ts.displayPartsToString(tag.text)) : 'required' };
  });
}

describe('README', () => {
  const tables = readmeOptionTables();

  it('lists the options of every public factory', () => {
    expect([...tables.keys()].sort()).toEqual(
      [
        'cache.cached',
        'cache.cachedBatch',
        'createCacheMetrics',
        'createCacheStore',
        'createEnvelopCache',
        'createFastPath',
        'createMemoryStore',
        'createRedisStore',
        'createResponseCache',
        'createTieredStore',
        'trpcCacheMiddleware',
        'useMetricsEndpoint',
        'usePurgeEndpoint',
        'useResponseCache',
        'useStatsEndpoint',
        'withTrpcCacheContext',
      ],
    );
  });

  it('states each option and its default as the TSDoc does', () => {
    const config = ts.readConfigFile(fileURLToPath(new URL('../../tsconfig.json', import.meta.url)), ts.sys.readFile).config;
    const { options } = ts.parseJsonConfigFileContent(config, ts.sys, fileURLToPath(new URL('../../', import.meta.url)));
    const program = ts.createProgram([entry], options);
    for (const [factory, { parameter, rows }] of tables) {
      expect(parameter, `${factory}: the heading names no \`options\` parameter`).toBeGreaterThanOrEqual(0);
      const byName = (a: DocumentedOption, b: DocumentedOption) => a.name.localeCompare(b.name);
      expect([...rows].sort(byName), factory).toEqual(optionsInCode(program, factory, parameter).sort(byName));
    }
  }, 60_000);

  it('imports the cache layer in its examples by the package name only', () => {
    const code = [...readme.matchAll(/```(?:ts|js)\n([\s\S]*?)```/g)].map((match) => match[1]).join('\n');
    const specifiers = [...code.matchAll(/from '([^']+)'/g)].map((match) => match[1]);
    expect(specifiers).toContain('graphql-cache-layer');
    expect(specifiers.filter((specifier) => specifier.startsWith('.') || specifier.includes('plugins/'))).toEqual([]);
  });
});
