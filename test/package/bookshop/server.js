// A bookshop API that uses graphql-cache-layer the way any user would: installed from its
// tarball, imported by its package name, in plain JavaScript on plain node. Not the catalog.
//
// Env: PORT (0 picks a free one); REDIS_URL to keep answers in Redis (prefix "bookshop").
// Prints `listening on <port>` once it accepts requests.
import { createServer } from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';
import {
  cacheDirectivesTypeDefs,
  createCacheStore,
  createFastPath,
  createResponseCache,
  useResponseCache,
} from 'graphql-cache-layer';

const authors = new Map([
  ['1', { id: '1', name: 'Ursula K. Le Guin' }],
  ['2', { id: '2', name: 'Italo Calvino' }],
]);
const books = new Map([
  ['1', { id: '1', title: 'The Dispossessed', authorId: '1' }],
  ['2', { id: '2', title: 'The Lathe of Heaven', authorId: '1' }],
  ['3', { id: '3', title: 'Invisible Cities', authorId: '2' }],
]);

const typeDefs = /* GraphQL */ `
  type Author @cacheControl(maxAge: 300) {
    id: ID!
    name: String!
    books: [Book!]!
  }
  type Book @cacheControl(maxAge: 60) {
    id: ID!
    title: String!
    author: Author!
  }
  type Query {
    book(id: ID!): Book
    books: [Book!]!
  }
  type Mutation {
    renameBook(id: ID!, title: String!): Book
  }
`;

const resolvers = {
  Query: {
    book: (_, { id }) => books.get(id) ?? null,
    books: () => [...books.values()],
  },
  Mutation: {
    renameBook(_, { id, title }) {
      const book = books.get(id);
      if (book) book.title = title;
      return book ?? null;
    },
  },
  Book: { author: (book) => authors.get(book.authorId) },
  Author: { books: (author) => [...books.values()].filter((book) => book.authorId === author.id) },
};

const schema = createSchema({ typeDefs: [cacheDirectivesTypeDefs, typeDefs], resolvers });
const store = createCacheStore({
  redis: process.env.REDIS_URL || undefined,
  prefix: 'bookshop',
  onError: (error, where) => console.error(`cache: Redis ${where} failed`, error),
});
const cache = createResponseCache({
  schema,
  store,
  // Who the request is for, from its headers alone.
  session: (request) => request.headers.get('authorization'),
});
const yoga = createYoga({ schema, plugins: [useResponseCache(cache)] });
const server = createServer(createFastPath({ cache, next: yoga }));

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening on ${server.address().port}`);
});
process.once('SIGTERM', () => {
  server.close(() => cache.close().then(() => process.exit(0)));
});
