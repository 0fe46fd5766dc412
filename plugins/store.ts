/**
 * The storage contract every cache store meets (memory, Redis, the tiered pair).
 *
 * Eviction is by tag. A tag is an opaque string such as `Product:7`, `Category:3.products`
 * or `Query.products`; the response-cache plugin decides which tags an answer carries.
 *
 * The write-back guarantee lives here, not in the plugin: a read that started before an
 * eviction must not store its older answer after it. `get` hands out a ticket (the store's
 * eviction epoch when the read began) and `set` refuses to store when any of the entry's
 * tags, or the whole store, was evicted after that ticket. Tombstones that record those
 * evictions are kept for `tombstoneMs`; a ticket older than that is refused outright, so
 * forgetting a tombstone can never let a slow read write back.
 *
 * Keys: answers are stored under bare hashes (`defaultBuildCacheKey`); the resolver-level grains
 * under `fn:`, `field:` and `trpc:` keys (value-cache.ts), so the grains never collide and an
 * in-process store can count its entries per grain.
 */
import type { CacheGrain } from './cache-counters.ts';

export type MaybePromise<T> = T | Promise<T>;

/** Whether a store's (or any) answer came as a promise. */
export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as Promise<T>)?.then === 'function';
}

/** Who may be served an answer: everyone (PUBLIC), or only the session that produced it (PRIVATE). */
export type CacheScope = 'PUBLIC' | 'PRIVATE';

/** One stored answer, as every store keeps it. */
export interface CacheEntry {
  /** The serialised GraphQL result (`{"data":…}`), exactly the bytes a hit sends. */
  body: string;
  /** When the answer was produced, ms since the Unix epoch. */
  createdAt: number;
  /** How long it is fresh, in ms (> 0). */
  maxAgeMs: number;
  /** How long past freshness it may still be served stale while one refresh runs, in ms (>= 0). */
  swrMs: number;
  scope: CacheScope;
  /** Strong validator, quoted as sent in the `ETag` header. Bound to the key and this entry. */
  etag: string;
  /** The tags this answer is indexed under; kept with the entry so a tier above can index it too. */
  tags: readonly string[];
}

/** Proof of when a read began: present it to `set`. Opaque outside the store that issued it. */
export interface ReadTicket {
  /** The store's eviction epoch when the read began. */
  readonly epoch: number;
  /** `Date.now()` on this instance when the ticket was issued. */
  readonly issuedAt: number;
}

/** What `get` found: the entry, if any, and the ticket a later `set` must present. */
export interface Lookup {
  /** The entry when present and not past `maxAgeMs + swrMs`; absent on a miss. */
  entry?: CacheEntry;
  ticket: ReadTicket;
}

/** What `getMany` found: an entry (or undefined) per key, in key order, and one ticket for them all. */
export interface ManyLookup {
  entries: (CacheEntry | undefined)[];
  ticket: ReadTicket;
}

/**
 * The contract every store meets: implement it to keep answers somewhere else. Each operation
 * may answer synchronously or with a promise.
 */
export interface CacheStore {
  /** One lookup, one round trip: the entry (if any) and the ticket a later `set` must present. */
  get(key: string): MaybePromise<Lookup>;
  /**
   * Many lookups in one round trip (one Lua script on Redis): the entries in key order and one
   * ticket, issued before any of them was read, that a later `set` of any of these keys presents.
   * @default one `get` per key
   */
  getMany?(keys: readonly string[]): MaybePromise<ManyLookup>;
  /**
   * A ticket for a read that will not use a cached entry (a `no-cache` refresh), when `get`'s
   * ticket could not be stored against (a tier above answered without asking the shared store).
   * @default the ticket of `get(key)`
   */
  ticket?(key: string): MaybePromise<ReadTicket>;
  /**
   * Stores `entry` under `key` for `entry.maxAgeMs + entry.swrMs`, indexed under `entry.tags`,
   * unless a tag of the entry (or the whole store) was evicted after `ticket`, or the ticket
   * is older than the tombstone window. Atomic with respect to `evict`. Resolves to whether
   * the entry was stored.
   */
  set(key: string, entry: CacheEntry, ticket: ReadTicket): MaybePromise<boolean>;
  /**
   * Removes every entry indexed under any of `tags` and records a tombstone for each tag so
   * that reads begun before this call cannot write back. Resolves once no later `get` on any
   * instance sharing the store can return a removed entry. Resolves to how many entries went.
   */
  evict(tags: readonly string[]): MaybePromise<number>;
  /** Removes every entry of this store (its prefix only) and refuses sets from older tickets. */
  clear(): MaybePromise<void>;
  /** Releases connections and timers. */
  close(): MaybePromise<void>;
  /** What an in-process store (or tier) holds now; absent for stores that hold nothing in process. */
  stats?(): StoreStats;
}

/** The size of an in-process store. */
export interface StoreStats {
  /** Entries held, including expired ones not yet dropped. */
  entries: number;
  /** Estimated bytes held: two per character of key, body, ETag and tags, plus overheads. */
  bytes: number;
  /** The byte bound `bytes` never exceeds. */
  maxBytes: number;
  /** Tags indexed, each with at least one entry. */
  tags: number;
  /** Tag tombstones held. */
  tombstones: number;
  /** Of `entries`, how many each grain holds (by key namespace, see `grainOfKey`); the package's stores always say. */
  entriesByGrain?: Record<CacheGrain, number>;
}

/** The key namespace of each resolver-level grain; answers' keys have none. */
export const GRAIN_KEY_PREFIXES = { function: 'fn:', field: 'field:', trpc: 'trpc:' } as const satisfies Record<Exclude<CacheGrain, 'response'>, string>;

/** Which grain a key belongs to, from its namespace. */
export function grainOfKey(key: string): CacheGrain {
  // One character tells the namespaces apart before a prefix is compared: answers' keys are hashes.
  switch (key.charCodeAt(0)) {
    case 102: // f
      if (key.startsWith(GRAIN_KEY_PREFIXES.function)) return 'function';
      if (key.startsWith(GRAIN_KEY_PREFIXES.field)) return 'field';
      return 'response';
    case 116: // t
      return key.startsWith(GRAIN_KEY_PREFIXES.trpc) ? 'trpc' : 'response';
    default:
      return 'response';
  }
}

/** How long tombstones are kept by default (60 s): reads slower than this are never stored. */
export const DEFAULT_TOMBSTONE_MS = 60_000;
