/**
 * The catalog's pipeline in process with a cache built from options a test chooses (and its
 * schema built as a test chooses), behind the same HTTP front on a loopback port: how a cache
 * wired wrongly through its public options, or over a schema built another way, would serve
 * the catalog.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GraphQLSchema } from 'graphql';
import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { catalogResolvers, createCatalogContext, type CatalogContext } from '../../schema/index.ts';
import { createCatalogRepository } from '../../schema/data/catalog-repository.ts';
import { databaseBatches } from '../../schema/loaders.ts';
import { openDatabase } from '../../schema/data/database.ts';
import { createResponseCache, type ResponseCache, type ResponseCacheOptions } from '../../plugins/response-cache.ts';
import { useResponseCache } from '../../plugins/use-response-cache.ts';
import { createFastPath } from '../../plugins/http-front.ts';
import { seededPgliteSnapshot } from '../helpers/catalog.ts';
import { catalogSDL } from './catalog-fuzz.ts';

export interface CatalogWithCache {
  url: string;
  cache: ResponseCache;
  close(): Promise<void>;
}

export interface CatalogWithCacheOptions {
  /** After the cache's plugin, as on the real server. @default [] */
  plugins?: Plugin[];
  /** The catalog's schema built another way (it needs the catalog's resolvers). @default yoga's createSchema over the SDL */
  schema?: GraphQLSchema;
}

export async function startCatalogWithCache(
  cacheOptions: Omit<ResponseCacheOptions, 'schema'>,
  { plugins = [], schema = createSchema<CatalogContext>({ typeDefs: catalogSDL, resolvers: catalogResolvers }) }: CatalogWithCacheOptions = {},
): Promise<CatalogWithCache> {
  const db = await openDatabase({ pgliteSnapshot: await seededPgliteSnapshot() });
  const cache = createResponseCache({ schema, ...cacheOptions });
  const repository = createCatalogRepository(db);
  // Whole answers only: the real server the main fuzz runs against caches loaders and fields too.
  const services = { db, repository, batches: databaseBatches(repository) };
  const yoga = createYoga({
    schema,
    context: (initial) => createCatalogContext(initial, services),
    logging: false,
    batching: { limit: 10 },
    plugins: [useResponseCache(cache), ...plugins],
  });
  const server = createServer(createFastPath({ cache, next: yoga }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    cache,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await cache.close();
      await db.close();
    },
  };
}
