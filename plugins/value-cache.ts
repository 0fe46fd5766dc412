/**
 * The value cache: the core the resolver-level grains are built on (functions and DataLoader
 * batches in cached-functions.ts, GraphQL fields in execution-tracker.ts, and tRPC procedures).
 * One per `createResponseCache`, on the same store, eviction guard, counters and clock as the
 * answers: one eviction removes answers and values alike, and the store's tickets keep a value
 * from being written back stale exactly as they keep an answer.
 *
 * Getting one value by key:
 * - fresh entry: its value, parsed anew for every caller (callers may mutate what they get);
 * - stale entry inside its swr window: the stale value, and one refresh per key in the background;
 * - no entry: computed. Identical keys in flight in this process share one computation; the
 *   value is stored with the ticket of this very lookup, never one taken later, so a computation
 *   that straddles an eviction of any of its tags cannot store its older value;
 * - the cache degraded (an eviction is pending): computed, neither read nor written.
 * A thrown error or a rejected promise is never cached, nor an `Error` in a batch's results.
 * Values are stored as JSON in `CacheEntry.body`: a value that would not come back from JSON as
 * it was is served but not stored, and reported once per operation at `warn`.
 *
 * Keys are namespaced per grain (`valueKey`): `fn:<name>:<hash>`, `field:<Type.field>:<hash>`,
 * `trpc:<path>:<hash>`, while answers are stored under bare hashes.
 */
import { hashKey } from './cache-key.ts';
import { freshSeconds } from './cache-http.ts';
import type { CacheCounters, CacheEvent, CacheGrain, CacheOutcomeKind } from './cache-counters.ts';
import { createCoalescer, type Lead } from './coalescer.ts';
import type { EvictionGuard } from './eviction-guard.ts';
import { jsonProblem, PARTIAL_RESULT } from './json-value.ts';
import { GRAIN_KEY_PREFIXES, type CacheEntry, type CacheScope, type CacheStore, type Lookup, type ReadTicket } from './store.ts';

/** The grains whose values this cache keeps (answers are the response cache's). */
export type ValueGrain = Exclude<CacheGrain, 'response'>;

/** How long a value is kept and who may have it. */
export interface ValuePolicy {
  /** How long a stored value is fresh, in ms (> 0). */
  maxAgeMs: number;
  /** How long past that it may still be served stale while one refresh runs, in ms (>= 0). */
  swrMs: number;
  /** PRIVATE when the key carries a session: the value is that session's alone. */
  scope: CacheScope;
}

/** One value to get or compute. */
export interface ValueRequest<T> {
  grain: ValueGrain;
  /** What is asked for, in events and warnings: a function's name, a field's coordinate, a procedure's path. */
  operation: string;
  /** The store key, from `valueKey`. */
  key: string;
  /** The policy; a function is asked once the value is computed, and null keeps that value out of the store. */
  policy: ValuePolicy | ((value: T) => ValuePolicy | null);
  /** The tags a computed value is indexed under; asked only for a value about to be stored. */
  tagsOf(value: T): Iterable<string> | PromiseLike<Iterable<string>>;
}

/** When a value was produced and how long it is fresh: what an answer built from it may not outlive. */
export interface ValueLife {
  createdAt: number;
  maxAgeMs: number;
}

/** A value, and how it was had. */
export interface ServedValue<T> {
  value: T;
  /** `hit` and `stale` came from the store, `coalesced` from another caller's computation, `miss` and `bypass` from `compute`. */
  kind: CacheOutcomeKind;
  /** Undefined when the value had no policy (its policy function answered null). */
  life: ValueLife | undefined;
}

/** What a batch computation is given: the positions, in the requests, of the values to compute. */
export type ComputeMany<T> = (positions: readonly number[]) => ArrayLike<T | Error> | PromiseLike<ArrayLike<T | Error>>;

export interface ValueCache {
  /** Gets one value: from the store, from a computation in flight for the same key, or from `compute`. */
  get<T>(request: ValueRequest<T>, compute: () => T | PromiseLike<T>): Promise<ServedValue<T>>;
  /**
   * Gets many values with one store round trip (`getMany`): `compute` is called once for every
   * value that missed, with their positions in order, and answers a value or an `Error` for each.
   * Results come back in request order; an `Error` (thrown by `compute` or answered for a
   * position) takes the place of a value and is never cached.
   */
  getMany<T>(requests: readonly ValueRequest<T>[], compute: ComputeMany<T>): Promise<(ServedValue<T> | Error)[]>;
  /** Whole seconds a value with `life` stays fresh from now, counted as an answer's `max-age` is (0 once stale). */
  remainingSeconds(life: ValueLife): number;
  /** Counts (and tells `onBypass` of) a value computed without the cache because it could not be keyed. */
  notCached(grain: ValueGrain, operation: string): void;
}

