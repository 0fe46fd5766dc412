/**
 * Watches an execution field by field, so what the cache learns comes from what was actually
 * resolved (concrete types, real field definitions, the full source objects) rather than from
 * the response keys the client chose: aliases, fragments and abstract types cannot hide a
 * PRIVATE field, and a mutation selecting only `id` still reports the object it wrote.
 *
 * Every field resolver of the schema is wrapped once at start-up. Requests the cache does not
 * track pay one WeakMap lookup and one `info.cacheControl` object per field.
 *
 * The same wrapping serves the field grain: a field with `@cacheResolver` (or `cachedFields`)
 * reads its resolved value through the value cache, keyed by its coordinate, its parent's id,
 * its arguments and, when the field is PRIVATE, the session. Whether the value came from the
 * cache or from the resolver, the answer's tags and policy are collected from it as for any
 * field, and the answer may not outlive what is left of the value's life. Objects that cached
 * functions returned restrict it the same way (`remainingSeconds`).
 */
import { stringify } from 'safe-stable-stringify';
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
  type GraphQLAbstractType,
} from 'graphql';
import {
  checkHint,
  planFieldHint,
  replacePolicy,
  restrictPolicy,
  type CacheHint,
  type CachePolicy,
  type HintIndex,
  type PolicyValues,
} from './cache-hints.ts';
import type { CacheScope, MaybePromise } from './store.ts';
import { entityTag, fieldListTag, nullTag, parentListTag, typeTag, type ListRelation } from './cache-tags.ts';
import type { SchemaIndex } from './schema-index.ts';
import type { RequestLike } from './cache-key.ts';
import { valueKey, type ValueCache, type ValuePolicy, type ValueRequest } from './value-cache.ts';

const PREVIOUS_VERSION = Symbol.for('graphql-cache-layer.previousVersion');

/**
 * For mutation resolvers that change what an object's lists hang on (a product moved to
 * another category): returns `current` carrying `previous`, the object as it was, so the
 * cache also evicts the lists the object leaves, including pages that never contained it.
 */
export function withPreviousVersion<T extends object>(current: T, previous: object): T {
  Object.defineProperty(current, PREVIOUS_VERSION, { value: previous, enumerable: false, configurable: true });
  return current;
}

/** The object as it was, when a resolver returned `withPreviousVersion(current, previous)`. */
export function previousVersionOf(current: object): object | undefined {
  return (current as Record<symbol, object | undefined>)[PREVIOUS_VERSION];
}

/** What one execution has learned so far. */
export interface Tracker {
  readonly mutation: boolean;
  /** Mutations: response keys starting with it are the relation probes the cache added. */
  readonly probePrefix: string | undefined;
  /** The answer's policy: the minimum over every resolved field. */
  readonly policy: CachePolicy;
  /** Queries: the tags the answer is indexed under. Mutations: the tags the mutation evicts. */
  readonly tags: Set<string>;
  /** Source objects already tagged, so each object costs one tag however many fields it has. */
  readonly seen: WeakSet<object>;
  /** Tagging still waiting on a promise (an async resolveType, a list of promises). */
  readonly pending: Promise<unknown>[];
}

export function createTracker(mutation: boolean, probePrefix?: string): Tracker {
  return { mutation, probePrefix, policy: { maxAge: undefined, scope: 'PUBLIC', swr: undefined }, tags: new Set(), seen: new WeakSet(), pending: [] };
}

/** Resolves once every tag of the execution is known. */
export async function trackerSettled(tracker: Tracker): Promise<void> {
  while (tracker.pending.length > 0) await Promise.allSettled(tracker.pending.splice(0));
}

/**
 * What resolvers see as `info.cacheControl`: Apollo Server's `ResolveInfoCacheControl`, so
 * resolvers written for Apollo (`cacheControlFromInfo(info).cacheHint.restrict(...)`) run as they are.
 */
export interface ResolverCacheControl {
  /** This field's policy so far: its return type's hint, then its own. Applied after the resolver returns. */
  readonly cacheHint: ResolverCachePolicy;
  /** Shorthand for `cacheHint.replace(hint)`. */
  setCacheHint(hint: CacheHint): void;
  /** The hint a type carries (SDL and config). */
  cacheHintFromType(type: GraphQLCompositeType): CacheHint;
}

