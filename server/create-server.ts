import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GraphQLSchema } from 'graphql';
import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { createInMemoryAPQStore, useAPQ, type APQStore } from '@graphql-yoga/plugin-apq';
import type { DestinationStream } from 'pino';
import { catalogResolvers, catalogTypeDefs, createCatalogContext, type CatalogContext, type CatalogServices } from '../schema/index.ts';
import { createCatalogRepository } from '../schema/data/catalog-repository.ts';
import { databaseBatches } from '../schema/loaders.ts';
import { cachedBatches, catalogCachedFields } from '../schema/resolver-cache.ts';
import { openDatabase, type Database } from '../schema/data/database.ts';
import { prepareDatabase } from '../schema/data/migrate.ts';
import type { RequestLimits, ServerConfig } from './config.ts';
import { createCacheLayer } from './cache-setup.ts';
import { limitRequestBodies } from './body-limit.ts';
import { useQueryLimits } from './limits.ts';
import { useHttpRefusals } from './http-refusals.ts';
import { catalogGraphiQL, renderGraphiQL } from './graphiql.ts';
import { createServerLogger, flushLogs, yogaLogger, type Logger } from './logger.ts';
import { createRequestLog, type RequestLog } from './request-log.ts';
import { createServerMetrics, type ServerMetrics } from './metrics.ts';
import {
  cacheDirectivesTypeDefs,
  createFastPath,
  usePurgeEndpoint,
  useResponseCache,
  useStatsEndpoint,
  type CacheStore,
  type ResponseCache,
} from '../plugins/index.ts';
import { userIdFromAuthorization } from '../schema/auth.ts';
import { createTrpcEndpoint, routeTrpc } from './trpc.ts';

/** A plugin that reads the catalog context, or any context-agnostic yoga plugin. */
export type CatalogPlugin = Plugin<CatalogContext> | Plugin;

export interface CatalogServerOptions {
  /** Appended after the server's own plugins; tests add spies here. @default [] */
  plugins?: CatalogPlugin[];
  /** Start PGlite from this data directory dump instead of initdb; tests start many servers. */
  pgliteSnapshot?: Blob;
  /**
   * Wraps the database the configuration opens, before anything uses it: the consistency
   * checker slows reads with it to widen race windows. Code alone can set it, never the
   * environment, so no deployment can switch such a wrapper on by configuration.
   * @default none: the database as opened
   */
  wrapDatabase?: (db: Database) => Database;
  /**
   * Wraps the cache store the configuration builds: checks that break the cache on purpose (to
   * prove they can fail) use it. Like `wrapDatabase`, code alone can set it.
   * @default none: the store as built
   */
  wrapCacheStore?: (store: CacheStore) => CacheStore;
  /** Where log lines go instead of stdout: tests read them. @default stdout */
  logDestination?: DestinationStream;
  /**
   * Whether the cache also serves the loaders and the cached fields (schema/resolver-cache.ts),
   * or whole answers only. The bench compares the two; code alone can switch it.
   * @default true
   */
  resolverCaching?: boolean;
}

/**
 * Automatic persisted queries: the texts of up to 1,000 queries by hash, each kept an hour after
 * it was registered (a client whose hash is gone is answered `PersistedQueryNotFound` and sends
 * the text again). One store, shared by yoga's APQ plugin and the HTTP front.
 */
export const PERSISTED_QUERIES = { max: 1000, ttlMs: 3_600_000 } as const;

export interface CatalogServer {
  yoga: ReturnType<typeof createCatalogYoga>;
  /** The response cache; absent when CACHE_ENABLED=false. */
  cache: ResponseCache | undefined;
  httpServer: Server;
  db: Database;
  logger: Logger;
  /** Everything `GET /metrics` serves. */
  metrics: ServerMetrics;
  /** Starts listening on the configured host and port (0: a free one). */
  listen(): Promise<{ port: number; url: string }>;
  /** Stops accepting, lets in-flight requests finish, then disposes plugins and closes the database. */
  close(): Promise<void>;
}

