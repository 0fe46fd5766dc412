import type { YogaInitialContext } from 'graphql-yoga';
import { userIdFromAuthorization } from './auth.ts';
import type { CatalogRepository } from './data/catalog-repository.ts';
import type { Database } from './data/database.ts';
import { createLoaders, type CatalogLoaders } from './loaders.ts';

/** The GraphQL context of every catalog request; codegen.yml types resolvers with it. */
export interface CatalogContext extends YogaInitialContext {
  db: Database;
  repository: CatalogRepository;
  /** Fresh per request. */
  loaders: CatalogLoaders;
  /** The signed-in user's id from the demo `Authorization` header; null when signed out. */
  viewerId: string | null;
}

/** What every request shares: built once per server. */
export interface CatalogServices {
  db: Database;
  repository: CatalogRepository;
}

export function createCatalogContext(initial: YogaInitialContext, { db, repository }: CatalogServices): CatalogContext {
  return {
    ...initial,
    db,
    repository,
    loaders: createLoaders(repository),
    viewerId: userIdFromAuthorization(initial.request.headers.get('authorization')),
  };
}
