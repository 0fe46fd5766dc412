/**
 * Eviction by mutation: every entity in a cached answer is indexed; a mutation evicts every
 * answer that contains an entity of its result, the lists its written objects belong to, and
 * nulls of their type, whatever the client selected and whatever the request's cache headers.
 * It evicts nothing else.
 */
import { describe, expect, it } from 'vitest';
import { createSchema } from 'graphql-yoga';
import { bearer, createCachedLibrary, createCachedSchema } from '../helpers/in-process.ts';
import { cacheDirectives } from '../helpers/library-schema.ts';

type Lib = ReturnType<typeof createCachedLibrary>;

/** Primes each query (two requests, the second must HIT) so a later MISS proves an eviction. */
async function prime(lib: Lib, ...queries: string[]) {
  for (const query of queries) {
    await lib.request(query);
    expect((await lib.request(query)).xcache, query).toBe('HIT');
  }
}

async function mutate(lib: Lib, mutation: string, headers: Record<string, string> = {}) {
  const answer = await lib.request(mutation, { headers });
  expect(answer.json.errors, mutation).toBeUndefined();
  // The cache's relation probes must never reach the client.
  expect(answer.text).not.toContain('__gcl_via_');
  return answer;
}

describe('entities at any depth', () => {
  it('evicts a cached answer that contains the mutated entity deep inside', async () => {
    const lib = createCachedLibrary();
    const deep = '{ book(id: "2") { related { related { title } } } }'; // Book 2 → 3 → 4
    await prime(lib, deep);
    await mutate(lib, 'mutation { renameBook(id: "4", title: "Four") { id } }');
    const after = await lib.request(deep);
    expect(after.xcache).toBe('MISS');
    expect(after.json.data.book.related.related.title).toBe('Four');
  });

  it('evicts answers containing any entity anywhere in the mutation\'s result', async () => {
    const lib = createCachedLibrary();
    // Book 4's author is Author 1: the mutation's result contains Author 1 at depth two.
    await prime(lib, '{ author(id: "1") { name } }', '{ author(id: "2") { name } }');
    await mutate(lib, 'mutation { renameBook(id: "4", title: "Four") { id author { id } } }');
    expect((await lib.request('{ author(id: "1") { name } }')).xcache).toBe('MISS');
    expect((await lib.request('{ author(id: "2") { name } }')).xcache).toBe('HIT');
  });

  it('evicts an author nested in a cached book when the author is renamed', async () => {
    const lib = createCachedLibrary();
    const query = '{ book(id: "1") { title author { name } } }';
    await prime(lib, query);
    await mutate(lib, 'mutation { renameAuthor(id: "1", name: "Renamed") { id } }');
    const after = await lib.request(query);
    expect(after.xcache).toBe('MISS');
    expect(after.json.data.book.author.name).toBe('Renamed');
  });

  it.each([
    ['Cache-Control: no-store', { 'cache-control': 'no-store' }],
    ['Cache-Control: no-cache', { 'cache-control': 'no-cache' }],
    ['a session', bearer('A')],
  ])('peer bug #9: a mutation that bypasses the cache evicts nothing (it evicts whatever the request\'s cache settings: %s)', async (_name, headers) => {
    const lib = createCachedLibrary();
    await prime(lib, '{ book(id: "1") { title } }');
    await mutate(lib, 'mutation { renameBook(id: "1", title: "X") { id } }', headers);
    const after = await lib.request('{ book(id: "1") { title } }');
    expect(after.json.data.book.title).toBe('X');
  });

  it('evicts PRIVATE answers of every session that contain the entity', async () => {
    const lib = createCachedLibrary();
    const query = '{ author(id: "1") { name email } }';
    for (const token of ['A', 'B']) {
      await lib.request(query, { headers: bearer(token) });
      expect((await lib.request(query, { headers: bearer(token) })).xcache).toBe('HIT');
    }
    await mutate(lib, 'mutation { renameAuthor(id: "1", name: "Renamed") { id } }');
    for (const token of ['A', 'B']) {
      const after = await lib.request(query, { headers: bearer(token) });
      expect(after.json.data.author.name).toBe('Renamed');
    }
  });
});

