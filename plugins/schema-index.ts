/**
 * What the cache derives from a schema, once, at start-up: the object types behind each
 * abstract type, the hints (`@cacheControl` and config), the tags and list relations
 * (`@cacheList`, id fields), and the fields whose resolved values are cached (`@cacheResolver`,
 * `cachedFields`). Plans, tags and the execution tracker read it from here instead of
 * asking the schema again.
 */
import { isAbstractType, isObjectType, type GraphQLNamedType, type GraphQLObjectType, type GraphQLSchema } from 'graphql';
import { buildHintIndex, type HintConfig, type HintIndex } from './cache-hints.ts';
import { buildTagIndex, type TagIndex } from './cache-tags.ts';
import { readCachedFields, type CachedField, type CachedFieldConfig } from './cached-fields.ts';

export interface SchemaIndex {
  readonly schema: GraphQLSchema;
  readonly hints: HintIndex;
  readonly tags: TagIndex;
  /** Seconds for root fields and composite fields without a hint. */
  readonly defaultMaxAge: number;
  /** Fields whose resolved values are cached, by coordinate (`Query.search`). */
  readonly cachedFields: ReadonlyMap<string, CachedField>;
  /** Every object type a field of this named type may resolve to; none for scalars and enums. */
  possibleTypes(type: GraphQLNamedType): readonly GraphQLObjectType[];
  /** Whether this is the schema's query, mutation or subscription type. */
  isRootType(type: GraphQLNamedType): boolean;
}

export interface SchemaIndexOptions {
  hints?: HintConfig;
  idFields?: Record<string, string>;
  defaultMaxAge?: number;
  cachedFields?: CachedFieldConfig;
}

/** Throws, naming the bad value, when the config names what the schema lacks. */
export function buildSchemaIndex(
  schema: GraphQLSchema,
  { hints = {}, idFields = {}, defaultMaxAge = 0, cachedFields = {} }: SchemaIndexOptions = {},
): SchemaIndex {
  const possible = new Map<string, readonly GraphQLObjectType[]>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (isObjectType(type)) possible.set(type.name, [type]);
    else if (isAbstractType(type)) possible.set(type.name, schema.getPossibleTypes(type));
  }
  const possibleTypes = (type: GraphQLNamedType) => possible.get(type.name) ?? [];
  const roots = new Set<GraphQLNamedType | null | undefined>([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]);
  const hintIndex = buildHintIndex(schema, hints);
  const tagIndex = buildTagIndex(schema, possibleTypes, { idFields });
  return {
    schema,
    hints: hintIndex,
    tags: tagIndex,
    defaultMaxAge,
    cachedFields: readCachedFields(schema, cachedFields, hintIndex, tagIndex),
    possibleTypes,
    isRootType: (type) => roots.has(type),
  };
}
