/**
 * createCacheMetrics in process, on a registry of its own: operation labels are bounded (the
 * first `maxOperations` names, then `other`), stale answers count as hits and as stale, every
 * store operation is timed, evictions are counted with the entries they removed, and outcomes
 * of any grain land under that grain.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createCacheMetrics, type CacheMetricsOptions } from '../../plugins/cache-metrics.ts';
import { createMemoryStore } from '../../plugins/memory-store.ts';
import { createCachedLibrary, createClock } from '../helpers/in-process.ts';
import { parseSamples, samplesOf } from '../helpers/metrics.ts';

function cachedWithMetrics(options: CacheMetricsOptions = {}, hints = {}) {
  const registry = new Registry();
  const metrics = createCacheMetrics({ registry, ...options });
  const clock = createClock();
  const library = createCachedLibrary({ store: metrics.timeStore(createMemoryStore({ now: clock.now })), now: clock.now, hints, ...metrics.events });
  metrics.observe(library.cache);
  return { ...library, clock, metrics, scrape: async () => parseSamples(await registry.metrics()) };
}

describe('createCacheMetrics', () => {
  it('labels the first maxOperations names and counts later and anonymous ones as other', async () => {
    const { request, scrape } = cachedWithMetrics({ maxOperations: 3 });
    for (let n = 0; n < 5; n++) await request(`query Op${n} { book(id: "1") { title } }`);
    await request('{ book(id: "2") { title } }');
    // A labelled name keeps its label after the bound is reached.
    expect((await request('query Op0 { book(id: "1") { title } }')).xcache).toBe('HIT');
    const samples = await scrape();
    expect(samplesOf(samples, 'graphql_cache_misses_total')).toEqual({
      'graphql_cache_misses_total{grain="response",operation="Op0"}': 1,
      'graphql_cache_misses_total{grain="response",operation="Op1"}': 1,
      'graphql_cache_misses_total{grain="response",operation="Op2"}': 1,
      'graphql_cache_misses_total{grain="response",operation="other"}': 3,
    });
    expect(samplesOf(samples, 'graphql_cache_hits_total')).toEqual({ 'graphql_cache_hits_total{grain="response",operation="Op0"}': 1 });
  });

  it('labels 100 operation names by default', async () => {
    const { metrics, scrape } = cachedWithMetrics();
    for (let n = 0; n < 101; n++) metrics.events.onMiss({ grain: 'response', kind: 'miss', operation: `Op${n}` });
    const misses = samplesOf(await scrape(), 'graphql_cache_misses_total');
    expect(Object.keys(misses)).toHaveLength(101);
    expect(misses['graphql_cache_misses_total{grain="response",operation="Op99"}']).toBe(1);
    expect(misses['graphql_cache_misses_total{grain="response",operation="other"}']).toBe(1);
  });

  it('counts a stale answer as a hit and as stale', async () => {
    const { request, clock, scrape } = cachedWithMetrics({}, { Book: { maxAge: 60, swr: 30 } });
    await request('query Stale { book(id: "1") { title } }');
    clock.advance(61_000);
    expect((await request('query Stale { book(id: "1") { title } }')).xcache).toBe('HIT');
    const samples = await scrape();
    expect(samples.get('graphql_cache_hits_total{grain="response",operation="Stale"}')).toBe(1);
    expect(samples.get('graphql_cache_stale_served_total{grain="response",operation="Stale"}')).toBe(1);
  });

  it('times every store operation and counts evictions with the entries they removed', async () => {
    const { request, cache, scrape } = cachedWithMetrics();
    await request('{ book(id: "1") { title } }');
    await request('{ book(id: "1") { title } author(id: "1") { name } }');
    await request('mutation { renameBook(id: "1", title: "New") { id } }');
    await cache.evictAll();
    const samples = await scrape();
    expect(samplesOf(samples, 'graphql_cache_evict')).toEqual({
      'graphql_cache_evictions_total{reason="mutation"}': 1,
      'graphql_cache_evictions_total{reason="purge"}': 1,
      'graphql_cache_evicted_entries_total{reason="mutation"}': 2,
    });
    expect(samples.get('graphql_cache_store_duration_seconds_count{op="get"}')).toBe(2);
    expect(samples.get('graphql_cache_store_duration_seconds_count{op="set"}')).toBe(2);
    expect(samples.get('graphql_cache_store_duration_seconds_count{op="evict"}')).toBe(1);
    expect(samples.get('graphql_cache_store_duration_seconds_count{op="clear"}')).toBe(1);
    expect(samples.get('graphql_cache_local_entries')).toBe(0);
    expect(samples.get('graphql_cache_degraded')).toBe(0);
  });

  it('counts the outcomes of any grain under that grain', async () => {
    const { metrics, scrape } = cachedWithMetrics();
    metrics.events.onHit({ grain: 'field', kind: 'hit', operation: 'Query.search', key: 'k', ttl: 5, scope: 'PUBLIC' });
    metrics.events.onMiss({ grain: 'trpc', kind: 'coalesced', operation: 'catalog.product', key: 'k', ttl: 5, scope: 'PUBLIC' });
    const samples = await scrape();
    expect(samples.get('graphql_cache_hits_total{grain="field",operation="Query.search"}')).toBe(1);
    expect(samples.get('graphql_cache_coalesced_total{grain="trpc",operation="catalog.product"}')).toBe(1);
  });

  it('refuses a second cache and a registry that already has its metrics', () => {
    const { metrics } = cachedWithMetrics();
    expect(() => metrics.observe(createCachedLibrary().cache)).toThrow('observe() takes one cache');
    const registry = new Registry();
    createCacheMetrics({ registry });
    expect(() => createCacheMetrics({ registry })).toThrow(/already been registered/);
  });
});
