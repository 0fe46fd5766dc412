/**
 * A small schema that is not the demo catalog, for the cache layer's semantics tests: books and
 * authors with list relations, a PRIVATE field, an interface, a union, dynamic hints, a latch
 * to hold a read inside its resolver, a resolver call counter, and a hint-less composite type
 * (`Review`) to tell inheritMaxAge from defaultMaxAge.
 */
import { createSchema } from 'graphql-yoga';
import type { GraphQLSchema } from 'graphql';
import { cacheDirectivesTypeDefs } from '../../plugins/index.ts';

export const cacheDirectives = cacheDirectivesTypeDefs;

const typeDefs = /* GraphQL */ `
  interface Node { id: ID! }
  type Query {
    book(id: ID!): Book
    books: [Book!]!
    author(id: ID!): Author
    authors: [Author!]!
    node(id: ID!): Node
    feed: [FeedItem!]! @cacheControl(maxAge: 30)
    viewer: Viewer @cacheControl(scope: PRIVATE)
    hello: String
    dynamic(maxAge: Int!, private: Boolean = false): String @cacheControl(maxAge: 100)
    held(id: ID!): Book
    boom: Book
  }
  type Book implements Node @cacheControl(maxAge: 60) {
    id: ID!
    title: String!
    stock: Int! @cacheControl(maxAge: 5)
    subtitle: String
    author: Author!
    related: Book @cacheControl(inheritMaxAge: true)
    "A hint-less composite that inherits its parent's maxAge."
    review: Review @cacheControl(inheritMaxAge: true)
    "A hint-less composite: it takes defaultMaxAge (0 by default, so not cached)."
    lastReview: Review
  }
  type Review { stars: Int! }
  type Author implements Node @cacheControl(maxAge: 300) {
    id: ID!
    name: String!
    email: String! @cacheControl(scope: PRIVATE)
    books: [Book!]! @cacheList(via: "author")
  }
  type Viewer @cacheControl(maxAge: 60) { id: ID! name: String! }
  union FeedItem = Book | Author
  type Mutation {
    addBook(authorId: ID!, title: String!): Book!
    renameBook(id: ID!, title: String!): Book!
    moveBook(id: ID!, authorId: ID!): Book!
    deleteBook(id: ID!): Book!
    renameAuthor(id: ID!, name: String!): Author!
  }
`;

interface BookRow { id: number; title: string; stock: number; authorId: number; kind: 'Book' }
interface AuthorRow { id: number; name: string; email: string; kind: 'Author' }

export interface Library {
  schema: GraphQLSchema;
  books: Map<number, BookRow>;
  authors: Map<number, AuthorRow>;
  /** Calls per root query field. */
  calls: Record<string, number>;
  /** The next `held` read waits inside its resolver until `release()`; `entered` resolves when it is there. */
  hold(): { entered: Promise<void>; release: () => void };
}

export function createLibrary(): Library {
  const books = new Map<number, BookRow>();
  const authors = new Map<number, AuthorRow>();
  for (let a = 1; a <= 3; a++) authors.set(a, { id: a, name: `Author ${a}`, email: `a${a}@example.com`, kind: 'Author' });
  for (let b = 1; b <= 6; b++) books.set(b, { id: b, title: `Book ${b}`, stock: b, authorId: ((b - 1) % 3) + 1, kind: 'Book' });
  let nextBook = 7;
  const calls: Record<string, number> = {};
  const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1);
  let latch: { entered: () => void; gate: Promise<void> } | undefined;

  const book = (id: unknown) => books.get(Number(id)) ?? null;
  const mustBook = (id: unknown) => {
    const row = book(id);
    if (!row) throw new Error(`no book ${String(id)}`);
    return row;
  };
  const resolvers = {
    Query: {
      book: (_: unknown, { id }: { id: string }) => (count('book'), book(id)),
      books: () => (count('books'), [...books.values()]),
      author: (_: unknown, { id }: { id: string }) => (count('author'), authors.get(Number(id)) ?? null),
      authors: () => (count('authors'), [...authors.values()]),
      node: (_: unknown, { id }: { id: string }) => (count('node'), id.startsWith('a') ? (authors.get(Number(id.slice(1))) ?? null) : book(id)),
      feed: () => (count('feed'), [...books.values(), ...authors.values()]),
      viewer: () => (count('viewer'), { id: 'v', name: 'Viewer' }),
      hello: () => (count('hello'), 'world'),
      dynamic: (_: unknown, args: { maxAge: number; private: boolean }, _ctx: unknown, info: { cacheControl: { setCacheHint(h: object): void } }) => {
        count('dynamic');
        info.cacheControl.setCacheHint({ maxAge: args.maxAge, ...(args.private ? { scope: 'PRIVATE' } : {}) });
        return `dynamic ${args.maxAge}`;
      },
      held: async (_: unknown, { id }: { id: string }) => {
        count('held');
        const row = book(id);
        const snapshot = row ? { ...row } : null;
        if (latch) {
          const current = latch;
          latch = undefined;
          current.entered();
          await current.gate;
        }
        return snapshot;
      },
      boom: () => {
        count('boom');
        throw new Error('boom');
      },
    },
    Mutation: {
      addBook: (_: unknown, { authorId, title }: { authorId: string; title: string }) => {
        const row: BookRow = { id: nextBook++, title, stock: 0, authorId: Number(authorId), kind: 'Book' };
        books.set(row.id, row);
        return row;
      },
      renameBook: (_: unknown, { id, title }: { id: string; title: string }) => {
        const row = { ...mustBook(id), title };
        books.set(row.id, row);
        return row;
      },
      moveBook: (_: unknown, { id, authorId }: { id: string; authorId: string }) => {
        const row = { ...mustBook(id), authorId: Number(authorId) };
        books.set(row.id, row);
        return row;
      },
      deleteBook: (_: unknown, { id }: { id: string }) => {
        const row = mustBook(id);
        books.delete(row.id);
        return row;
      },
      renameAuthor: (_: unknown, { id, name }: { id: string; name: string }) => {
        const row = { ...authors.get(Number(id))!, name };
        authors.set(row.id, row);
        return row;
      },
    },
    Book: {
      author: (row: BookRow) => authors.get(row.authorId),
      related: (row: BookRow) => book(row.id + 1),
      review: (row: BookRow) => ({ stars: (row.id % 5) + 1 }),
      lastReview: (row: BookRow) => ({ stars: (row.id % 5) + 1 }),
    },
    Author: {
      books: (row: AuthorRow) => [...books.values()].filter((b) => b.authorId === row.id),
    },
    Node: { __resolveType: (row: BookRow | AuthorRow) => row.kind },
    FeedItem: { __resolveType: (row: BookRow | AuthorRow) => row.kind },
  };
  const schema = createSchema({ typeDefs: [cacheDirectives, typeDefs], resolvers });
  return {
    schema,
    books,
    authors,
    calls,
    hold() {
      let entered!: () => void;
      let release!: () => void;
      const enteredPromise = new Promise<void>((r) => (entered = r));
      const gate = new Promise<void>((r) => (release = r));
      latch = { entered, gate };
      return { entered: enteredPromise, release };
    },
  };
}
