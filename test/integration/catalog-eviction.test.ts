/**
 * Eviction through the real catalog server: after a mutation, every cached answer it made
 * wrong is gone before the mutation's response arrives, and answers it did not touch stay.
 * Mutations select only `id`: what they evict must follow from what they wrote, never from
 * what the client chose to see. Each suite writes, so each has a server of its own; within a
 * suite every test writes to products and categories no other test of it reads.
 *
 * Seed facts used below: product i is in category 1 + (i - 1) % 20, so category 7 lists
 * products 7, 27, 47, …; product 7 is "Classic Tent"; the next product created gets id 1001.
 */
import { describe, expect, it } from 'vitest';
import { serverForSuite } from '../helpers/catalog.ts';
import { createLatch, createUrqlClient, createUrqlClientAs, watchLookups, type UrqlTestClient } from '../helpers/urql.ts';

/** Caches `query` and proves it: MISS, then HIT with the same body. Returns its data. */
async function cache(client: UrqlTestClient, query: string): Promise<any> {
  const miss = await client.query(query);
  expect(miss.error, query).toBeUndefined();
  expect(miss.xcache, query).toBe('MISS');
  const hit = await client.query(query);
  expect(hit.xcache, `${query} should be cached before the mutation`).toBe('HIT');
  return miss.data;
}

/** After a mutation: `query` executes again (MISS), and what it stored is served next (HIT). */
async function refreshed(client: UrqlTestClient, query: string): Promise<any> {
  const fresh = await client.query(query);
  expect(fresh.error, query).toBeUndefined();
  expect(fresh.xcache, `${query} should have been evicted`).toBe('MISS');
  const next = await client.query(query);
  expect(next.xcache, query).toBe('HIT');
  expect(next.http.body, query).toBe(fresh.http.body);
  return fresh.data;
}

async function mutate(client: UrqlTestClient, mutation: string): Promise<any> {
  const answer = await client.mutation(mutation);
  expect(answer.error, mutation).toBeUndefined();
  expect(answer.xcache).toBe('BYPASS');
  return answer.data;
}

const ids = (items: { id: string }[]) => items.map((item) => item.id);
const productsOfCategory = (category: number) => Array.from({ length: 50 }, (_, k) => String(category + 20 * k));

