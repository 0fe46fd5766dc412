/**
 * The store a deployment asks for, from one options object: in-process memory; one Redis from a
 * URL; a Redis Cluster from its seed nodes; and, with either Redis, an in-process tier in front
 * of it that pub/sub keeps honest. It makes the Redis clients these need, and closes them with
 * the store. To share clients of your own, build the stores yourself (`createRedisStore`,
 * `createTieredStore`).
 */
import { Cluster, Redis } from 'ioredis';
import { createMemoryStore, DEFAULT_MEMORY_MAX_BYTES } from './memory-store.ts';
import { boundedRedisOptions, createRedisStore, DEFAULT_REDIS_COMMAND_TIMEOUT_MS, type RedisStoreOperation } from './redis-store.ts';
import { createTieredStore } from './tiered-store.ts';
import type { CacheStore } from './store.ts';

/** A Redis Cluster node to connect to first; the client learns the others from it. */
export interface RedisClusterNode {
  host: string;
  port: number;
}

/**
 * Where a Redis failure the store absorbed happened: a store operation (`get`, `set`, `evict`,
 * `clear`), a client's `connection`, the Cluster's eviction `subscriber` connection, or the
 * in-process tier's `pub/sub` (subscription refused, unreadable message).
 */
export type CacheStoreFailure = RedisStoreOperation | 'subscriber' | 'pub/sub';

/** Options of `createCacheStore`. */
export interface CacheStoreOptions {
  /**
   * Where Redis is, for several instances sharing one cache: a `redis://` or `rediss://` URL, or
   * the seed nodes of a Redis Cluster. Unset: the cache is in this process only.
   * @default undefined (in-process memory store)
   */
  redis?: string | { clusterNodes: readonly RedisClusterNode[] };
  /**
   * Bytes of the in-process cache: the whole cache without Redis; with Redis, the tier in front of
   * it, so hot hits need no round trip (evictions reach other instances' tiers one pub/sub message
   * after Redis). 0 turns that tier off (Redis only); without Redis it must be above 0.
   * @default DEFAULT_MEMORY_MAX_BYTES (64 MiB)
   */
  memoryBytes?: number;
  /**
   * Namespace and Cluster hash tag of every Redis key, so several caches share one Redis: a
   * non-empty string without braces.
   * @default 'gcl'
   */
  prefix?: string;
  /**
   * Deadline of one Redis operation, in ms: past it a read is a miss, a write is skipped, and an
   * eviction is retried once, then kept pending.
   * @default DEFAULT_REDIS_COMMAND_TIMEOUT_MS (250)
   */
  commandTimeoutMs?: number;
  /**
   * Receives every Redis failure the store absorbed (the request is then answered without the
   * cache, never wrongly) and where it happened. Attach your logger or metrics here.
   * @default a no-op
   */
  onError?: (error: unknown, where: CacheStoreFailure) => void;
}

const noop = (): void => {};

/**
 * Builds the store `options` describe: `createMemoryStore` without Redis; with Redis,
 * `createRedisStore` behind a `createTieredStore` in-process tier (or alone when `memoryBytes`
 * is 0), so the store is a `MemoryStore`, `RedisStore` or `TieredStore`. Every command is
 * bounded (`commandTimeoutMs`), and a Redis that is down means misses, not errors.
 * Throws a `TypeError` that shows the bad value when an option is not usable.
 */
export function createCacheStore(options: CacheStoreOptions = {}): CacheStore {
  const {
    redis,
    memoryBytes = DEFAULT_MEMORY_MAX_BYTES,
    prefix = 'gcl',
    commandTimeoutMs = DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
    onError = noop,
  } = options;
  if (!(Number.isSafeInteger(memoryBytes) && memoryBytes >= 0)) {
    throw new TypeError(`createCacheStore: expected memoryBytes to be a whole number of bytes, got ${String(memoryBytes)}`);
  }
  if (redis === undefined) {
    if (memoryBytes === 0) {
      throw new TypeError('createCacheStore: expected memoryBytes above 0 without redis (it is the whole cache then), got 0');
    }
    return createMemoryStore({ maxBytes: memoryBytes });
  }
  if (typeof redis === 'string') {
    if (!/^rediss?:\/\/[^/]/.test(redis)) {
      // Only the scheme: the rest of a URL may hold a password.
      const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(redis)?.[0] ?? 'none';
      throw new TypeError(`createCacheStore: expected redis to be a redis:// or rediss:// URL, got one with scheme ${JSON.stringify(scheme)}`);
    }
    // The Redis store makes (and quits) its own bounded client; the tier its own subscriber.
    const remote = createRedisStore({ redis, prefix, commandTimeoutMs, onError });
    if (memoryBytes === 0) return remote;
    return createTieredStore({ local: createMemoryStore({ maxBytes: memoryBytes }), remote, onError: (error) => onError(error, 'pub/sub') });
  }
  if (!Array.isArray(redis.clusterNodes) || redis.clusterNodes.length === 0) {
    throw new TypeError(`createCacheStore: expected redis.clusterNodes to list at least one { host, port }, got ${JSON.stringify(redis.clusterNodes)}`);
  }
  return createClusterStore(redis.clusterNodes, { memoryBytes, prefix, commandTimeoutMs, onError });
}

function createClusterStore(
  clusterNodes: readonly RedisClusterNode[],
  { memoryBytes, prefix, commandTimeoutMs, onError }: Required<Omit<CacheStoreOptions, 'redis'>>,
): CacheStore {
  const bounded = boundedRedisOptions(commandTimeoutMs);
  // Without auto-pipelining: see boundedRedisOptions.
  const client = new Cluster([...clusterNodes], {
    enableOfflineQueue: false,
    clusterRetryStrategy: bounded.retryStrategy,
    redisOptions: { ...bounded, enableAutoPipelining: false },
  });
  // PUBLISH reaches every node of a cluster: one plain connection to a seed hears them all.
  const seed = clusterNodes[0];
  const subscriber = memoryBytes > 0 ? new Redis({ ...bounded, autoResubscribe: false, host: seed.host, port: seed.port }) : undefined;
  // A client without an 'error' listener crashes the process on the first connection error.
  client.on('error', (error) => onError(error, 'connection'));
  subscriber?.on('error', (error) => onError(error, 'subscriber'));

  const remote = createRedisStore({ redis: client, prefix, commandTimeoutMs, onError });
  const closeClients = async () => {
    await Promise.allSettled([client.quit(), subscriber?.quit()]);
  };
  if (subscriber === undefined) return withClose(remote, closeClients);
  const tiered = createTieredStore({
    local: createMemoryStore({ maxBytes: memoryBytes }),
    remote,
    subscriber,
    onError: (error) => onError(error, 'pub/sub'),
  });
  return withClose(tiered, closeClients);
}

/** The stores do not own clients passed to them: quit those after the store closes. */
function withClose<T extends CacheStore>(store: T, after: () => Promise<void>): T {
  const close = store.close.bind(store);
  return Object.assign(store, {
    async close() {
      await close();
      await after();
    },
  });
}
