/**
 * The catalog's tRPC endpoint: the router (schema/trpc/) on tRPC's node adapter at `/trpc`,
 * beside GraphQL on the same server and port. With a cache, queries are cached by its middleware
 * and each response carries the cache headers of its calls (`trpcCacheResponseMeta`).
 */
import type { IncomingMessage, RequestListener } from 'node:http';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { trpcCacheResponseMeta, withTrpcCacheContext, type ResponseCache } from '../plugins/index.ts';
import type { CatalogServices } from '../schema/index.ts';
import { createCatalogTrpcContext } from '../schema/trpc/context.ts';
import { createCatalogRouter } from '../schema/trpc/router.ts';
import type { Logger } from './logger.ts';

export const TRPC_PATH = '/trpc';

export interface TrpcEndpointOptions {
  services: CatalogServices;
  cache: ResponseCache | undefined;
  logger: Logger;
  maxBodyBytes: number;
}

export function createTrpcEndpoint({ services, cache, logger, maxBodyBytes }: TrpcEndpointOptions): RequestListener {
  const createContext = (options: { req: IncomingMessage }) => createCatalogTrpcContext(options, services);
  return createHTTPHandler({
    router: createCatalogRouter(cache),
    basePath: `${TRPC_PATH}/`,
    maxBodySize: maxBodyBytes,
    createContext: cache ? withTrpcCacheContext(cache, createContext) : createContext,
    ...(cache && { responseMeta: trpcCacheResponseMeta }),
    onError({ error, path }) {
      if (error.code === 'INTERNAL_SERVER_ERROR') logger.error({ err: error, path }, 'tRPC procedure failed');
    },
  });
}

/** Requests under `/trpc` go to tRPC, everything else to `next`. */
export function routeTrpc(trpc: RequestListener, next: RequestListener): RequestListener {
  return (req, res) => {
    const url = req.url ?? '/';
    const under = url.startsWith(TRPC_PATH) && (url.length === TRPC_PATH.length || url[TRPC_PATH.length] === '/' || url[TRPC_PATH.length] === '?');
    return under ? trpc(req, res) : next(req, res);
  };
}