/** One field's policy as resolvers see it (Apollo's `CachePolicy`); an undefined value is not set. */
export interface ResolverCachePolicy extends PolicyValues {
  /** Sets every value `hint` sets, stricter or not. */
  replace(hint: CacheHint): void;
  /** Narrows by `hint`: a lower maxAge or swr wins, and a PRIVATE field stays PRIVATE. */
  restrict(hint: CacheHint): void;
  /** `{ maxAge, scope }` when maxAge is above 0, otherwise null. */
  policyIfCacheable(): { maxAge: number; scope: CacheScope } | null;
}

declare module 'graphql' {
  interface GraphQLResolveInfo {
    cacheControl: ResolverCacheControl;
  }
}

/** The tracker of the request a resolver runs for, if the cache tracks it. */
export type TrackerOf = (context: unknown) => Tracker | undefined;

export interface Instrumentation {
  /** The tracker of the request a resolver runs for, if the cache tracks it. */
  trackerOf: TrackerOf;
  /** Whole seconds left of an object a cached function returned; undefined for any other object. */
  remainingSeconds(object: object): number | undefined;
  /** Where cached fields' values live. */
  values: ValueCache;
  /** Who a request is for: keys the values of PRIVATE cached fields. */
  session(request: RequestLike): string | null | undefined;
}

const instrumented = new WeakSet<GraphQLSchema>();

/** Wraps every field resolver of `schema` in place; a schema is instrumented once. */
export function instrumentSchema(index: SchemaIndex, instrumentation: Instrumentation): void {
  const { schema } = index;
  if (instrumented.has(schema)) throw new Error('this schema is already instrumented by another response cache');
  instrumented.add(schema);
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      field.resolve = wrapResolver(type, field, index.isRootType(type), type === schema.getMutationType(), index, instrumentation);
    }
  }
}

class FieldCacheControl implements ResolverCacheControl {
  /** Made on first use: most resolvers never touch their field's hint. */
  policy: FieldPolicy | undefined;
  constructor(
    private readonly hints: HintIndex,
    private readonly base: CacheHint,
    private readonly coordinate: string,
  ) {}
  get cacheHint(): FieldPolicy {
    return (this.policy ??= new FieldPolicy(this.base, this.coordinate));
  }
  setCacheHint(hint: CacheHint): void {
    this.cacheHint.replace(hint);
  }
  cacheHintFromType(type: GraphQLCompositeType): CacheHint {
    return this.hints.typeHint(type);
  }
}

class FieldPolicy implements ResolverCachePolicy {
  maxAge: number | undefined;
  scope: CacheScope | undefined;
  swr: number | undefined;
  // Private in the language, so a resolver inspecting its policy sees only the policy.
  readonly #coordinate: string;
  constructor(base: CacheHint, coordinate: string) {
    this.#coordinate = coordinate;
    this.maxAge = base.maxAge;
    this.scope = base.scope;
    this.swr = base.swr;
  }
  replace(hint: CacheHint): void {
    replacePolicy(this, this.checked(hint));
  }
  restrict(hint: CacheHint): void {
    restrictPolicy(this, this.checked(hint));
  }
  policyIfCacheable(): { maxAge: number; scope: CacheScope } | null {
    return this.maxAge ? { maxAge: this.maxAge, scope: this.scope ?? 'PUBLIC' } : null;
  }
  /** A resolver's hint that is not one (`maxAge: '1d'`, -1) throws rather than silently not caching. */
  private checked(hint: CacheHint): CacheHint {
    return checkHint(hint, `a cache hint set by the resolver of ${this.#coordinate}`);
  }
}