/** The key of a value: its grain's namespace, the operation, and a hash of what identifies the value. */
export function valueKey(grain: ValueGrain, operation: string, identity: string): string {
  return `${GRAIN_KEY_PREFIXES[grain]}${operation}:${hashKey(identity)}`;
}

export interface ValueCacheOptions {
  store: CacheStore;
  guard: Pick<EvictionGuard, 'degraded'>;
  counters: CacheCounters;
  now: () => number;
  logger: { warn(message: string, ...args: unknown[]): void };
  onHit(event: CacheEvent): void;
  onMiss(event: CacheEvent): void;
  onBypass(event: CacheEvent): void;
}

/** A position of a batch that missed, with what it leads (undefined: it computes alone, for itself). */
interface Missed {
  position: number;
  lead: Lead<CacheEntry> | undefined;
  ticket: ReadTicket | undefined;
}

export function createValueCache({ store, guard, counters, now, logger, onHit, onMiss, onBypass }: ValueCacheOptions): ValueCache {
  const coalescer = createCoalescer<CacheEntry>();
  const refreshing = new Set<string>();
  /** Operations already reported for a value that cannot be stored: once each. */
  const reported = new Set<string>();

  function notify<T>(request: ValueRequest<T>, kind: CacheOutcomeKind, entry?: CacheEntry): void {
    counters.record(request.grain, kind);
    const { grain, operation, key } = request;
    if (kind === 'bypass') return onBypass({ grain, kind, operation, key });
    const ttl = entry ? freshSeconds(entry, now(), kind !== 'coalesced') : undefined;
    const event: CacheEvent = { grain, kind, operation, key, ...(entry && { ttl, scope: entry.scope }) };
    if (kind === 'hit' || kind === 'stale') onHit(event);
    else onMiss(event);
  }

  /** A stored entry's value, parsed for this caller alone. */
  function served<T>(request: ValueRequest<T>, entry: CacheEntry, kind: 'hit' | 'stale' | 'coalesced'): ServedValue<T> {
    notify(request, kind, entry);
    return { value: JSON.parse(entry.body) as T, kind, life: { createdAt: entry.createdAt, maxAgeMs: entry.maxAgeMs } };
  }

  const policyOf = <T>(request: ValueRequest<T>, value: T): ValuePolicy | null =>
    typeof request.policy === 'function' ? request.policy(value) : request.policy;

  const lifeOf = (policy: ValuePolicy | null, createdAt: number): ValueLife | undefined =>
    policy === null ? undefined : { createdAt, maxAgeMs: policy.maxAgeMs };

  /**
   * Stores a computed value under the ticket of the lookup that missed; resolves to the entry
   * when the store took it. Never rejects: a value that cannot be stored is served all the same.
   */
  async function storeValue<T>(request: ValueRequest<T>, value: T, policy: ValuePolicy | null, createdAt: number, ticket: ReadTicket | undefined): Promise<CacheEntry | undefined> {
    if (policy === null || ticket === undefined) return undefined;
    const problem = jsonProblem(value);
    if (problem !== undefined) {
      if (problem !== PARTIAL_RESULT && !reported.has(request.operation)) {
        reported.add(request.operation);
        logger.warn(`${request.grain} cache: ${request.operation} returned ${problem}, which JSON would not give back as it was; such values are served but not cached`);
      }
      return undefined;
    }
    try {
      const entry: CacheEntry = {
        body: JSON.stringify(value),
        createdAt,
        maxAgeMs: policy.maxAgeMs,
        swrMs: policy.swrMs,
        scope: policy.scope,
        etag: '',
        tags: [...(await request.tagsOf(value))],
      };
      // An eviction that failed since the lookup may have left this key's older value behind.
      if (guard.degraded) return undefined;
      return (await store.set(request.key, entry, ticket)) ? entry : undefined;
    } catch (error) {
      logger.warn(`${request.grain} cache: storing a value of ${request.operation} failed; it was served uncached`, error);
      return undefined;
    }
  }

  /** Computes one value as the leader of its key (or alone), stores it, and lets its followers have it. */
  async function execute<T>(request: ValueRequest<T>, compute: () => T | PromiseLike<T>, missed: Missed): Promise<ServedValue<T>> {
    const createdAt = now();
    let value: T;
    try {
      value = await compute();
    } catch (error) {
      if (missed.lead) coalescer.settle(missed.lead, null);
      notify(request, 'miss');
      throw error;
    }
    return finish(request, value, createdAt, missed);
  }

  async function finish<T>(request: ValueRequest<T>, value: T, createdAt: number, { lead, ticket }: Missed): Promise<ServedValue<T>> {
    const policy = policyOf(request, value);
    const entry = await storeValue(request, value, policy, createdAt, ticket);
    // Followers share only what the store accepted: a refusal means an eviction came after this
    // lookup, and a follower may have arrived after it.
    if (lead) coalescer.settle(lead, entry ?? null);
    notify(request, 'miss', entry);
    return { value, kind: 'miss', life: lifeOf(policy, createdAt) };
  }

  async function bypass<T>(request: ValueRequest<T>, compute: () => T | PromiseLike<T>): Promise<ServedValue<T>> {
    notify(request, 'bypass');
    const createdAt = now();
    const value = await compute();
    return { value, kind: 'bypass', life: lifeOf(policyOf(request, value), createdAt) };
  }

  /** One refresh per key at a time; meanwhile everyone is served the stale value. */
  function refresh<T>(requests: readonly ValueRequest<T>[], positions: readonly number[], ticket: ReadTicket, compute: ComputeMany<T>): void {
    const due = positions.filter((position) => !refreshing.has(requests[position].key));
    if (due.length === 0) return;
    for (const position of due) refreshing.add(requests[position].key);
    const createdAt = now();
    void (async () => {
      try {
        const values = await compute(due);
        await Promise.all(
          due.map((position, i) => {
            const value = values[i];
            if (value instanceof Error) return undefined;
            return storeValue(requests[position], value, policyOf(requests[position], value), createdAt, ticket);
          }),
        );
      } catch (error) {
        logger.warn(`${requests[due[0]].grain} cache: refreshing a stale value of ${requests[due[0]].operation} failed`, error);
      } finally {
        for (const position of due) refreshing.delete(requests[position].key);
      }
    })();
  }

  /**
   * The leader in flight for this key settled: its value, or nothing to share, in which case
   * this caller computes for itself, with the ticket of its own lookup (older than anything the
   * leader saw) or, when it followed before looking up, with one from a lookup made now.
   */
  async function follow<T>(request: ValueRequest<T>, leader: Promise<CacheEntry | null>, ticket: ReadTicket | undefined, compute: () => T | PromiseLike<T>): Promise<ServedValue<T>> {
    const entry = await leader;
    if (entry !== null) return served(request, entry, 'coalesced');
    if (ticket === undefined) {
      const found = await lookupOne(request.key);
      if (found === undefined) return bypass(request, compute);
      if (found.entry && now() - found.entry.createdAt < found.entry.maxAgeMs) return served(request, found.entry, 'hit');
      ticket = found.ticket;
    }
    return execute(request, compute, { position: 0, lead: undefined, ticket });
  }

  /** A store lookup; undefined when the store failed (then nothing is read or written). */
  async function lookupOne(key: string): Promise<Lookup | undefined> {
    try {
      return await store.get(key);
    } catch (error) {
      logger.warn('value cache: a store lookup failed; computing without the cache', error);
      return undefined;
    }
  }

  async function lookupMany(keys: readonly string[]): Promise<{ entries: (CacheEntry | undefined)[]; tickets: (ReadTicket | undefined)[] } | undefined> {
    try {
      if (store.getMany) {
        const { entries, ticket } = await store.getMany(keys);
        return { entries, tickets: keys.map(() => ticket) };
      }
      const lookups = await Promise.all(keys.map((key) => store.get(key)));
      return { entries: lookups.map((lookup) => lookup.entry), tickets: lookups.map((lookup) => lookup.ticket) };
    } catch (error) {
      logger.warn('value cache: a store lookup failed; computing without the cache', error);
      return undefined;
    }
  }

  function isFresh(entry: CacheEntry, at: number): boolean {
    return at - entry.createdAt < entry.maxAgeMs;
  }
  function isServableStale(entry: CacheEntry, at: number): boolean {
    return entry.swrMs > 0 && at - entry.createdAt < entry.maxAgeMs + entry.swrMs;
  }

  async function get<T>(request: ValueRequest<T>, compute: () => T | PromiseLike<T>): Promise<ServedValue<T>> {
    if (guard.degraded) return bypass(request, compute);
    const { key } = request;
    const following = coalescer.follow(key);
    if (following) return follow(request, following, undefined, compute);
    const found = await lookupOne(key);
    if (found === undefined) return bypass(request, compute);
    const { entry, ticket } = found;
    if (entry) {
      const at = now();
      if (isFresh(entry, at)) return served(request, entry, 'hit');
      if (isServableStale(entry, at)) {
        refresh([request], [0], ticket, async () => [await compute()]);
        return served(request, entry, 'stale');
      }
    }
    const lead = coalescer.lead(key);
    // An identical miss became the leader while this lookup was in flight: join it.
    if (lead === undefined) return follow(request, coalescer.follow(key)!, ticket, compute);
    return execute(request, compute, { position: 0, lead, ticket });
  }

  async function getMany<T>(requests: readonly ValueRequest<T>[], compute: ComputeMany<T>): Promise<(ServedValue<T> | Error)[]> {
    const results: (ServedValue<T> | Error)[] = new Array(requests.length);
    // The same key twice in one batch is looked up and computed once.
    const firstOf = new Map<string, number>();
    const unique: number[] = [];
    requests.forEach((request, position) => {
      if (!firstOf.has(request.key)) {
        firstOf.set(request.key, position);
        unique.push(position);
      }
    });

    const followers: { position: number; leader: Promise<CacheEntry | null>; ticket: ReadTicket | undefined }[] = [];
    const missed: Missed[] = [];
    const bypassed: number[] = [];
    if (guard.degraded) bypassed.push(...unique);
    else {
      const toLookUp: number[] = [];
      for (const position of unique) {
        const leader = coalescer.follow(requests[position].key);
        if (leader) followers.push({ position, leader, ticket: undefined });
        else toLookUp.push(position);
      }
      const found = toLookUp.length > 0 ? await lookupMany(toLookUp.map((position) => requests[position].key)) : { entries: [], tickets: [] };
      if (found === undefined) bypassed.push(...toLookUp);
      else {
        const at = now();
        const stale = new Map<ReadTicket, number[]>();
        toLookUp.forEach((position, i) => {
          const entry = found.entries[i];
          const ticket = found.tickets[i]!;
          if (entry && isFresh(entry, at)) results[position] = served(requests[position], entry, 'hit');
          else if (entry && isServableStale(entry, at)) {
            results[position] = served(requests[position], entry, 'stale');
            stale.set(ticket, [...(stale.get(ticket) ?? []), position]);
          } else {
            const lead = coalescer.lead(requests[position].key);
            if (lead) missed.push({ position, lead, ticket });
            else followers.push({ position, leader: coalescer.follow(requests[position].key)!, ticket });
          }
        });
        for (const [ticket, positions] of stale) refresh(requests, positions, ticket, compute);
      }
    }

    if (bypassed.length > 0) await computeMany(requests, bypassed.map((position) => ({ position, lead: undefined, ticket: undefined })), compute, results, 'bypass');
    if (missed.length > 0) await computeMany(requests, missed, compute, results, 'miss');
    // Followers whose leader had nothing to share compute for themselves, together.
    const alone: Missed[] = [];
    await Promise.all(
      followers.map(async ({ position, leader, ticket }) => {
        const entry = await leader;
        if (entry !== null) results[position] = served(requests[position], entry, 'coalesced');
        else alone.push({ position, lead: undefined, ticket });
      }),
    );
    if (alone.length > 0) {
      const withoutTicket = alone.filter((missed) => missed.ticket === undefined);
      const found = withoutTicket.length > 0 ? await lookupMany(withoutTicket.map(({ position }) => requests[position].key)) : undefined;
      withoutTicket.forEach((missed, i) => (missed.ticket = found?.tickets[i]));
      await computeMany(requests, alone, compute, results, 'miss');
    }

    for (let position = 0; position < requests.length; position++) {
      if (results[position] === undefined) results[position] = results[firstOf.get(requests[position].key)!];
    }
    return results;
  }

  /** One call of `compute` for `missed`, in their order; each value stored under its own key and tags. */
  async function computeMany<T>(
    requests: readonly ValueRequest<T>[],
    missed: Missed[],
    compute: ComputeMany<T>,
    results: (ServedValue<T> | Error)[],
    kind: 'miss' | 'bypass',
  ): Promise<void> {
    const createdAt = now();
    let values: ArrayLike<T | Error>;
    try {
      values = await compute(missed.map(({ position }) => position));
      if (values?.length !== missed.length) {
        throw new TypeError(`a batch function must answer one value per key: it was given ${missed.length} keys and answered ${String(values?.length)} values`);
      }
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      for (const { position, lead } of missed) {
        if (lead) coalescer.settle(lead, null);
        notify(requests[position], kind);
        results[position] = failure;
      }
      return;
    }
    await Promise.all(
      missed.map(async (one, i) => {
        const request = requests[one.position];
        const value = values[i];
        if (value instanceof Error) {
          if (one.lead) coalescer.settle(one.lead, null);
          notify(request, kind);
          results[one.position] = value;
        } else if (kind === 'bypass') {
          notify(request, kind);
          results[one.position] = { value, kind, life: lifeOf(policyOf(request, value), createdAt) };
        } else {
          results[one.position] = await finish(request, value, createdAt, one);
        }
      }),
    );
  }

  return {
    get,
    getMany,
    remainingSeconds: (life) => freshSeconds(life, now(), true),
    notCached(grain, operation) {
      counters.record(grain, 'bypass');
      onBypass({ grain, kind: 'bypass', operation });
    },
  };
}