describe('whatever the client selects', () => {
  it('renameBook(...) { id } refreshes book { title }, books { title } and author { books { title } }', async () => {
    const lib = createCachedLibrary();
    const queries = ['{ book(id: "1") { title } }', '{ books { title } }', '{ author(id: "1") { books { title } } }'];
    await prime(lib, ...queries);
    await mutate(lib, 'mutation { renameBook(id: "1", title: "X") { id } }');
    const [book, books, author] = await Promise.all(queries.map((q) => lib.request(q)));
    expect(book.json.data.book.title).toBe('X');
    expect(books.json.data.books[0].title).toBe('X');
    expect(author.json.data.author.books[0].title).toBe('X');
  });

  it('evicts for every aliased root field of one mutation', async () => {
    const lib = createCachedLibrary();
    await prime(lib, '{ book(id: "1") { title } }', '{ book(id: "2") { title } }');
    await mutate(lib, 'mutation { a: renameBook(id: "1", title: "A") { id } b: renameBook(id: "2", title: "B") { t: title } }');
    expect((await lib.request('{ book(id: "1") { title } }')).json.data.book.title).toBe('A');
    expect((await lib.request('{ book(id: "2") { title } }')).json.data.book.title).toBe('B');
  });

  it('evicts what a partly failed mutation wrote', async () => {
    const lib = createCachedLibrary();
    await prime(lib, '{ book(id: "1") { title } }');
    const answer = await lib.request('mutation { renameBook(id: "1", title: "A") { id } deleteBook(id: "99") { id } }');
    expect(answer.json.errors).toHaveLength(1);
    expect((await lib.request('{ book(id: "1") { title } }')).json.data.book.title).toBe('A');
  });

  it('a mutation selecting only __typename still evicts what it wrote', async () => {
    const lib = createCachedLibrary();
    await prime(lib, '{ book(id: "1") { title } }');
    await mutate(lib, 'mutation { renameBook(id: "1", title: "X") { __typename } }');
    expect((await lib.request('{ book(id: "1") { title } }')).json.data.book.title).toBe('X');
  });
});

describe('whatever the cached query selects', () => {
  it('indexes an object whose only selected field is __typename (book(id) { __typename }, then deleteBook)', async () => {
    // An existence check: no field resolver of Book runs, yet the answer contains Book 1.
    const lib = createCachedLibrary();
    const query = '{ book(id: "1") { __typename } }';
    await prime(lib, query);
    await mutate(lib, 'mutation { deleteBook(id: "1") { id } }');
    expect((await lib.request(query)).json.data.book).toBeNull();
  });

  it('refreshes the old author\'s list when its books select only __typename (moveBook)', async () => {
    const lib = createCachedLibrary();
    const from = '{ author(id: "1") { books { __typename } } }';
    await prime(lib, from);
    await mutate(lib, 'mutation { moveBook(id: "1", authorId: "2") { id } }');
    expect((await lib.request(from)).json.data.author.books).toHaveLength(1);
  });
});

describe('objects behind an asynchronous resolveType', () => {
  // graphql-js and graphql-tools accept a __resolveType that returns a promise.
  function asyncResolveTypeSchema() {
    const things = new Map([['1', { id: '1', name: 'one' }]]);
    return createSchema({
      typeDefs: [
        cacheDirectives,
        /* GraphQL */ `
          type Query { node(id: ID!): Node @cacheControl(maxAge: 60) }
          interface Node { id: ID! }
          type Thing implements Node { id: ID! name: String! }
          type Mutation { deleteThing(id: ID!): Thing }
        `,
      ],
      resolvers: {
        Query: { node: (_: unknown, { id }: { id: string }) => things.get(id) ?? null },
        Node: { __resolveType: async () => 'Thing' },
        Mutation: {
          deleteThing: (_: unknown, { id }: { id: string }) => {
            const thing = things.get(id) ?? null;
            things.delete(id);
            return thing;
          },
        },
      },
    });
  }

  it('indexes an object selected only by __typename through an interface with an async resolveType', async () => {
    const server = createCachedSchema(asyncResolveTypeSchema());
    const query = '{ node(id: "1") { __typename } }';
    await server.request(query);
    expect((await server.request(query)).xcache).toBe('HIT');
    await server.request('mutation { deleteThing(id: "1") { id } }');
    expect((await server.request(query)).json.data.node).toBeNull();
  });
});

