/**
 * Watches an execution field by field, so what the cache learns comes from what was actually
 * resolved (concrete types, real field definitions, the full source objects) rather than from
 * the response keys the client chose: aliases, fragments and abstract types cannot hide a
 * PRIVATE field, and a mutation selecting only `id` still reports the object it wrote.
 *
 * Every field resolver of the schema is wrapped once at start-up. Requests the cache does not
 * track pay one WeakMap lookup per field.
 */
import {
  defaultFieldResolver,
  getNamedType,
  getNullableType,
  isCompositeType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLSchema,
  type GraphQLObjectType,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLResolveInfo,
  type GraphQLCompositeType,
} from 'graphql';
import { planFieldHint, replacePolicy, restrictPolicy, type CacheHint, type CachePolicy, type HintIndex } from './cache-hints.ts';
import { entityTag, fieldListTag, nullTag, parentListTag, typeTag, type ListRelation, type TagIndex } from './cache-tags.ts';
import { PROBE_PREFIX } from './document-plan.ts';

/** What one execution has learned so far. */
export interface Tracker {
  readonly mutation: boolean;
  /** The answer's policy: the minimum over every resolved field. */
  readonly policy: CachePolicy;
  /** Queries: the tags the answer is indexed under. Mutations: the tags the mutation evicts. */
  readonly tags: Set<string>;
  /** Source objects already tagged, so each object costs one tag however many fields it has. */
  readonly seen: WeakSet<object>;
}

export function createTracker(mutation: boolean): Tracker {
  return { mutation, policy: { maxAge: undefined, scope: 'PUBLIC', swr: undefined }, tags: new Set(), seen: new WeakSet() };
}

/** What resolvers see as `info.cacheControl`, as in Apollo Server. */
export interface ResolverCacheControl {
  /** Narrows or widens this field's hint; applied after the resolver returns. */
  setCacheHint(hint: CacheHint): void;
  /** The hint a type carries (SDL and config). */
  cacheHintFromType(type: GraphQLCompositeType): CacheHint;
}

declare module 'graphql' {
  interface GraphQLResolveInfo {
    cacheControl: ResolverCacheControl;
  }
}

export interface InstrumentOptions {
  hints: HintIndex;
  tagIndex: TagIndex;
  /** Seconds for root fields and composite fields without a hint. */
  defaultMaxAge: number;
  /** The tracker of the request a resolver runs for, if the cache tracks it. */
  trackerOf: (context: unknown) => Tracker | undefined;
}

const instrumented = new WeakSet<GraphQLSchema>();

/** Wraps every field resolver of `schema` in place; a schema is instrumented once. */
export function instrumentSchema(schema: GraphQLSchema, options: InstrumentOptions): void {
  if (instrumented.has(schema)) throw new Error('this schema is already instrumented by another response cache');
  instrumented.add(schema);
  const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter(Boolean));
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      field.resolve = wrapResolver(type, field, roots.has(type), options);
    }
  }
}

class FieldCacheControl implements ResolverCacheControl {
  dynamic: CacheHint | undefined;
  constructor(private readonly hints: HintIndex) {}
  setCacheHint(hint: CacheHint): void {
    this.dynamic = { ...this.dynamic, ...hint };
  }
  cacheHintFromType(type: GraphQLCompositeType): CacheHint {
    return this.hints.typeHint(type);
  }
}

