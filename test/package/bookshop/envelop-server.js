// The bookshop as a server that already runs @envelop/response-cache would move to this package:
// envelop's own plugin, with only its store swapped for ours (createEnvelopCache), and the
// barrier that holds a mutation's response until its invalidation is done. Installed from the
// tarball, imported by the package name, plain JavaScript on plain node.
//
// Env: PORT (0 picks a free one); REDIS_URL to keep answers in Redis (prefix "bookshop-envelop").
// Prints `listening on <port>` once it accepts requests.
import { createServer } from 'node:http';
import { useResponseCache } from '@envelop/response-cache';
import { createYoga } from 'graphql-yoga';
import { createCacheStore, createEnvelopCache, useEnvelopInvalidationBarrier } from 'graphql-cache-layer';
import { schema } from './schema.js';

const cache = createEnvelopCache({
  store: createCacheStore({
    redis: process.env.REDIS_URL || undefined,
    prefix: 'bookshop-envelop',
    onError: (error, where) => console.error(`cache: Redis ${where} failed`, error),
  }),
  onError: (error, operation) => console.error(`cache: ${operation} failed`, error),
});
const yoga = createYoga({
  schema,
  plugins: [
    useResponseCache({ cache, session: () => null, ttl: 60_000, includeExtensionMetadata: true }),
    useEnvelopInvalidationBarrier(cache),
  ],
});
const server = createServer(yoga);

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening on ${server.address().port}`);
});
process.once('SIGTERM', () => {
  server.close(() => cache.close().then(() => process.exit(0)));
});
