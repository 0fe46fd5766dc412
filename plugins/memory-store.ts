/**
 * The in-process store: an LRU bounded by bytes, a tag index, and per-tag tombstones.
 *
 * Everything is synchronous so that a hit costs a map lookup and no promise. Eviction by tag
 * walks only the keys indexed under that tag, never the whole cache.
 */
import { LRUCache } from 'lru-cache';
import type { CacheGrain } from './cache-counters.ts';
import {
  DEFAULT_TOMBSTONE_MS,
  grainOfKey,
  type CacheEntry,
  type CacheStore,
  type Lookup,
  type ManyLookup,
  type ReadTicket,
  type StoreStats,
} from './store.ts';

/** 64 MiB: the default byte budget of one memory store. */
export const DEFAULT_MEMORY_MAX_BYTES = 64 * 1024 * 1024;

/** Options of `createMemoryStore`. */
export interface MemoryStoreOptions {
  /**
   * Byte budget of the cache. The size of an entry is estimated as two bytes per character of its
   * key, body, ETag and tags, plus a fixed overhead per entry and per tag. The least recently
   * used entries go first; an entry larger than the whole budget is not stored.
   * @default DEFAULT_MEMORY_MAX_BYTES (64 MiB)
   */
  maxBytes?: number;
  /**
   * How long an eviction's tombstone is kept, in ms. A ticket older than this is refused by `set`.
   * @default 60000 (60 s)
   */
  tombstoneMs?: number;
  /**
   * The clock, in ms since the Unix epoch: entry expiry, ticket age and tombstone age all use it,
   * so tests can drive time.
   * @default Date.now
   */
  now?: () => number;
}

/** A store whose every operation is synchronous; `get` never returns a promise. */
export interface MemoryStore extends CacheStore {
  get(key: string): Lookup;
  getMany(keys: readonly string[]): ManyLookup;
  set(key: string, entry: CacheEntry, ticket: ReadTicket): boolean;
  evict(tags: readonly string[]): number;
  clear(): void;
  close(): void;
  stats(): Required<StoreStats>;
}

interface Stored {
  entry: CacheEntry;
  /** `createdAt + maxAgeMs + swrMs`: past this the entry is gone. */
  expiresAt: number;
}

/** Object headers, the LRU's slots and the index's map entries, roughly. */
const ENTRY_OVERHEAD_BYTES = 256;
/** One tag costs a slot in the entry's array and a member in the tag's Set. */
const TAG_OVERHEAD_BYTES = 64;

function entryBytes(key: string, entry: CacheEntry): number {
  let chars = key.length + entry.body.length + entry.etag.length;
  let bytes = ENTRY_OVERHEAD_BYTES;
  for (const tag of entry.tags) {
    chars += tag.length;
    bytes += TAG_OVERHEAD_BYTES;
  }
  return bytes + chars * 2;
}

