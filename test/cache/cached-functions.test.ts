/**
 * The function grain in process: `cache.cached` and `cache.cachedBatch` (behind a per-request
 * DataLoader) over a small bookshop schema whose resolvers read through them, on a memory store
 * that counts its calls, with a controlled clock and latches where an interleaving matters.
 */
import DataLoader from 'dataloader';
import { createSchema, createYoga } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { cacheDirectivesTypeDefs, cacheTags, createResponseCache, useResponseCache, type CacheEvent } from '../../plugins/index.ts';
import { createMemoryStore } from '../../plugins/memory-store.ts';
import { countingStore } from '../helpers/counting-store.ts';
import { createClock } from '../helpers/in-process.ts';
import { latch } from '../helpers/latch.ts';

interface BookRow {
  id: string;
  title: string;
  shelf: string;
}

const typeDefs = /* GraphQL */ `
  type Query {
    book(id: ID!): Book
    books(ids: [ID!]!): [Book]!
    shelf(name: String!): [Book!]!
    cover(id: ID!): String
  }
  type Book @cacheControl(maxAge: 300) {
    id: ID!
    title: String!
  }
  type Mutation {
    renameBook(id: ID!, title: String!): Book!
    addBook(id: ID!, title: String!, shelf: String!): Book!
  }
`;

