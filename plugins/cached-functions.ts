/**
 * The function grain: `cache.cached(fn, options)` caches any function's results, and
 * `cache.cachedBatch(batchFn, options)` a DataLoader batch function's, one key at a time, on the
 * value cache (value-cache.ts): the same store and eviction as answers.
 *
 * Results are tagged by the rules answers follow (output-tags.ts): with `type`, each object of the result (or of
 * each element of a list result) is tagged with its entity (`Product:7`, through the schema's id
 * fields) and its type (`type:Product`), and a null result with `null:Product`; an object
 * carrying `__typename` is tagged by that type wherever it sits in the result. `tags` adds
 * (or, with `replaceTags`, replaces) tags built with `cacheTags`. So a mutation that writes
 * Product 7 evicts every result that holds it, exactly as it evicts the answers that do.
 *
 * Policies stay honest without AsyncLocalStorage: each object a cached function returns (the
 * result, and each element of a list) is remembered in a WeakMap with its life, and the execution
 * tracker, which already visits every object a resolver returns, restricts the answer's maxAge to
 * what is left of it.
 */
import { isCompositeType, type GraphQLCompositeType } from 'graphql';
import { stringify } from 'safe-stable-stringify';
import { valueTags } from './output-tags.ts';
import type { SchemaIndex } from './schema-index.ts';
import { valueKey, type ValueCache, type ValueLife, type ValuePolicy, type ValueRequest } from './value-cache.ts';

/** Options of `cache.cached`. `name` and `maxAge` are required. */
export interface CachedFunctionOptions<Args extends unknown[], Result> {
  /** Names the function in keys, stats and events (`operation`); unique per cache: a second function of the same name throws. */
  name: string;
  /** Seconds a result stays fresh: a whole number above 0. */
  maxAge: number;
  /** Seconds past `maxAge` a stale result may still be served while one call refreshes it. @default 0 */
  swr?: number;
  /** The key of a call (hashed, under the function's name). @default stable JSON of the arguments (safe-stable-stringify) */
  key?: (...args: Args) => string;
  /**
   * The GraphQL type of the result, or of each element of a list result: its objects are tagged
   * `Type:id` through the schema's id fields and `type:Type`, a null result `null:Type`.
   * @default none: only objects carrying `__typename` are tagged by type
   */
  type?: string;
  /** More tags for a result, built with `cacheTags` (e.g. `cacheTags.list('Product', id, 'reviews')`). @default none */
  tags?: (result: Result, args: Args) => Iterable<string>;
  /** Whether `tags` replaces the tags `type` and `__typename` give, instead of adding to them. @default false */
  replaceTags?: boolean;
}

/** Options of `cache.cachedBatch`. `name` and `maxAge` are required. */
export interface CachedBatchOptions<Key, Value> {
  /** Names the batch function in keys, stats and events (`operation`); unique per cache: a second one of the same name throws. */
  name: string;
  /** Seconds each key's value stays fresh: a whole number above 0. */
  maxAge: number;
  /** Seconds past `maxAge` a stale value may still be served while one batch call refreshes it. @default 0 */
  swr?: number;
  /** The cache key of one DataLoader key (hashed, under the batch function's name). @default stable JSON of the key (safe-stable-stringify) */
  key?: (key: Key) => string;
  /**
   * The GraphQL type of each value, or of each element of a list value (`reviewsByProductId`): its
   * objects are tagged `Type:id` and `type:Type`, a null value `null:Type`.
   * @default none: only objects carrying `__typename` are tagged by type
   */
  type?: string;
  /** More tags for one key's value, built with `cacheTags`. @default none */
  tags?: (value: Value, key: Key) => Iterable<string>;
  /** Whether `tags` replaces the tags `type` and `__typename` give, instead of adding to them. @default false */
  replaceTags?: boolean;
}

/** A DataLoader batch function: one value (or `Error`) per key, in key order. */
export type BatchFunction<Key, Value> = (keys: readonly Key[]) => ArrayLike<Value | Error> | PromiseLike<ArrayLike<Value | Error>>;

/** What a response cache offers for functions (`ResponseCache` extends it). */
export interface CachedFunctions {
  /**
   * Caches `fn`'s results in the same store as answers, evicted by the same mutations: returns
   * an async function with the same parameters. Throws at once, naming the bad value, when an
   * option is not usable (a duplicate name, a type the schema lacks).
   * @example const productById = cache.cached((id: number) => db.product(id), { name: 'productById', maxAge: 60, type: 'Product' });
   */
  cached<Args extends unknown[], Result>(
    fn: (...args: Args) => Result | PromiseLike<Result>,
    options: CachedFunctionOptions<Args, Result>,
  ): (...args: Args) => Promise<Result>;
  /**
   * Caches a DataLoader batch function key by key: one store round trip for all keys, `batchFn`
   * called only for the keys that missed (in their order), each value stored under its own key
   * and tags; `Error` values are never cached. Give the result to `new DataLoader(...)`.
   * @example new DataLoader(cache.cachedBatch((ids) => db.productsByIds(ids), { name: 'productById', maxAge: 60, type: 'Product' }))
   */
  cachedBatch<Key, Value>(batchFn: BatchFunction<Key, Value>, options: CachedBatchOptions<Key, Value>): (keys: readonly Key[]) => Promise<(Value | Error)[]>;
}

export interface FunctionCache extends CachedFunctions {
  /** Whole seconds left of an object a cached function returned (undefined for any other object). */
  remainingSeconds(value: object): number | undefined;
}

/**
 * One call's value request. A class, so that no closure is made per call: under tsx every named
 * closure costs a `defineProperty`, and a batch makes one request per key.
 */