function wrapResolver(
  parent: GraphQLObjectType,
  field: GraphQLField<unknown, unknown>,
  isRoot: boolean,
  { hints, tagIndex, defaultMaxAge, trackerOf }: InstrumentOptions,
): GraphQLFieldResolver<unknown, unknown> {
  const original = field.resolve ?? defaultFieldResolver;
  const hintPlan = planFieldHint(hints, parent, field, isRoot);
  const staticPolicy = policyOf(hintPlan.base, hintPlan.takesDefault, defaultMaxAge);
  const named = getNamedType(field.type);
  const composite = isCompositeType(named);
  const idField = tagIndex.idField(parent.name);
  const parentTypeTag = typeTag(parent.name);
  const returnTypeTag = composite ? typeTag(named.name) : undefined;
  const perParentList = tagIndex.relations.perParentLists.has(`${parent.name}.${field.name}`);
  const listTag = composite && isListType(getNullableType(field.type)) && !perParentList ? fieldListTag(parent.name, field.name) : undefined;
  const nullableTag = composite && !isNonNullType(field.type) ? nullTag(named.name) : undefined;
  const probedLists = tagIndex.relations.viaFieldsByType.get(parent.name)?.get(field.name);

  /** Query answers: the field's policy, and the list and null tags its value earns. */
  function settleRead(tracker: Tracker, source: unknown, control: FieldCacheControl, value: unknown) {
    restrictPolicy(
      tracker.policy,
      control.dynamic ? policyOf({ ...hintPlan.base, ...control.dynamic }, hintPlan.takesDefault, defaultMaxAge) : staticPolicy,
    );
    if (!composite) return;
    tracker.tags.add(returnTypeTag!);
    if (value == null) {
      if (nullableTag) tracker.tags.add(nullableTag);
    } else if (listTag) {
      tracker.tags.add(listTag);
    } else if (perParentList && idField !== undefined) {
      tracker.tags.add(parentListTag(parent.name, (source as Record<string, unknown>)[idField], field.name));
    }
  }

  /** Mutations: a relation probe on a written object names the parent whose list it joins. */
  function settleProbe(tracker: Tracker, value: unknown) {
    if (value == null || typeof value !== 'object') return;
    for (const { parentType, listField } of probedLists as readonly ListRelation[]) {
      const parentId = (value as Record<string, unknown>)[tagIndex.idField(parentType)!];
      if (parentId != null) tracker.tags.add(parentListTag(parentType, parentId, listField));
    }
  }

  return function trackedResolver(source, args, context, info: GraphQLResolveInfo) {
    const tracker = trackerOf(context);
    if (tracker === undefined) return original(source, args, context, info);

    if (info.path.prev !== undefined && source !== null && typeof source === 'object' && !tracker.seen.has(source)) {
      tracker.seen.add(source);
      const id = idField === undefined ? undefined : (source as Record<string, unknown>)[idField];
      if (tracker.mutation) {
        if (id != null) tracker.tags.add(entityTag(parent.name, id));
        if (isWrittenObject(info)) for (const tag of tagIndex.writeTags(parent.name)) tracker.tags.add(tag);
      } else {
        tracker.tags.add(parentTypeTag);
        if (id != null) tracker.tags.add(entityTag(parent.name, id));
      }
    }

    if (tracker.mutation) {
      if (!probedLists || typeof info.path.key !== 'string' || !info.path.key.startsWith(PROBE_PREFIX)) {
        return original(source, args, context, info);
      }
      return settle(original(source, args, context, info), (value) => settleProbe(tracker, value));
    }

    const control = new FieldCacheControl(hints);
    info.cacheControl = control;
    return settle(original(source, args, context, info), (value) => settleRead(tracker, source, control, value));
  };
}

function policyOf(hint: CacheHint, takesDefault: boolean, defaultMaxAge: number): CachePolicy {
  const policy: CachePolicy = { maxAge: undefined, scope: 'PUBLIC', swr: undefined };
  replacePolicy(policy, hint);
  if (policy.maxAge === undefined && takesDefault) policy.maxAge = defaultMaxAge;
  return policy;
}

/** An object a mutation root field returned (directly, or as a list element). */
function isWrittenObject(info: GraphQLResolveInfo): boolean {
  let at = info.path.prev;
  while (at !== undefined && typeof at.key === 'number') at = at.prev;
  return at !== undefined && at.prev === undefined;
}

function settle(result: unknown, onValue: (value: unknown) => void): unknown {
  if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
    return (result as Promise<unknown>).then((value) => {
      onValue(value);
      return value;
    });
  }
  onValue(result);
  return result;
}
