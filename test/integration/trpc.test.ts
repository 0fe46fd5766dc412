/**
 * The catalog's tRPC procedures on the response cache, through the real HTTP server and
 * `@trpc/client` (`httpBatchLink` and `httpLink`, queries as GET), on the in-memory store: hits,
 * the HTTP headers of batches, PRIVATE isolation in mixed batches, eviction across the two
 * protocols both ways, no stale write-back, coalescing, and errors and bad input never cached.
 * The client is typed by the router (`createTRPCClient<AppRouter>`), with no casts.
 *
 * Seed facts: product i is in category 1 + (i - 1) % 20 (category 7 lists 7, 27, 47, …); users
 * 1 to 50, each with an email of their own; the next product created gets id 1001. Each test
 * writes to products no other test of its suite reads.
 */
import { TRPCClientError } from '@trpc/client';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { engineOf, type CacheEngine } from '../../plugins/response-cache.ts';
import { serverForSuite } from '../helpers/catalog.ts';
import { postGraphQL } from '../helpers/processes.ts';
import { createCatalogTrpcClient, createReadLatch, type CatalogTrpcClient } from '../helpers/trpc.ts';

/** A tRPC call that must be cached: MISS, then HIT with the same data. */
async function cached<T>(trpc: CatalogTrpcClient, call: () => Promise<T>): Promise<T> {
  const miss = await call();
  expect(trpc.last().xCache).toBe('MISS');
  const hit = await call();
  expect(trpc.last().xCache, 'cached before the write').toBe('HIT');
  expect(hit).toEqual(miss);
  return miss;
}

/** After a write: the call executes again (MISS) and its new output is served next (HIT). */
async function refreshed<T>(trpc: CatalogTrpcClient, call: () => Promise<T>): Promise<T> {
  const fresh = await call();
  expect(trpc.last().xCache, 'evicted by the write').toBe('MISS');
  const next = await call();
  expect(trpc.last().xCache).toBe('HIT');
  expect(next).toEqual(fresh);
  return fresh;
}

async function graphql(url: string, query: string, headers: Record<string, string> = {}) {
  const answer = await postGraphQL<any>(url, query, undefined, { headers });
  expect(answer.errors, query).toBeUndefined();
  return answer;
}

async function cachedGraphQL(url: string, query: string): Promise<any> {
  const miss = await graphql(url, query);
  expect(miss.xCache, query).toBe('MISS');
  expect((await graphql(url, query)).xCache, `${query} cached before the write`).toBe('HIT');
  return miss.data;
}

async function refreshedGraphQL(url: string, query: string): Promise<any> {
  const fresh = await graphql(url, query);
  expect(fresh.xCache, `${query} evicted by the write`).toBe('MISS');
  return fresh.data;
}

const ids = (items: { id: string }[]) => items.map((item) => item.id);