function wrapResolver(
  parent: GraphQLObjectType,
  field: GraphQLField<unknown, unknown>,
  isRoot: boolean,
  /** A mutation root field: the objects it returns are the ones the mutation wrote. */
  writes: boolean,
  { hints, tags: tagIndex, defaultMaxAge, cachedFields }: SchemaIndex,
  { trackerOf, remainingSeconds, values, session }: Instrumentation,
): GraphQLFieldResolver<unknown, unknown> {
  const original = field.resolve ?? defaultFieldResolver;
  const hintPlan = planFieldHint(hints, parent, field, isRoot);
  const coordinate = `${parent.name}.${field.name}`;
  const staticPolicy = policyOf(hintPlan.base, hintPlan.takesDefault, defaultMaxAge);
  const named = getNamedType(field.type);
  const composite = isCompositeType(named);
  const returnTypeTag = composite ? typeTag(named.name) : undefined;
  const perParentList = tagIndex.relations.perParentLists.has(coordinate);
  const listTag = composite && isListType(getNullableType(field.type)) && !perParentList ? fieldListTag(parent.name, field.name) : undefined;
  const nullableTag = composite && !isNonNullType(field.type) ? nullTag(named.name) : undefined;
  const probedLists = tagIndex.relations.viaFieldsByType.get(parent.name)?.get(field.name);
  const idField = tagIndex.idField(parent.name);
  const cached = cachedFields.get(coordinate);
  // Keyed per session when the field's own hint or its type's makes it PRIVATE.
  const privateField = hintPlan.base.scope === 'PRIVATE';
  const cachedPolicy: ValuePolicy | undefined = cached && {
    maxAgeMs: cached.maxAge * 1000,
    swrMs: cached.swr * 1000,
    scope: privateField ? 'PRIVATE' : 'PUBLIC',
  };

  /** Records one object of a known concrete type; each object once per request. */
  function addObject(tracker: Tracker, typeName: string, object: object, written: boolean) {
    if (tracker.seen.has(object)) return;
    tracker.seen.add(object);
    const objectIdField = typeName === parent.name ? idField : tagIndex.idField(typeName);
    const id = objectIdField === undefined ? undefined : (object as Record<string, unknown>)[objectIdField];
    if (id != null) tracker.tags.add(entityTag(typeName, id));
    if (!tracker.mutation) tracker.tags.add(typeTag(typeName));
    else if (written) for (const tag of tagIndex.writeTags(typeName)) tracker.tags.add(tag);
  }

  /**
   * Records the objects this field returned. Done here, not only when their own fields
   * resolve, because a selection of just `__typename` runs no resolver on them.
   */
  function addReturned(tracker: Tracker, value: unknown, context: unknown, info: GraphQLResolveInfo): void {
    if (value === null || typeof value !== 'object') return;
    if (isThenable(value)) {
      tracker.pending.push((value as Promise<unknown>).then((v) => addReturned(tracker, v, context, info)));
      return;
    }
    // A cached function's result: the answer lives no longer than what is left of it.
    const left = remainingSeconds(value);
    if (left !== undefined) restrictPolicy(tracker.policy, { maxAge: left });
    if (Array.isArray(value)) {
      for (const element of value) addReturned(tracker, element, context, info);
      return;
    }
    if (isObjectType(named)) return addObject(tracker, named.name, value, writes);
    const typeName = concreteTypeName(named as GraphQLAbstractType, value, context, info);
    if (typeof typeName === 'string') addObject(tracker, typeName, value, writes);
    else if (typeName) tracker.pending.push(typeName.then((name) => name && addObject(tracker, name, value, writes)));
  }

  /** Query answers: the field's policy, and the list and null tags its value earns. */
  function settleRead(tracker: Tracker, source: unknown, control: FieldCacheControl, value: unknown, context: unknown, info: GraphQLResolveInfo) {
    restrictPolicy(tracker.policy, control.policy ? policyOf(control.policy, hintPlan.takesDefault, defaultMaxAge) : staticPolicy);
    tagValue(tracker, source, value, context, info);
  }

  /** The tags a field's value earns: its type, list or null tag, and the objects it holds. */
  function tagValue(tracker: Tracker, source: unknown, value: unknown, context: unknown, info: GraphQLResolveInfo) {
    if (!composite) return;
    tracker.tags.add(returnTypeTag!);
    if (value == null) {
      if (nullableTag) tracker.tags.add(nullableTag);
      return;
    }
    if (listTag) tracker.tags.add(listTag);
    else if (perParentList && idField !== undefined) {
      tracker.tags.add(parentListTag(parent.name, (source as Record<string, unknown>)[idField], field.name));
    }
    addReturned(tracker, value, context, info);
  }

  /** Mutations: what the field returned was written (root) or is in the result (nested). */
  function settleWrite(tracker: Tracker, value: unknown, context: unknown, info: GraphQLResolveInfo) {
    if (composite) addReturned(tracker, value, context, info);
  }

  /**
   * Mutations: a relation probe on a written object names the parent whose list it joins.
   * The parent itself is not recorded: it was not written.
   */
  function settleProbe(tracker: Tracker, value: unknown) {
    if (value == null || typeof value !== 'object') return;
    for (const { parentType, listField } of probedLists as readonly ListRelation[]) {
      const parentId = (value as Record<string, unknown>)[tagIndex.idField(parentType)!];
      if (parentId != null) tracker.tags.add(parentListTag(parentType, parentId, listField));
    }
  }

  /**
   * What identifies a cached field's value besides its coordinate: the parent's id (none at the
   * root), the arguments and, for a PRIVATE field, the session. Undefined when the value cannot
   * be keyed: a parent without an id, or a PRIVATE field without a session.
   */
  function identityOf(source: unknown, args: unknown, context: unknown): string | undefined {
    let parentId: unknown = null;
    if (!isRoot) {
      parentId = idField === undefined || source === null || typeof source !== 'object' ? undefined : (source as Record<string, unknown>)[idField];
      if (parentId === undefined || parentId === null) return undefined;
    }
    let sessionId: string | null = null;
    if (privateField) {
      const request = (context as { request?: RequestLike } | null | undefined)?.request;
      sessionId = (request && session(request)) ?? null;
      if (sessionId === null) return undefined;
    }
    return stringify([parentId, args, sessionId]) ?? '';
  }

  /**
   * A computed value's policy: the field's, narrowed by a hint its resolver set and by what is
   * left of the cached function values it returned (a field value built from a row cached a
   * minute ago lives no longer than that row would). A value the resolver made PRIVATE is not
   * stored under a key without a session, nor one left with no life.
   */
  function cachedValuePolicy(control: FieldCacheControl, value: unknown): ValuePolicy | null {
    const dynamic = control.policy;
    if (dynamic !== undefined && dynamic.scope === 'PRIVATE' && !privateField) return null;
    let maxAgeMs = cachedPolicy!.maxAgeMs;
    let swrMs = cachedPolicy!.swrMs;
    if (dynamic?.maxAge !== undefined) maxAgeMs = Math.min(maxAgeMs, dynamic.maxAge * 1000);
    if (dynamic?.swr !== undefined) swrMs = Math.min(swrMs, dynamic.swr * 1000);
    const left = leastSecondsLeft(value);
    if (left !== undefined) maxAgeMs = Math.min(maxAgeMs, left * 1000);
    if (maxAgeMs <= 0) return null;
    return maxAgeMs === cachedPolicy!.maxAgeMs && swrMs === cachedPolicy!.swrMs ? cachedPolicy! : { ...cachedPolicy!, maxAgeMs, swrMs };
  }

  /** The least life left of the cached function values a field returned: itself, or a list's elements (as `addReturned` reads them). */
  function leastSecondsLeft(value: unknown): number | undefined {
    if (value === null || typeof value !== 'object') return undefined;
    let least = remainingSeconds(value);
    if (Array.isArray(value)) {
      for (const element of value) {
        const left = leastSecondsLeft(element);
        if (left !== undefined && (least === undefined || left < least)) least = left;
      }
    }
    return least;
  }

  /** The tags of a cached field's value, by the rules of answers, and its parent's entity and type. */
  function cachedValueTags(source: unknown, value: unknown, context: unknown, info: GraphQLResolveInfo): MaybePromise<Set<string>> {
    const own = createTracker(false);
    tagValue(own, source, value, context, info);
    // The value was derived from its parent: a write of the parent, or a purge of its type, evicts it.
    const parentId = isRoot || idField === undefined ? undefined : (source as Record<string, unknown>)[idField];
    if (parentId != null) {
      own.tags.add(entityTag(parent.name, parentId));
      own.tags.add(typeTag(parent.name));
    }
    // Most values are tagged at once; an async resolveType leaves some for later.
    return own.pending.length === 0 ? own.tags : trackerSettled(own).then(() => own.tags);
  }

  const cachedField: CachedFieldRules = { policy: cachedValuePolicy, tags: cachedValueTags };

  /** A cached field in a query: its value from the value cache or its resolver, then tracked as any field's. */
  function resolveCached(source: unknown, args: unknown, context: unknown, info: GraphQLResolveInfo, control: FieldCacheControl, tracker: Tracker | undefined): unknown {
    const identity = identityOf(source, args, context);
    if (identity === undefined) {
      values.notCached('field', coordinate);
      return tracker === undefined ? original(source, args, context, info) : resolveTracked(source, args, context, info, control, tracker);
    }
    if (tracker !== undefined && info.path.prev !== undefined && source !== null && typeof source === 'object') {
      addObject(tracker, parent.name, source, false);
    }
    const request = new FieldValue(coordinate, valueKey('field', coordinate, identity), cachedField, control, source, context, info);
    return values.get(request, () => original(source, args, context, info)).then(({ value, life }) => {
      if (tracker !== undefined) {
        if (life !== undefined) restrictPolicy(tracker.policy, { maxAge: values.remainingSeconds(life) });
        settleRead(tracker, source, control, value, context, info);
      }
      return value;
    });
  }

  function resolveTracked(source: unknown, args: unknown, context: unknown, info: GraphQLResolveInfo, control: FieldCacheControl, tracker: Tracker): unknown {
    if (info.path.prev !== undefined && source !== null && typeof source === 'object') {
      addObject(tracker, parent.name, source, tracker.mutation && isWrittenObject(info));
    }
    if (tracker.mutation) {
      if (probedLists && tracker.probePrefix !== undefined && typeof info.path.key === 'string' && info.path.key.startsWith(tracker.probePrefix)) {
        // The same relation on the object as it was: the lists it leaves.
        const previous = (source as Record<symbol, unknown> | null)?.[PREVIOUS_VERSION];
        if (previous) {
          const before = new Promise((resolve) => resolve(original(previous, args, context, info)));
          tracker.pending.push(before.then((value) => settleProbe(tracker, value)));
        }
        return settle(original(source, args, context, info), (value) => settleProbe(tracker, value));
      }
      return settle(original(source, args, context, info), (value) => settleWrite(tracker, value, context, info));
    }
    return settle(original(source, args, context, info), (value) => settleRead(tracker, source, control, value, context, info));
  }

  return function trackedResolver(source, args, context, info: GraphQLResolveInfo) {
    // Every resolver gets Apollo's API, whether or not its hint counts: one written for Apollo
    // must not fail on a request the cache does not track (a mutation, an anonymous PRIVATE read).
    const control = new FieldCacheControl(hints, hintPlan.base, coordinate);
    info.cacheControl = control;
    const tracker = trackerOf(context);
    // Only queries read cached fields: a mutation's fields must see what it wrote.
    if (cached !== undefined && info.operation.operation === 'query') return resolveCached(source, args, context, info, control, tracker);
    if (tracker === undefined) return original(source, args, context, info);
    return resolveTracked(source, args, context, info, control, tracker);
  };
}

