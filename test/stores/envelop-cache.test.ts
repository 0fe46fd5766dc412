/**
 * The envelop adapter under `@envelop/response-cache`'s own plugin, in graphql-yoga over a small
 * shop schema of this file, on the memory store, on a throw-away redis-server and on the tiered
 * pair. Every store is wrapped only to watch it: to wait for the writes envelop does not await,
 * and to hold an eviction or make it fail on purpose.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLClient } from 'graphql-request';
import { createSchema, createYoga } from 'graphql-yoga';
import { useResponseCache } from '@envelop/response-cache';
import { useResponseCache as useYogaResponseCache } from '@graphql-yoga/plugin-response-cache';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createEnvelopCache,
  DEFAULT_ENVELOP_MAX_TTL_MS,
  useEnvelopInvalidationBarrier,
  type EnvelopCache,
  type EnvelopCacheOperation,
} from '../../plugins/envelop-cache.ts';
import { createMemoryStore } from '../../plugins/memory-store.ts';
import { createRedisStore, type RedisStore } from '../../plugins/redis-store.ts';
import { createTieredStore } from '../../plugins/tiered-store.ts';
import type { CacheEntry, CacheStore, ReadTicket } from '../../plugins/store.ts';
import { startRedis, waitUntil, whenReady, type RedisServer } from '../helpers/redis.ts';
import { watchUnhandledRejections } from '../helpers/unhandled-rejections.ts';

const typeDefs = /* GraphQL */ `
  type Product {
    id: ID!
    name: String!
  }
  type Query {
    product(id: ID!): Product
    products: [Product!]!
    shopName: String!
  }
  type Mutation {
    renameProduct(id: ID!, name: String!): Product
    "Answers null: the product is gone, so envelop invalidates every Product."
    deleteProduct(id: ID!): Product
  }
`;

const PRODUCT = /* GraphQL */ `query Product($id: ID!) { product(id: $id) { id name } }`;
const PRODUCTS = /* GraphQL */ `{ products { id name } }`;
const SHOP_NAME = /* GraphQL */ `{ shopName }`;
const RENAME = /* GraphQL */ `mutation Rename($id: ID!, $name: String!) { renameProduct(id: $id, name: $name) { id name } }`;
const DELETE = /* GraphQL */ `mutation Delete($id: ID!) { deleteProduct(id: $id) { id } }`;

interface Clock {
  now(): number;
  advance(ms: number): void;
}

