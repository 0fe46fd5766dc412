/**
 * The context of a tRPC request: the services and per-request DataLoaders every GraphQL request
 * gets (context.ts), and the signed-in user from the same demo `Authorization` header.
 */
import type { IncomingMessage } from 'node:http';
import { userIdFromAuthorization } from '../auth.ts';
import type { CatalogServicesContext } from '../catalog.ts';
import type { CatalogServices } from '../context.ts';
import { createLoaders } from '../loaders.ts';

export type CatalogTrpcContext = CatalogServicesContext;

export function createCatalogTrpcContext({ req }: { req: IncomingMessage }, { db, repository, batches }: CatalogServices): CatalogTrpcContext {
  return {
    db,
    repository,
    loaders: createLoaders(batches),
    viewerId: userIdFromAuthorization(req.headers.authorization),
  };
}
