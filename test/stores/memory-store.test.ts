import { describe, expect, it } from 'vitest';
import { createMemoryStore, DEFAULT_MEMORY_MAX_BYTES, type MemoryStore, type MemoryStoreOptions } from '../../plugins/memory-store.ts';
import { DEFAULT_TOMBSTONE_MS } from '../../plugins/store.ts';
import { cacheEntry } from './entry.ts';

/** A store on a clock the test moves by hand. */
function storeWithClock(options: MemoryStoreOptions = {}): { store: MemoryStore; clock: { now: number } } {
  const clock = { now: 1_700_000_000_000 };
  return { store: createMemoryStore({ now: () => clock.now, ...options }), clock };
}

describe('memory store', () => {
  it('get is synchronous and returns what set stored', () => {
    const { store, clock } = storeWithClock();
    const miss = store.get('k');
    expect(miss).not.toBeInstanceOf(Promise);
    expect(miss.entry).toBeUndefined();
    const entry = cacheEntry(['Product:7'], { createdAt: clock.now });
    expect(store.set('k', entry, miss.ticket)).toBe(true);
    const hit = store.get('k');
    expect(hit).not.toBeInstanceOf(Promise);
    expect(hit.entry).toEqual(entry);
    expect(hit.ticket.issuedAt).toBe(clock.now);
  });

  it('an entry lives until createdAt + maxAgeMs + swrMs on the store clock', () => {
    const { store, clock } = storeWithClock();
    const entry = cacheEntry(['Product:7'], { createdAt: clock.now, maxAgeMs: 1_000, swrMs: 500 });
    store.set('k', entry, store.get('k').ticket);
    clock.now += 1_499;
    expect(store.get('k').entry).toBeDefined();
    clock.now += 1;
    expect(store.get('k').entry).toBeUndefined();
    expect(store.stats()).toMatchObject({ entries: 0, tags: 0 });
  });

  it('an entry filled from a tier above keeps its original expiry', () => {
    const { store, clock } = storeWithClock();
    const entry = cacheEntry(['Product:7'], { createdAt: clock.now - 900, maxAgeMs: 1_000 });
    store.set('k', entry, store.get('k').ticket);
    clock.now += 99;
    expect(store.get('k').entry).toBeDefined();
    clock.now += 1;
    expect(store.get('k').entry).toBeUndefined();
  });

  it('set refuses an entry already past its life', () => {
    const { store, clock } = storeWithClock();
    const entry = cacheEntry(['Product:7'], { createdAt: clock.now - 2_000, maxAgeMs: 1_000, swrMs: 1_000 });
    expect(store.set('k', entry, store.get('k').ticket)).toBe(false);
  });

  it('is bounded by bytes: the least recently used entries go first, and their tags leave the index', () => {
    const body = 'x'.repeat(1_000);
    const { store, clock } = storeWithClock({ maxBytes: 10_000 });
    for (let i = 0; i < 4; i++) {
      store.set(`k${i}`, cacheEntry([`Product:${i}`], { body, createdAt: clock.now }), store.get(`k${i}`).ticket);
    }
    expect(store.stats().entries).toBe(4);
    store.get('k0'); // k0 is now the most recently used: k1 goes first
    store.set('k4', cacheEntry(['Product:4'], { body, createdAt: clock.now }), store.get('k4').ticket);
    const stats = store.stats();
    expect(stats.bytes).toBeLessThanOrEqual(10_000);
    expect(stats.entries).toBe(4);
    expect(stats.tags).toBe(4);
    expect(store.get('k1').entry).toBeUndefined();
    expect(store.get('k0').entry).toBeDefined();
    expect(store.evict(['Product:1'])).toBe(0);
  });

  it('does not store an entry larger than the whole budget', () => {
    const { store, clock } = storeWithClock({ maxBytes: 1_000 });
    const entry = cacheEntry(['Product:7'], { body: 'x'.repeat(1_000), createdAt: clock.now });
    expect(store.set('k', entry, store.get('k').ticket)).toBe(false);
    expect(store.stats()).toMatchObject({ entries: 0, bytes: 0, tags: 0 });
  });

  it('defaults to a 64 MiB budget and a 60 s tombstone window', () => {
    expect(DEFAULT_MEMORY_MAX_BYTES).toBe(64 * 1024 * 1024);
    expect(DEFAULT_TOMBSTONE_MS).toBe(60_000);
    // One shared 1 MiB string: each entry is counted at about 2 MiB without allocating it.
    const body = 'x'.repeat(1024 * 1024);
    const { store, clock } = storeWithClock();
    for (let i = 0; i < 40; i++) {
      store.set(`k${i}`, cacheEntry([], { body, createdAt: clock.now }), store.get(`k${i}`).ticket);
    }
    const { entries, bytes } = store.stats();
    expect(bytes).toBeLessThanOrEqual(64 * 1024 * 1024);
    expect(bytes).toBeGreaterThan(60 * 1024 * 1024);
    expect(entries).toBe(31);

    const ticket = store.get('k').ticket;
    clock.now += 59_999;
    expect(store.set('k', cacheEntry(['Product:7'], { createdAt: clock.now }), ticket)).toBe(true);
    const late = store.get('k2').ticket;
    clock.now += 60_000;
    expect(store.set('k2', cacheEntry(['Product:7'], { createdAt: clock.now }), late)).toBe(false);
  });

  it('evict removes every entry under any of the tags, and only those', () => {
    const { store, clock } = storeWithClock();
    const put = (key: string, tags: string[]): void => {
      store.set(key, cacheEntry(tags, { createdAt: clock.now }), store.get(key).ticket);
    };
    put('product7', ['Product:7']);
    put('list', ['Query.products', 'Product:7', 'Product:8']);
    put('category', ['Category:3', 'Category:3.products']);
    put('product9', ['Product:9']);
    expect(store.evict(['Product:8', 'Category:3.products'])).toBe(2);
    expect(store.get('list').entry).toBeUndefined();
    expect(store.get('category').entry).toBeUndefined();
    expect(store.get('product7').entry).toBeDefined();
    expect(store.get('product9').entry).toBeDefined();
    expect(store.evict(['Product:7'])).toBe(1);
    expect(store.stats()).toMatchObject({ entries: 1, tags: 1 });
  });

  it('replacing an entry indexes it under its new tags only', () => {
    const { store, clock } = storeWithClock();
    store.set('k', cacheEntry(['Product:1'], { createdAt: clock.now }), store.get('k').ticket);
    store.set('k', cacheEntry(['Product:2'], { createdAt: clock.now }), store.get('k').ticket);
    expect(store.evict(['Product:1'])).toBe(0);
    expect(store.get('k').entry?.tags).toEqual(['Product:2']);
    expect(store.evict(['Product:2'])).toBe(1);
  });

  describe('write-back guarantee', () => {
    it('set refuses when a tag of the entry was evicted after the read began', () => {
      const { store, clock } = storeWithClock();
      const { ticket } = store.get('k');
      store.evict(['Product:7']);
      expect(store.set('k', cacheEntry(['Query.products', 'Product:7'], { createdAt: clock.now }), ticket)).toBe(false);
      expect(store.get('k').entry).toBeUndefined();
    });

    it('set accepts when the eviction was of another tag, or came before the read', () => {
      const { store, clock } = storeWithClock();
      store.evict(['Product:7']);
      const { ticket } = store.get('k');
      store.evict(['Product:8']);
      expect(store.set('k', cacheEntry(['Product:7'], { createdAt: clock.now }), ticket)).toBe(true);
    });

    it('set refuses a ticket issued before a clear', () => {
      const { store, clock } = storeWithClock();
      const { ticket } = store.get('k');
      store.clear();
      expect(store.set('k', cacheEntry(['Product:7'], { createdAt: clock.now }), ticket)).toBe(false);
      expect(store.set('k', cacheEntry(['Product:7'], { createdAt: clock.now }), store.get('k').ticket)).toBe(true);
    });

    it('set refuses a ticket as old as tombstoneMs, even with no tombstone left', () => {
      const { store, clock } = storeWithClock({ tombstoneMs: 1_000 });
      const { ticket } = store.get('k');
      clock.now += 999;
      expect(store.set('k', cacheEntry([], { createdAt: clock.now }), ticket)).toBe(true);
      clock.now += 1;
      expect(store.set('k', cacheEntry([], { createdAt: clock.now }), ticket)).toBe(false);
    });

    it('set refuses a ticket this store did not issue', () => {
      const { store, clock } = storeWithClock();
      const foreign = { epoch: 1_700_000_000_000_000, issuedAt: clock.now };
      expect(store.set('k', cacheEntry([], { createdAt: clock.now }), foreign)).toBe(false);
    });

    it('tombstones are pruned once older than tombstoneMs, a re-evicted tag keeping its newest', () => {
      const { store, clock } = storeWithClock({ tombstoneMs: 1_000 });
      store.evict(['Product:1', 'Product:2']);
      clock.now += 600;
      store.evict(['Product:2', 'Product:3']);
      expect(store.stats().tombstones).toBe(3);
      const ticket = store.get('k').ticket;
      clock.now += 400;
      // Product:1's tombstone is gone; Product:2's newer one (600 ms old) stays.
      store.evict(['Product:4']);
      expect(store.stats().tombstones).toBe(3);
      expect(store.set('k', cacheEntry(['Product:2'], { createdAt: clock.now }), ticket)).toBe(true);
      clock.now += 600;
      store.evict(['Product:5']);
      expect(store.stats().tombstones).toBe(2);
    });
  });

  it('evicting one entity costs in proportion to its entries, not to the cache size', () => {
    const { store, clock } = storeWithClock({ maxBytes: 1024 * 1024 * 1024 });
    const ticket = store.get('warm-up').ticket;
    const entries = 100_000;
    for (let i = 0; i < entries; i++) {
      store.set(`q${i}`, cacheEntry([`Product:${i}`, `Category:${i % 100}`], { createdAt: clock.now }), ticket);
    }
    expect(store.stats().entries).toBe(entries);
    // The fastest of several batches: a GC pause or a busy neighbour slows some batches, not all.
    const batches = 20;
    const perBatch = 25;
    const evictions = batches * perBatch;
    let fastest = Infinity;
    let removed = 0;
    for (let batch = 0; batch < batches; batch++) {
      const started = performance.now();
      for (let i = 0; i < perBatch; i++) removed += store.evict([`Product:${(batch * perBatch + i) * 7}`]);
      fastest = Math.min(fastest, (performance.now() - started) / perBatch);
    }
    expect(removed).toBe(evictions);
    // Walking 100k entries takes milliseconds; an indexed eviction takes microseconds.
    expect(fastest).toBeLessThan(0.1);
    expect(store.stats().entries).toBe(entries - evictions);
  });

  describe('getMany', () => {
    it('answers every key in key order, synchronously, with one ticket that sets of any of them present', () => {
      const { store, clock } = storeWithClock();
      const before = store.get('k1').ticket;
      store.set('k1', cacheEntry(['Product:1'], { createdAt: clock.now, body: 'one' }), before);
      store.set('k3', cacheEntry(['Product:3'], { createdAt: clock.now, body: 'three' }), before);
      const many = store.getMany(['k3', 'k2', 'k1']);
      expect(many).not.toBeInstanceOf(Promise);
      expect(many.entries.map((entry) => entry?.body)).toEqual(['three', undefined, 'one']);
      expect(store.set('k2', cacheEntry(['Product:2'], { createdAt: clock.now }), many.ticket)).toBe(true);
    });

    it('its ticket refuses a set after an eviction of the entry\'s tags, as get\'s does', () => {
      const { store, clock } = storeWithClock();
      const { ticket } = store.getMany(['a', 'b']);
      store.evict(['Product:2']);
      expect(store.set('a', cacheEntry(['Product:1'], { createdAt: clock.now }), ticket)).toBe(true);
      expect(store.set('b', cacheEntry(['Product:2'], { createdAt: clock.now }), ticket)).toBe(false);
    });

    it('drops expired entries as get does', () => {
      const { store, clock } = storeWithClock();
      store.set('k', cacheEntry(['Product:1'], { createdAt: clock.now, maxAgeMs: 1_000 }), store.get('k').ticket);
      clock.now += 1_000;
      expect(store.getMany(['k']).entries).toEqual([undefined]);
      expect(store.stats().entries).toBe(0);
    });
  });

  it('counts its entries per grain by key namespace, through sets, replacements, evictions and clears', () => {
    const { store, clock } = storeWithClock();
    const ticket = store.get('any').ticket;
    const entry = (tag: string) => cacheEntry([tag], { createdAt: clock.now });
    store.set('hashOfAnAnswer', entry('Product:1'), ticket);
    store.set('fn:productById:abc', entry('Product:1'), ticket);
    store.set('fn:productById:abc', entry('Product:1'), ticket);
    store.set('field:Query.search:def', entry('Query.search'), ticket);
    store.set('trpc:product.list:ghi', entry('Product:2'), ticket);
    expect(store.stats().entriesByGrain).toEqual({ response: 1, function: 1, field: 1, trpc: 1 });
    store.evict(['Product:1']);
    expect(store.stats().entriesByGrain).toEqual({ response: 0, function: 0, field: 1, trpc: 1 });
    store.clear();
    expect(store.stats().entriesByGrain).toEqual({ response: 0, function: 0, field: 0, trpc: 0 });
  });
});