export async function createCatalogServer(
  config: ServerConfig,
  { plugins = [], pgliteSnapshot, wrapDatabase = (db) => db, wrapCacheStore, logDestination, resolverCaching = true }: CatalogServerOptions = {},
): Promise<CatalogServer> {
  const logger = createServerLogger(config, logDestination);
  const opened = await openDatabase({
    databaseUrl: config.databaseUrl,
    pgliteDataDir: config.pgliteDataDir,
    pgliteSnapshot,
    onIdleError: (error) => logger.error({ err: error }, 'idle database connection failed'),
  });
  const db = wrapDatabase(opened);
  try {
    const started = performance.now();
    const { seeded, applied } = await prepareDatabase(db);
    const elapsed = Math.round(performance.now() - started);
    logger.debug(`${db.kind} ready in ${elapsed} ms: migrations applied [${applied.join(', ')}], seeded ${seeded}`);
  } catch (error) {
    await db.close();
    throw error;
  }

  const schema = createSchema<CatalogContext>({ typeDefs: [cacheDirectivesTypeDefs, catalogTypeDefs], resolvers: catalogResolvers });
  const metrics = createServerMetrics({ token: config.metricsToken });
  const cache = config.cache.enabled
    ? createCacheLayer({
        config: config.cache,
        schema,
        session: catalogSession,
        logger,
        metrics: metrics.cache,
        cachedFields: resolverCaching ? catalogCachedFields : {},
        wrapStore: wrapCacheStore,
      })
    : undefined;
  if (cache) metrics.cache.observe(cache);
  const persistedQueries = createInMemoryAPQStore({ max: PERSISTED_QUERIES.max, ttl: PERSISTED_QUERIES.ttlMs });
  const requestLog = createRequestLog(logger);
  const repository = createCatalogRepository(db);
  const services = { db, repository, batches: cache && resolverCaching ? cachedBatches(repository, cache) : databaseBatches(repository) };
  const yoga = createCatalogYoga({ services, logger, schema, cache, persistedQueries, metrics, requestLog, purgeToken: config.cache.purgeToken, limits: config.limits, plugins });
  const trpc = createTrpcEndpoint({ services, cache, logger, maxBodyBytes: config.limits.maxBodyBytes });
  // Cache hits are answered by the front before yoga sees the request; `/trpc` is tRPC's,
  // everything else is yoga's.
  const responses = trackResponses();
  const pipeline = responses.tracked(routeTrpc(trpc, yoga));
  const httpServer = createServer(
    requestLog.listener(
      limitRequestBodies(
        cache
          ? createFastPath({ cache, next: pipeline, cors: CORS, connectionClose: responses.closing, persistedQueries, onServed: requestLog.onServed })
          : pipeline,
        config.limits.maxBodyBytes,
      ),
    ),
  );
  let closing: Promise<void> | undefined;

  return {
    yoga,
    cache,
    httpServer,
    db,
    logger,
    metrics,
    listen: () => listen(httpServer, config.port, config.host),
    close() {
      closing ??= (async () => {
        // Each step runs even when the one before failed: the database must not stay open
        // because a plugin's dispose threw.
        try {
          if (httpServer.listening) {
            responses.closeConnectionsWhenDone();
            await closeGracefully(httpServer, config.shutdownTimeoutMs);
          }
        } finally {
          try {
            await yoga.dispose();
            await cache?.close();
          } finally {
            try {
              await db.close();
            } finally {
              await flushLogs(logger);
            }
          }
        }
      })();
      return closing;
    },
  };
}

/** The demo's session: the user the bearer token names, from the header alone. */
const catalogSession = (request: { headers: { get(name: string): string | null | undefined } }) =>
  userIdFromAuthorization(request.headers.get('authorization'));

/** Browsers may read the cache headers of cross-origin answers. */
const CORS = { exposedHeaders: ['x-cache', 'x-cache-coalesced', 'age', 'etag', 'cache-control'] };

