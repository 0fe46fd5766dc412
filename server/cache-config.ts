/**
 * The cache layer's part of the configuration: read from the environment and validated once,
 * at start-up, into the same list of problems as the rest of the configuration.
 */
import { DEFAULT_MEMORY_MAX_BYTES, DEFAULT_REDIS_COMMAND_TIMEOUT_MS } from '../plugins/index.ts';
import { redactPassword, type EnvReader } from './env.ts';

export interface CacheConfig {
  /** Without the cache layer the server answers everything by executing. @default true */
  enabled: boolean;
  /** Where Redis is, for many instances sharing one cache. */
  redis?: { url: string } | { clusterNodes: { host: string; port: number }[] };
  /** Prefix (and Cluster hash tag) of every Redis key, so several apps share one Redis. @default "gcl" */
  redisKeyPrefix: string;
  /** Deadline of one Redis operation, in ms: past it a read is a miss and a write is skipped. @default 250 */
  redisCommandTimeoutMs: number;
  /** How long a mutation's response waits for an eviction Redis could not apply at once, in ms. @default 2000 */
  evictionWaitMs: number;
  /**
   * Bytes of the in-process cache: the whole cache without Redis, the tier in front of Redis with
   * it (0 turns that tier off: every hit is a Redis round trip). @default 64 MiB
   */
  memoryBytes: number;
  /** Bearer token of the HTTP purge endpoint; unset turns the endpoint off. */
  purgeToken?: string;
  /** Add `extensions.responseCache` to answers. @default true when NODE_ENV is "development" */
  includeExtensionMetadata: boolean;
}

export function loadCacheConfig(read: EnvReader): CacheConfig {
  const enabled = read.boolean('CACHE_ENABLED', true);
  const includeExtensionMetadata = read.boolean('CACHE_METADATA', read.string('NODE_ENV') === 'development');

  const url = read.string('REDIS_URL');
  const nodes = read.string('REDIS_CLUSTER_NODES');
  let redis: CacheConfig['redis'];
  if (url !== undefined && nodes !== undefined) {
    read.problem(`expected only one of REDIS_URL and REDIS_CLUSTER_NODES, got both (REDIS_CLUSTER_NODES=${JSON.stringify(nodes)})`);
  } else if (url !== undefined) {
    if (/^rediss?:\/\/[^/]/.test(url)) redis = { url };
    else read.problem(`expected REDIS_URL to be a redis:// or rediss:// URL, got ${JSON.stringify(redactPassword(url))}`);
  } else if (nodes !== undefined) {
    const clusterNodes = nodes.split(',').map((node) => node.trim()).map(hostPort);
    if (clusterNodes.some((node) => node === undefined)) {
      read.problem(`expected REDIS_CLUSTER_NODES to be comma-separated host:port pairs, got ${JSON.stringify(nodes)}`);
    } else {
      redis = { clusterNodes: clusterNodes as { host: string; port: number }[] };
    }
  }

  const redisKeyPrefix = read.string('REDIS_KEY_PREFIX') ?? 'gcl';
  if (!/^[A-Za-z0-9:_.-]{1,64}$/.test(redisKeyPrefix)) {
    read.problem(`expected REDIS_KEY_PREFIX to be 1 to 64 letters, digits or ":_.-", got ${JSON.stringify(redisKeyPrefix)}`);
  }

  const redisCommandTimeoutMs = read.integer('REDIS_COMMAND_TIMEOUT_MS', { min: 1, max: 60_000, fallback: DEFAULT_REDIS_COMMAND_TIMEOUT_MS });
  const evictionWaitMs = read.integer('CACHE_EVICTION_WAIT_MS', { min: 0, max: 60_000, fallback: 2000 });

  const rawBytes = read.string('CACHE_MEMORY_BYTES');
  let memoryBytes = DEFAULT_MEMORY_MAX_BYTES;
  if (rawBytes !== undefined) {
    if (!/^[0-9]+$/.test(rawBytes) || !Number.isSafeInteger(Number(rawBytes))) {
      read.problem(`expected CACHE_MEMORY_BYTES to be a whole number of bytes, got ${JSON.stringify(rawBytes)}`);
    } else if (Number(rawBytes) === 0 && redis === undefined && enabled) {
      read.problem('expected CACHE_MEMORY_BYTES above 0 without Redis (it is the whole cache then), got "0"; set CACHE_ENABLED=false to turn caching off');
    } else {
      memoryBytes = Number(rawBytes);
    }
  }

  const purgeToken = read.token('CACHE_PURGE_TOKEN');

  return {
    enabled,
    ...(redis && { redis }),
    redisKeyPrefix,
    redisCommandTimeoutMs,
    evictionWaitMs,
    memoryBytes,
    ...(purgeToken !== undefined && { purgeToken }),
    includeExtensionMetadata,
  };
}

function hostPort(text: string): { host: string; port: number } | undefined {
  const match = /^([^:\s]+|\[[0-9a-fA-F:]+\]):([0-9]{1,5})$/.exec(text);
  if (!match) return undefined;
  const port = Number(match[2]);
  return port > 0 && port < 65_536 ? { host: match[1].replace(/^\[|\]$/g, ''), port } : undefined;
}