function bookshop() {
  const clock = createClock();
  const store = countingStore(createMemoryStore({ now: clock.now }));
  const rows = new Map<string, BookRow>([
    ['1', { id: '1', title: 'Dune', shelf: 'sf' }],
    ['2', { id: '2', title: 'Emma', shelf: 'classics' }],
    ['3', { id: '3', title: 'Ubik', shelf: 'sf' }],
  ]);
  const calls = { bookById: 0, shelf: 0, cover: 0 };
  const batches: string[][] = [];
  const warnings: string[] = [];
  const events: CacheEvent[] = [];
  let hold: { wait(): Promise<void> } | undefined;
  const holding = async () => {
    const current = hold;
    hold = undefined;
    await current?.wait();
  };

  // The cached functions are made once the cache exists; the resolvers reach them through `fns`.
  const fns = {} as {
    bookById: (id: string) => Promise<BookRow | null>;
    booksByIds: (ids: readonly string[]) => Promise<(BookRow | null | Error)[]>;
    shelf: (name: string) => Promise<BookRow[]>;
    cover: (id: string) => Promise<unknown>;
  };
  const schema = createSchema<{ loader: DataLoader<string, BookRow | null> }>({
    typeDefs: [cacheDirectivesTypeDefs, typeDefs],
    resolvers: {
      Query: {
        book: (_, { id }) => fns.bookById(id),
        books: (_, { ids }, { loader }) => loader.loadMany(ids),
        shelf: (_, { name }) => fns.shelf(name),
        cover: async (_, { id }) => String(await fns.cover(id)),
      },
      Mutation: {
        renameBook: (_, { id, title }) => {
          const row = { ...rows.get(id)!, title };
          rows.set(id, row);
          return row;
        },
        addBook: (_, { id, title, shelf }) => {
          const row = { id, title, shelf };
          rows.set(id, row);
          return row;
        },
      },
    },
  });
  const cache = createResponseCache({
    schema,
    store,
    now: clock.now,
    logger: { warn: (message) => void warnings.push(message), error() {} },
    onHit: (event) => void events.push(event),
    onMiss: (event) => void events.push(event),
  });
  fns.bookById = cache.cached(
    async (id: string) => {
      calls.bookById++;
      const row = rows.get(id);
      await holding();
      return row ? { ...row } : null;
    },
    { name: 'bookById', maxAge: 60, type: 'Book' },
  );
  fns.booksByIds = cache.cachedBatch(
    async (ids: readonly string[]) => {
      batches.push([...ids]);
      const found = ids.map((id) => (rows.has(id) ? { ...rows.get(id)! } : id === 'broken' ? new Error('no such row') : null));
      await holding();
      return found;
    },
    { name: 'booksByIds', maxAge: 60, type: 'Book' },
  );
  fns.shelf = cache.cached(
    async (name: string) => {
      calls.shelf++;
      return [...rows.values()].filter((row) => row.shelf === name);
    },
    // A shelf gains a book when a book is added to it: the type alone cannot say so.
    { name: 'shelf', maxAge: 60, type: 'Book', tags: (_books, [name]) => [cacheTags.list('Shelf', name, 'books'), cacheTags.field('Query', 'books')] },
  );
  fns.cover = cache.cached(
    async (id: string) => {
      calls.cover++;
      return { id, printedAt: new Date(0) };
    },
    { name: 'cover', maxAge: 60 },
  );
  const yoga = createYoga({
    schema,
    plugins: [useResponseCache(cache)],
    context: () => ({ loader: new DataLoader((ids: readonly string[]) => fns.booksByIds(ids)) }),
    logging: false,
  });
  async function request(query: string, variables?: object) {
    const response = await yoga.fetch('http://shop.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    const json = await response.json();
    return { json, xcache: response.headers.get('x-cache'), cacheControl: response.headers.get('cache-control') };
  }
  return {
    clock,
    store,
    rows,
    calls,
    batches,
    warnings,
    events,
    cache,
    fns,
    request,
    holdNext() {
      const next = latch();
      hold = next;
      return next;
    },
  };
}

describe('cache.cached: definition', () => {
  const define = (options: object, fn: unknown = () => 1) => {
    const shop = bookshop();
    return () => shop.cache.cached(fn as () => number, { name: 'f', maxAge: 60, ...options } as never);
  };

  it.each([
    ['a name used twice', { name: 'bookById' }, /a function named "bookById" is already cached by this cache/],
    ['an unknown type', { type: 'Bok' }, /type "Bok" is not an object, interface or union type of the schema/],
    ['a scalar type', { type: 'String' }, /type "String" is not an object/],
    ['a root type', { type: 'Query' }, /type "Query" is a root operation type/],
    ['maxAge 0', { maxAge: 0 }, /expected maxAge to be a whole number of seconds above 0, got 0/],
    ['maxAge as text', { maxAge: '60' }, /expected maxAge to be a whole number of seconds above 0, got "60"/],
    ['a fractional maxAge', { maxAge: 1.5 }, /got 1.5/],
    ['a negative swr', { swr: -1 }, /expected swr to be a whole number of seconds >= 0, got -1/],
    ['an empty name', { name: '' }, /expected name to be a non-empty string, got ""/],
  ])('throws at once for %s, naming it', (_case, options, message) => {
    expect(define(options)).toThrow(message);
  });

  it('throws for something that is not a function, and for a key function that does not answer a string', async () => {
    expect(define({}, 'not a function')).toThrow(/expected a function, got string/);
    const shop = bookshop();
    const badKey = shop.cache.cached((id: number) => id, { name: 'badKey', maxAge: 60, key: (() => 7) as never });
    await expect(badKey(1)).rejects.toThrow(/expected key\(\.\.\.\) to return a string, got number/);
  });
});

describe('cache.cached', () => {
  it('returns an async function of the same arguments whose results are cached under stable JSON of them', async () => {
    const shop = bookshop();
    const sum = shop.cache.cached(async (options: { a: number; b: number }, scale: number) => (options.a + options.b) * scale, { name: 'sum', maxAge: 60 });
    let computed = 0;
    const counted = shop.cache.cached((options: { a: number; b: number }) => (computed++, options.a), { name: 'counted', maxAge: 60 });
    expect(await sum({ a: 1, b: 2 }, 10)).toBe(30);
    await counted({ a: 1, b: 2 });
    await counted({ b: 2, a: 1 });
    expect(computed).toBe(1);
    await counted({ a: 2, b: 2 });
    expect(computed).toBe(2);
    expect(shop.cache.stats().grains.function).toMatchObject({ misses: 3, hits: 1, entries: 3 });
  });

  it('keys calls with `key` when given, under the function name', async () => {
    const shop = bookshop();
    let computed = 0;
    const byLower = shop.cache.cached((text: string) => (computed++, text.toLowerCase()), { name: 'lower', maxAge: 60, key: (text) => text.toLowerCase() });
    await byLower('Dune');
    expect(await byLower('DUNE')).toBe('dune');
    expect(computed).toBe(1);
  });

  it('keeps `this` for the wrapped function', async () => {
    const shop = bookshop();
    const repository = { prefix: 'row ', find(this: { prefix: string }, id: string) { return this.prefix + id; } };
    const find = shop.cache.cached(repository.find, { name: 'find', maxAge: 60 });
    expect(await find.call(repository, '7')).toBe('row 7');
  });

  it('coalescing of identical calls: concurrent calls share one execution', async () => {
    const shop = bookshop();
    const held = shop.holdNext();
    const first = shop.fns.bookById('1');
    await held.entered;
    const others = [shop.fns.bookById('1'), shop.fns.bookById('1')];
    held.release();
    const results = await Promise.all([first, ...others]);
    expect(shop.calls.bookById).toBe(1);
    expect(results.map((row) => row?.title)).toEqual(['Dune', 'Dune', 'Dune']);
    expect(shop.cache.stats().grains.function).toMatchObject({ misses: 1, coalesced: 2 });
  });

  it('never caches a thrown error or a rejected promise', async () => {
    const shop = bookshop();
    let attempts = 0;
    const flaky = shop.cache.cached(async () => {
      attempts++;
      if (attempts === 1) throw new Error('database down');
      return 'ok';
    }, { name: 'flaky', maxAge: 60 });
    await expect(flaky()).rejects.toThrow('database down');
    expect(await flaky()).toBe('ok');
    expect(await flaky()).toBe('ok');
    expect(attempts).toBe(2);
  });

  it('refuses a value JSON would not give back unchanged, and says so once for the function', async () => {
    const shop = bookshop();
    for (const id of ['1', '1', '2']) expect((await shop.request(`{ cover(id: "${id}") }`)).json.errors).toBeUndefined();
    expect(shop.calls.cover).toBe(3);
    expect(shop.warnings).toEqual([
      'function cache: cover returned an instance of Date, which JSON would not give back as it was; such values are served but not cached',
    ]);
  });

  it('tags results by `type` as answers are tagged: a mutation returning the book evicts it', async () => {
    const shop = bookshop();
    expect((await shop.request('{ book(id: "1") { title } }')).json.data.book.title).toBe('Dune');
    expect((await shop.fns.bookById('1'))?.title).toBe('Dune');
    expect(shop.calls.bookById).toBe(1);
    await shop.request('mutation { renameBook(id: "1", title: "Dune Messiah") { id } }');
    expect((await shop.fns.bookById('1'))?.title).toBe('Dune Messiah');
    expect(shop.calls.bookById).toBe(2);
  });

  it('tags a null result null:Type: adding an object of that type evicts it', async () => {
    const shop = bookshop();
    expect(await shop.fns.bookById('9')).toBeNull();
    expect(await shop.fns.bookById('9')).toBeNull();
    expect(shop.calls.bookById).toBe(1);
    await shop.request('mutation { addBook(id: "9", title: "Solaris", shelf: "sf") { id } }');
    expect((await shop.fns.bookById('9'))?.title).toBe('Solaris');
  });

  it('adds tags from `tags` (built with cacheTags), and replaces the type\'s with `replaceTags`', async () => {
    const shop = bookshop();
    let computed = 0;
    const replaced = shop.cache.cached(() => (computed++, { id: '1', title: 'Dune' }), {
      name: 'replaced',
      maxAge: 60,
      type: 'Book',
      tags: () => [cacheTags.type('Book')],
      replaceTags: true,
    });
    await replaced();
    await shop.fns.shelf('sf');
    await shop.cache.evictEntity('Book', '1');
    await replaced();
    expect(computed).toBe(1);
    // The shelf held Book 1: its entity tag evicted it, besides its own tags.
    await shop.fns.shelf('sf');
    expect(shop.calls.shelf).toBe(2);
    await shop.store.inner.evict([cacheTags.list('Shelf', 'sf', 'books')]);
    await shop.fns.shelf('sf');
    expect(shop.calls.shelf).toBe(3);
    await shop.cache.evictType('Book');
    await replaced();
    expect(computed).toBe(2);
  });

  it('tags objects that carry __typename, wherever they are, without a type', async () => {
    const shop = bookshop();
    let computed = 0;
    const nested = shop.cache.cached(() => (computed++, { page: 1, items: [{ __typename: 'Book', id: '2', title: 'Emma' }] }), { name: 'nested', maxAge: 60 });
    await nested();
    await shop.request('mutation { renameBook(id: "2", title: "Persuasion") { id } }');
    await nested();
    expect(computed).toBe(2);
  });

  it('serves a stale result inside its swr window while one call refreshes it', async () => {
    const shop = bookshop();
    let version = 0;
    const versioned = shop.cache.cached(() => `v${++version}`, { name: 'versioned', maxAge: 10, swr: 20 });
    await versioned();
    shop.clock.advance(15_000);
    expect(await versioned()).toBe('v1');
    await expect.poll(() => shop.store.calls.set).toBe(2);
    expect(await versioned()).toBe('v2');
    expect(shop.events.filter((event) => event.operation === 'versioned').map((event) => event.kind)).toEqual(['miss', 'stale', 'hit']);
  });

  it('reports its outcomes as grain "function" with the function name as the operation', async () => {
    const shop = bookshop();
    await shop.fns.bookById('1');
    await shop.fns.bookById('1');
    expect(shop.events.map(({ grain, kind, operation, ttl }) => ({ grain, kind, operation, ttl }))).toEqual([
      { grain: 'function', kind: 'miss', operation: 'bookById', ttl: 60 },
      { grain: 'function', kind: 'hit', operation: 'bookById', ttl: 60 },
    ]);
  });
});

describe('cache.cachedBatch behind DataLoader', () => {
  it('looks every key up in one store round trip and calls the batch function for the misses only, in their order', async () => {
    const shop = bookshop();
    await shop.request('{ books(ids: ["2"]) { id } }');
    shop.store.calls.getMany = 0;
    shop.store.calls.get = 0;
    const answer = await shop.request('{ books(ids: ["3", "2", "9", "1"]) { id title } }');
    expect(answer.json.data.books).toEqual([{ id: '3', title: 'Ubik' }, { id: '2', title: 'Emma' }, null, { id: '1', title: 'Dune' }]);
    expect(shop.batches).toEqual([['2'], ['3', '9', '1']]);
    // One lookup of the answer, one getMany of the four keys.
    expect(shop.store.calls).toMatchObject({ get: 1, getMany: 1 });
    expect(shop.cache.stats().grains.function).toMatchObject({ hits: 1, misses: 4, entries: 4 });
  });

  it('never caches an Error a batch answers for one key; the others are cached', async () => {
    const shop = bookshop();
    const first = await shop.fns.booksByIds(['1', 'broken']);
    expect((first[1] as Error).message).toBe('no such row');
    await shop.fns.booksByIds(['1', 'broken']);
    expect(shop.batches).toEqual([['1', 'broken'], ['broken']]);
  });

  it('shares one execution per key across concurrent batches of different requests', async () => {
    const shop = bookshop();
    const held = shop.holdNext();
    const first = shop.request('{ books(ids: ["1", "2"]) { title } }');
    await held.entered;
    const second = shop.request('{ other: books(ids: ["2", "3"]) { title } }');
    await expect.poll(() => shop.batches.length).toBe(2);
    held.release();
    await Promise.all([first, second]);
    expect(shop.batches).toEqual([['1', '2'], ['3']]);
    expect(shop.cache.stats().grains.function).toMatchObject({ coalesced: 1 });
  });

  it('no stale write-back: a batch held across a mutation of one of its books does not store that book', async () => {
    const shop = bookshop();
    const held = shop.holdNext();
    const slow = shop.request('{ books(ids: ["1", "2"]) { title } }');
    await held.entered;
    await shop.request('mutation { renameBook(id: "1", title: "Dune Messiah") { id } }');
    held.release();
    // The held read may answer what it read: it began before the rename.
    expect((await slow).json.data.books[0].title).toBe('Dune');
    const after = await shop.request('{ again: books(ids: ["1", "2"]) { title } }');
    expect(after.json.data.again).toEqual([{ title: 'Dune Messiah' }, { title: 'Emma' }]);
    expect(shop.batches).toEqual([['1', '2'], ['1']]);
  });
});

describe('answers built from cached results (policies stay honest)', () => {
  it('an answer lives no longer than what is left of a cached result it holds', async () => {
    const shop = bookshop();
    expect((await shop.request('{ book(id: "1") { title } }')).cacheControl).toBe('max-age=60, public');
    shop.clock.advance(50_000);
    // Another document: the answer misses, the function hits with 10 s left (Book alone says 300).
    const later = await shop.request('{ book(id: "1") { id title } }');
    expect([later.xcache, later.cacheControl]).toEqual(['MISS', 'max-age=10, public']);
  });

  it('bounds answers by each element of a list result, and by an empty list', async () => {
    const shop = bookshop();
    await shop.request('{ books(ids: ["1"]) { id } }');
    shop.clock.advance(40_000);
    expect((await shop.request('{ books(ids: ["1", "2"]) { title } }')).cacheControl).toBe('max-age=20, public');
    await shop.fns.shelf('poetry');
    shop.clock.advance(30_000);
    expect((await shop.request('{ shelf(name: "poetry") { id } }')).cacheControl).toBe('max-age=30, public');
  });

  it('an answer holding a result served stale is not stored', async () => {
    const shop = bookshop();
    const stale = shop.cache.cached((id: string) => ({ ...shop.rows.get(id)! }), { name: 'staleBook', maxAge: 10, swr: 60 });
    shop.fns.bookById = stale;
    await shop.request('{ book(id: "1") { title } }');
    shop.clock.advance(20_000);
    const answer = await shop.request('{ book(id: "1") { id title } }');
    expect([answer.xcache, answer.cacheControl]).toEqual(['BYPASS', 'no-store']);
  });
});
