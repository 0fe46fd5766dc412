/**
 * Eviction cost: the stores used directly, each filled with 100 000 cached answers, then
 * `evict(['Product:<n>'])` timed for several different products (each tag indexes 100 answers).
 * The broad tags every answer also carries (`type:Product`, `Query.products`) make the index as
 * large as a real one; eviction must cost what the evicted tag holds, not what the store holds.
 */
import { Redis } from 'ioredis';
import { createMemoryStore } from '../plugins/memory-store.ts';
import { createRedisStore } from '../plugins/redis-store.ts';
import type { CacheEntry, CacheStore } from '../plugins/store.ts';

export const EVICTION_ENTRIES = 100_000;
/** Distinct products the entries are spread over: each `Product:<n>` tag indexes ENTRIES / PRODUCTS answers. */
const PRODUCTS = 1_000;
const WARMUP_EVICTIONS = 2;
const MEASURED_EVICTIONS = 9;
/** The first product measured; the next ones follow (7, 8, 9, …). */
const FIRST_EVICTED = 7;
/** Sets in flight at once while filling. */
const FILL_WINDOW = 1_000;
/** A fill that takes longer than this is abandoned, so the bench stays bounded. */
const FILL_DEADLINE_MS = 90_000;
/** Longer than the fill may take, so that the fill's one ticket stays valid. */
const TOMBSTONE_MS = 10 * 60_000;

export interface EvictionResult {
  store: 'memory' | 'redis';
  entries: number;
  entriesPerEvictedTag: number;
  tagsPerEntry: number;
  fillMs: number;
  /** One `evict([tag])` per product, each on a different product; in µs. */
  samplesMicros: number[];
  medianMicros: number;
  minMicros: number;
  maxMicros: number;
  /** What each measured eviction reported as removed. */
  removed: number[];
  /** Redis only: `used_memory` after the fill. */
  redisUsedMemoryBytes?: number;
}

function entryFor(i: number, createdAt: number): CacheEntry {
  const product = i % PRODUCTS;
  const category = product % 20;
  const first = 1 + (i % 100);
  return {
    body: `{"data":{"products":[{"id":"${product}","name":"Product ${product}","price":${(product % 97) + 0.99},"category":{"id":"${category}","name":"Category ${category}"}}],"first":${first},"page":${i}}}`,
    createdAt,
    maxAgeMs: 3_600_000,
    swrMs: 0,
    scope: 'PUBLIC',
    etag: `"${i.toString(36)}-${createdAt.toString(36)}"`,
    tags: [`Product:${product}`, `Category:${category}.products`, 'Query.products', 'type:Product'],
  };
}

async function fill(store: CacheStore): Promise<number> {
  const started = performance.now();
  const createdAt = Date.now();
  // One ticket for the whole fill: the stores are created with a tombstone window (the ticket's
  // lifetime) longer than the fill's deadline.
  const { ticket } = await store.get('bench:ticket');
  let next = 0;
  let refused = 0;
  // A window of sets in flight rather than batches: the client encodes the next commands while
  // Redis runs the previous ones.
  const lane = async () => {
    while (next < EVICTION_ENTRIES) {
      if (performance.now() - started > FILL_DEADLINE_MS) {
        throw new Error(`eviction bench: filling took longer than ${FILL_DEADLINE_MS} ms (${next} entries sent)`);
      }
      const i = next++;
      if (!(await store.set(`bench:${i}`, entryFor(i, createdAt), ticket))) refused++;
    }
  };
  await Promise.all(Array.from({ length: FILL_WINDOW }, lane));
  if (refused > 0) throw new Error(`eviction bench: the store refused ${refused} of ${EVICTION_ENTRIES} entries`);
  return performance.now() - started;
}

async function measure(store: CacheStore): Promise<{ samples: number[]; removed: number[] }> {
  // Warm-up on products that are not measured: the first call pays for JIT and script loading.
  for (let n = 0; n < WARMUP_EVICTIONS; n++) await store.evict([`Product:${PRODUCTS - 1 - n}`]);
  const samples: number[] = [];
  const removed: number[] = [];
  for (let n = 0; n < MEASURED_EVICTIONS; n++) {
    const tag = `Product:${FIRST_EVICTED + n}`;
    const started = process.hrtime.bigint();
    removed.push(await store.evict([tag]));
    samples.push(Number(process.hrtime.bigint() - started) / 1e3);
  }
  return { samples, removed };
}

function summarise(store: EvictionResult['store'], fillMs: number, samples: number[], removed: number[]): EvictionResult {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    store,
    entries: EVICTION_ENTRIES,
    entriesPerEvictedTag: EVICTION_ENTRIES / PRODUCTS,
    tagsPerEntry: entryFor(0, 0).tags.length,
    fillMs,
    samplesMicros: samples,
    medianMicros: sorted[Math.floor(sorted.length / 2)],
    minMicros: sorted[0],
    maxMicros: sorted[sorted.length - 1],
    removed,
  };
}

export async function benchMemoryEviction(): Promise<EvictionResult> {
  // Large enough that the LRU drops nothing: 100k small answers are about 100 MB by its estimate.
  const store = createMemoryStore({ maxBytes: 1024 * 1024 * 1024, tombstoneMs: TOMBSTONE_MS });
  try {
    const fillMs = await fill(store);
    const { entries } = store.stats();
    if (entries !== EVICTION_ENTRIES) throw new Error(`eviction bench: memory store holds ${entries} entries, expected ${EVICTION_ENTRIES}`);
    const { samples, removed } = await measure(store);
    return summarise('memory', fillMs, samples, removed);
  } finally {
    store.close();
  }
}

export async function benchRedisEviction(url: string): Promise<EvictionResult> {
  // Our own client, so that the fill is auto-pipelined: one write per batch, not per command.
  const client = new Redis(url, { enableAutoPipelining: true, maxRetriesPerRequest: 1, lazyConnect: true });
  client.on('error', () => {});
  await client.connect();
  const store = createRedisStore({ redis: client, prefix: 'gcl-bench-eviction', commandTimeoutMs: 30_000, tombstoneMs: TOMBSTONE_MS });
  try {
    const fillMs = await fill(store);
    const info = await client.info('memory');
    const usedMemory = Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? NaN);
    const { samples, removed } = await measure(store);
    return { ...summarise('redis', fillMs, samples, removed), redisUsedMemoryBytes: usedMemory };
  } finally {
    await store.close();
    await client.quit().catch(() => client.disconnect());
  }
}
