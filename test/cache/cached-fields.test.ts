/**
 * The field grain in process: fields cached with `@cacheResolver` or `cachedFields`, over a
 * small schema with resolver call counters, a PRIVATE field that answers per session, latches,
 * and a controlled clock.
 */
import { createSchema, createYoga } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { cacheDirectivesTypeDefs, createResponseCache, useResponseCache, type CacheEvent, type ResponseCacheOptions } from '../../plugins/index.ts';
import { createMemoryStore } from '../../plugins/memory-store.ts';
import { countingStore } from '../helpers/counting-store.ts';
import { bearer, createClock, sessionFromBearer } from '../helpers/in-process.ts';
import { latch } from '../helpers/latch.ts';

const typeDefs = /* GraphQL */ `
  interface Node { id: ID! }
  type Query {
    search(text: String!): [Book!]! @cacheControl(maxAge: 30) @cacheResolver(maxAge: 30)
    book(id: ID!): Book
    viewer: Viewer @cacheControl(scope: PRIVATE)
    stamp: Stamp
    flaky: [Book]
    partial: [Book]
    dynamic: String @cacheControl(maxAge: 100)
    counter: Counter
    "Resolved right after the fields before it in a document: it says they have been asked for."
    tick: Int
  }
  type Book implements Node @cacheControl(maxAge: 300) {
    id: ID!
    title: String!
    author: Author!
    reviews: [Review!]! @cacheList(via: "book") @cacheResolver(maxAge: 60)
  }
  type Review @cacheControl(maxAge: 300) { id: ID! stars: Int! book: Book! }
  type Author @cacheControl(maxAge: 300) { id: ID! name: String! }
  type Viewer @cacheControl(maxAge: 60) { id: ID! name: String! }
  type Stamp @cacheControl(maxAge: 60) { at: String! }
  type Counter @cacheControl(maxAge: 60) { count: Int! }
  type Mutation {
    renameBook(id: ID!, title: String!): Book!
    addReview(bookId: ID!, stars: Int!): Review!
  }
`;

interface BookRow { id: string; title: string; authorId: string }
interface ReviewRow { id: string; stars: number; bookId: string }