describe('eviction on mutations', () => {
  const server = serverForSuite();

  it('updateProduct { id } refreshes the product, the root list and its category\'s list', async () => {
    const client = createUrqlClient(server().url);
    const product = '{ product(id: "7") { name } }';
    const rootList = '{ products { id name } }';
    const categoryList = '{ category(id: "7") { products { id name } } }';
    // A list the product joins by its new name alone.
    const search = '{ search(text: "new") { ... on Product { id } } }';
    expect(await cache(client, product)).toEqual({ product: { name: 'Classic Tent' } });
    await cache(client, rootList);
    await cache(client, categoryList);
    expect(await cache(client, search)).toEqual({ search: [] });

    await mutate(client, 'mutation { updateProduct(id: "7", input: { name: "New" }) { id } }');

    expect(await refreshed(client, product)).toEqual({ product: { name: 'New' } });
    const root = (await refreshed(client, rootList)).products;
    expect(root.find((p: { id: string }) => p.id === '7')).toEqual({ id: '7', name: 'New' });
    const inCategory = (await refreshed(client, categoryList)).category.products;
    expect(inCategory.find((p: { id: string }) => p.id === '7')).toEqual({ id: '7', name: 'New' });
    expect(await refreshed(client, search)).toEqual({ search: [{ id: '7' }] });
  });

  it('createProduct { id } refreshes the lists it joins and a cached null for its id', async () => {
    const client = createUrqlClient(server().url);
    const rootInCategory = '{ products(categoryId: "3", first: 100) { id } }';
    const categoryList = '{ category(id: "3") { products(first: 100) { id } } }';
    // The last page of the root list, which the new product joins at its end (offset 950, not
    // 900: a page of 901…1000 is full and would not change, only its X-Cache would).
    const lastPage = '{ products(first: 100, offset: 950) { id } }';
    const missing = '{ product(id: "1001") { name } }';
    expect(ids((await cache(client, rootInCategory)).products)).toEqual(productsOfCategory(3));
    await cache(client, categoryList);
    const pageBefore = ids((await cache(client, lastPage)).products);
    expect(await cache(client, missing)).toEqual({ product: null });

    const created = await mutate(client, 'mutation { createProduct(input: { name: "Brand New", price: 9.5, categoryId: "3" }) { id } }');
    expect(created).toEqual({ createProduct: { id: '1001' } });

    expect(ids((await refreshed(client, rootInCategory)).products)).toEqual([...productsOfCategory(3), '1001']);
    expect(ids((await refreshed(client, categoryList)).category.products)).toEqual([...productsOfCategory(3), '1001']);
    expect(ids((await refreshed(client, lastPage)).products)).toEqual([...pageBefore, '1001']);
    expect(await refreshed(client, missing)).toEqual({ product: { name: 'Brand New' } });
  });

  it('updateProduct moving a product to another category { id } refreshes both categories\' lists', async () => {
    const client = createUrqlClient(server().url);
    const from = '{ category(id: "12") { products(first: 100) { id } } }';
    const to = '{ category(id: "15") { products(first: 100) { id } } }';
    const itsCategory = '{ product(id: "12") { category { id } } }';
    expect(ids((await cache(client, from)).category.products)).toEqual(productsOfCategory(12));
    expect(ids((await cache(client, to)).category.products)).toEqual(productsOfCategory(15));
    await cache(client, itsCategory);

    await mutate(client, 'mutation { updateProduct(id: "12", input: { categoryId: "15" }) { id } }');

    expect(ids((await refreshed(client, from)).category.products)).toEqual(productsOfCategory(12).filter((id) => id !== '12'));
    expect(ids((await refreshed(client, to)).category.products)).toEqual(['12', ...productsOfCategory(15)]);
    expect(await refreshed(client, itsCategory)).toEqual({ product: { category: { id: '15' } } });
  });

  it('moving a product out of a category refreshes that category\'s pages that did not contain it', async () => {
    // A page after the product shifts when it leaves, though the product is not on it: only the
    // old category's list tag can evict it. The mutation's result holds the product as it is
    // after the move, so the old category has to come from the row as it was before.
    const client = createUrqlClient(server().url);
    const oldPage = '{ category(id: "14") { products(first: 3, offset: 1) { id } } }';
    const newPage = '{ category(id: "16") { products(first: 3, offset: 1) { id } } }';
    expect(ids((await cache(client, oldPage)).category.products)).toEqual(['34', '54', '74']);
    expect(ids((await cache(client, newPage)).category.products)).toEqual(['36', '56', '76']);

    await mutate(client, 'mutation { updateProduct(id: "14", input: { categoryId: "16" }) { id } }');

    expect(ids((await refreshed(client, newPage)).category.products)).toEqual(['16', '36', '56']);
    expect(ids((await refreshed(client, oldPage)).category.products)).toEqual(['54', '74', '94']);
  });

  it('deleteProduct { id } refreshes the lists and makes product(id) null', async () => {
    const client = createUrqlClient(server().url);
    const product = '{ product(id: "9") { name reviews { body } } }';
    const rootList = '{ products(first: 30) { id } }';
    const categoryList = '{ category(id: "9") { products { id } } }';
    expect((await cache(client, product)).product.reviews).toHaveLength(5);
    const rootBefore = ids((await cache(client, rootList)).products);
    expect(rootBefore).toContain('9');
    expect(ids((await cache(client, categoryList)).category.products)).toEqual(productsOfCategory(9).slice(0, 20));

    await mutate(client, 'mutation { deleteProduct(id: "9") { id } }');

    expect(await refreshed(client, product)).toEqual({ product: null });
    const root = ids((await refreshed(client, rootList)).products);
    expect(root.slice(0, 29)).toEqual(rootBefore.filter((id) => id !== '9'));
    expect(root).toHaveLength(30);
    const inCategory = ids((await refreshed(client, categoryList)).category.products);
    expect(inCategory).toEqual(productsOfCategory(9).slice(1, 21));
  });

  it('addReview { id } refreshes the product\'s reviews', async () => {
    const reader = createUrqlClient(server().url);
    const reviews = '{ product(id: "11") { reviews { body author { name } } } }';
    expect((await cache(reader, reviews)).product.reviews).toHaveLength(5);

    await mutate(createUrqlClientAs(server().url, 3), 'mutation { addReview(productId: "11", input: { rating: 5, body: "Fresh review" }) { id } }');

    const after = (await refreshed(reader, reviews)).product.reviews;
    expect(after).toHaveLength(6);
    expect(after.at(-1)).toEqual({ body: 'Fresh review', author: { name: 'Carol Smith' } });
  });
});