function createCatalogYoga({
  services,
  logger,
  schema,
  cache,
  persistedQueries,
  metrics,
  requestLog,
  purgeToken,
  limits,
  plugins,
}: {
  services: CatalogServices;
  logger: Logger;
  schema: GraphQLSchema;
  cache: ResponseCache | undefined;
  persistedQueries: APQStore;
  metrics: ServerMetrics;
  requestLog: RequestLog;
  purgeToken: string | undefined;
  limits: RequestLimits;
  plugins: CatalogPlugin[];
}) {
  return createYoga({
    schema,
    context: (initial) => createCatalogContext(initial, services),
    logging: yogaLogger(logger),
    graphqlEndpoint: '/graphql',
    // Served with its assets inlined, so it works offline; opens on a query that shows the cache.
    graphiql: catalogGraphiQL,
    renderGraphiQL,
    cors: CORS,
    batching: { limit: limits.maxBatchSize },
    // The plugin list, in order. Yoga's built-ins (parsing, validation, error masking, GraphiQL)
    // come before these. The HTTP front (createFastPath) sits before all of yoga.
    plugins: [
      // The GraphQL pipeline's metrics, and GET /metrics (behind METRICS_TOKEN when set).
      ...metrics.plugins,
      // Refuses what cannot be answered (Accept, Content-Type, a malformed body) before it is parsed.
      useHttpRefusals(),
      // Refuses hostile documents (depth, aliases, directives, tokens, cost) before they execute.
      ...useQueryLimits(limits),
      // Operators' purge and stats endpoints (off without CACHE_PURGE_TOKEN).
      ...(cache ? [usePurgeEndpoint(cache, { token: purgeToken }), useStatsEndpoint(cache, { token: purgeToken })] : []),
      // Automatic persisted queries: a hash alone stands for a query registered before. Before
      // the cache, which keys the query text; the HTTP front reads the same store.
      useAPQ({ store: persistedQueries }),
      // Answers hits that reach yoga, stores answers, evicts on mutations, sets cache headers.
      ...(cache ? [useResponseCache(cache)] : []),
      // One line per request: after the cache's plugin, whose X-Cache it reads.
      requestLog.plugin,
      ...plugins,
    ],
  });
}

function listen(httpServer: Server, port: number, host: string): Promise<{ port: number; url: string }> {
  return new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, host, () => {
      httpServer.off('error', reject);
      const actualPort = (httpServer.address() as AddressInfo).port;
      resolve({ port: actualPort, url: `http://${urlHost(host)}:${actualPort}/graphql` });
    });
  });
}

/** A wildcard address is not somewhere to browse to; an IPv6 literal needs brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Stops accepting connections and resolves once every open one has ended. Idle keep-alive
 * connections are closed at once; responses still being produced are sent with
 * `Connection: close`, so their connections end with them instead of idling until the
 * keep-alive timeout. Whatever still runs after `timeoutMs` is cut off rather than holding
 * the process forever.
 */
function closeGracefully(httpServer: Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => httpServer.closeAllConnections(), timeoutMs);
    httpServer.close((error) => {
      clearTimeout(deadline);
      if (error) reject(error);
      else resolve();
    });
    httpServer.closeIdleConnections();
  });
}

/**
 * Tracks the pipeline's responses in flight, so that a graceful close can ask them to end their
 * connections. The HTTP front answers hits itself and asks `closing` instead: a hit is sent in
 * the turn its body arrives, so tracking it would cost every hit and gain nothing.
 */
function trackResponses() {
  const inFlight = new Set<ServerResponse>();
  let closing = false;
  const endConnectionAfter = (response: ServerResponse) => {
    if (!response.headersSent) response.setHeader('connection', 'close');
  };
  function forget(this: ServerResponse) {
    inFlight.delete(this);
  }
  return {
    tracked(listener: RequestListener): RequestListener {
      return (request, response) => {
        if (closing) endConnectionAfter(response);
        inFlight.add(response);
        response.on('close', forget);
        listener(request, response);
      };
    },
    closing: () => closing,
    closeConnectionsWhenDone() {
      closing = true;
      inFlight.forEach(endConnectionAfter);
    },
  };
}
