/**
 * The in-process tier under a miss-heavy load of 100 000 distinct keys, without a database in
 * the way: the default memory store (64 MiB) takes one answer per key, each the size of a
 * `products(first, offset)` answer with `first` cycling through 1..100, as a server stores them
 * after each miss. Run as its own process (`node --expose-gc`), so the heap and RSS it reports
 * are the store's and nothing else's. Prints one JSON line (MemoryBoundResult).
 */
import { createMemoryStore, DEFAULT_MEMORY_MAX_BYTES } from '../plugins/memory-store.ts';
import type { CacheEntry } from '../plugins/store.ts';

const MEMORY_BOUND_KEYS = 100_000;

export interface MemoryBoundResult {
  keys: number;
  /** What the answers would take all together, by the store's own estimate. */
  offeredBytes: number;
  entries: number;
  bytes: number;
  maxBytes: number;
  /** Heap used after a full GC, minus the same before the fill. */
  heapGrowthBytes: number;
  rssBytes: number;
}

function answer(i: number, createdAt: number): { key: string; entry: CacheEntry } {
  const first = 1 + (i % 100);
  const offset = Math.floor(i / 100);
  const products = Array.from({ length: first }, (_, j) => {
    const id = offset + j + 1;
    return `{"id":"${id}","name":"Product ${id}","price":${(id % 97) + 0.99}}`;
  });
  const body = `{"data":{"products":[${products.join(',')}]}}`;
  return {
    key: `miss:${first}:${offset}`,
    entry: {
      body,
      createdAt,
      maxAgeMs: 3_600_000,
      swrMs: 0,
      scope: 'PUBLIC',
      etag: `"${i.toString(36)}"`,
      tags: ['Query.products', 'type:Product', ...products.slice(0, 3).map((_, j) => `Product:${offset + j + 1}`)],
    },
  };
}

if (typeof globalThis.gc !== 'function') {
  console.error('memory-bound: run with node --expose-gc');
  process.exit(2);
}
const gc = globalThis.gc as () => void;
const store = createMemoryStore();
gc();
const heapBefore = process.memoryUsage().heapUsed;
const createdAt = Date.now();
let offeredBytes = 0;
for (let i = 0; i < MEMORY_BOUND_KEYS; i++) {
  const { key, entry } = answer(i, createdAt);
  offeredBytes += 2 * (key.length + entry.body.length + entry.etag.length + entry.tags.join('').length);
  store.set(key, entry, store.get(key).ticket);
}
gc();
const stats = store.stats();
const result: MemoryBoundResult = {
  keys: MEMORY_BOUND_KEYS,
  offeredBytes,
  entries: stats.entries,
  bytes: stats.bytes,
  maxBytes: stats.maxBytes,
  heapGrowthBytes: process.memoryUsage().heapUsed - heapBefore,
  rssBytes: process.memoryUsage().rss,
};
if (result.maxBytes !== DEFAULT_MEMORY_MAX_BYTES) throw new Error('memory-bound: not the default store');
console.log(JSON.stringify(result));