describe('lists of promises', () => {
  // A list resolver may return an array of promises (the DataLoader `ids.map(load)` pattern).
  function promiseListSchema() {
    const items = new Map([
      ['1', { id: '1', shelfId: '1' }],
      ['2', { id: '2', shelfId: '1' }],
    ]);
    return createSchema({
      typeDefs: [
        cacheDirectives,
        /* GraphQL */ `
          type Query { shelf(id: ID!): Shelf }
          type Shelf @cacheControl(maxAge: 60) { id: ID! items: [Item!]! @cacheList(via: "shelf") }
          type Item @cacheControl(maxAge: 60) { id: ID! shelf: Shelf! }
          type Mutation { moveItem(id: ID!, shelfId: ID!): Item! }
        `,
      ],
      resolvers: {
        Query: { shelf: (_: unknown, { id }: { id: string }) => ({ id }) },
        Shelf: {
          items: (shelf: { id: string }) =>
            [...items.values()].filter((item) => item.shelfId === shelf.id).map((item) => Promise.resolve(item)),
        },
        Item: { shelf: (item: { shelfId: string }) => ({ id: item.shelfId }) },
        Mutation: {
          moveItem: (_: unknown, { id, shelfId }: { id: string; shelfId: string }) => {
            const item = { ...items.get(id)!, shelfId };
            items.set(id, item);
            return item;
          },
        },
      },
    });
  }

  it('refreshes the old parent\'s list when its pending elements select only __typename', async () => {
    const server = createCachedSchema(promiseListSchema());
    const query = '{ shelf(id: "1") { items { __typename } } }';
    await server.request(query);
    expect((await server.request(query)).xcache).toBe('HIT');
    await server.request('mutation { moveItem(id: "1", shelfId: "2") { id } }');
    expect((await server.request(query)).json.data.shelf.items).toHaveLength(1);
  });
});

describe('lists and nulls', () => {
  it('graphql-yoga#3125 / envelop#1979: creating an entity does not evict lists (addBook refreshes books, the author\'s books, feed, and a book(id) that was null)', async () => {
    const lib = createCachedLibrary();
    const queries = {
      books: '{ books { id } }',
      authorBooks: '{ author(id: "2") { books { id } } }',
      feed: '{ feed { ... on Book { id } } }',
      missing: '{ book(id: "7") { title } }',
    };
    await prime(lib, ...Object.values(queries));
    expect((await lib.request(queries.missing)).json.data.book).toBeNull();
    const added = await mutate(lib, 'mutation { addBook(authorId: "2", title: "Seven") { id } }');
    expect(added.json.data.addBook.id).toBe('7');
    const books = await lib.request(queries.books);
    const authorBooks = await lib.request(queries.authorBooks);
    const feed = await lib.request(queries.feed);
    const missing = await lib.request(queries.missing);
    expect(books.json.data.books.map((b: { id: string }) => b.id)).toContain('7');
    expect(authorBooks.json.data.author.books.map((b: { id: string }) => b.id)).toEqual(['2', '5', '7']);
    expect(feed.json.data.feed.map((b: { id?: string }) => b.id)).toContain('7');
    expect(missing.json.data.book).toEqual({ title: 'Seven' });
  });

  it('moveBook refreshes both the old and the new author\'s books', async () => {
    const lib = createCachedLibrary();
    const from = '{ author(id: "1") { books { id } } }';
    const to = '{ author(id: "2") { books { id } } }';
    await prime(lib, from, to);
    await mutate(lib, 'mutation { moveBook(id: "1", authorId: "2") { id } }');
    expect((await lib.request(from)).json.data.author.books).toEqual([{ id: '4' }]);
    expect((await lib.request(to)).json.data.author.books).toEqual([{ id: '1' }, { id: '2' }, { id: '5' }]);
  });

  it('mutation fields aliased with the internal __gcl_via_ prefix vanished from the answer', async () => {
    const lib = createCachedLibrary();
    const from = '{ author(id: "1") { books { id } } }';
    const to = '{ author(id: "2") { books { id } } }';
    await prime(lib, from, to);
    const answer = await lib.request('mutation { __gcl_via_move: moveBook(id: "1", authorId: "2") { __gcl_via_author: author { id } __gcl_via_id: id } }');
    expect(answer.json).toEqual({ data: { __gcl_via_move: { __gcl_via_author: { id: '2' }, __gcl_via_id: '1' } } });
    // And the probes the cache added under another prefix still evicted both lists.
    expect((await lib.request(from)).json.data.author.books).toEqual([{ id: '4' }]);
    expect((await lib.request(to)).json.data.author.books).toEqual([{ id: '1' }, { id: '2' }, { id: '5' }]);
  });

  it('deleteBook refreshes the lists and book(id), which becomes null', async () => {
    const lib = createCachedLibrary();
    const queries = ['{ books { id } }', '{ author(id: "1") { books { id } } }', '{ book(id: "1") { title } }'];
    await prime(lib, ...queries);
    await mutate(lib, 'mutation { deleteBook(id: "1") { id } }');
    const [books, authorBooks, book] = await Promise.all(queries.map((q) => lib.request(q)));
    expect(books.json.data.books.map((b: { id: string }) => b.id)).toEqual(['2', '3', '4', '5', '6']);
    expect(authorBooks.json.data.author.books).toEqual([{ id: '4' }]);
    expect(book.json.data.book).toBeNull();
  });

  it('refreshes a null read through the interface when a book is added (node(id: "7"))', async () => {
    const lib = createCachedLibrary({ hints: { 'Query.node': 60 } });
    const query = '{ node(id: "7") { id } }';
    await prime(lib, query);
    expect((await lib.request(query)).json.data.node).toBeNull();
    await mutate(lib, 'mutation { addBook(authorId: "1", title: "Seven") { id } }');
    expect((await lib.request(query)).json.data.node).toEqual({ id: '7' });
  });
});

