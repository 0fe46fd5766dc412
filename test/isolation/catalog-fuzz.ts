/**
 * What the generator needs to know about the catalog beyond its schema: plausible argument
 * values (seeded ids, search words with known result counts) and how long its lists are, so
 * that answers stay in kilobytes; and the server's default limits, which every generated
 * query passes.
 */
import fc from 'fast-check';
import { Kind, buildSchema, parse, print, type DefinitionNode, type DirectiveNode } from 'graphql';
import { catalogTypeDefs } from '../../schema/index.ts';
import { cacheDirectives } from '../helpers/library-schema.ts';
import type { GeneratorOptions } from './query-generator.ts';
import { defaultLimits } from '../../server/config.ts';

/** The catalog's SDL with the cache directives it uses, as the server builds its schema from. */
export const catalogSDL = [cacheDirectives, catalogTypeDefs];

/** The catalog's schema as its SDL declares it (the generator reads types and hints only). */
export const catalogSchema = buildSchema(catalogSDL.join('\n'));

/** Seeded ids, with a few that name nothing or cannot be ids (answered null, never an error). */
const productId = fc.oneof(
  { weight: 9, arbitrary: fc.integer({ min: 1, max: 1000 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('0', '1001', 'abc') },
);
const categoryId = fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 1, max: 20 }).map(String) }, { weight: 1, arbitrary: fc.constant('21') });
const pageSize = fc.integer({ min: 0, max: 3 });
const offset = fc.integer({ min: 0, max: 60 });

/**
 * Words of the seed's names: "Lamp" names 25 products, "Deluxe Lamp" one, "Tiny K" two, "Kitchen"
 * and "Gar" a category each, "zzz" nothing. At most 25 products and a category.
 */
const searchText = fc.constantFrom('Lamp', 'Deluxe Lamp', 'Tiny K', 'Kitchen', 'Gar', 'zzz', 'Books', 'Chess');

export const catalogGeneratorOptions: GeneratorOptions = {
  // The catalog's own clients go 5 deep; the limit is 8.
  depth: 6,
  limits: defaultLimits,
  argValues: {
    'Query.node.id': productId,
    'Query.product.id': productId,
    'Query.products.categoryId': categoryId,
    'Query.products.first': pageSize,
    'Query.products.offset': offset,
    'Query.category.id': categoryId,
    'Query.search.text': searchText,
    'Category.products.first': pageSize,
    'Category.products.offset': offset,
  },
  alwaysArgs: ['Query.products.first', 'Category.products.first'],
  listSizes: {
    'Query.products': 3,
    'Category.products': 3,
    'Query.categories': 20,
    'Query.search': 26,
    'Product.reviews': 5,
  },
  maxFanOut: 150,
  // `node` answers are never cached (Node has no hint, so maxAge 0): keep it, but rarely.
  fieldWeights: { 'Query.node': 1 },
};

/**
 * The catalog's SDL with every `@cacheControl` moved onto type extensions: a type's hint to
 * `extend type T @cacheControl(…)`, and each field with a hint (`User.email`, `Query.me`…) out
 * of its type into `extend type T { … }`. `buildSchema` keeps extensions apart from the type,
 * the way that once hid a PRIVATE hint from the cache.
 */
export function catalogSDLWithHintsOnExtensions(): string {
  const hinted = (directives: readonly DirectiveNode[] | undefined) => (directives ?? []).some((d) => d.name.value === 'cacheControl');
  const definitions: DefinitionNode[] = [];
  for (const definition of parse(catalogTypeDefs).definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION) {
      definitions.push(definition);
      continue;
    }
    const fields = definition.fields ?? [];
    const typeHints = (definition.directives ?? []).filter((d) => d.name.value === 'cacheControl');
    definitions.push({
      ...definition,
      directives: (definition.directives ?? []).filter((d) => d.name.value !== 'cacheControl'),
      fields: fields.filter((field) => !hinted(field.directives)),
    });
    const moved = fields.filter((field) => hinted(field.directives));
    if (typeHints.length > 0 || moved.length > 0) {
      definitions.push({ kind: Kind.OBJECT_TYPE_EXTENSION, name: definition.name, directives: typeHints, fields: moved });
    }
  }
  return `${cacheDirectives}\n${print({ kind: Kind.DOCUMENT, definitions })}`;
}
