/**
 * What a write evicts when it is made outside a GraphQL mutation (a tRPC procedure, a REST
 * handler, a queue consumer): the same tags a GraphQL mutation returning the written objects
 * would evict (execution-tracker.ts), whatever the caller selects or returns:
 * - the object's entity tag (`Product:7`);
 * - what writing any object of its type evicts (`writeTags`: `Query.products`, `null:Product`…);
 * - the `@cacheList(via:)` lists it belongs to, found by resolving each via field with the
 *   schema's own resolver on the object (`Product.category` → `Category:3.products`), and on its
 *   previous version when the write moved it, so the list it left goes too.
 */
import { isObjectType, type GraphQLObjectType, type GraphQLResolveInfo } from 'graphql';
import { entityTag, parentListTag } from './cache-tags.ts';
import { previousVersionOf } from './execution-tracker.ts';
import type { SchemaIndex } from './schema-index.ts';

/** One object a write created, changed or deleted, as the schema's resolvers see it. */
export interface Write {
  /** Its object type in the schema (`Product`). */
  type: string;
  /** The object as it is now (as it was, for a deletion): what a mutation resolver would return. */
  object: object;
  /**
   * The object as it was before the write, when the write may have moved it between lists (a
   * product to another category): the lists it left are evicted too. Defaults to the previous
   * version `withPreviousVersion(object, previous)` attached, if any.
   */
  previous?: object;
}

/** The tags `writes` evict; `context` is what the via fields' resolvers are given as their context. */
export type WriteTagger = (writes: readonly Write[], context: unknown) => Promise<string[]>;

export function createWriteTagger(index: SchemaIndex): WriteTagger {
  const { schema } = index;
  const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]);

  function objectType(write: Write): GraphQLObjectType {
    const type = schema.getType(write?.type);
    if (!isObjectType(type) || roots.has(type)) {
      throw new TypeError(`evictWrites: expected type to name an object type of the schema that is not a root type, got ${JSON.stringify(write?.type)}`);
    }
    if (write.object === null || typeof write.object !== 'object') {
      throw new TypeError(`evictWrites: expected the written ${type.name} as an object, got ${String(write.object)}`);
    }
    return type;
  }

  /** The lists `object` is in through each via field, as the GraphQL relation probe finds them. */
  async function listTags(type: GraphQLObjectType, object: object, context: unknown, tags: Set<string>): Promise<void> {
    const viaFields = index.tags.relations.viaFieldsByType.get(type.name);
    if (!viaFields) return;
    await Promise.all(
      [...viaFields].map(async ([via, lists]) => {
        const field = type.getFields()[via];
        const args = Object.fromEntries(field.args.filter((arg) => arg.defaultValue !== undefined).map((arg) => [arg.name, arg.defaultValue]));
        const info = { fieldName: via, fieldNodes: [], returnType: field.type, parentType: type, path: { prev: undefined, key: via, typename: type.name }, schema, fragments: {}, rootValue: undefined, variableValues: {} } as unknown as GraphQLResolveInfo;
        const parent = (await (field.resolve ? field.resolve(object, args, context, info) : (object as Record<string, unknown>)[via])) as Record<string, unknown> | null | undefined;
        if (parent == null || typeof parent !== 'object') return;
        for (const { parentType, listField } of lists) {
          const parentId = parent[index.tags.idField(parentType)!];
          if (parentId != null) tags.add(parentListTag(parentType, parentId, listField));
        }
      }),
    );
  }

  return async (writes, context) => {
    const tags = new Set<string>();
    const types = writes.map(objectType);
    await Promise.all(
      writes.map(async (write, i) => {
        const type = types[i];
        const idField = index.tags.idField(type.name);
        const id = idField === undefined ? undefined : (write.object as Record<string, unknown>)[idField];
        if (id != null) tags.add(entityTag(type.name, id));
        for (const tag of index.tags.writeTags(type.name)) tags.add(tag);
        const previous = write.previous ?? previousVersionOf(write.object);
        await Promise.all([listTags(type, write.object, context, tags), previous ? listTags(type, previous, context, tags) : undefined]);
      }),
    );
    return [...tags];
  };
}
