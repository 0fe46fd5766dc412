/**
 * The operators' stats endpoint (`GET /cache/stats`) on the real server: it counts what the
 * cache did, shows the in-process tier's size against its byte bound, and answers only the
 * configured bearer token. The server runs with a small CACHE_MEMORY_BYTES, so a few dozen
 * distinct misses are enough to show the tier holding its bound.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CacheStats } from '../../plugins/response-cache.ts';
import { startCatalog, type TestCatalog } from '../helpers/catalog.ts';
import { createLatch, createUrqlClient, postQuery, sendRaw, watchLookups } from '../helpers/urql.ts';

const TOKEN = 'stats-token-0123456789abcdef';
const MEMORY_BYTES = 64 * 1024;

describe('GET /cache/stats with CACHE_PURGE_TOKEN set', () => {
  let catalog: TestCatalog;
  let statsUrl: string;
  // The first `Burst` execution waits until every request of the burst has reached the cache.
  const latch = createLatch('Burst');
  beforeAll(async () => {
    catalog = await startCatalog('pglite', {
      env: { CACHE_PURGE_TOKEN: TOKEN, CACHE_MEMORY_BYTES: String(MEMORY_BYTES) },
      plugins: [latch.plugin],
    });
    statsUrl = new URL('/cache/stats', catalog.url).toString();
  });
  afterAll(() => catalog?.close());

  async function stats(): Promise<CacheStats> {
    const answer = await sendRaw(statsUrl, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    return JSON.parse(answer.body) as CacheStats;
  }

  it('counts hits, misses and coalesced answers as the responses said them', async () => {
    const client = createUrqlClient(catalog.url);
    const before = await stats();
    const said: string[] = [];
    for (const id of ['1', '2', '1', '1', '2']) said.push((await client.query(`{ product(id: "${id}") { name } }`)).xcache ?? '');
    // Five identical requests at once on a cold key: the first executes (held until all five have
    // looked up), the other four wait for its answer.
    const lookups = watchLookups(catalog.server.cache!);
    let burst;
    try {
      const answers = Array.from({ length: 5 }, () => postQuery(catalog.url, { query: 'query Burst { product(id: "3") { name } }' }));
      await latch.entered;
      await lookups.reached(5);
      latch.release();
      burst = await Promise.all(answers);
    } finally {
      lookups.restore();
    }
    // Not cacheable: a PRIVATE operation without a session, and a mutation.
    for (const query of ['{ me { id } }', 'mutation { updateProduct(id: "4", input: { stock: 9 }) { id } }']) {
      expect((await postQuery(catalog.url, { query })).headers.get('x-cache')).toBe('BYPASS');
    }
    const after = await stats();

    expect(said).toEqual(['MISS', 'MISS', 'HIT', 'HIT', 'HIT']);
    expect(burst.map((answer) => `${answer.headers.get('x-cache')} ${answer.headers.get('x-cache-coalesced') ?? '-'}`).sort()).toEqual([
      'MISS -',
      'MISS 1',
      'MISS 1',
      'MISS 1',
      'MISS 1',
    ]);
    const delta = (grain: 'response' | 'function') => {
      const [now, then] = [after.grains[grain]!, before.grains[grain] ?? { hits: 0, misses: 0, coalesced: 0, bypassed: 0 }];
      return [now.hits - then.hits, now.misses - then.misses, now.coalesced - then.coalesced, now.bypassed - then.bypassed];
    };
    expect(delta('response')).toEqual([3, 3, 4, 2]);
    // Each executed answer read its product through the productById loader: one miss per product.
    expect(delta('function')).toEqual([0, 3, 0, 0]);
    // The totals are the sum over the grains.
    expect([after.hits - before.hits, after.misses - before.misses, after.coalesced - before.coalesced, after.bypassed - before.bypassed]).toEqual([3, 6, 4, 2]);
    // Entries per grain, from the in-process store.
    expect(after.grains.response!.entries).toBeGreaterThanOrEqual(3);
    expect(after.grains.function!.entries).toBeGreaterThanOrEqual(3);
    expect(after.degraded).toBe(false);
  });

  it('keeps the in-process tier within CACHE_MEMORY_BYTES under many distinct misses', async () => {
    const client = createUrqlClient(catalog.url);
    let missed = 0;
    for (let offset = 0; offset < 60; offset++) {
      const answer = await client.query(`{ products(first: 20, offset: ${offset}) { id name description price } }`);
      if (answer.xcache === 'MISS') missed++;
    }
    const { local } = await stats();
    expect(missed).toBe(60);
    expect(local).not.toBeNull();
    expect(local!.maxBytes).toBe(MEMORY_BYTES);
    // Sixty answers of twenty products each would take several times the bound.
    expect(local!.bytes).toBeGreaterThan(MEMORY_BYTES / 2);
    expect(local!.bytes).toBeLessThanOrEqual(MEMORY_BYTES);
    expect(local!.entries).toBeLessThan(60);
    // The newest answer is still there; the oldest went first.
    expect((await client.query('{ products(first: 20, offset: 59) { id name description price } }')).xcache).toBe('HIT');
    expect((await client.query('{ products(first: 20, offset: 0) { id name description price } }')).xcache).toBe('MISS');
  });

  it('answers only the configured token: 401 without one, 403 with another, 405 to a POST', async () => {
    const missing = await sendRaw(statsUrl, {});
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(JSON.parse(missing.body)).not.toHaveProperty('hits');
    const wrong = await sendRaw(statsUrl, { headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(wrong.status).toBe(403);
    expect(JSON.parse(wrong.body)).not.toHaveProperty('hits');
    const post = await sendRaw(statsUrl, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET']);
  });
});

describe('GET /cache/stats without CACHE_PURGE_TOKEN', () => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startCatalog('pglite');
  });
  afterAll(() => catalog?.close());

  it('does not exist (404), whatever the token', async () => {
    const statsUrl = new URL('/cache/stats', catalog.url).toString();
    for (const headers of [{}, { authorization: `Bearer ${TOKEN}` }] as Record<string, string>[]) {
      expect((await sendRaw(statsUrl, { headers })).status).toBe(404);
    }
  });
});
