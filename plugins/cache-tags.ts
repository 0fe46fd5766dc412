/**
 * The tags an answer is indexed under, and the tags a mutation evicts. One vocabulary:
 *
 * | tag                   | on an answer that…                                  | evicted when…                                   |
 * |-----------------------|-----------------------------------------------------|-------------------------------------------------|
 * | `Product:7`           | contains that object anywhere                       | a mutation's result contains it, at any depth   |
 * | `Category:3.products` | resolved that list on that parent (`@cacheList`)    | a written Product's `category` is Category 3    |
 * | `Query.products`      | resolved that list field (root, or no `@cacheList`) | any Product is written                          |
 * | `null:Product`        | resolved a Product-typed field to null              | any Product is written                          |
 * | `type:Product`        | resolved a field of that type, or contains one      | `evictType('Product')` (operators only)         |
 *
 * "Written" means the objects a mutation root field returns: their lists are derived on the
 * server from the objects themselves, never from the fields the client chose to see.
 */
import {
  getNamedType,
  getNullableType,
  isCompositeType,
  isListType,
  isObjectType,
  isInterfaceType,
  isUnionType,
  getDirectiveValues,
  type GraphQLSchema,
  type GraphQLObjectType,
  type GraphQLNamedType,
} from 'graphql';
import { definitionNodes } from './cache-hints.ts';

/** `Product:7`: the same string as `@envelop/response-cache`'s entity ids, so its entities are our tags. */
export const entityTag = (typeName: string, id: unknown): string => `${typeName}:${String(id)}`;
export const parentListTag = (parentType: string, parentId: unknown, field: string) =>
  `${parentType}:${String(parentId)}.${field}`;
export const fieldListTag = (parentType: string, field: string) => `${parentType}.${field}`;
export const nullTag = (typeName: string) => `null:${typeName}`;
export const typeTag = (typeName: string) => `type:${typeName}`;

/**
 * Builders of the cache's tags, for the `tags` option of `cached` and `cachedBatch`: a value
 * tagged with one of these is evicted by whatever evicts answers under the same tag, so tags are
 * never written by hand.
 */
export const cacheTags = {
  /** `Product:7`: evicted when a mutation writes (or returns) that object, or by `evictEntity`. */
  entity: entityTag,
  /** `Category:3.products`: evicted when an element joins or leaves that parent's `@cacheList` list. */
  list: parentListTag,
  /** `Query.products`: evicted when any object that list field can hold is written. */
  field: fieldListTag,
  /** `type:Product`: evicted by `evictType('Product')`. */
  type: typeTag,
  /** `null:Product`: evicted when any Product is written (a lookup that found nothing may now find it). */
  null: nullTag,
} as const;

export interface ListRelation {
  /** The type that owns the list, e.g. Category. */
  parentType: string;
  /** The list field on it, e.g. products. */
  listField: string;
}

export interface ListRelations {
  /** Element type → via field → the lists an element belongs to through that field. */
  viaFieldsByType: ReadonlyMap<string, ReadonlyMap<string, readonly ListRelation[]>>;
  /** `Parent.field` coordinates tagged per parent object. */
  perParentLists: ReadonlySet<string>;
}

export interface TagIndex {
  relations: ListRelations;
  /** The id field of an object type, or undefined when its objects are not entities. */
  idField(typeName: string): string | undefined;
  /** What writing an object of this type evicts besides its own entity tag and parent lists. */
  writeTags(typeName: string): readonly string[];
  /** What `evictType` evicts for this type. */
  typeTags(typeName: string): readonly string[];
}

export interface TagIndexOptions {
  /** Id field per type name; any other type uses `defaultIdField` when it has that field. */
  idFields?: Record<string, string>;
  /** @default 'id' */
  defaultIdField?: string;
}

/** Every object type a field of a named type may resolve to (from the schema index). */
export type PossibleTypes = (type: GraphQLNamedType) => readonly GraphQLObjectType[];