/** How one cached field's values are kept and tagged. */
interface CachedFieldRules {
  policy(control: FieldCacheControl, value: unknown): ValuePolicy | null;
  tags(source: unknown, value: unknown, context: unknown, info: GraphQLResolveInfo): MaybePromise<Set<string>>;
}

/**
 * One resolution of a cached field, as the value cache asks about it. A class, so that no closure
 * is made per resolution (under tsx every named closure costs a `defineProperty`).
 */
class FieldValue implements ValueRequest<unknown> {
  readonly grain = 'field';
  constructor(
    readonly operation: string,
    readonly key: string,
    private readonly rules: CachedFieldRules,
    private readonly control: FieldCacheControl,
    private readonly source: unknown,
    private readonly context: unknown,
    private readonly info: GraphQLResolveInfo,
  ) {}
  policy(value: unknown): ValuePolicy | null {
    return this.rules.policy(this.control, value);
  }
  tagsOf(value: unknown): MaybePromise<Set<string>> {
    return this.rules.tags(this.source, value, this.context, this.info);
  }
}

/** The concrete type of an object returned as an interface or union (later, if resolveType is async). */
function concreteTypeName(
  type: GraphQLAbstractType,
  value: object,
  context: unknown,
  info: GraphQLResolveInfo,
): string | Promise<string | undefined> | undefined {
  const typename = (value as { __typename?: unknown }).__typename;
  if (typeof typename === 'string') return typename;
  const resolved = type.resolveType?.(value, context, info, type);
  if (typeof resolved === 'string') return resolved;
  if (resolved && isThenable(resolved)) return Promise.resolve(resolved).then((name) => (typeof name === 'string' ? name : undefined));
  return undefined;
}

function isThenable(value: object): boolean {
  return typeof (value as PromiseLike<unknown>).then === 'function';
}

function policyOf(hint: PolicyValues, takesDefault: boolean, defaultMaxAge: number): CachePolicy {
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
  if (result !== null && typeof result === 'object' && isThenable(result)) {
    return (result as Promise<unknown>).then((value) => {
      onValue(value);
      return value;
    });
  }
  onValue(result);
  return result;
}
