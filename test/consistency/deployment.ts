/**
 * The servers a check runs against: one instance, or several sharing one Redis and one
 * PostgreSQL database, as a deployment does. They run in this process (createCatalogServer),
 * each with its own HTTP server, database pool, Redis clients, eviction subscriber and
 * in-process tier, so evictions travel between them through Redis exactly as between processes;
 * in process, the checker can slow their data layer and break their store (both code-level
 * options that no configuration reaches).
 *
 * Redis is a throw-away redis-server on a free port; PostgreSQL a throw-away `gcl_test_…`
 * database created next to the given URL and dropped at the end.
 */
import pg from 'pg';
import { createThrowawayDatabase, startCatalog, type TestCatalog, type ThrowawayDatabase } from '../helpers/catalog.ts';
import { startRedis, waitUntil, type RedisServer } from '../helpers/redis.ts';
import { breakStore, type Breakage } from './broken-stores.ts';
import type { Target } from './checker.ts';
import { requestGraphQL } from './read-kinds.ts';
import { withSlowProductReads } from './slow-database.ts';

/** Where answers live: in process, in Redis behind an in-process tier, or in Redis alone. */
export type CacheSetup = 'memory' | 'tiered' | 'redis';

export const CACHE_SETUPS: Record<CacheSetup, string> = {
  memory: 'in-memory store',
  tiered: 'Redis with the in-process tier',
  redis: 'Redis alone (CACHE_MEMORY_BYTES=0)',
};

export interface DeploymentSpec {
  /** More than one needs `postgresUrl`: instances must share their data. */
  instances: number;
  cache: CacheSetup;
  /** A PostgreSQL server to create the throw-away database on; without it, embedded PGlite. */
  postgresUrl?: string;
  /** Reads of product rows come back up to this many ms late (0: not slowed). */
  readDelayMs: number;
  /** Breaks every instance's store on purpose. @default none */
  breakage?: Breakage;
}

export interface Deployment {
  /** e.g. "2 instances, Redis with the in-process tier, PostgreSQL". */
  description: string;
  targets: Target[];
  /** The shared Redis, when the cache uses one. */
  redis: RedisServer | undefined;
  close(): Promise<void>;
}

const REDIS_PREFIX = 'consistency';
/** Read only by the warm-up: the checker never writes a category. */
const WARM_UP = '{ categories { id } }';

export async function startDeployment(spec: DeploymentSpec): Promise<Deployment> {
  const { instances, cache, postgresUrl, readDelayMs, breakage } = spec;
  if (instances > 1 && postgresUrl === undefined) throw new Error('several instances need PostgreSQL: each PGlite database is its own');
  if (instances > 1 && cache === 'memory') throw new Error('several instances need a shared cache (Redis)');
  const cleanups: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  };
  try {
    const redis = cache === 'memory' ? undefined : await startRedis();
    if (redis) cleanups.push(() => redis.stop());
    let database: ThrowawayDatabase | undefined;
    if (postgresUrl !== undefined) {
      database = await createThrowawayDatabase(postgresUrl);
      cleanups.push(() => database!.drop());
    }
    const env: Record<string, string> = {
      ...(database && { DATABASE_URL: database.url }),
      ...(redis && { REDIS_URL: redis.url, REDIS_KEY_PREFIX: REDIS_PREFIX }),
      ...(cache === 'redis' && { CACHE_MEMORY_BYTES: '0' }),
    };
    const servers: TestCatalog[] = [];
    // One after the other: the first migrates and seeds the shared database.
    for (let i = 0; i < instances; i++) {
      const server = await startCatalog('pglite', {
        env,
        wrapDatabase: (db) => withSlowProductReads(db, { maxDelayMs: readDelayMs }),
        ...(breakage && { wrapCacheStore: breakStore(breakage) }),
      });
      cleanups.push(() => server.close());
      servers.push(server);
    }
    const targets = servers.map((server, i) => ({ name: String.fromCharCode(65 + i), url: server.url }));
    await untilCaching(targets, cache === 'tiered' ? redis : undefined);
    return {
      description: [
        `${instances} instance${instances > 1 ? 's' : ''}`,
        CACHE_SETUPS[cache],
        database ? 'PostgreSQL' : 'PGlite',
        ...(readDelayMs > 0 ? [`product reads slowed by up to ${readDelayMs} ms`] : []),
        ...(breakage ? [`store broken: ${breakage}`] : []),
      ].join(', '),
      targets,
      redis,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Until every instance caches (a repeated read is a HIT: the first reads may come before its
 * Redis client is connected) and, with the in-process tier, has subscribed to evictions (until
 * then it reads Redis alone, and the check wants its tier in play).
 */
async function untilCaching(targets: Target[], tieredRedis: RedisServer | undefined): Promise<void> {
  for (const target of targets) {
    await waitUntil(async () => (await requestGraphQL(target.url, { method: 'POST', query: WARM_UP })).cache === 'HIT', `${target.name} to cache`, {
      timeoutMs: 15_000,
      intervalMs: 50,
    });
  }
  if (tieredRedis) {
    const subscribed = async () => ((await tieredRedis.command('PUBSUB', 'NUMSUB', `${REDIS_PREFIX}:tiers`)) as [string, number])[1];
    await waitUntil(async () => (await subscribed()) === targets.length, 'every instance to subscribe to evictions', { timeoutMs: 15_000 });
  }
}

export type PostgresStatus = { reachable: true } | { reachable: false; reason: string };

/** Whether a PostgreSQL server answers at `url`, and why not when it does not. */
export async function probePostgres(url: string): Promise<PostgresStatus> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { reachable: true };
  } catch (error) {
    return { reachable: false, reason: error instanceof Error ? error.message || error.name : String(error) };
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The products the checker writes: `count` of the first hundred (the `products(first: 100)` list
 * holds them all), taken category by category, so that a category's lists hold several of them.
 * The seed puts product i in category 1 + (i - 1) mod 20.
 */
export function hotProducts(count: number): { id: string; category: string }[] {
  if (!(count >= 1 && count <= 100)) throw new Error(`expected 1 to 100 hot products, got ${count}`);
  const ids = Array.from({ length: 100 }, (_, i) => i + 1).sort((a, b) => ((a - 1) % 20) - ((b - 1) % 20) || a - b);
  return ids.slice(0, count).map((id) => ({ id: String(id), category: String(1 + ((id - 1) % 20)) }));
}
