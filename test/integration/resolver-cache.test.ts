/**
 * Resolver-level caching through the real catalog server, on memory, on Redis (with and without
 * the in-process tier) and on two instances sharing Redis: one eviction for answers, field values
 * and the loaders' values; purges that reach every grain; no stale write-back from a loader held
 * across a write; stats per grain. Statement counts (the server's database) tell which reads the
 * cache answered.
 *
 * Seed facts: product i is in category 1 + (i - 1) % 20; product 7 is "Classic Tent", in
 * category 7 with products 7, 27, 47, …
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CacheStats } from '../../plugins/response-cache.ts';
import type { CacheStore } from '../../plugins/store.ts';
import type { Database } from '../../schema/data/database.ts';
import { startCatalog, throwawayDatabaseWhenAvailable, type TestCatalog } from '../helpers/catalog.ts';
import { countingStore, type StoreCalls } from '../helpers/counting-store.ts';
import { startRedis, waitUntil, type RedisServer } from '../helpers/redis.ts';
import { postQuery, sendRaw } from '../helpers/urql.ts';

const TOKEN = 'resolver-cache-token-0123456789';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

interface Instance {
  catalog: TestCatalog;
  calls: StoreCalls;
  /** Holds the next read of this product's row inside the database until released. */
  holdProductRead(id: number): { entered: Promise<void>; release(): void };
}

let prefixes = 0;

/** A catalog server whose store counts its calls and whose database can hold a product read. */
async function start(env: Record<string, string>, databaseUrl?: string): Promise<Instance> {
  let calls!: StoreCalls;
  let hold: { id: number; entered(): void; gate: Promise<void> } | undefined;
  const wrapDatabase = (db: Database): Database => ({
    ...db,
    kind: db.kind,
    transaction: (fn) => db.transaction(fn),
    onStatement: (listener) => db.onStatement(listener),
    close: () => db.close(),
    async query<T>(sql: string, params?: readonly unknown[]): Promise<T[]> {
      const rows = await db.query<T>(sql, params);
      const current = hold;
      if (current && sql.includes('FROM products p WHERE p.id = ANY') && (params?.[0] as number[]).includes(current.id)) {
        hold = undefined;
        current.entered();
        await current.gate;
      }
      return rows;
    },
  });
  const wrapCacheStore = (store: CacheStore): CacheStore => {
    const counted = countingStore(store);
    calls = counted.calls;
    return counted;
  };
  const catalog = await startCatalog('pglite', {
    env: { CACHE_PURGE_TOKEN: TOKEN, REDIS_KEY_PREFIX: `rc${++prefixes}`, ...(databaseUrl && { DATABASE_URL: databaseUrl }), ...env },
    wrapDatabase,
    wrapCacheStore,
  });
  // Redis takes a moment to hand out tickets that store (and the tier to subscribe): until then
  // nothing is cached. Ready once a repeated answer is a hit.
  await waitUntil(async () => (await postQuery(catalog.url, { query: '{ categories { id } }' })).headers.get('x-cache') === 'HIT', 'the cache to store');
  if (env.REDIS_URL && env.CACHE_MEMORY_BYTES !== '0') {
    await waitUntil(() => catalog.server.cache!.stats().local !== null && catalog.server.cache!.stats().local!.entries > 0, 'the in-process tier to fill');
  }
  return {
    catalog,
    calls,
    holdProductRead(id) {
      let entered!: () => void;
      let release!: () => void;
      const reached = new Promise<void>((resolve) => (entered = resolve));
      const gate = new Promise<void>((resolve) => (release = resolve));
      hold = { id, entered, gate };
      return { entered: reached, release };
    },
  };
}

/** The answer's data, its X-Cache and the SQL statements the server sent for it. */
async function read(catalog: TestCatalog, query: string) {
  const { result, statements } = await catalog.countStatements(() => postQuery(catalog.url, { query }));
  const body = JSON.parse(result.body) as { data?: any; errors?: unknown };
  expect(body.errors, query).toBeUndefined();
  return { data: body.data, xcache: result.headers.get('x-cache'), statements: statements.length };
}

async function stats(catalog: TestCatalog): Promise<CacheStats> {
  const answer = await sendRaw(new URL('/cache/stats', catalog.url).toString(), { headers: { authorization: `Bearer ${TOKEN}` } });
  return JSON.parse(answer.body) as CacheStats;
}

