/**
 * The peer baseline: graphql-yoga with `@graphql-yoga/plugin-response-cache` at its defaults
 * (in-memory store, global TTL Infinity, eviction via mutations), on the catalog's schema,
 * resolvers, context and data, built the way server/create-server.ts builds them, but without
 * our cache layer. Only `session` is set, because the plugin requires it.
 *
 * Env: PORT (required), LOG_LEVEL (default warn), DATABASE_URL (optional; embedded PGlite otherwise).
 */
import { createServer } from 'node:http';
import { createLogger, createSchema, createYoga, type LogLevel } from 'graphql-yoga';
import { useResponseCache } from '@graphql-yoga/plugin-response-cache';
import { catalogResolvers, catalogTypeDefs, createCatalogContext, type CatalogContext } from '../../schema/index.ts';
import { databaseBatches } from '../../schema/loaders.ts';
import { createCatalogRepository } from '../../schema/data/catalog-repository.ts';
import { openDatabase } from '../../schema/data/database.ts';
import { prepareDatabase } from '../../schema/data/migrate.ts';
import { cacheDirectivesTypeDefs } from '../../plugins/index.ts';

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error(`yoga-response-cache: expected PORT to be a port number, got ${JSON.stringify(process.env.PORT)}`);
  process.exit(1);
}
const logger = createLogger((process.env.LOG_LEVEL || 'warn') as LogLevel | 'silent');

const db = await openDatabase({
  databaseUrl: process.env.DATABASE_URL || undefined,
  onIdleError: (error) => logger.error('idle database connection failed', error),
});
await prepareDatabase(db);
const repository = createCatalogRepository(db);
const services = { db, repository, batches: databaseBatches(repository) };

const yoga = createYoga({
  schema: createSchema<CatalogContext>({
    typeDefs: [cacheDirectivesTypeDefs, catalogTypeDefs],
    resolvers: catalogResolvers,
  }),
  context: (initial) => createCatalogContext(initial, services),
  logging: logger,
  graphqlEndpoint: '/graphql',
  plugins: [useResponseCache({ session: () => null })],
});

const server = createServer(yoga);
server.listen(port, '127.0.0.1');

async function shutdown(): Promise<void> {
  server.closeAllConnections();
  server.close();
  await yoga.dispose();
  await db.close();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown());
// The bench holds our stdin open; when it goes away (even killed), so do we.
process.stdin.resume();
process.stdin.once('end', () => process.exit(0));