function createClock(): Clock {
  let t = 1_700_000_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

interface Latch {
  /** Resolves once the held operation has arrived and waits. */
  reached: Promise<void>;
  release(): void;
}

function createLatch(): Latch & { arrive(): Promise<void> } {
  let arrived!: () => void;
  let release!: () => void;
  const reached = new Promise<void>((resolve) => (arrived = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  return {
    reached,
    release,
    arrive() {
      arrived();
      return released;
    },
  };
}

/** Lets every callback already queued, and those they queue, run: a few turns of the event loop. */
async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

interface SetCall {
  key: string;
  entry: CacheEntry;
  stored?: boolean;
}

/**
 * The store as it is, watched: records every `set` and what the store answered, waits for the
 * ones in flight (envelop does not await them), and can hold the next eviction or fail evictions.
 */
function watch(store: CacheStore) {
  const sets: SetCall[] = [];
  const evictions: Promise<number>[] = [];
  const inflight = new Set<Promise<unknown>>();
  let held: (Latch & { arrive(): Promise<void> }) | undefined;
  let failing = false;
  const watched: CacheStore = {
    get: (key) => store.get(key),
    set(key, entry, ticket: ReadTicket) {
      const call: SetCall = { key, entry };
      sets.push(call);
      const stored = store.set(key, entry, ticket);
      if (typeof stored === 'boolean') {
        call.stored = stored;
        return stored;
      }
      const done = stored.then((value) => (call.stored = value));
      inflight.add(done);
      void done.then(() => inflight.delete(done));
      return done;
    },
    evict(tags) {
      if (failing) throw new Error('injected: the store cannot be reached');
      const latch = held;
      held = undefined;
      if (latch === undefined) return store.evict(tags);
      const evicted = latch.arrive().then(() => store.evict(tags));
      evictions.push(evicted);
      return evicted;
    },
    clear: () => store.clear(),
    close: () => store.close(),
  };
  return {
    store: watched,
    sets,
    /** The evictions that were held, as the store answers them once released. */
    evictions,
    /** Resolves once every set made so far has been answered by the store. */
    async settled(): Promise<void> {
      while (inflight.size > 0) await Promise.all(inflight);
    },
    holdNextEviction(): Latch {
      held = createLatch();
      return held;
    },
    failEvictions(on: boolean): void {
      failing = on;
    },
  };
}

type Watched = ReturnType<typeof watch>;

interface ShopOptions {
  /** envelop's `ttl`, in ms. @default envelop's (Infinity) */
  ttl?: number;
  /** List `useEnvelopInvalidationBarrier` after envelop's plugin. @default true */
  barrier?: boolean;
  maxTtlMs?: number;
  evictionRetryMs?: number;
}

/** A yoga server with envelop's own response-cache plugin over `createEnvelopCache`. */
function createShop(watched: Watched, clock: Clock, options: ShopOptions = {}) {
  const { ttl, barrier = true, maxTtlMs, evictionRetryMs } = options;
  const products = new Map([
    ['1', { id: '1', name: 'Lamp' }],
    ['2', { id: '2', name: 'Chair' }],
  ]);
  const calls = { product: 0, products: 0, shopName: 0 };
  let hold: ReturnType<typeof createLatch> | undefined;
  const schema = createSchema({
    typeDefs,
    resolvers: {
      Query: {
        async product(_: unknown, { id }: { id: string }) {
          calls.product++;
          const found = products.get(id);
          const snapshot = found && { ...found };
          const latch = hold;
          hold = undefined;
          // What it read stays what it answers, however long it is held.
          if (latch) await latch.arrive();
          return snapshot;
        },
        products() {
          calls.products++;
          return [...products.values()].map((product) => ({ ...product }));
        },
        shopName() {
          calls.shopName++;
          return 'Corner shop';
        },
      },
      Mutation: {
        renameProduct(_: unknown, { id, name }: { id: string; name: string }) {
          const product = products.get(id);
          if (!product) return null;
          product.name = name;
          return { ...product };
        },
        deleteProduct(_: unknown, { id }: { id: string }) {
          products.delete(id);
          return null;
        },
      },
    },
  });
  const errors: { operation: EnvelopCacheOperation; error: unknown }[] = [];
  const cache = createEnvelopCache({
    store: watched.store,
    now: clock.now,
    maxTtlMs,
    evictionRetryMs,
    onError: (error, operation) => errors.push({ operation, error }),
  });
  const responseCache = useResponseCache({ cache, session: () => null, ttl, includeExtensionMetadata: true });
  const plugins = barrier ? [responseCache, useEnvelopInvalidationBarrier(cache)] : [responseCache];
  const yoga = createYoga({ schema, plugins, logging: false });

  /** One request; resolves once the response is in and what it stored has landed. */
  async function query(document: string, variables: Record<string, unknown> = {}) {
    const response = await yoga.fetch('http://shop.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: document, variables }),
    });
    const body = (await response.json()) as { data?: any; errors?: unknown[]; extensions?: any };
    await watched.settled();
    return body;
  }

  return {
    cache,
    calls,
    errors,
    query,
    /** The next `product` resolver reads its product, then waits for the latch before answering. */
    holdNextProductRead(): Latch {
      hold = createLatch();
      return hold;
    },
  };
}

type Shop = ReturnType<typeof createShop>;

/** Starts a read of Product 1 that reads "Lamp" and is held while Product 1 becomes "Desk lamp". */
async function readHeldAcrossRename(shop: Shop) {
  const held = shop.holdNextProductRead();
  const slow = shop.query(PRODUCT, { id: '1' });
  await held.reached;
  await shop.query(RENAME, { id: '1', name: 'Desk lamp' });
  return { slow, release: held.release };
}

let server: RedisServer;
const cleanups: (() => unknown)[] = [];
const rejections = watchUnhandledRejections();
let prefixes = 0;

beforeAll(async () => {
  rejections.start();
  server = await startRedis();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  expect(rejections.reasons.splice(0), 'unhandled rejections').toEqual([]);
});
afterAll(async () => {
  rejections.stop();
  await server?.stop();
});

/** Every command Redis counted, by name: those run inside scripts included. */
async function commandCalls(on: RedisServer = server): Promise<Map<string, number>> {
  const stats = String(await on.command('INFO', 'commandstats'));
  return new Map([...stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map(([, name, calls]) => [name, Number(calls)]));
}

/** The commands no cache should send: they walk or wipe the whole keyspace. */
async function keyspaceWalks(on: RedisServer = server): Promise<string[]> {
  return [...(await commandCalls(on)).keys()].filter((name) => /^(keys|scan|flushall|flushdb)$/.test(name));
}

async function openRedis(clock: Clock, prefix: string): Promise<RedisStore> {
  const store = createRedisStore({ redis: server.url, prefix, now: clock.now });
  await whenReady(store.redis);
  return store;
}

interface Variant {
  name: string;
  /** The Redis key prefix, for stores that write to Redis. */
  redis: boolean;
  open(clock: Clock): Promise<{ store: CacheStore; prefix?: string }>;
}

const variants: Variant[] = [
  { name: 'memory store', redis: false, open: async (clock) => ({ store: createMemoryStore({ now: clock.now }) }) },
  {
    name: 'redis store',
    redis: true,
    async open(clock) {
      const prefix = `env${++prefixes}`;
      return { store: await openRedis(clock, prefix), prefix };
    },
  },
  {
    name: 'tiered store',
    redis: true,
    async open(clock) {
      const prefix = `env${++prefixes}`;
      const store = createTieredStore({ local: createMemoryStore({ now: clock.now }), remote: await openRedis(clock, prefix) });
      await waitUntil(() => store.localTierActive, 'the local tier to be active');
      return { store, prefix };
    },
  },
];

describe.each(variants)('createEnvelopCache under envelop’s useResponseCache, $name', (variant) => {
  async function open(options: ShopOptions = {}) {
    const clock = createClock();
    const { store, prefix } = await variant.open(clock);
    const watched = watch(store);
    const shop = createShop(watched, clock, options);
    cleanups.push(() => shop.cache.close());
    return { clock, watched, shop, prefix };
  }

  afterEach(async () => {
    if (variant.redis) expect(await keyspaceWalks(), 'KEYS, SCAN or FLUSH* reached Redis').toEqual([]);
  });

  it('serves a repeated query from the cache without running its resolver', async () => {
    const { shop } = await open();
    const first = await shop.query(PRODUCT, { id: '1' });
    const second = await shop.query(PRODUCT, { id: '1' });
    expect(first.data).toEqual({ product: { id: '1', name: 'Lamp' } });
    expect(second).toEqual({ data: first.data, extensions: { responseCache: { hit: true } } });
    expect(shop.calls.product).toBe(1);
    // The store's scripts run SADD: command stats see inside scripts, so the check below means something.
    if (variant.redis) expect((await commandCalls()).get('sadd')).toBeGreaterThan(0);
  });

  it('indexes an answer under our tags for its entities (Type:id and type:Type), with an ETag that says nothing', async () => {
    const { shop, watched } = await open();
    await shop.query(PRODUCTS);
    await shop.query(PRODUCT, { id: '1' });
    await shop.query(SHOP_NAME);
    expect(watched.sets.map(({ entry }) => entry.tags)).toEqual([
      ['type:Product', 'Product:1', 'Product:2'],
      ['type:Product', 'Product:1'],
      [],
    ]);
    const etags = watched.sets.map(({ entry }) => entry.etag);
    for (const etag of etags) expect(etag).toMatch(/^"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"$/);
    expect(new Set(etags).size).toBe(etags.length);
    expect(watched.sets.every(({ key, stored }) => key.startsWith('envelop:') && stored)).toBe(true);
  });

  it('a mutation evicts the answers that contain the entity it returned, and only those', async () => {
    const { shop } = await open();
    await shop.query(PRODUCT, { id: '1' });
    await shop.query(PRODUCT, { id: '2' });
    await shop.query(PRODUCTS);
    await shop.query(SHOP_NAME);

    const renamed = await shop.query(RENAME, { id: '1', name: 'Desk lamp' });
    expect(renamed.data).toEqual({ renameProduct: { id: '1', name: 'Desk lamp' } });

    expect((await shop.query(PRODUCT, { id: '1' })).data).toEqual({ product: { id: '1', name: 'Desk lamp' } });
    expect((await shop.query(PRODUCTS)).data.products[0]).toEqual({ id: '1', name: 'Desk lamp' });
    expect((await shop.query(PRODUCT, { id: '2' })).extensions).toEqual({ responseCache: { hit: true } });
    expect((await shop.query(SHOP_NAME)).extensions).toEqual({ responseCache: { hit: true } });
    expect(shop.calls).toEqual({ product: 3, products: 2, shopName: 1 });
  });

  it('a record without an id evicts every answer with that type: from a mutation that returned null, or invalidate() called directly', async () => {
    const { shop } = await open();
    const fill = async () => {
      await shop.query(PRODUCT, { id: '1' });
      await shop.query(PRODUCT, { id: '2' });
      await shop.query(SHOP_NAME);
    };
    await fill();
    // envelop reads `deleteProduct: null` as "a Product changed" and invalidates { typename: 'Product' }.
    expect((await shop.query(DELETE, { id: '1' })).data).toEqual({ deleteProduct: null });
    await fill();
    expect(shop.calls).toEqual({ product: 4, products: 0, shopName: 1 });

    await shop.cache.invalidate([{ typename: 'Product' }]);
    await fill();
    expect(shop.calls).toEqual({ product: 6, products: 0, shopName: 1 });
  });

  it.each([
    { case: 'envelop’s ttl, in ms', options: { ttl: 30_000 }, lifetimeMs: 30_000, reported: 30_000 },
    // JSON has no Infinity: envelop's metadata reaches the client as null.
    { case: 'maxTtlMs for envelop’s default ttl (Infinity)', options: { maxTtlMs: 3_600_000 }, lifetimeMs: 3_600_000, reported: null },
  ])('an answer lives for $case, by the store’s clock and in Redis', async ({ options, lifetimeMs, reported }) => {
    const { shop, clock, watched, prefix } = await open(options);
    const miss = { responseCache: { hit: false, didCache: true, ttl: reported } };
    expect((await shop.query(PRODUCT, { id: '1' })).extensions).toEqual(miss);
    expect(watched.sets[0].entry.maxAgeMs).toBe(lifetimeMs);
    if (prefix !== undefined) {
      const generation = String(await server.command('GET', `{${prefix}}:gen`));
      const pttl = Number(await server.command('PTTL', `{${prefix}}:e:${generation}:${watched.sets[0].key}`));
      expect(pttl).toBeGreaterThan(lifetimeMs - 1_000);
      expect(pttl).toBeLessThanOrEqual(lifetimeMs);
    }
    clock.advance(lifetimeMs - 1);
    expect((await shop.query(PRODUCT, { id: '1' })).extensions).toEqual({ responseCache: { hit: true } });
    clock.advance(1);
    expect((await shop.query(PRODUCT, { id: '1' })).extensions).toEqual(miss);
    expect(shop.calls.product).toBe(2);
  });

  it('stale write-back: a read that began before a mutation does not store its old answer after the invalidation', async () => {
    const { shop, watched } = await open();
    const { slow, release } = await readHeldAcrossRename(shop);
    release();
    // The slow read answers what it read, as it began before the mutation…
    expect((await slow).data).toEqual({ product: { id: '1', name: 'Lamp' } });
    // …but the store refused it, so no later read is served it.
    expect(watched.sets.map(({ stored }) => stored)).toEqual([false]);
    expect((await shop.query(PRODUCT, { id: '1' })).data).toEqual({ product: { id: '1', name: 'Desk lamp' } });
    expect((await shop.query(PRODUCT, { id: '1' })).extensions).toEqual({ responseCache: { hit: true } });
    expect(shop.calls.product).toBe(2);
  });

  it('stale write-back: each request presents its own lookup’s ticket, not one from a later read of the same query', async () => {
    const { shop, watched } = await open();
    const { slow, release } = await readHeldAcrossRename(shop);
    // A later read of the same query, after the invalidation, stores the new answer.
    expect((await shop.query(PRODUCT, { id: '1' })).data).toEqual({ product: { id: '1', name: 'Desk lamp' } });
    release();
    expect((await slow).data).toEqual({ product: { id: '1', name: 'Lamp' } });
    expect(watched.sets.map(({ stored }) => stored)).toEqual([true, false]);
    const after = await shop.query(PRODUCT, { id: '1' });
    expect(after).toEqual({ data: { product: { id: '1', name: 'Desk lamp' } }, extensions: { responseCache: { hit: true } } });
  });

  it('the barrier holds a mutation’s response until its invalidation has reached the store', async () => {
    const { shop, watched } = await open();
    await shop.query(PRODUCT, { id: '1' });
    const eviction = watched.holdNextEviction();
    let answered = false;
    const mutation = shop.query(RENAME, { id: '1', name: 'Desk lamp' }).then((body) => {
      answered = true;
      return body;
    });
    await eviction.reached;
    await turns();
    expect(answered).toBe(false);
    eviction.release();
    expect((await mutation).data).toEqual({ renameProduct: { id: '1', name: 'Desk lamp' } });
    expect((await shop.query(PRODUCT, { id: '1' })).data).toEqual({ product: { id: '1', name: 'Desk lamp' } });
  });

  it('without the barrier envelop answers before its invalidation is done; a lookup meanwhile misses what it evicts, and only that', async () => {
    const { shop, watched } = await open({ barrier: false });
    await shop.query(PRODUCT, { id: '1' });
    await shop.query(PRODUCT, { id: '2' });
    const eviction = watched.holdNextEviction();
    expect((await shop.query(RENAME, { id: '1', name: 'Desk lamp' })).data).toEqual({ renameProduct: { id: '1', name: 'Desk lamp' } });
    await eviction.reached;
    // The old answer is still in the store, and must not be served; the other one may be.
    expect((await shop.query(PRODUCT, { id: '1' })).data).toEqual({ product: { id: '1', name: 'Desk lamp' } });
    expect((await shop.query(PRODUCT, { id: '2' })).extensions).toEqual({ responseCache: { hit: true } });
    eviction.release();
    await watched.evictions[0];
    await shop.query(PRODUCT, { id: '1' });
    expect((await shop.query(PRODUCT, { id: '1' })).extensions).toEqual({ responseCache: { hit: true } });
    expect(shop.calls.product).toBe(4);
  });

  it('a failed invalidation is reported, never fails the mutation, and bypasses the cache until a retry succeeds', async () => {
    const { shop, watched } = await open({ evictionRetryMs: 10 });
    await shop.query(PRODUCT, { id: '1' });
    watched.failEvictions(true);
    const renamed = await shop.query(RENAME, { id: '1', name: 'Desk lamp' });
    expect(renamed.errors).toBeUndefined();
    expect(renamed.data).toEqual({ renameProduct: { id: '1', name: 'Desk lamp' } });
    expect(shop.errors.map(({ operation }) => operation)).toContain('invalidate');
    expect(shop.cache.degraded).toBe(true);
    // The old answer is still in the store: bypassed, neither served nor replaced.
    expect((await shop.query(PRODUCT, { id: '1' })).data).toEqual({ product: { id: '1', name: 'Desk lamp' } });
    expect(watched.sets).toHaveLength(1);

    watched.failEvictions(false);
    await waitUntil(() => !shop.cache.degraded, 'the retried invalidation');
    expect((await shop.query(PRODUCT, { id: '1' })).data).toEqual({ product: { id: '1', name: 'Desk lamp' } });
    expect((await shop.query(PRODUCT, { id: '1' })).extensions).toEqual({ responseCache: { hit: true } });
    expect(shop.calls.product).toBe(3);
  });
});

describe('createEnvelopCache outside envelop’s request flow', () => {
  const failure = new Error('injected: the store cannot be reached');

  it('set without a request’s lookup stores nothing and says why; get and invalidate work without a context', async () => {
    const clock = createClock();
    const store = createMemoryStore({ now: clock.now });
    const errors: EnvelopCacheOperation[] = [];
    const cache = createEnvelopCache({ store, now: clock.now, onError: (_, operation) => errors.push(operation) });
    const result = { data: { product: { id: '1', name: 'Lamp' } } };
    cache.set('q', result, [{ typename: 'Product', id: '1' }], 60_000);
    expect(errors).toEqual(['set']);
    expect(cache.get('q')).toBeNull();

    const request = cache({});
    expect(await request.get('q')).toBeNull();
    await request.set('q', result, [{ typename: 'Product', id: 1 }], 60_000);
    expect(cache.get('q')).toEqual(result);
    // A numeric id is the same entity as its string.
    await cache.invalidate([{ typename: 'Product', id: '1' }]);
    expect(cache.get('q')).toBeNull();
  });

  it('an entry it cannot read is a reported miss that the request may overwrite; close() closes the store', async () => {
    const store = createMemoryStore();
    const errors: EnvelopCacheOperation[] = [];
    const cache = createEnvelopCache({ store, onError: (_, operation) => errors.push(operation) });
    const unreadable = { body: '{"data":', createdAt: Date.now(), maxAgeMs: 60_000, swrMs: 0, scope: 'PUBLIC' as const, etag: '"x"', tags: [] };
    store.set('envelop:q', unreadable, store.get('envelop:q').ticket);

    const request = cache({});
    expect(await request.get('q')).toBeNull();
    expect(errors).toEqual(['get']);
    await request.set('q', { data: { shopName: 'Corner shop' } }, [], 60_000);
    expect(cache.get('q')).toEqual({ data: { shopName: 'Corner shop' } });

    await cache.close();
    expect(store.stats().entries).toBe(0);
  });

  it.each([
    { how: 'rejects', fail: () => Promise.reject(failure) },
    {
      how: 'throws',
      fail: () => {
        throw failure;
      },
    },
  ])('a store that $how gives a reported miss and an unstored answer, never a rejection', async ({ fail }) => {
    const memory = createMemoryStore();
    const errors: [EnvelopCacheOperation, unknown][] = [];
    const onError = (error: unknown, operation: EnvelopCacheOperation) => errors.push([operation, error]);
    const failingGet = createEnvelopCache({ store: { ...memory, get: fail }, onError })({});
    expect(await failingGet.get('q')).toBeNull();
    // The lookup that found nothing, then the store fails the write.
    const failingSet = createEnvelopCache({ store: { ...memory, set: fail }, onError })({});
    expect(await failingSet.get('q')).toBeNull();
    await failingSet.set('q', { data: {} }, [], 60_000);
    expect(errors).toEqual([
      ['get', failure],
      ['set', failure],
    ]);
  });

  it('defaults: an infinite ttl is kept one day; a failed invalidation is retried after 100 ms, then backing off to every second', async () => {
    const watched = watch(createMemoryStore());
    const cache = createEnvelopCache({ store: watched.store });
    const request = cache({});
    expect(await request.get('q')).toBeNull();
    await request.set('q', { data: {} }, [{ typename: 'Product', id: '1' }], Infinity);
    expect(watched.sets[0].entry.maxAgeMs).toBe(DEFAULT_ENVELOP_MAX_TTL_MS);
    expect(DEFAULT_ENVELOP_MAX_TTL_MS).toBe(24 * 60 * 60 * 1000);

    vi.useFakeTimers();
    try {
      watched.failEvictions(true);
      await cache.invalidate([{ typename: 'Product', id: '1' }]);
      await vi.advanceTimersByTimeAsync(100 + 200 + 400);
      expect(cache.degraded).toBe(true);
      watched.failEvictions(false);
      // The fourth retry waits 800 ms, the ones after it a second.
      await vi.advanceTimersByTimeAsync(799);
      expect(cache.degraded).toBe(true);
      await vi.advanceTimersByTimeAsync(1);
      expect(cache.degraded).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects a configuration it cannot use, showing the value', () => {
    const store = createMemoryStore();
    expect(() => createEnvelopCache({ store: undefined as unknown as CacheStore })).toThrow(
      'createEnvelopCache: expected store to be a cache store (createMemoryStore, createRedisStore or createTieredStore), got undefined',
    );
    expect(() => createEnvelopCache({ store, maxTtlMs: Infinity })).toThrow('expected maxTtlMs to be a positive whole number of ms, got Infinity');
    expect(() => createEnvelopCache({ store, evictionRetryMs: 0 })).toThrow('expected evictionRetryMs to be a positive number of ms, got 0');
    expect(() => useEnvelopInvalidationBarrier({} as EnvelopCache)).toThrow('expected the cache createEnvelopCache returned');
  });
});

describe('createEnvelopCache on Redis, over HTTP', () => {
  it('two instances share one Redis: a hit on one, and the other’s mutation evicts it before its response', async () => {
    const prefix = `env${++prefixes}`;
    const products = new Map([['1', { id: '1', name: 'Lamp' }]]);
    const instance = async () => {
      const calls = { product: 0 };
      const store = createRedisStore({ redis: server.url, prefix });
      await whenReady(store.redis);
      const watched = watch(store);
      const cache = createEnvelopCache({ store: watched.store });
      const schema = createSchema({
        typeDefs,
        resolvers: {
          Query: {
            product: (_: unknown, { id }: { id: string }) => {
              calls.product++;
              return { ...products.get(id) };
            },
          },
          Mutation: {
            renameProduct: (_: unknown, { id, name }: { id: string; name: string }) => {
              products.get(id)!.name = name;
              return { ...products.get(id) };
            },
          },
        },
      });
      const yoga = createYoga({
        schema,
        plugins: [useResponseCache({ cache, session: () => null }), useEnvelopInvalidationBarrier(cache)],
        logging: false,
      });
      const http: Server = createServer(yoga);
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      cleanups.push(async () => {
        await new Promise((resolve) => http.close(resolve));
        await cache.close();
      });
      const client = new GraphQLClient(`http://127.0.0.1:${(http.address() as AddressInfo).port}/graphql`);
      return { calls, client, settled: watched.settled };
    };
    const a = await instance();
    const b = await instance();

    expect(await a.client.request(PRODUCT, { id: '1' })).toEqual({ product: { id: '1', name: 'Lamp' } });
    await a.settled();
    expect(await b.client.request(PRODUCT, { id: '1' })).toEqual({ product: { id: '1', name: 'Lamp' } });
    expect(b.calls.product).toBe(0);

    await a.client.request(RENAME, { id: '1', name: 'Desk lamp' });
    expect(await b.client.request(PRODUCT, { id: '1' })).toEqual({ product: { id: '1', name: 'Desk lamp' } });
    expect(b.calls.product).toBe(1);
    expect(await keyspaceWalks()).toEqual([]);
  });
});

describe('createEnvelopCache under graphql-yoga’s response-cache plugin', () => {
  it('serves hits, answers 304 to its ETag, and evicts on a mutation (the plugin looks keys up without a context, then envelop per request)', async () => {
    const clock = createClock();
    const watched = watch(createMemoryStore({ now: clock.now }));
    const cache = createEnvelopCache({ store: watched.store, now: clock.now });
    cleanups.push(() => cache.close());
    const names = new Map([['1', 'Lamp']]);
    let calls = 0;
    const schema = createSchema({
      typeDefs,
      resolvers: {
        Query: {
          product: (_: unknown, { id }: { id: string }) => {
            calls++;
            return { id, name: names.get(id) };
          },
        },
        Mutation: {
          renameProduct: (_: unknown, { id, name }: { id: string; name: string }) => {
            names.set(id, name);
            return { id, name };
          },
        },
      },
    });
    const yoga = createYoga({
      schema,
      plugins: [useYogaResponseCache({ cache, session: () => null }), useEnvelopInvalidationBarrier(cache)],
      logging: false,
    });
    const post = (query: string, variables: object, headers: Record<string, string> = {}) =>
      yoga.fetch('http://shop.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query, variables }),
      });

    const miss = await post(PRODUCT, { id: '1' });
    const etag = miss.headers.get('etag');
    expect(await miss.json()).toEqual({ data: { product: { id: '1', name: 'Lamp' } } });
    expect(await (await post(PRODUCT, { id: '1' })).json()).toEqual({ data: { product: { id: '1', name: 'Lamp' } } });
    expect(calls).toBe(1);
    expect(etag).toBeTruthy();
    expect((await post(PRODUCT, { id: '1' }, { 'if-none-match': etag! })).status).toBe(304);

    await post(RENAME, { id: '1', name: 'Desk lamp' });
    expect(await (await post(PRODUCT, { id: '1' })).json()).toEqual({ data: { product: { id: '1', name: 'Desk lamp' } } });
    expect(calls).toBe(2);
    expect(watched.sets.map(({ stored }) => stored)).toEqual([true, true]);
  });
});

describe('createEnvelopCache when Redis goes away', () => {
  it('answers every request without a cache while Redis is down, never throwing into envelop, and resumes when it is back', async () => {
    const own = await startRedis();
    cleanups.push(() => own.stop());
    const clock = createClock();
    const store = createRedisStore({ redis: own.url, prefix: 'down', now: clock.now, commandTimeoutMs: 100 });
    await whenReady(store.redis);
    const watched = watch(store);
    const shop = createShop(watched, clock, { evictionRetryMs: 20 });
    cleanups.push(() => shop.cache.close());

    await shop.query(PRODUCT, { id: '1' });
    await own.kill();
    await waitUntil(() => store.redis.status !== 'ready', 'the client to notice');

    expect(await shop.query(PRODUCT, { id: '1' })).toEqual({
      data: { product: { id: '1', name: 'Lamp' } },
      extensions: { responseCache: { hit: false, didCache: true, ttl: null } },
    });
    const renamed = await shop.query(RENAME, { id: '1', name: 'Desk lamp' });
    expect(renamed.errors).toBeUndefined();
    expect(renamed.data).toEqual({ renameProduct: { id: '1', name: 'Desk lamp' } });
    expect(shop.cache.degraded).toBe(true);
    expect(new Set(shop.errors.map(({ operation }) => operation))).toEqual(new Set(['invalidate']));
    expect((await shop.query(PRODUCT, { id: '1' })).data).toEqual({ product: { id: '1', name: 'Desk lamp' } });

    await own.restart();
    await waitUntil(() => !shop.cache.degraded, 'the retried invalidation');
    await shop.query(PRODUCT, { id: '1' });
    expect((await shop.query(PRODUCT, { id: '1' })).extensions).toEqual({ responseCache: { hit: true } });
    expect(shop.calls.product).toBe(4);
    expect(await keyspaceWalks(own)).toEqual([]);
  });
});
