/**
 * A store that counts what the cache asks of it: lookups (one key or many), writes and
 * evictions, so tests can count store round trips. Everything is delegated to `inner`.
 */
import type { CacheStore } from '../../plugins/store.ts';

export interface StoreCalls {
  get: number;
  getMany: number;
  set: number;
  evict: number;
}

export function countingStore<S extends CacheStore>(inner: S): CacheStore & { calls: StoreCalls; inner: S } {
  const calls: StoreCalls = { get: 0, getMany: 0, set: 0, evict: 0 };
  return {
    calls,
    inner,
    get: (key) => (calls.get++, inner.get(key)),
    ...(inner.getMany && { getMany: (keys: readonly string[]) => (calls.getMany++, inner.getMany!(keys)) }),
    ...(inner.ticket && { ticket: (key: string) => inner.ticket!(key) }),
    set: (key, entry, ticket) => (calls.set++, inner.set(key, entry, ticket)),
    evict: (tags) => (calls.evict++, inner.evict(tags)),
    clear: () => inner.clear(),
    close: () => inner.close(),
    ...(inner.stats && { stats: () => inner.stats!() }),
  };
}