function library(options: Partial<ResponseCacheOptions> = {}) {
  const clock = createClock();
  const store = countingStore(createMemoryStore({ now: clock.now }));
  const books = new Map<string, BookRow>([
    ['1', { id: '1', title: 'Dune', authorId: 'a' }],
    ['2', { id: '2', title: 'Emma', authorId: 'b' }],
    ['noid', { id: '', title: 'Anonymous', authorId: 'a' }],
  ]);
  const reviews: ReviewRow[] = [
    { id: 'r1', stars: 5, bookId: '1' },
    { id: 'r2', stars: 3, bookId: '2' },
  ];
  const calls: Record<string, number> = {};
  const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1);
  let hold: { wait(): Promise<void> } | undefined;
  const holding = async () => {
    const current = hold;
    hold = undefined;
    await current?.wait();
  };
  const warnings: string[] = [];
  const events: CacheEvent[] = [];
  let flakyCalls = 0;

  const schema = createSchema<{ request: Request }>({
    typeDefs: [cacheDirectivesTypeDefs, typeDefs],
    resolvers: {
      Query: {
        search: async (_, { text }) => {
          count('search');
          const found = [...books.values()].filter((book) => book.id !== '' && book.title.toLowerCase().includes(text.toLowerCase())).map((book) => ({ ...book }));
          await holding();
          return found;
        },
        book: (_, { id }) => (id === 'noid' ? { title: 'Anonymous', authorId: 'a' } : (books.get(id) ?? null)),
        viewer: (_, __, { request }) => {
          count('viewer');
          const session = sessionFromBearer(request);
          return session === null ? null : { id: session, name: `Viewer ${session}` };
        },
        stamp: () => (count('stamp'), { at: new Date(0) }),
        flaky: () => {
          flakyCalls++;
          count('flaky');
          if (flakyCalls === 1) throw new Error('database down');
          return [books.get('1')];
        },
        partial: () => (count('partial'), [books.get('1'), new Error('row 2 is unreadable')]),
        dynamic: (_, __, ___, info) => {
          count('dynamic');
          info.cacheControl.setCacheHint({ maxAge: 5 });
          return `computed ${calls.dynamic}`;
        },
        counter: () => (count('counter'), { count: calls.counter }),
        tick: () => count('tick'),
      },
      Book: {
        author: (book: BookRow) => (count('author'), { id: book.authorId, name: `Author ${book.authorId}` }),
        reviews: async (book: BookRow) => {
          count('reviews');
          const found = reviews.filter((review) => review.bookId === book.id).map((review) => ({ ...review }));
          await holding();
          return found;
        },
      },
      Review: { book: (review: ReviewRow) => books.get(review.bookId) },
      Mutation: {
        renameBook: (_, { id, title }) => {
          const row = { ...books.get(id)!, title };
          books.set(id, row);
          return row;
        },
        addReview: (_, { bookId, stars }) => {
          const row = { id: `r${reviews.length + 1}`, stars, bookId };
          reviews.push(row);
          return row;
        },
      },
    },
  });
  const cache = createResponseCache({
    schema,
    store,
    now: clock.now,
    session: sessionFromBearer,
    cachedFields: { 'Query.viewer': { maxAge: 60 }, 'Query.stamp': { maxAge: 60 }, 'Query.flaky': { maxAge: 60 }, 'Query.partial': { maxAge: 60 }, 'Query.dynamic': { maxAge: 100 }, 'Query.counter': { maxAge: 60 } },
    logger: { warn: (message) => void warnings.push(message), error() {} },
    onHit: (event) => void events.push(event),
    onMiss: (event) => void events.push(event),
    onBypass: (event) => void events.push(event),
    ...options,
  });
  const yoga = createYoga({ schema, plugins: [useResponseCache(cache)], logging: false, batching: true });
  async function post(body: unknown, headers: Record<string, string> = {}) {
    const response = await yoga.fetch('http://library.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { json: await response.json(), xcache: response.headers.get('x-cache'), cacheControl: response.headers.get('cache-control') };
  }
  return {
    clock,
    store,
    calls,
    warnings,
    events,
    cache,
    request: (query: string, headers?: Record<string, string>) => post({ query }, headers),
    batch: (queries: string[], headers?: Record<string, string>) => post(queries.map((query) => ({ query })), headers),
    holdNext() {
      const next = latch();
      hold = next;
      return next;
    },
  };
}