class FunctionValue<Input, Value> implements ValueRequest<Value> {
  readonly grain = 'function';
  constructor(
    readonly operation: string,
    readonly key: string,
    readonly policy: ValuePolicy,
    private readonly tagsFor: (value: Value, input: Input) => Set<string>,
    private readonly input: Input,
  ) {}
  tagsOf(value: Value): Set<string> {
    return this.tagsFor(value, this.input);
  }
}

interface CommonOptions {
  name: string;
  maxAge: number;
  swr?: number;
  type?: string;
  replaceTags?: boolean;
}

export function createFunctionCache(values: ValueCache, index: SchemaIndex): FunctionCache {
  const names = new Set<string>();
  /** Objects cached functions returned, with their life: the tracker bounds answers by it. */
  const lives = new WeakMap<object, ValueLife>();

  function remember(value: unknown, life: ValueLife | undefined): void {
    if (life === undefined || value === null || typeof value !== 'object') return;
    lives.set(value, life);
    if (Array.isArray(value)) for (const element of value) if (element !== null && typeof element === 'object') lives.set(element, life);
  }

  /** Checks what both forms share; throws at definition, naming the bad value. */
  function define(kind: 'cached' | 'cachedBatch', fn: unknown, options: CommonOptions | undefined) {
    if (typeof fn !== 'function') throw new TypeError(`${kind}: expected a function, got ${typeof fn}`);
    if (options === null || typeof options !== 'object') throw new TypeError(`${kind}: expected options with a name and a maxAge, got ${String(options)}`);
    const { name, maxAge, swr = 0, type, replaceTags = false } = options;
    if (typeof name !== 'string' || name === '') throw new TypeError(`${kind}: expected name to be a non-empty string, got ${JSON.stringify(name)}`);
    if (names.has(name)) throw new TypeError(`${kind}: a function named "${name}" is already cached by this cache; names key its values, so each must be unique`);
    if (!(Number.isInteger(maxAge) && maxAge > 0)) throw new TypeError(`${kind} "${name}": expected maxAge to be a whole number of seconds above 0, got ${JSON.stringify(maxAge)}`);
    if (!(Number.isInteger(swr) && swr >= 0)) throw new TypeError(`${kind} "${name}": expected swr to be a whole number of seconds >= 0, got ${JSON.stringify(swr)}`);
    let resultType: GraphQLCompositeType | undefined;
    if (type !== undefined) {
      const found = index.schema.getType(type);
      if (!found || !isCompositeType(found)) throw new TypeError(`${kind} "${name}": type "${type}" is not an object, interface or union type of the schema`);
      if (index.isRootType(found)) throw new TypeError(`${kind} "${name}": type "${type}" is a root operation type, whose objects no answer is tagged by`);
      resultType = found;
    }
    names.add(name);
    const policy: ValuePolicy = { maxAgeMs: maxAge * 1000, swrMs: swr * 1000, scope: 'PUBLIC' };
    return { name, policy, resultType, replaceTags };
  }

  /** The tags of one result: by its type and `__typename`s, then the caller's. */
  function tagsOf(resultType: GraphQLCompositeType | undefined, value: unknown, extra: Iterable<string> | undefined, replace: boolean): Set<string> {
    const tags = replace && extra !== undefined ? new Set<string>() : valueTags(index, resultType, value);
    if (extra !== undefined) for (const tag of extra) tags.add(String(tag));
    return tags;
  }

  return {
    cached<Args extends unknown[], Result>(fn: (...args: Args) => Result | PromiseLike<Result>, options: CachedFunctionOptions<Args, Result>) {
      const { name, policy, resultType, replaceTags } = define('cached', fn, options);
      const keyOf = options.key ?? ((...args: Args) => stringify(args) ?? '');
      const { tags } = options;
      const tagsFor = (result: Result, args: Args) => tagsOf(resultType, result, tags?.(result, args), replaceTags);
      return async function cachedFunction(this: unknown, ...args: Args): Promise<Result> {
        const identity = keyOf(...args);
        if (typeof identity !== 'string') throw new TypeError(`cached "${name}": expected key(...) to return a string, got ${typeof identity}`);
        const request = new FunctionValue(name, valueKey('function', name, identity), policy, tagsFor, args);
        const { value, life } = await values.get(request, () => fn.apply(this, args));
        remember(value, life);
        return value;
      };
    },

    cachedBatch<Key, Value>(batchFn: BatchFunction<Key, Value>, options: CachedBatchOptions<Key, Value>) {
      const { name, policy, resultType, replaceTags } = define('cachedBatch', batchFn, options);
      const keyOf = options.key ?? ((key: Key) => stringify(key) ?? '');
      const { tags } = options;
      const tagsFor = (value: Value, key: Key) => tagsOf(resultType, value, tags?.(value, key), replaceTags);
      return async function cachedBatchFunction(keys: readonly Key[]): Promise<(Value | Error)[]> {
        const requests = keys.map((key) => {
          const identity = keyOf(key);
          if (typeof identity !== 'string') throw new TypeError(`cachedBatch "${name}": expected key(...) to return a string, got ${typeof identity}`);
          return new FunctionValue(name, valueKey('function', name, identity), policy, tagsFor, key);
        });
        const results = await values.getMany(requests, (positions) => batchFn(positions.map((position) => keys[position])));
        return results.map((result) => {
          if (result instanceof Error) return result;
          remember(result.value, result.life);
          return result.value;
        });
      };
    },

    remainingSeconds(value) {
      const life = lives.get(value);
      return life === undefined ? undefined : values.remainingSeconds(life);
    },
  };
}
