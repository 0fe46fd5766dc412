/**
 * `GET /metrics` on the real server, over a throw-away Redis: after known traffic (hits,
 * misses, coalesced followers held by a latch, bypasses, a mutation's eviction, a purge, and a
 * read while Redis is killed) the cache's counters say exactly that, per grain and operation;
 * the gauges follow the store and the Redis connection; the endpoint answers only METRICS_TOKEN.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCatalog, type TestCatalog } from '../helpers/catalog.ts';
import { samplesOf, scrape, type Samples } from '../helpers/metrics.ts';
import { startRedis, waitUntil, type RedisServer } from '../helpers/redis.ts';
import { createLatch, postQuery, sendRaw, watchLookups } from '../helpers/urql.ts';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const PURGE_TOKEN = 'purge-token-0123456789abcdef';

describe('GET /metrics after known traffic, on Redis with the in-process tier', () => {
  let redis: RedisServer;
  let catalog: TestCatalog;
  const latch = createLatch('Burst');
  beforeAll(async () => {
    redis = await startRedis();
    catalog = await startCatalog('pglite', {
      env: { REDIS_URL: redis.url, METRICS_TOKEN, CACHE_PURGE_TOKEN: PURGE_TOKEN, REDIS_KEY_PREFIX: 'metrics-test' },
      plugins: [latch.plugin],
      // Whole answers only, so that every count below is one a request made: the loaders' and
      // fields' outcomes go through the same events (test/cache/metrics.test.ts counts them).
      resolverCaching: false,
    });
  });
  afterAll(async () => {
    await catalog?.close();
    await redis?.stop();
  });

  const send = (query: string, operationName: string) => postQuery(catalog.url, { query, operationName });
  const xcache = async (query: string, operationName: string) => (await send(query, operationName)).headers.get('x-cache');

  it('counts each outcome, eviction and store failure exactly', async () => {
    // The store's client connects as the server starts.
    await waitUntil(async () => (await scrape(catalog.url, METRICS_TOKEN)).get('graphql_cache_redis_up') === 1, 'the Redis gauge to rise', { timeoutMs: 10_000 });
    const before = await scrape(catalog.url, METRICS_TOKEN);
    expect(samplesOf(before, 'graphql_cache_hits_total')).toEqual({});
    expect(before.get('graphql_cache_degraded')).toBe(0);

    const product = 'query Product { product(id: "1") { name } }';
    expect([await xcache(product, 'Product'), await xcache(product, 'Product'), await xcache(product, 'Product')]).toEqual(['MISS', 'HIT', 'HIT']);

    // Five identical requests on a cold key: the first executes, held until all five looked up.
    const lookups = watchLookups(catalog.server.cache!);
    let burst;
    try {
      const answers = Array.from({ length: 5 }, () => send('query Burst { product(id: "3") { name } }', 'Burst'));
      await latch.entered;
      await lookups.reached(5);
      latch.release();
      burst = await Promise.all(answers);
    } finally {
      lookups.restore();
    }
    expect(burst.filter((answer) => answer.headers.get('x-cache-coalesced') === '1')).toHaveLength(4);

    // Not cacheable: PRIVATE without a session, and a mutation (which evicts Product 1's answer).
    expect(await xcache('query Me { me { id } }', 'Me')).toBe('BYPASS');
    expect(await xcache('mutation Rename { updateProduct(id: "1", input: { name: "Renamed" }) { id name } }', 'Rename')).toBe('BYPASS');
    // An operator's purge of Product 3 (Burst's answer).
    const purge = await sendRaw(new URL('/cache/purge', catalog.url).toString(), {
      method: 'POST',
      headers: { authorization: `Bearer ${PURGE_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ entity: { type: 'Product', id: '3' } }),
    });
    expect(JSON.parse(purge.body)).toEqual({ purged: 'entity', evicted: 1, pending: false });

    // Redis dies: a read is a miss answered without the cache, and the failed get is counted.
    await redis.kill();
    await waitUntil(async () => (await scrape(catalog.url, METRICS_TOKEN)).get('graphql_cache_redis_up') === 0, 'the Redis gauge to fall', { timeoutMs: 10_000 });
    const down = await send('query Down { product(id: "5") { name } }', 'Down');
    expect([down.status, down.headers.get('x-cache')]).toEqual([200, 'MISS']);

    const after = await scrape(catalog.url, METRICS_TOKEN);
    const counted = (prefix: string) => samplesOf(after, prefix);
    expect(counted('graphql_cache_hits_total')).toEqual({ 'graphql_cache_hits_total{grain="response",operation="Product"}': 2 });
    expect(counted('graphql_cache_misses_total')).toEqual({
      'graphql_cache_misses_total{grain="response",operation="Product"}': 1,
      'graphql_cache_misses_total{grain="response",operation="Burst"}': 1,
      'graphql_cache_misses_total{grain="response",operation="Down"}': 1,
    });
    expect(counted('graphql_cache_coalesced_total')).toEqual({ 'graphql_cache_coalesced_total{grain="response",operation="Burst"}': 4 });
    expect(counted('graphql_cache_bypass_total')).toEqual({
      'graphql_cache_bypass_total{grain="response",operation="Me"}': 1,
      'graphql_cache_bypass_total{grain="response",operation="Rename"}': 1,
    });
    expect(counted('graphql_cache_stale_served_total')).toEqual({});
    expect(counted('graphql_cache_evictions_total')).toEqual({
      'graphql_cache_evictions_total{reason="mutation"}': 1,
      'graphql_cache_evictions_total{reason="purge"}': 1,
    });
    expect(counted('graphql_cache_evicted_entries_total')).toEqual({
      'graphql_cache_evicted_entries_total{reason="mutation"}': 1,
      'graphql_cache_evicted_entries_total{reason="purge"}': 1,
    });
    expect(after.get('graphql_cache_store_errors_total{op="get"}')).toBe(1);
    expect(after.get('graphql_cache_redis_up')).toBe(0);
    expect(after.get('graphql_cache_degraded')).toBe(0);
    // Every store operation the traffic made was timed.
    for (const op of ['get', 'set', 'evict']) expect(after.get(`graphql_cache_store_duration_seconds_count{op="${op}"}`)).toBeGreaterThan(0);
    expect(after.get('graphql_cache_store_duration_seconds_bucket{le="+Inf",op="get"}')).toBe(after.get('graphql_cache_store_duration_seconds_count{op="get"}'));
    // The in-process tier, as the stats endpoint reports it.
    const stats = JSON.parse((await sendRaw(new URL('/cache/stats', catalog.url).toString(), { headers: { authorization: `Bearer ${PURGE_TOKEN}` } })).body);
    expect([after.get('graphql_cache_local_entries'), after.get('graphql_cache_local_bytes'), after.get('graphql_cache_local_max_bytes')]).toEqual([
      stats.local.entries,
      stats.local.bytes,
      stats.local.maxBytes,
    ]);
    // The GraphQL side (yoga's Prometheus plugin) and the process are in the same scrape.
    expect([...after.keys()].some((name) => name.startsWith('graphql_envelop_phase_execute'))).toBe(true);
    expect(after.has('process_cpu_seconds_total')).toBe(true);

    await redis.restart();
  });

  it('answers only METRICS_TOKEN: 401 without a token, 403 with another, 405 to a POST', async () => {
    const url = new URL('/metrics', catalog.url).toString();
    const missing = await sendRaw(url, {});
    expect([missing.status, missing.headers.get('www-authenticate')]).toEqual([401, 'Bearer realm="metrics"']);
    expect(missing.body).not.toContain('graphql_cache');
    const wrong = await sendRaw(url, { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } });
    expect(wrong.status).toBe(403);
    expect(wrong.body).not.toContain('graphql_cache');
    const post = await sendRaw(url, { method: 'POST', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET']);
    const ok = await sendRaw(url, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect([ok.status, ok.headers.get('content-type'), ok.headers.get('cache-control')]).toEqual([200, 'text/plain; version=0.0.4; charset=utf-8', 'no-store']);
  });
});

describe('GET /metrics without METRICS_TOKEN, in memory', () => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startCatalog('pglite', { resolverCaching: false });
  });
  afterAll(() => catalog?.close());

  it('is open, and has no Redis gauge without Redis', async () => {
    await postQuery(catalog.url, { query: '{ product(id: "2") { name } }' });
    await postQuery(catalog.url, { query: '{ product(id: "2") { name } }' });
    const samples: Samples = await scrape(catalog.url);
    // Anonymous operations are counted as `other`.
    expect(samplesOf(samples, 'graphql_cache_hits_total')).toEqual({ 'graphql_cache_hits_total{grain="response",operation="other"}': 1 });
    expect(samples.has('graphql_cache_redis_up')).toBe(false);
    expect(samples.get('graphql_cache_local_entries')).toBe(1);
  });
});
