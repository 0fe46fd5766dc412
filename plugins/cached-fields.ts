/**
 * Which fields have their resolved values cached (the field grain): `@cacheResolver(maxAge, swr)`
 * in the SDL and the `cachedFields` option (config wins), read once at start-up and checked
 * against the schema. Config or a directive the schema cannot honour stops start-up, naming it.
 */
import { getDirectiveValues, isInterfaceType, isObjectType, type GraphQLSchema } from 'graphql';
import { definitionNodes, planFieldHint, type HintIndex } from './cache-hints.ts';
import type { TagIndex } from './cache-tags.ts';

/** How long a field's resolved value is cached, as `@cacheResolver` says it. */
export interface CachedFieldSetting {
  /** Seconds the value stays fresh: a whole number above 0. */
  maxAge: number;
  /** Seconds past maxAge it may be served stale while one refresh runs. */
  swr?: number;
}

/** `{ 'Query.search': { maxAge: 30 } }`: fields of object types by coordinate. */
export type CachedFieldConfig = Record<string, CachedFieldSetting>;

/** A cached field, checked: whole seconds, swr 0 when unset. */
export interface CachedField {
  maxAge: number;
  swr: number;
}

export function readCachedFields(schema: GraphQLSchema, config: CachedFieldConfig, hints: HintIndex, tags: TagIndex): ReadonlyMap<string, CachedField> {
  const fields = new Map<string, CachedField>();
  const directive = schema.getDirective('cacheResolver');
  const query = schema.getQueryType();
  const writes = new Set([schema.getMutationType(), schema.getSubscriptionType()].filter(Boolean));

  const check = (coordinate: string, where: string, setting: CachedFieldSetting): CachedField => {
    const [typeName, fieldName] = coordinate.split('.');
    const type = schema.getType(typeName)!;
    if (!isObjectType(type)) throw new Error(`${where}: ${typeName} is not an object type; cache the field on each object type that implements it`);
    if (writes.has(type)) throw new Error(`${where}: ${typeName} fields are never cached (only query fields and fields of objects)`);
    const { maxAge, swr = 0 } = setting ?? {};
    if (!(Number.isInteger(maxAge) && maxAge > 0)) throw new Error(`${where}: expected maxAge to be a whole number of seconds above 0, got ${JSON.stringify(maxAge)}`);
    if (!(Number.isInteger(swr) && swr >= 0)) throw new Error(`${where}: expected swr to be a whole number of seconds >= 0, got ${JSON.stringify(swr)}`);
    if (type !== query && tags.idField(typeName) === undefined) {
      throw new Error(`${where}: ${typeName} has no id field, so its values cannot be keyed by their parent (set idFields)`);
    }
    // A value kept longer than its field's hint would put data older than the hint allows into answers.
    const field = type.getFields()[fieldName];
    const hinted = planFieldHint(hints, type, field, type === query).base.maxAge;
    if (hinted !== undefined && maxAge > hinted) {
      throw new Error(`${where}: maxAge ${maxAge} is longer than the field's cache hint (${hinted} s), so answers could hold a value older than the hint allows`);
    }
    return { maxAge, swr };
  };

  if (directive) {
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__') || !(isObjectType(type) || isInterfaceType(type))) continue;
      for (const field of Object.values(type.getFields())) {
        const values = definitionNodes(field)
          .map((node) => getDirectiveValues(directive, node) as CachedFieldSetting | undefined)
          .find((found) => found !== undefined);
        if (!values) continue;
        const coordinate = `${type.name}.${field.name}`;
        fields.set(coordinate, check(coordinate, `@cacheResolver on ${coordinate}`, values));
      }
    }
  }
  for (const [coordinate, setting] of Object.entries(config)) {
    const [typeName, fieldName, extra] = coordinate.split('.');
    const type = schema.getType(typeName);
    if (!type || fieldName === undefined || extra !== undefined || !(isObjectType(type) || isInterfaceType(type)) || !type.getFields()[fieldName]) {
      throw new Error(`cachedFields names "${coordinate}", but the schema has no such field of an object type`);
    }
    fields.set(coordinate, check(coordinate, `cachedFields "${coordinate}"`, setting));
  }
  return fields;
}