describe('no over-eviction', () => {
  const AUTHOR_ONLY = ['{ author(id: "3") { name } }', '{ authors { name } }'];
  const AUTHOR_3_BOOKS = '{ author(id: "3") { books { id } } }';

  it.each([
    ['renameBook', 'mutation { renameBook(id: "1", title: "X") { id } }'],
    ['addBook', 'mutation { addBook(authorId: "2", title: "New") { id } }'],
    ['moveBook', 'mutation { moveBook(id: "1", authorId: "2") { id } }'],
    ['deleteBook', 'mutation { deleteBook(id: "2") { id } }'],
  ])('%s of a book not by author 3 leaves Author-only answers and author 3\'s books cached', async (_name, mutation) => {
    const lib = createCachedLibrary();
    await prime(lib, ...AUTHOR_ONLY, AUTHOR_3_BOOKS);
    await mutate(lib, mutation);
    for (const query of [...AUTHOR_ONLY, AUTHOR_3_BOOKS]) expect((await lib.request(query)).xcache, query).toBe('HIT');
  });

  it('renameBook leaves other books\' answers cached', async () => {
    const lib = createCachedLibrary();
    await prime(lib, '{ book(id: "2") { title author { name } } }');
    await mutate(lib, 'mutation { renameBook(id: "1", title: "X") { id title author { id } } }');
    // The result holds Author 1; book 2 is by Author 2: nothing in common.
    expect((await lib.request('{ book(id: "2") { title author { name } } }')).xcache).toBe('HIT');
  });

  it('peer bug #8: null scalar fields create type tags that unrelated mutations hit', async () => {
    // book(id: "2") { subtitle } resolves subtitle to null. Book 2's author is Author 2.
    const lib = createCachedLibrary();
    const query = '{ book(id: "2") { subtitle } }';
    await prime(lib, query);
    expect((await lib.request(query)).json.data.book.subtitle).toBeNull();
    await mutate(lib, 'mutation { renameAuthor(id: "3", name: "Three") { id name } }');
    expect((await lib.request(query)).xcache).toBe('HIT');
    await mutate(lib, 'mutation { addBook(authorId: "3", title: "New") { id subtitle } }');
    expect((await lib.request(query)).xcache).toBe('HIT');
    await mutate(lib, 'mutation { renameBook(id: "5", title: "Five") { id subtitle } }');
    expect((await lib.request(query)).xcache).toBe('HIT');
  });
});
