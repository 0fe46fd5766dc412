// The bookshop's schema and data, shared by its two servers (server.js, envelop-server.js):
// books and authors with cache hints, and a mutation. Not the catalog.
import { createSchema } from 'graphql-yoga';
import { cacheDirectivesTypeDefs } from 'graphql-cache-layer';

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

export const schema = createSchema({ typeDefs: [cacheDirectivesTypeDefs, typeDefs], resolvers });
