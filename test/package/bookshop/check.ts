// The TypeScript consumer: type-checked (`tsc --noEmit`, strict) against the .d.ts files of the
// installed tarball. It is never run. The `@ts-expect-error` lines fail the check if the
// published types stop refusing what they must (or degrade to `any`).
import { createServer } from 'node:http';
import type { GraphQLResolveInfo } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import {
  cacheDirectivesDocument,
  cacheDirectivesTypeDefs,
  createCacheStore,
  createFastPath,
  createMemoryStore,
  createRedisStore,
  createResponseCache,
  createTieredStore,
  defaultBuildCacheKey,
  usePurgeEndpoint,
  useResponseCache,
  useStatsEndpoint,
  withPreviousVersion,
  type BuildCacheKey,
  type CacheStats,
  type CacheStore,
  type EvictionOutcome,
  type HintConfig,
  type ResponseCache,
} from 'graphql-cache-layer';

interface Book {
  id: string;
  title: string;
}

const schema = createSchema({
  typeDefs: [cacheDirectivesTypeDefs, 'type Book @cacheControl(maxAge: 60) { id: ID! title: String! } type Query { book(id: ID!): Book }'],
  resolvers: {
    Query: {
      book(_: unknown, { id }: { id: string }, __: unknown, info: GraphQLResolveInfo): Book {
        info.cacheControl.setCacheHint({ maxAge: 30, scope: 'PUBLIC' });
        return withPreviousVersion({ id, title: 'New' }, { id, title: 'Old' });
      },
    },
  },
});

const hints: HintConfig = { Book: 60, 'Book.title': { maxAge: 5 } };
// Accept-Language changes the answer here, so it enters the key.
const buildKey: BuildCacheKey = (input) => `${defaultBuildCacheKey(input)}:${input.request.headers.get('accept-language') ?? ''}`;
const store: CacheStore = createCacheStore({ redis: 'redis://127.0.0.1:6399', memoryBytes: 0, prefix: 'shop', onError: (error, where) => console.warn(where, error) });
const cache: ResponseCache = createResponseCache({
  schema,
  store,
  session: (request) => request.headers.get('authorization') ?? null,
  hints,
  buildKey,
  defaultMaxAge: 0,
});
const yoga = createYoga({ schema, plugins: [useResponseCache(cache), usePurgeEndpoint(cache, { token: 'a-long-enough-token' }), useStatsEndpoint(cache, { token: undefined })] });
createServer(createFastPath({ cache, next: yoga, graphqlEndpoint: '/graphql' }));

const remote = createRedisStore({ redis: 'redis://127.0.0.1:6399', commandTimeoutMs: 100 });
const tiered = createTieredStore({ local: createMemoryStore({ maxBytes: 1024 * 1024 }), remote });
const active: boolean = tiered.localTierActive;
const stats: CacheStats = cache.stats();
const evicted: Promise<EvictionOutcome> = cache.evictEntity('Book', '1');
const kinds: string[] = cacheDirectivesDocument.definitions.map((definition) => definition.kind);
void [active, stats, evicted, kinds];

// @ts-expect-error: the schema is required
createResponseCache({});
// @ts-expect-error: an option that does not exist
createCacheStore({ memoryByte: 1024 });
// @ts-expect-error: a hint's scope is PUBLIC or PRIVATE
const wrongHints: HintConfig = { Book: { scope: 'SHARED' } };
// @ts-expect-error: the session is a string, not a number
createResponseCache({ schema, session: () => 7 });
// @ts-expect-error: a Redis store needs a client, a URL or ioredis options
createRedisStore({ redis: 42 });
// @ts-expect-error: the front hands on to a node request listener
createFastPath({ cache, next: 'yoga' });
// @ts-expect-error: the purge endpoint is told its token, even when it is undefined
usePurgeEndpoint(cache, {});
void wrongHints;