async function purge(catalog: TestCatalog, body: object): Promise<void> {
  const answer = await sendRaw(new URL('/cache/purge', catalog.url).toString(), {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(answer.status).toBe(200);
}

const PRODUCT = '{ product(id: "7") { name category { name } } }';
const SEARCH = '{ search(text: "classic tent") { ... on Product { id name } } }';
const CATEGORY = '{ category(id: "7") { products(first: 3) { id name } } }';

const setups: [string, () => Record<string, string>][] = [
  ['memory', () => ({})],
  ['Redis with the in-process tier', () => ({ REDIS_URL: redis.url })],
  ['Redis alone', () => ({ REDIS_URL: redis.url, CACHE_MEMORY_BYTES: '0' })],
];

describe.each(setups)('resolver-level caching on %s', (_name, env) => {
  let instance: Instance;
  let catalog: TestCatalog;
  beforeAll(async () => {
    instance = await start(env());
    catalog = instance.catalog;
  });
  afterAll(() => catalog?.close());

  it('cross-grain eviction: an update evicts the loader value, the field values and every answer holding the product, in one evict', async () => {
    // Warm: answers, the productById loader's row of product 7, the search and category fields.
    for (const query of [PRODUCT, SEARCH, CATEGORY]) await read(catalog, query);
    for (const query of [PRODUCT, SEARCH, CATEGORY]) expect((await read(catalog, query)).xcache).toBe('HIT');
    // Another document over the same product: the answer misses, every value it needs is cached.
    expect(await read(catalog, '{ p: product(id: "7") { id name } }')).toMatchObject({ xcache: 'MISS', statements: 0 });

    const evictions = instance.calls.evict;
    await postQuery(catalog.url, { query: 'mutation { updateProduct(id: "7", input: { name: "Storm Tent" }) { id } }' });
    expect(instance.calls.evict - evictions).toBe(1);

    // Each answer misses and reads the database again: its loader value and field values went too.
    expect(await read(catalog, PRODUCT)).toMatchObject({ xcache: 'MISS', statements: 1, data: { product: { name: 'Storm Tent' } } });
    const search = await read(catalog, '{ search(text: "storm tent") { ... on Product { id name } } }');
    expect(search.data.search).toEqual([{ id: '7', name: 'Storm Tent' }]);
    expect(await read(catalog, SEARCH)).toMatchObject({ xcache: 'MISS', data: { search: [] } });
    const category = await read(catalog, CATEGORY);
    expect(category).toMatchObject({ xcache: 'MISS', statements: 1 });
    expect(category.data.category.products[0]).toEqual({ id: '7', name: 'Storm Tent' });
    // The category's own row was not written: still the loader's.
    expect(await read(catalog, '{ c: category(id: "7") { name } }')).toMatchObject({ statements: 0 });
  });

  it('no stale write-back: a loader read held across an update does not store the row it read', async () => {
    const held = instance.holdProductRead(8);
    const slow = read(catalog, '{ product(id: "8") { name } }');
    await held.entered;
    await postQuery(catalog.url, { query: 'mutation { updateProduct(id: "8", input: { name: "Renamed 8" }) { id } }' });
    held.release();
    await slow;
    const after = await read(catalog, '{ again: product(id: "8") { name } }');
    expect(after.data.again.name).toBe('Renamed 8');
    expect(after.statements).toBe(1);
  });

  it('purges by entity, by type and all reach every grain', async () => {
    const warm = async () => {
      for (const query of ['{ product(id: "9") { name reviews { rating } } }', '{ category(id: "9") { products(first: 2) { id } } }']) await read(catalog, query);
    };
    // Another document over the same values: answered without the database while they are cached.
    const check = () => read(catalog, `{ p${++prefixes}: product(id: "9") { name reviews { rating } } c: category(id: "9") { products(first: 2) { id } } }`);
    await warm();
    expect((await check()).statements).toBe(0);
    await purge(catalog, { entity: { type: 'Product', id: '9' } });
    // The row, its reviews (their list hangs on the product) and the page that holds it.
    expect((await check()).statements).toBe(3);
    await purge(catalog, { type: 'Product' });
    // The row and the page; the reviews' rows are Review's (the loader's value of them stays).
    expect((await check()).statements).toBe(2);
    await purge(catalog, { all: true });
    // Everything: the category's row too.
    expect((await check()).statements).toBe(4);
  });

  it('reports hits, misses and entries per grain', async () => {
    await read(catalog, '{ product(id: "11") { name } }');
    await read(catalog, '{ p: product(id: "11") { name } }');
    await read(catalog, '{ products(first: 2) { id } }');
    const { grains, local } = await stats(catalog);
    expect(grains.function).toMatchObject({ hits: expect.any(Number), misses: expect.any(Number) });
    expect(grains.function!.hits).toBeGreaterThan(0);
    expect(grains.field!.misses).toBeGreaterThan(0);
    if (local === null) {
      expect([grains.response!.entries, grains.function!.entries, grains.field!.entries]).toEqual([null, null, null]);
    } else {
      expect(grains.function!.entries).toBeGreaterThan(0);
      expect(grains.field!.entries).toBeGreaterThan(0);
      expect(grains.response!.entries! + grains.function!.entries! + grains.field!.entries!).toBe(local.entries);
    }
  });
});

describe('resolver-level caching on two instances sharing Redis, each with its in-process tier', () => {
  const database = throwawayDatabaseWhenAvailable();
  let a: Instance;
  let b: Instance;
  beforeAll(async () => {
    const prefix = `pair${++prefixes}`;
    [a, b] = await Promise.all([
      start({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix }, database()?.url),
      start({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix }, database()?.url),
    ]);
  });
  afterAll(async () => {
    await Promise.all([a?.catalog.close(), b?.catalog.close()]);
  });

  it('a write on A drops the loader and field values from B\'s tier through pub/sub', async () => {
    const query = '{ product(id: "12") { name reviews { rating } } }';
    await read(b.catalog, query);
    const other = () => read(b.catalog, `{ p${++prefixes}: product(id: "12") { name reviews { rating } } }`);
    expect((await other()).statements).toBe(0);
    const held = () => b.catalog.server.cache!.stats().grains;
    const before = held();
    expect(before.function!.entries).toBeGreaterThan(0);

    await postQuery(a.catalog.url, { query: 'mutation { updateProduct(id: "12", input: { name: "Renamed 12" }) { id } }' });
    // The eviction reaches B as one message; its tier drops the row, the reviews and the answer.
    await waitUntil(() => held().function!.entries! < before.function!.entries!, "B's tier dropping the product's values");
    const after = await other();
    // Read again from the database (B's own, or the one A wrote to).
    expect(after.statements).toBe(2);
    if (database()) expect(after.data[Object.keys(after.data)[0]].name).toBe('Renamed 12');
  });
});
