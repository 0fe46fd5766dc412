import type { YogaInitialContext } from 'graphql-yoga';
import { userIdFromAuthorization } from './auth.ts';
import type { CatalogRepository } from './data/catalog-repository.ts';
import type { Database } from './data/database.ts';
import { createLoaders, databaseBatches, type CatalogBatches, type CatalogLoaders } from './loaders.ts';

/** The GraphQL context of every catalog request; codegen.yml types resolvers with it. */
export interface CatalogContext extends YogaInitialContext {
  db: Database;
  repository: CatalogRepository;
  /** Fresh per request; after a write, replaced by loaders that read the database alone (`readAfterWrite`). */
  loaders: CatalogLoaders;
  /** The signed-in user's id from the demo `Authorization` header; null when signed out. */
  viewerId: string | null;
}

/** What every request shares: built once per server. */
export interface CatalogServices {
  db: Database;
  repository: CatalogRepository;
  /** Where the loaders read rows: through the cache, or the database alone. */
  batches: CatalogBatches;
}

export function createCatalogContext(initial: YogaInitialContext, { db, repository, batches }: CatalogServices): CatalogContext {
  return {
    ...initial,
    db,
    repository,
    loaders: createLoaders(batches),
    viewerId: userIdFromAuthorization(initial.request.headers.get('authorization')),
  };
}

/**
 * After a write, every row loaded so far may be stale, and so may the cache until the mutation's
 * eviction runs, after its fields resolve: the rest of the request reads the database alone.
 */
export function readAfterWrite(context: Pick<CatalogContext, 'repository' | 'loaders'>): CatalogLoaders {
  context.loaders = createLoaders(databaseBatches(context.repository));
  return context.loaders;
}
