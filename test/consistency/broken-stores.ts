/**
 * Stores broken on purpose, to prove that the consistency checker can fail: run against one of
 * these, it must report stale reads. They enter a server only through the code-level
 * `CatalogServerOptions.wrapCacheStore`.
 */
import type { CacheStore } from '../../plugins/store.ts';

export type Breakage = 'evict-nothing' | 'ignore-tickets';

/** What each breakage does, for reports. */
export const BREAKAGES: Record<Breakage, string> = {
  'evict-nothing': 'evict() removes nothing (and records no tombstone)',
  'ignore-tickets': "set() presents a ticket taken at set time instead of the read's own, so a slow read writes back",
};

export function breakStore(breakage: Breakage): (store: CacheStore) => CacheStore {
  return (store) => (breakage === 'evict-nothing' ? evictingNothing(store) : ignoringTickets(store));
}

/** Every method of `store`, bound to it, with `overrides` in their place. */
function delegate(store: CacheStore, overrides: Partial<CacheStore>): CacheStore {
  return {
    get: (key) => store.get(key),
    ...(store.ticket && { ticket: (key: string) => store.ticket!(key) }),
    set: (key, entry, ticket) => store.set(key, entry, ticket),
    evict: (tags) => store.evict(tags),
    clear: () => store.clear(),
    close: () => store.close(),
    ...(store.stats && { stats: () => store.stats!() }),
    ...overrides,
  };
}

function evictingNothing(store: CacheStore): CacheStore {
  return delegate(store, { evict: () => 0 });
}

function ignoringTickets(store: CacheStore): CacheStore {
  const freshTicket = async (key: string) => (store.ticket ? store.ticket(key) : (await store.get(key)).ticket);
  return delegate(store, { set: async (key, entry) => store.set(key, entry, await freshTicket(key)) });
}