export function buildTagIndex(
  schema: GraphQLSchema,
  possibleTypes: PossibleTypes,
  { idFields = {}, defaultIdField = 'id' }: TagIndexOptions = {},
): TagIndex {
  for (const [typeName, field] of Object.entries(idFields)) {
    const type = schema.getType(typeName);
    if (!isObjectType(type) || !type.getFields()[field]) {
      throw new Error(`idFields names "${typeName}.${field}", but the schema has no such object type field`);
    }
  }
  const objectTypes = Object.values(schema.getTypeMap()).filter(
    (t): t is GraphQLObjectType => isObjectType(t) && !t.name.startsWith('__'),
  );
  const idFieldOf = new Map<string, string>();
  for (const type of objectTypes) {
    const field = idFields[type.name] ?? defaultIdField;
    if (type.getFields()[field]) idFieldOf.set(type.name, field);
  }

  const relations = readListRelations(schema, possibleTypes, objectTypes, idFieldOf);
  const abstractOwners = abstractTypesByObject(schema);
  const roots = new Set<GraphQLNamedType | null | undefined>([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]);
  const writeTags = new Map<string, string[]>();
  const add = (typeName: string, tag: string) => {
    const tags = writeTags.get(typeName) ?? [];
    if (!tags.includes(tag)) tags.push(tag);
    writeTags.set(typeName, tags);
  };
  for (const type of objectTypes) {
    add(type.name, nullTag(type.name));
    for (const owner of abstractOwners.get(type.name) ?? []) add(type.name, nullTag(owner));
    for (const field of Object.values(type.getFields())) {
      const nullable = getNullableType(field.type);
      if (!isListType(nullable)) continue;
      const element = getNamedType(field.type);
      if (!isCompositeType(element) || relations.perParentLists.has(`${type.name}.${field.name}`)) continue;
      for (const concrete of possibleTypes(element)) add(concrete.name, fieldListTag(type.name, field.name));
    }
  }

  return {
    relations,
    idField: (typeName) => idFieldOf.get(typeName),
    writeTags: (typeName) => writeTags.get(typeName) ?? [],
    typeTags: (typeName) => {
      const type = schema.getType(typeName);
      if (!type || !isCompositeType(type)) throw new Error(`evictType: the schema has no object, interface or union type "${typeName}"`);
      if (roots.has(type)) {
        // Purging it would answer "0 evicted" while every answer still stands.
        throw new Error(`evictType: "${typeName}" is a root operation type, under which no answer is indexed; evict the types its fields return, or everything`);
      }
      // An abstract type stands for every object type that implements or belongs to it.
      const tags = new Set([typeTag(typeName)]);
      for (const concrete of possibleTypes(type)) {
        tags.add(typeTag(concrete.name));
        for (const owner of abstractOwners.get(concrete.name) ?? []) tags.add(typeTag(owner));
        for (const tag of writeTags.get(concrete.name) ?? []) tags.add(tag);
      }
      return [...tags];
    },
  };
}

function abstractTypesByObject(schema: GraphQLSchema): Map<string, string[]> {
  const owners = new Map<string, string[]>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!(isInterfaceType(type) || isUnionType(type)) || type.name.startsWith('__')) continue;
    for (const concrete of schema.getPossibleTypes(type)) {
      owners.set(concrete.name, [...(owners.get(concrete.name) ?? []), type.name]);
    }
  }
  return owners;
}

/** Reads `@cacheList(via:)` and checks, at start-up, that each one can be followed. */
function readListRelations(
  schema: GraphQLSchema,
  possibleTypes: PossibleTypes,
  objectTypes: readonly GraphQLObjectType[],
  idFieldOf: ReadonlyMap<string, string>,
): ListRelations {
  const directive = schema.getDirective('cacheList');
  const viaFieldsByType = new Map<string, Map<string, ListRelation[]>>();
  const perParentLists = new Set<string>();
  if (!directive) return { viaFieldsByType, perParentLists };
  for (const parent of objectTypes) {
    for (const field of Object.values(parent.getFields())) {
      const args = definitionNodes(field)
        .map((node) => getDirectiveValues(directive, node) as { via: string } | undefined)
        .find((values) => values !== undefined);
      if (!args) continue;
      const coordinate = `${parent.name}.${field.name}`;
      const element = getNamedType(field.type);
      if (!isListType(getNullableType(field.type)) || !isCompositeType(element)) {
        throw new Error(`@cacheList on ${coordinate}: the field must return a list of objects`);
      }
      if (!idFieldOf.has(parent.name)) {
        throw new Error(`@cacheList on ${coordinate}: ${parent.name} has no id field, so its lists cannot be told apart`);
      }
      for (const concrete of possibleTypes(element)) {
        const via = concrete.getFields()[args.via];
        if (!via || getNamedType(via.type) !== parent || isListType(getNullableType(via.type))) {
          throw new Error(
            `@cacheList(via: "${args.via}") on ${coordinate}: expected ${concrete.name}.${args.via} to return one ${parent.name}`,
          );
        }
        if (via.args.some((arg) => arg.type.toString().endsWith('!') && arg.defaultValue === undefined)) {
          throw new Error(`@cacheList(via: "${args.via}") on ${coordinate}: ${concrete.name}.${args.via} has required arguments`);
        }
        const byVia = viaFieldsByType.get(concrete.name) ?? new Map<string, ListRelation[]>();
        byVia.set(args.via, [...(byVia.get(args.via) ?? []), { parentType: parent.name, listField: field.name }]);
        viaFieldsByType.set(concrete.name, byVia);
      }
      perParentLists.add(coordinate);
    }
  }
  return { viaFieldsByType, perParentLists };
}
