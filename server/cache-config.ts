/**
 * The cache layer's part of the configuration: read from the environment and validated once,
 * at start-up, into the same list of problems as the rest of the configuration.
 */
import { DEFAULT_MEMORY_MAX_BYTES, DEFAULT_REDIS_COMMAND_TIMEOUT_MS } from '../plugins/index.ts';

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

type Env = Record<string, string | undefined>;

export function loadCacheConfig(env: Env, problems: string[]): CacheConfig {
  const read = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const enabled = boolean(read('CACHE_ENABLED'), true, 'CACHE_ENABLED', problems);
  const includeExtensionMetadata = boolean(read('CACHE_METADATA'), env.NODE_ENV === 'development', 'CACHE_METADATA', problems);

  const url = read('REDIS_URL');
  const nodes = read('REDIS_CLUSTER_NODES');
  let redis: CacheConfig['redis'];
  if (url !== undefined && nodes !== undefined) {
    problems.push(`expected only one of REDIS_URL and REDIS_CLUSTER_NODES, got both (REDIS_CLUSTER_NODES=${JSON.stringify(nodes)})`);
  } else if (url !== undefined) {
    if (/^rediss?:\/\/[^/]/.test(url)) redis = { url };
    else problems.push(`expected REDIS_URL to be a redis:// or rediss:// URL, got ${JSON.stringify(redactPassword(url))}`);
  } else if (nodes !== undefined) {
    const clusterNodes = nodes.split(',').map((node) => node.trim()).map(hostPort);
    if (clusterNodes.some((node) => node === undefined)) {
      problems.push(`expected REDIS_CLUSTER_NODES to be comma-separated host:port pairs, got ${JSON.stringify(nodes)}`);
    } else {
      redis = { clusterNodes: clusterNodes as { host: string; port: number }[] };
    }
  }

  const redisKeyPrefix = read('REDIS_KEY_PREFIX') ?? 'gcl';
  if (!/^[A-Za-z0-9:_.-]{1,64}$/.test(redisKeyPrefix)) {
    problems.push(`expected REDIS_KEY_PREFIX to be 1 to 64 letters, digits or ":_.-", got ${JSON.stringify(redisKeyPrefix)}`);
  }

  const redisCommandTimeoutMs = milliseconds(read('REDIS_COMMAND_TIMEOUT_MS'), 1, DEFAULT_REDIS_COMMAND_TIMEOUT_MS, 'REDIS_COMMAND_TIMEOUT_MS', problems);
  const evictionWaitMs = milliseconds(read('CACHE_EVICTION_WAIT_MS'), 0, 2000, 'CACHE_EVICTION_WAIT_MS', problems);

  const rawBytes = read('CACHE_MEMORY_BYTES');
  let memoryBytes = DEFAULT_MEMORY_MAX_BYTES;
  if (rawBytes !== undefined) {
    if (!/^[0-9]+$/.test(rawBytes) || !Number.isSafeInteger(Number(rawBytes))) {
      problems.push(`expected CACHE_MEMORY_BYTES to be a whole number of bytes, got ${JSON.stringify(rawBytes)}`);
    } else if (Number(rawBytes) === 0 && redis === undefined && enabled) {
      problems.push('expected CACHE_MEMORY_BYTES above 0 without Redis (it is the whole cache then), got "0"; set CACHE_ENABLED=false to turn caching off');
    } else {
      memoryBytes = Number(rawBytes);
    }
  }

  const purgeToken = read('CACHE_PURGE_TOKEN');
  if (purgeToken !== undefined && purgeToken.length < 16) {
    problems.push(`expected CACHE_PURGE_TOKEN to be at least 16 characters, got one of ${purgeToken.length}`);
  } else if (purgeToken !== undefined && /^\s|\s$/.test(purgeToken)) {
    // A bearer token is read without its outer spaces: this one could never match.
    problems.push('expected CACHE_PURGE_TOKEN without leading or trailing spaces, got a token that has them');
  }

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

function milliseconds(raw: string | undefined, min: number, fallback: number, name: string, problems: string[]): number {
  if (raw === undefined) return fallback;
  if (!/^[0-9]+$/.test(raw) || Number(raw) < min || Number(raw) > 60_000) {
    problems.push(`expected ${name} to be an integer from ${min} to 60000, got ${JSON.stringify(raw)}`);
    return fallback;
  }
  return Number(raw);
}

function boolean(raw: string | undefined, fallback: boolean, name: string, problems: string[]): boolean {
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  problems.push(`expected ${name} to be true or false, got ${JSON.stringify(raw)}`);
  return fallback;
}

function hostPort(text: string): { host: string; port: number } | undefined {
  const match = /^([^:\s]+|\[[0-9a-fA-F:]+\]):([0-9]{1,5})$/.exec(text);
  if (!match) return undefined;
  const port = Number(match[2]);
  return port > 0 && port < 65_536 ? { host: match[1].replace(/^\[|\]$/g, ''), port } : undefined;
}

/** Config errors end up in logs: never print a password. */
function redactPassword(raw: string): string {
  return raw.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}