describe('no over-eviction', () => {
  const server = serverForSuite();

  it('keeps cached answers that do not contain the written product after updateProduct', async () => {
    const client = createUrqlClient(server().url);
    const alice = createUrqlClientAs(server().url, 1);
    // None of these contains product 7, a list it is in, or a null where it could be.
    const untouched = [
      '{ category(id: "5") { name } }',
      '{ categories { name } }',
      '{ product(id: "1") { reviews { author { name } } } }',
      '{ product(id: "8") { name category { name } } }',
      '{ category(id: "8") { products { name } } }',
    ];
    for (const query of untouched) await cache(client, query);
    await cache(alice, '{ me { name } }');
    const touched = '{ product(id: "7") { name } }';
    await cache(client, touched);

    await mutate(client, 'mutation { updateProduct(id: "7", input: { name: "Renamed" }) { id } }');

    // The mutation did evict: the answer about product 7 is gone…
    expect((await client.query(touched)).xcache).toBe('MISS');
    // …and nothing else.
    for (const query of untouched) expect((await client.query(query)).xcache, query).toBe('HIT');
    expect((await alice.query('{ me { name } }')).xcache).toBe('HIT');
  });

  it('keeps other products\' reviews after addReview', async () => {
    const client = createUrqlClient(server().url);
    const others = ['{ product(id: "28") { reviews { body } } }', '{ product(id: "27") { name } }', '{ products(first: 40) { name } }'];
    for (const query of others) await cache(client, query);
    const own = '{ product(id: "27") { reviews { body } } }';
    await cache(client, own);

    await mutate(createUrqlClientAs(server().url, 3), 'mutation { addReview(productId: "27", input: { rating: 2, body: "Meh" }) { id } }');

    expect((await client.query(own)).xcache).toBe('MISS');
    for (const query of others) expect((await client.query(query)).xcache, query).toBe('HIT');
  });
});

describe('no stale write-back through the real server', () => {
  // The read's ticket is taken at the front's lookup, before yoga; a latch holds the read in
  // execution, so the mutation's eviction falls between its lookup and its store. One latch
  // per test, each on its own operation name and product.
  const before = createLatch('HeldBefore', 'before');
  const after = createLatch('HeldAfter', 'after');
  const late = createLatch('HeldLate', 'after');
  const server = serverForSuite({ plugins: [before.plugin, after.plugin, late.plugin] });
  const rename = (id: string) => `mutation { updateProduct(id: "${id}", input: { name: "Raced" }) { id } }`;

  it('a read held before executing across updateProduct is not stored; the next read is fresh', async () => {
    const client = createUrqlClient(server().url);
    const query = 'query HeldBefore { product(id: "7") { name } }';

    const held = createUrqlClient(server().url).query(query);
    await before.entered;
    await mutate(client, rename('7'));
    before.release();
    // It executed after the mutation committed.
    expect((await held).data).toEqual({ product: { name: 'Raced' } });

    const next = await client.query(query);
    expect([next.xcache, next.data]).toEqual(['MISS', { product: { name: 'Raced' } }]);
    const later = await client.query(query);
    expect([later.xcache, later.data]).toEqual(['HIT', { product: { name: 'Raced' } }]);
  });

  it('stale write-back race: a read that read the old row before updateProduct does not store it', async () => {
    // Held after its resolvers read "Classic Football", before the cache plugin stores the answer.
    const client = createUrqlClient(server().url);
    const query = 'query HeldAfter { product(id: "8") { name } }';

    const held = createUrqlClient(server().url).query(query);
    await after.entered;
    await mutate(client, rename('8'));
    after.release();
    // It may answer what it read: it began before the mutation.
    expect((await held).data).toEqual({ product: { name: 'Classic Football' } });

    const next = await client.query(query);
    expect([next.xcache, next.data]).toEqual(['MISS', { product: { name: 'Raced' } }]);
    const later = await client.query(query);
    expect([later.xcache, later.data]).toEqual(['HIT', { product: { name: 'Raced' } }]);
  });

  it('does not hand a held read\'s old answer to an identical read that arrived after the mutation', async () => {
    const client = createUrqlClient(server().url);
    const query = 'query HeldLate { product(id: "9") { name } }';

    const held = createUrqlClient(server().url).query(query);
    await late.entered;
    await mutate(client, rename('9'));
    // The late read finds the held one in flight and waits for it (coalescing).
    const lookups = watchLookups(server().server.cache!);
    const lateRead = createUrqlClient(server().url).query(query);
    await lookups.reached(1);
    lookups.restore();
    late.release();

    expect((await held).data).toEqual({ product: { name: 'Classic Puzzle' } });
    const lateAnswer = await lateRead;
    expect(lateAnswer.data).toEqual({ product: { name: 'Raced' } });
    expect(lateAnswer.http.headers.get('x-cache-coalesced')).toBeNull();
    expect(late.executions).toBe(2);
    // The late read began after the eviction: its answer is the one stored.
    const next = await client.query(query);
    expect([next.xcache, next.data]).toEqual(['HIT', { product: { name: 'Raced' } }]);
  });
});