/**
 * The in-process store: a least-recently-used cache bounded by bytes, with a tag index and
 * per-tag tombstones. The whole cache of a single instance, or the tier in front of Redis.
 * Throws a `TypeError` that shows the bad value when an option is not usable.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const { maxBytes = DEFAULT_MEMORY_MAX_BYTES, tombstoneMs = DEFAULT_TOMBSTONE_MS, now = Date.now } = options;
  if (!(Number.isSafeInteger(maxBytes) && maxBytes > 0)) {
    throw new TypeError(`createMemoryStore: expected maxBytes to be a positive integer, got ${String(maxBytes)}`);
  }
  if (!(Number.isFinite(tombstoneMs) && tombstoneMs > 0)) {
    throw new TypeError(`createMemoryStore: expected tombstoneMs to be a positive number, got ${String(tombstoneMs)}`);
  }

  /** Incremented by every evict and clear; tickets carry the value they saw. */
  let epoch = 0;
  /** Epoch of the last clear: tickets from before it are refused. */
  let clearedAt = 0;

  /** tag → keys indexed under it. Kept exact by the LRU's dispose hook. */
  const index = new Map<string, Set<string>>();
  /** Entries held per grain, kept by `set` and the dispose hook. */
  const byGrain: Record<CacheGrain, number> = { response: 0, field: 0, function: 0, trpc: 0 };

  /** tag → epoch of its last eviction. */
  const tombstones = new Map<string, number>();
  // Tombstones in the order they were written, so pruning pops old ones off the front instead of
  // scanning the map. A tag evicted again is queued again; only its latest record deletes it.
  let queueTags: string[] = [];
  let queueEpochs: number[] = [];
  let queueTimes: number[] = [];
  let queueHead = 0;

  // Expiry is one comparison of `expiresAt` (createdAt + maxAge + swr, so an entry filled from a
  // tier above never outlives the original) with our clock, not lru-cache's TTL: that arms a timer
  // on reads to debounce its clock, which the hit path does not need.
  const lru = new LRUCache<string, Stored>({
    maxSize: maxBytes,
    maxEntrySize: maxBytes,
    dispose: (stored, key) => {
      byGrain[grainOfKey(key)]--;
      for (const tag of stored.entry.tags) {
        const keys = index.get(tag);
        if (keys === undefined) continue;
        keys.delete(key);
        if (keys.size === 0) index.delete(tag);
      }
    },
  });

  function pruneTombstones(at: number): void {
    const horizon = at - tombstoneMs;
    while (queueHead < queueTags.length && queueTimes[queueHead] <= horizon) {
      const tag = queueTags[queueHead];
      if (tombstones.get(tag) === queueEpochs[queueHead]) tombstones.delete(tag);
      queueHead++;
    }
    // Drop the consumed front once it dominates, so the arrays do not grow for ever.
    if (queueHead > 1024 && queueHead * 2 > queueTags.length) {
      queueTags = queueTags.slice(queueHead);
      queueEpochs = queueEpochs.slice(queueHead);
      queueTimes = queueTimes.slice(queueHead);
      queueHead = 0;
    }
  }

  function refuses(entry: CacheEntry, ticket: ReadTicket, at: number): boolean {
    // `>=` pairs with pruning at `<= at - tombstoneMs`: when a tombstone newer than the ticket may
    // already be gone, the ticket is already too old.
    if (!(at - ticket.issuedAt < tombstoneMs)) return true;
    // Written as a range test so that a foreign ticket (NaN, or another store's numbering) fails.
    if (!(ticket.epoch >= clearedAt && ticket.epoch <= epoch)) return true;
    // Most stores have had no recent eviction: skip a lookup per tag.
    if (tombstones.size === 0) return false;
    for (const tag of entry.tags) {
      const evictedAt = tombstones.get(tag);
      if (evictedAt !== undefined && evictedAt > ticket.epoch) return true;
    }
    return false;
  }

  function clear(): void {
    epoch++;
    clearedAt = epoch;
    // The clear epoch refuses every ticket an older tombstone could, so tombstones can go too.
    tombstones.clear();
    queueTags = [];
    queueEpochs = [];
    queueTimes = [];
    queueHead = 0;
    index.clear();
    lru.clear();
  }

  /** The live entry under `key` at `at`, dropping an expired one. */
  function live(key: string, at: number): CacheEntry | undefined {
    const stored = lru.get(key);
    if (stored === undefined) return undefined;
    if (stored.expiresAt <= at) {
      lru.delete(key);
      return undefined;
    }
    return stored.entry;
  }

  return {
    get(key) {
      const at = now();
      const ticket: ReadTicket = { epoch, issuedAt: at };
      const entry = live(key, at);
      return entry === undefined ? { ticket } : { entry, ticket };
    },

    getMany(keys) {
      const at = now();
      const ticket: ReadTicket = { epoch, issuedAt: at };
      return { entries: keys.map((key) => live(key, at)), ticket };
    },

    set(key, entry, ticket) {
      const at = now();
      pruneTombstones(at);
      if (refuses(entry, ticket, at)) return false;
      const expiresAt = entry.createdAt + entry.maxAgeMs + entry.swrMs;
      if (expiresAt <= at) return false;
      const size = entryBytes(key, entry);
      if (size > maxBytes) return false;
      // The dispose hook unindexes a replaced entry during this call, so index the new one after.
      lru.set(key, { entry, expiresAt }, { size });
      byGrain[grainOfKey(key)]++;
      for (const tag of entry.tags) {
        let keys = index.get(tag);
        if (keys === undefined) index.set(tag, (keys = new Set()));
        keys.add(key);
      }
      return true;
    },

    evict(tags) {
      if (tags.length === 0) return 0;
      const at = now();
      pruneTombstones(at);
      epoch++;
      let removed = 0;
      for (const tag of tags) {
        tombstones.set(tag, epoch);
        queueTags.push(tag);
        queueEpochs.push(epoch);
        queueTimes.push(at);
        const keys = index.get(tag);
        if (keys === undefined) continue;
        // Detach the set first: each delete below runs the dispose hook, which edits the index.
        index.delete(tag);
        for (const key of keys) if (lru.delete(key)) removed++;
      }
      return removed;
    },

    clear,

    // Nothing to release but memory.
    close: clear,

    stats() {
      return {
        entries: lru.size,
        bytes: lru.calculatedSize,
        maxBytes,
        tags: index.size,
        tombstones: tombstones.size,
        entriesByGrain: { ...byGrain },
      };
    },
  };
}
