/**
 * The tags a plain value earns as if it were the value of a GraphQL field: for outputs of tRPC
 * procedures (or anything else cached outside a GraphQL execution) that hold objects shaped like
 * the schema's types. The walk follows the schema, not a key list written by hand: an object of
 * a type is tagged with its entity (`Product:7`, through the id fields) and its type, and each of
 * its properties named like a field of that type is read as that field's value, so nested objects,
 * `@cacheList` lists (`Category:3.products`), other list fields (`Query.products`) and null
 * objects (`null:Category`) are tagged by the same rules as answers (execution-tracker.ts).
 *
 * An object's type is its `__typename` when it names an object type of the schema, else the type
 * it is declared as. An object declared as an interface or union that does not say its type is
 * tagged as each of the possible types: more is evicted, never less. Properties that are not
 * fields are not typed, but objects inside them that carry `__typename` are still tagged.
 */
import {
  getNamedType,
  getNullableType,
  isCompositeType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLObjectType,
} from 'graphql';
import { entityTag, fieldListTag, nullTag, parentListTag, typeTag } from './cache-tags.ts';
import type { SchemaIndex } from './schema-index.ts';

/** Where a value sits: the list or field of the schema it stands for. */
export type ValuePlace =
  /** A field whose lists are not per parent (`Query.products`), or any field without a list. */
  | { coordinate: string; field: GraphQLField<unknown, unknown>; parentId?: undefined }
  /** A `@cacheList` field on one parent object (`Category.products` of Category 3). */
  | { coordinate: string; field: GraphQLField<unknown, unknown>; parentId: string | number };

/**
 * The tags of `value` as the value of `type` (each element, for an array), or of the field
 * `place` names: then the list or null tag that field's value earns too, and `type` defaults to
 * the field's type.
 */
export function valueTags(index: SchemaIndex, type: GraphQLCompositeType | undefined, value: unknown, place?: ValuePlace): Set<string> {
  const tags = new Set<string>();
  /** Objects already tagged, by the type they were read as ('' when untyped): shared objects and cycles cost one visit. */
  const visited = new WeakMap<object, Set<string>>();
  const firstVisit = (object: object, as: string) => {
    const types = visited.get(object) ?? new Set<string>();
    if (types.has(as)) return false;
    visited.set(object, types.add(as));
    return true;
  };
  const { idField, relations } = index.tags;

  function addField(parentType: string, parentId: unknown, field: GraphQLField<unknown, unknown>, fieldValue: unknown, declared?: GraphQLCompositeType) {
    const named = getNamedType(field.type);
    if (!isCompositeType(named)) return addUntyped(fieldValue);
    const elementType = declared ?? named;
    tags.add(typeTag(elementType.name));
    if (fieldValue == null) {
      if (!isNonNullType(field.type)) tags.add(nullTag(elementType.name));
      return;
    }
    if (isListType(getNullableType(field.type))) {
      const coordinate = `${parentType}.${field.name}`;
      if (!relations.perParentLists.has(coordinate)) tags.add(fieldListTag(parentType, field.name));
      else if (parentId != null) tags.add(parentListTag(parentType, parentId, field.name));
    }
    addTyped(elementType, fieldValue);
  }

  function addTyped(declared: GraphQLCompositeType, node: unknown) {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      // A null element stands for an object that does not exist yet: creating it evicts the list.
      for (const element of node) {
        if (element == null) tags.add(nullTag(declared.name));
        else addTyped(declared, element);
      }
      return;
    }
    const object = node as Record<string, unknown>;
    const said = typeof object.__typename === 'string' ? index.schema.getType(object.__typename) : undefined;
    const concrete = isObjectType(said) ? [said] : index.possibleTypes(declared);
    for (const objectType of concrete) addObject(objectType, object);
  }

  function addObject(objectType: GraphQLObjectType, object: Record<string, unknown>) {
    if (!firstVisit(object, objectType.name)) return;
    tags.add(typeTag(objectType.name));
    const idName = idField(objectType.name);
    const id = idName === undefined ? undefined : object[idName];
    if (id != null) tags.add(entityTag(objectType.name, id));
    const fields = objectType.getFields();
    for (const key of Object.keys(object)) {
      const field = key === '__typename' ? undefined : fields[key];
      if (field) addField(objectType.name, id, field, object[key]);
      else addUntyped(object[key]);
    }
  }

  /** A value of no known type: only objects saying their `__typename` are tagged, however deep. */
  function addUntyped(node: unknown) {
    if (node === null || typeof node !== 'object' || !firstVisit(node, '')) return;
    if (Array.isArray(node)) {
      for (const element of node) addUntyped(element);
      return;
    }
    const object = node as Record<string, unknown>;
    const said = typeof object.__typename === 'string' ? index.schema.getType(object.__typename) : undefined;
    if (isObjectType(said)) addObject(said, object);
    else for (const key of Object.keys(object)) addUntyped(object[key]);
  }

  if (place) {
    const [parentType] = place.coordinate.split('.');
    addField(parentType, place.parentId, place.field, value, type);
  } else if (type) {
    tags.add(typeTag(type.name));
    if (value == null) tags.add(nullTag(type.name));
    else addTyped(type, value);
  } else addUntyped(value);
  return tags;
}