describe('tRPC procedures on the cache', () => {
  const server = serverForSuite();

  it('answers a query MISS, then HIT from the store, as GET with Cache-Control, batched or not', async () => {
    for (const batch of [true, false]) {
      const trpc = createCatalogTrpcClient(server().url, { batch });
      const product = await cached(trpc, () => trpc.client.product.byId.query({ id: batch ? '2' : '3' }));
      expect(product).toMatchObject({ id: batch ? '2' : '3', category: { id: batch ? '2' : '3' } });
      expect(product!.reviews).toHaveLength(5);
      expect(trpc.responses.map((response) => response.method)).toEqual(['GET', 'GET']);
      expect(trpc.responses[0].cacheControl).toBe('max-age=60, public');
      expect(trpc.last().cacheControl).toMatch(/^max-age=(60|59), public$/);
      expect(trpc.last().vary).toBe('Accept');
      expect(trpc.last().url).toContain(batch ? 'batch=1' : 'product.byId?');
    }
  });

  it('gives a batch one set of headers: HIT only when every call hit, the fewest seconds left, no-store for mutations', async () => {
    const trpc = createCatalogTrpcClient(server().url);
    await trpc.client.category.list.query();
    const [categories, product] = await Promise.all([trpc.client.category.list.query(), trpc.client.product.byId.query({ id: '4' })]);
    expect(trpc.responses).toHaveLength(2);
    expect(categories).toHaveLength(20);
    expect(product?.id).toBe('4');
    // One call hit, one missed: the batch is a MISS, and lives as long as its shortest call (60 s, not 300).
    expect(trpc.last()).toMatchObject({ xCache: 'MISS', cacheControl: 'max-age=60, public' });
    await Promise.all([trpc.client.category.list.query(), trpc.client.product.byId.query({ id: '4' })]);
    expect(trpc.last()).toMatchObject({ xCache: 'HIT' });
    expect(trpc.last().cacheControl).toMatch(/^max-age=(60|59), public$/);

    const signedIn = createCatalogTrpcClient(server().url, { userId: 5 });
    const created = await signedIn.client.review.add.mutate({ productId: '64', input: { rating: 5, body: 'Sturdy.' } });
    expect(created).toMatchObject({ productId: '64', authorId: '5', rating: 5 });
    expect(signedIn.last()).toMatchObject({ method: 'POST', cacheControl: 'no-store', xCache: 'BYPASS' });
  });

  it('keeps PRIVATE outputs per session: a batch mixing PUBLIC and PRIVATE procedures is never shared (GHSA-8r69-3cvp-wxc3)', async () => {
    const asUser = (userId: number) => createCatalogTrpcClient(server().url, { userId });
    const mixed = (trpc: CatalogTrpcClient) => Promise.all([trpc.client.product.byId.query({ id: '5' }), trpc.client.me.query()]);

    const three = asUser(3);
    const [, me3] = await mixed(three);
    expect(me3).toEqual({ id: '3', name: expect.any(String), email: expect.stringContaining('@example.com') });
    expect(three.last()).toMatchObject({ xCache: 'MISS', cacheControl: 'max-age=60, private', vary: 'Accept, Authorization' });
    await mixed(three);
    expect(three.last()).toMatchObject({ xCache: 'HIT', vary: 'Accept, Authorization' });
    expect(three.last().cacheControl).toMatch(/^max-age=(60|59), private$/);

    // Another session never gets user 3's output, whatever is cached.
    const four = asUser(4);
    const [, me4] = await mixed(four);
    expect(me4).toMatchObject({ id: '4', email: expect.stringContaining('@example.com') });
    expect(me4!.email).not.toBe(me3!.email);
    expect(four.last()).toMatchObject({ xCache: 'MISS', cacheControl: 'max-age=60, private' });

    // Without a session the PRIVATE call is neither read nor stored, and the batch is not cacheable.
    const anonymous = createCatalogTrpcClient(server().url);
    for (let i = 0; i < 2; i++) {
      const [product, me] = await mixed(anonymous);
      expect(product?.id).toBe('5');
      expect(me).toBeNull();
      expect(anonymous.last()).toMatchObject({ xCache: 'BYPASS', cacheControl: 'no-store' });
    }
    // Alone, the PUBLIC call is shared with everyone.
    await anonymous.client.product.byId.query({ id: '5' });
    expect(anonymous.last()).toMatchObject({ xCache: 'HIT', vary: 'Accept' });
    expect(anonymous.last().cacheControl).toMatch(/^max-age=(60|59), public$/);
  });

  it('never caches a failed call nor refused input, and names the bad field', async () => {
    const trpc = createCatalogTrpcClient(server().url);
    const before = engineOf(server().server.cache!).store.stats!().entries;
    for (let i = 0; i < 2; i++) {
      const negative = await trpc.client.product.list.query({ first: -1 }).catch((error: unknown) => error);
      expect(negative).toBeInstanceOf(TRPCClientError);
      expect((negative as TRPCClientError<any>).message).toBe('expected first to be 0 or more, got -1');
      expect((negative as TRPCClientError<any>).data).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400 });
      expect(trpc.last()).toMatchObject({ status: 400, cacheControl: 'no-store' });
      expect(trpc.last().xCache).not.toBe('HIT');

      const wrongType = await fetch(`${server().url.replace('/graphql', '/trpc')}/product.list?input=${encodeURIComponent('{"first":"ten"}')}`);
      const body = (await wrongType.json()) as { error: { message: string; data: { code: string } } };
      expect(wrongType.status).toBe(400);
      expect(body.error.data.code).toBe('BAD_REQUEST');
      expect(body.error.message).toMatch(/^invalid input: first: /);
      expect(wrongType.headers.get('cache-control')).toBe('no-store');
    }
    expect(engineOf(server().server.cache!).store.stats!().entries).toBe(before);
  });

  it('refuses a body over the server limit (MAX_BODY_BYTES) with 413, as for GraphQL', async () => {
    const name = 'x'.repeat(1024 * 1024 + 1);
    const response = await fetch(`${server().url.replace('/graphql', '/trpc')}/product.create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, price: 1, categoryId: '1' }),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ errors: [{ extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
  });

  describe('eviction across protocols', () => {
    it('a GraphQL updateProduct evicts cached product.byId, product.list and category.byId outputs', async () => {
      const { url } = server();
      const trpc = createCatalogTrpcClient(url);
      const byId = () => trpc.client.product.byId.query({ id: '7' });
      const inCategory = () => trpc.client.product.list.query({ categoryId: '7' });
      const all = () => trpc.client.product.list.query({ first: 10 });
      const category = () => trpc.client.category.byId.query({ id: '7' });
      const otherCategory = () => trpc.client.category.byId.query({ id: '8' });
      await cached(trpc, byId);
      await cached(trpc, inCategory);
      await cached(trpc, all);
      await cached(trpc, category);
      await cached(trpc, otherCategory);

      await graphql(url, 'mutation { updateProduct(id: "7", input: { price: 123.5 }) { id } }');

      expect((await refreshed(trpc, byId))?.price).toBe(123.5);
      expect((await refreshed(trpc, inCategory)).find((p) => p.id === '7')?.price).toBe(123.5);
      expect((await refreshed(trpc, all)).find((p) => p.id === '7')?.price).toBe(123.5);
      expect((await refreshed(trpc, category))?.products.find((p) => p.id === '7')?.price).toBe(123.5);
      // Category 8 holds nothing the write touched.
      await otherCategory();
      expect(trpc.last().xCache).toBe('HIT');
    });

    it('a tRPC product.update that moves a product evicts GraphQL answers and tRPC outputs of both categories', async () => {
      const { url } = server();
      const trpc = createCatalogTrpcClient(url);
      // A page of the left category that never held product 29: only the list it left names it.
      const left = '{ category(id: "9") { products(first: 1, offset: 2) { id } } }';
      const joined = '{ category(id: "10") { products(first: 100) { id } } }';
      const product = '{ product(id: "29") { price category { id } } }';
      expect(ids((await cachedGraphQL(url, left)).category.products)).toEqual(['49']);
      expect(ids((await cachedGraphQL(url, joined)).category.products)).not.toContain('29');
      await cachedGraphQL(url, product);
      const listOfJoined = () => trpc.client.product.list.query({ categoryId: '10', first: 100 });
      const pageOfLeft = () => trpc.client.product.list.query({ categoryId: '9', first: 1, offset: 2 });
      expect(ids(await cached(trpc, listOfJoined))).not.toContain('29');
      expect(ids(await cached(trpc, pageOfLeft))).toEqual(['49']);

      const moved = await trpc.client.product.update.mutate({ id: '29', input: { categoryId: '10', price: 7.25 } });
      expect(moved).toMatchObject({ id: '29', categoryId: '10', price: 7.25 });

      expect(ids((await refreshedGraphQL(url, left)).category.products)).toEqual(['69']);
      expect(ids((await refreshedGraphQL(url, joined)).category.products)).toContain('29');
      expect((await refreshedGraphQL(url, product)).product).toEqual({ price: 7.25, category: { id: '10' } });
      expect(ids(await refreshed(trpc, listOfJoined))).toContain('29');
      expect(ids(await refreshed(trpc, pageOfLeft))).toEqual(['69']);
    });

    it('tRPC product.create, review.add and product.delete evict what GraphQL and tRPC read of them', async () => {
      const { url } = server();
      const trpc = createCatalogTrpcClient(url, { userId: 8 });
      const unknown = '{ product(id: "1001") { name } }';
      expect((await cachedGraphQL(url, unknown)).product).toBeNull();
      expect(await cached(trpc, () => trpc.client.product.byId.query({ id: '1001' }))).toBeNull();
      const category11 = () => trpc.client.product.list.query({ categoryId: '11', first: 100 });
      await cached(trpc, category11);

      const created = await trpc.client.product.create.mutate({ name: 'Folding Chair', price: 19.5, categoryId: '11' });
      expect(created).toMatchObject({ id: '1001', categoryId: '11' });
      expect((await refreshedGraphQL(url, unknown)).product).toEqual({ name: 'Folding Chair' });
      expect(await refreshed(trpc, () => trpc.client.product.byId.query({ id: '1001' }))).toMatchObject({ name: 'Folding Chair', reviews: [] });
      expect(ids(await refreshed(trpc, category11))).toContain('1001');

      const reviews = '{ product(id: "31") { reviews { id } } }';
      const reviewed = () => trpc.client.product.byId.query({ id: '31' });
      expect((await cachedGraphQL(url, reviews)).product.reviews).toHaveLength(5);
      await cached(trpc, reviewed);
      await trpc.client.review.add.mutate({ productId: '31', input: { rating: 4, body: 'Good.' } });
      expect((await refreshedGraphQL(url, reviews)).product.reviews).toHaveLength(6);
      expect((await refreshed(trpc, reviewed))?.reviews).toHaveLength(6);

      await trpc.client.product.delete.mutate({ id: '1001' });
      expect((await refreshedGraphQL(url, unknown)).product).toBeNull();
      expect(await refreshed(trpc, () => trpc.client.product.byId.query({ id: '1001' }))).toBeNull();
      expect(ids(await refreshed(trpc, category11))).not.toContain('1001');
    });

    it('purges by entity, type and all evict tRPC outputs too', async () => {
      const { server: catalog } = server();
      const trpc = createCatalogTrpcClient(server().url);
      const call = () => trpc.client.product.byId.query({ id: '33' });
      const search = () => trpc.client.search.query({ text: 'tent' });
      await cached(trpc, call);
      await cached(trpc, search);
      expect(await catalog.cache!.evictEntity('Product', '33')).toMatchObject({ pending: false });
      await refreshed(trpc, call);
      // A search result carries its __typename: the Category results are tagged as Categories.
      expect(await catalog.cache!.evictType('Category')).toMatchObject({ pending: false });
      await refreshed(trpc, search);
      await catalog.cache!.evictAll();
      await refreshed(trpc, call);
    });
  });
});

describe('tRPC races', () => {
  const latch = createReadLatch();
  const server = serverForSuite({ wrapDatabase: latch.wrap });

  it('a product.byId read that straddles a GraphQL write is served but not stored (no stale write-back)', async () => {
    const { url } = server();
    const trpc = createCatalogTrpcClient(url);
    const read = latch.arm();
    const slow = trpc.client.product.byId.query({ id: '12' });
    await read.entered;
    // The write commits, evicts and answers while the read holds the row as it was.
    await graphql(url, 'mutation { updateProduct(id: "12", input: { price: 55.5 }) { id } }');
    read.release();
    expect((await slow)?.price).not.toBe(55.5);
    const after = await trpc.client.product.byId.query({ id: '12' });
    expect(after?.price).toBe(55.5);
    expect(trpc.last().xCache).toBe('MISS');
  });

  it('a GraphQL read that straddles a tRPC write is not stored either', async () => {
    const { url } = server();
    const trpc = createCatalogTrpcClient(url);
    const read = latch.arm();
    const query = '{ product(id: "13") { price } }';
    const slow = postGraphQL<any>(url, query);
    await read.entered;
    await trpc.client.product.update.mutate({ id: '13', input: { price: 66.5 } });
    read.release();
    expect((await slow).data.product.price).not.toBe(66.5);
    const after = await graphql(url, query);
    expect(after).toMatchObject({ xCache: 'MISS', data: { product: { price: 66.5 } } });
  });

  it('identical calls in flight share one execution: the follower is a coalesced MISS', async () => {
    const { url, server: catalog } = server();
    const engine = engineOf(catalog.cache!);
    const calls = watchValueCalls(engine);
    try {
      const leader = createCatalogTrpcClient(url);
      const follower = createCatalogTrpcClient(url);
      const read = latch.arm();
      const { result, statements } = await server().countStatements(async () => {
        const first = leader.client.product.byId.query({ id: '14' });
        await read.entered;
        const second = follower.client.product.byId.query({ id: '14' });
        await calls.reached(2);
        read.release();
        return Promise.all([first, second]);
      });
      expect(result[1]).toEqual(result[0]);
      expect(leader.last()).toMatchObject({ xCache: 'MISS', coalesced: null });
      expect(follower.last()).toMatchObject({ xCache: 'MISS', coalesced: '1' });
      expect(statements.filter(({ sql }) => /FROM products p WHERE p.id = ANY/i.test(sql))).toHaveLength(1);
    } finally {
      calls.restore();
    }
  });
});

describe('a tRPC write whose eviction the store cannot take', () => {
  let failing = false;
  const server = serverForSuite({
    env: { CACHE_EVICTION_WAIT_MS: '50' },
    wrapCacheStore: (store) => ({
      get: (key) => store.get(key),
      set: (key, entry, ticket) => store.set(key, entry, ticket),
      evict: (tags) => (failing ? Promise.reject(new Error('store unreachable')) : store.evict(tags)),
      clear: () => store.clear(),
      close: () => store.close(),
    }),
  });

  it('answers CACHE_EVICTION_PENDING, as a GraphQL mutation does, and the cache bypasses until a retry applies it', async () => {
    const { url, server: catalog } = server();
    const trpc = createCatalogTrpcClient(url);
    const byId = () => trpc.client.product.byId.query({ id: '18' });
    await cached(trpc, byId);
    failing = true;
    const error = await trpc.client.product.update.mutate({ id: '18', input: { price: 18.5 } }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<any>).message).toMatch(/^CACHE_EVICTION_PENDING: the write succeeded/);
    expect(catalog.cache!.degraded).toBe(true);
    // Degraded: neither read nor written, so the write shows.
    expect((await byId())?.price).toBe(18.5);
    expect(trpc.last()).toMatchObject({ xCache: 'BYPASS', cacheControl: 'no-store' });
    failing = false;
    expect(await catalog.cache!.evictAll()).toMatchObject({ pending: false });
    expect(catalog.cache!.degraded).toBe(false);
    expect((await refreshed(trpc, byId))?.price).toBe(18.5);
  });
});

/** Resolves once the value cache has been asked `n` times; a follower joins its leader in that same call. */
function watchValueCalls(engine: CacheEngine) {
  const values = engine.values;
  const original = values.get;
  const bound = original.bind(values);
  let count = 0;
  const waiters: { n: number; resolve(): void }[] = [];
  (values as { get: typeof original }).get = ((request, compute) => {
    const served = bound(request, compute);
    count++;
    for (const waiter of waiters.filter((w) => w.n <= count)) waiter.resolve();
    return served;
  }) as typeof original;
  return {
    reached: (n: number) => new Promise<void>((resolve) => (count >= n ? resolve() : waiters.push({ n, resolve }))),
    restore: () => void ((values as { get: typeof original }).get = original),
  };
}

describe('the typed client', () => {
  it('takes its input and output types from the router', () => {
    const { client } = createCatalogTrpcClient('http://127.0.0.1:1/graphql');
    type Product = Awaited<ReturnType<typeof client.product.byId.query>>;
    expectTypeOf<NonNullable<Product>['price']>().toEqualTypeOf<number>();
    expectTypeOf<NonNullable<Product>['reviews'][number]['author']>().toEqualTypeOf<{ id: string; name: string } | null>();
    expectTypeOf<Awaited<ReturnType<typeof client.me.query>>>().toEqualTypeOf<{ id: string; name: string; email: string } | null>();
    // @ts-expect-error: first is a number.
    void client.product.list.query({ first: 'ten' }).catch(() => undefined);
    // @ts-expect-error: ids are strings.
    void client.product.byId.query({ id: 7 }).catch(() => undefined);
    // @ts-expect-error: a mutation is not a query.
    void client.product.update.query;
  });
});
