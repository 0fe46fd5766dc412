// A bookshop API that uses graphql-cache-layer the way any user would: installed from its
// tarball, imported by its package name, in plain JavaScript on plain node. Not the catalog.
//
// Env: PORT (0 picks a free one); REDIS_URL to keep answers in Redis (prefix "bookshop").
// Prints `listening on <port>` once it accepts requests.
import { createServer } from 'node:http';
import { createYoga } from 'graphql-yoga';
import { createCacheStore, createFastPath, createResponseCache, useResponseCache } from 'graphql-cache-layer';
import { schema } from './schema.js';

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