describe('cached fields: start-up checks', () => {
  it.each([
    ['an unknown field', { 'Query.serch': { maxAge: 30 } }, /cachedFields names "Query.serch", but the schema has no such field of an object type/],
    ['an unknown type', { 'Bok.title': { maxAge: 30 } }, /cachedFields names "Bok.title"/],
    ['a type without a field', { Book: { maxAge: 30 } }, /cachedFields names "Book"/],
    ['an interface field', { 'Node.id': { maxAge: 30 } }, /cachedFields "Node.id": Node is not an object type/],
    ['a mutation field', { 'Mutation.renameBook': { maxAge: 30 } }, /Mutation fields are never cached/],
    ['maxAge 0', { 'Query.book': { maxAge: 0 } }, /expected maxAge to be a whole number of seconds above 0, got 0/],
    ['a negative swr', { 'Query.book': { maxAge: 5, swr: -1 } }, /expected swr to be a whole number of seconds >= 0, got -1/],
    ['a maxAge past the field\'s hint', { 'Query.search': { maxAge: 31 } }, /maxAge 31 is longer than the field's cache hint \(30 s\)/],
    ['a parent type without an id', { 'Stamp.at': { maxAge: 30 } }, /Stamp has no id field, so its values cannot be keyed by their parent/],
  ])('stops start-up for %s, naming it', (_case, cachedFields, message) => {
    expect(() => library({ cachedFields: cachedFields as ResponseCacheOptions['cachedFields'] })).toThrow(message);
  });

  it('stops start-up for @cacheResolver where it cannot apply', () => {
    const schema = (sdl: string) => createSchema({ typeDefs: [cacheDirectivesTypeDefs, sdl] });
    expect(() => createResponseCache({ schema: schema('interface Node { id: ID! @cacheResolver(maxAge: 5) } type Query { node: Node }') })).toThrow(
      /@cacheResolver on Node.id: Node is not an object type/,
    );
    expect(() => createResponseCache({ schema: schema('type Query { a: Int } type Mutation { b: Int @cacheResolver(maxAge: 5) }') })).toThrow(
      /@cacheResolver on Mutation.b: Mutation fields are never cached/,
    );
    expect(() => createResponseCache({ schema: schema('type Query { a: Int @cacheResolver(maxAge: 0) }') })).toThrow(/@cacheResolver on Query.a: expected maxAge/);
  });
});

describe('cached fields', () => {
  it('caches a root field\'s value across documents, aliases and fragments; its sub-selection still resolves', async () => {
    const lib = library();
    await lib.request('{ search(text: "dune") { title author { name } } }');
    const aliased = await lib.request('{ found: search(text: "dune") { id ...Named } } fragment Named on Book { author { name } }');
    expect(aliased.json.data).toEqual({ found: [{ id: '1', author: { name: 'Author a' } }] });
    expect(aliased.xcache).toBe('MISS');
    expect(lib.calls.search).toBe(1);
    // The field's value is the resolver's rows: the author under it resolves on each execution.
    expect(lib.calls.author).toBe(2);
    await lib.request('{ search(text: "emma") { title } }');
    expect(lib.calls.search).toBe(2);
    expect(lib.cache.stats().grains.field).toMatchObject({ hits: 1, misses: 2, entries: 2 });
    expect(lib.events.filter((event) => event.grain === 'field').map(({ kind, operation }) => `${kind} ${operation}`)).toEqual([
      'miss Query.search',
      'hit Query.search',
      'miss Query.search',
    ]);
  });

  it('keys a nested field by its parent\'s id and its arguments: the same book through any path shares it', async () => {
    const lib = library();
    await lib.request('{ book(id: "1") { reviews { stars } } }');
    await lib.request('{ search(text: "dune") { reviews { id } } }');
    expect(lib.calls.reviews).toBe(1);
    await lib.request('{ book(id: "2") { reviews { stars } } }');
    expect(lib.calls.reviews).toBe(2);
  });

  it('does not cache a field whose parent has no id, and counts it as bypassed', async () => {
    const lib = library();
    for (let i = 0; i < 2; i++) await lib.request(`{ b${i}: book(id: "noid") { reviews { stars } } }`);
    expect(lib.calls.reviews).toBe(2);
    expect(lib.cache.stats().grains.field).toMatchObject({ bypassed: 2, entries: 0 });
    expect(lib.events.filter((event) => event.kind === 'bypass' && event.grain === 'field')).toEqual([
      { grain: 'field', kind: 'bypass', operation: 'Book.reviews' },
      { grain: 'field', kind: 'bypass', operation: 'Book.reviews' },
    ]);
  });

  it('reads no cached field in a mutation: its fields see what it wrote', async () => {
    const lib = library();
    await lib.request('{ book(id: "1") { reviews { stars } } }');
    const added = await lib.request('mutation { addReview(bookId: "1", stars: 1) { book { reviews { stars } } } }');
    expect(added.json.data.addReview.book.reviews).toEqual([{ stars: 5 }, { stars: 1 }]);
    expect(lib.calls.reviews).toBe(2);
  });

  it('one eviction: a mutation that writes a book evicts the field values that hold it or hang on it', async () => {
    const lib = library();
    await lib.request('{ search(text: "dune") { title } }');
    await lib.request('{ book(id: "1") { reviews { stars } } }');
    const evictions = lib.store.calls.evict;
    await lib.request('mutation { renameBook(id: "1", title: "Dune Messiah") { id } }');
    expect(lib.store.calls.evict - evictions).toBe(1);
    expect((await lib.request('{ again: search(text: "dune") { title } }')).json.data.again).toEqual([{ title: 'Dune Messiah' }]);
    await lib.request('{ again: book(id: "1") { reviews { stars } } }');
    expect([lib.calls.search, lib.calls.reviews]).toEqual([2, 2]);
  });

  it('addReview evicts the list it joins (Book:1.reviews), not another book\'s', async () => {
    const lib = library();
    await lib.request('{ a: book(id: "1") { reviews { stars } } b: book(id: "2") { reviews { stars } } }');
    await lib.request('mutation { addReview(bookId: "1", stars: 4) { id } }');
    const after = await lib.request('{ a2: book(id: "1") { reviews { stars } } b2: book(id: "2") { reviews { stars } } }');
    expect(after.json.data).toEqual({ a2: { reviews: [{ stars: 5 }, { stars: 4 }] }, b2: { reviews: [{ stars: 3 }] } });
    expect(lib.calls.reviews).toBe(3);
  });

  it('coalescing of identical calls: concurrent requests share one execution of the field', async () => {
    const lib = library();
    const held = lib.holdNext();
    const first = lib.request('{ search(text: "dune") { title } }');
    await held.entered;
    const others = [lib.request('{ a: search(text: "dune") { id } tick }'), lib.request('{ b: search(text: "dune") { title } tick }')];
    // Root fields resolve in order: once both ticks ran, both searches have joined the first.
    await expect.poll(() => lib.calls.tick).toBe(2);
    held.release();
    const answers = await Promise.all([first, ...others]);
    expect(answers.map((answer) => answer.json.errors)).toEqual([undefined, undefined, undefined]);
    expect(lib.calls.search).toBe(1);
    expect(lib.cache.stats().grains.field).toMatchObject({ misses: 1, coalesced: 2 });
  });

  it('no stale write-back: a field resolver held across a mutation that evicts its value does not store it', async () => {
    const lib = library();
    const held = lib.holdNext();
    const slow = lib.request('{ book(id: "1") { reviews { stars } } }');
    await held.entered;
    await lib.request('mutation { addReview(bookId: "1", stars: 2) { id } }');
    held.release();
    expect((await slow).json.data.book.reviews).toEqual([{ stars: 5 }]);
    const after = await lib.request('{ again: book(id: "1") { reviews { stars } } }');
    expect(after.json.data.again.reviews).toEqual([{ stars: 5 }, { stars: 2 }]);
    expect(lib.calls.reviews).toBe(2);
  });

  it('never caches a field whose resolver threw, nor a partial result (an Error in its list)', async () => {
    const lib = library();
    expect((await lib.request('{ flaky { title } }')).json.errors).toHaveLength(1);
    expect((await lib.request('{ flaky { id } }')).json.data.flaky).toEqual([{ id: '1' }]);
    expect((await lib.request('{ again: flaky { id } }')).json.data.again).toEqual([{ id: '1' }]);
    expect(lib.calls.flaky).toBe(2);
    for (let i = 0; i < 2; i++) expect((await lib.request(`{ p${i}: partial { id } }`)).json.errors).toHaveLength(1);
    expect(lib.calls.partial).toBe(2);
    expect(lib.warnings).toEqual([]);
  });

  it('refuses a value JSON would not give back unchanged, and says so once for the field', async () => {
    const lib = library();
    for (let i = 0; i < 3; i++) expect((await lib.request(`{ s${i}: stamp { at } }`)).json.errors).toBeUndefined();
    expect(lib.calls.stamp).toBe(3);
    expect(lib.warnings).toEqual(['field cache: Query.stamp returned an instance of Date, which JSON would not give back as it was; such values are served but not cached']);
  });
});

describe('cached fields: PRIVATE values per session', () => {
  const bob = bearer('bob');
  const alice = bearer('alice');

  it('keys a PRIVATE field per session, and never caches it without one', async () => {
    const lib = library();
    expect((await lib.request('{ viewer { name } }', alice)).json.data.viewer.name).toBe('Viewer alice');
    expect((await lib.request('{ me: viewer { id name } }', bob)).json.data.me).toEqual({ id: 'bob', name: 'Viewer bob' });
    expect((await lib.request('{ again: viewer { name } }', alice)).json.data.again.name).toBe('Viewer alice');
    expect(lib.calls.viewer).toBe(2);
    for (let i = 0; i < 2; i++) expect((await lib.request(`{ v${i}: viewer { name } }`)).json.data[`v${i}`]).toBeNull();
    expect(lib.calls.viewer).toBe(4);
    expect(lib.cache.stats().grains.field).toMatchObject({ hits: 1, misses: 2, bypassed: 2 });
  });

  it('never hands one session\'s value to another, through aliases, fragments and batched requests', async () => {
    const lib = library();
    const documents = [
      '{ viewer { name } }',
      '{ me: viewer { name } }',
      '{ ...V } fragment V on Query { viewer { ...N } } fragment N on Viewer { name }',
      '{ a: viewer { name } b: viewer { id } }',
      '{ ... on Query { v: viewer { name } } }',
    ];
    for (const [session, headers] of [['alice', alice], ['bob', bob]] as const) {
      for (const document of documents) {
        const answer = await lib.request(document, headers);
        expect(JSON.stringify(answer.json.data)).not.toMatch(session === 'alice' ? /bob/ : /alice/);
      }
      const batched = await lib.batch(documents, headers);
      expect(batched.json).toHaveLength(documents.length);
      expect(JSON.stringify(batched.json)).not.toMatch(session === 'alice' ? /bob/ : /alice/);
      expect(JSON.stringify(batched.json)).toMatch(session);
    }
    const anonymous = await lib.batch(documents);
    expect(JSON.stringify(anonymous.json)).not.toMatch(/alice|bob/);
    // One execution per session; the anonymous ones are never cached.
    expect(lib.cache.stats().grains.field).toMatchObject({ misses: 2 });
  });
});

describe('cached fields: policies stay honest', () => {
  it('an answer lives no longer than what is left of a field value it holds', async () => {
    const lib = library();
    expect((await lib.request('{ book(id: "1") { reviews { stars } } }')).cacheControl).toBe('max-age=60, public');
    lib.clock.advance(50_000);
    // Another document: the answer misses, the field hits with 10 s left (Review alone says 300).
    const later = await lib.request('{ book(id: "1") { title reviews { id } } }');
    expect([later.xcache, later.cacheControl]).toEqual(['MISS', 'max-age=10, public']);
  });

  it('a hint the resolver set narrows how long its value is kept', async () => {
    const lib = library();
    await lib.request('{ dynamic }');
    lib.clock.advance(4_000);
    const hit = await lib.request('{ d: dynamic }');
    expect([hit.json.data.d, hit.cacheControl]).toEqual(['computed 1', 'max-age=1, public']);
    lib.clock.advance(1_000);
    expect((await lib.request('{ d2: dynamic }')).json.data.d2).toBe('computed 2');
  });

  it('the answer from a fresh miss keeps the field\'s whole maxAge', async () => {
    const lib = library();
    expect((await lib.request('{ counter { count } }')).cacheControl).toBe('max-age=60, public');
    lib.clock.advance(59_000);
    expect((await lib.request('{ c: counter { count } }')).cacheControl).toBe('max-age=1, public');
  });
});

describe('cached fields: built from cached function values', () => {
  it('a field value lives no longer than what is left of the function value it returned', async () => {
    const clock = createClock();
    let shelfReads = 0;
    let fieldRuns = 0;
    let readShelf: () => Promise<{ id: string; title: string }[]> = async () => [];
    const schema = createSchema({
      typeDefs: [
        cacheDirectivesTypeDefs,
        /* GraphQL */ `
          type Query { shelf: [Book!]! @cacheControl(maxAge: 100) @cacheResolver(maxAge: 100) }
          type Book @cacheControl(maxAge: 300) { id: ID! title: String! }
        `,
      ],
      resolvers: { Query: { shelf: () => (fieldRuns++, readShelf()) } },
    });
    const cache = createResponseCache({ schema, store: createMemoryStore({ now: clock.now }), now: clock.now });
    readShelf = cache.cached(async () => (shelfReads++, [{ id: '1', title: 'Dune' }]), { name: 'shelf', maxAge: 60, type: 'Book' });
    const yoga = createYoga({ schema, plugins: [useResponseCache(cache)], logging: false });
    const request = async (query: string) => {
      const response = await yoga.fetch('http://shelf.test/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
      return response.headers.get('cache-control');
    };

    await readShelf(); // the function's value, cached at t=0 for 60 s
    clock.advance(50_000);
    // The field misses, and is computed from the function's value with 10 s left.
    expect(await request('{ shelf { id } }')).toBe('max-age=10, public');
    expect([fieldRuns, shelfReads]).toEqual([1, 1]);
    clock.advance(11_000);
    // Past the function value's life: the field value that held it is gone too, and both are read again.
    expect(await request('{ again: shelf { title } }')).toBe('max-age=60, public');
    expect([fieldRuns, shelfReads]).toEqual([2, 2]);
  });
});
