/** The cache variables: the defaults the README states, and start-up errors that show the bad value. */
import { describe, it, expect } from 'vitest';
import { loadConfig } from '../../server/config.ts';

describe('cache configuration', () => {
  it('has the defaults the README documents', () => {
    expect(loadConfig({}).cache).toEqual({
      enabled: true,
      redisKeyPrefix: 'gcl',
      redisCommandTimeoutMs: 250,
      evictionWaitMs: 2000,
      memoryBytes: 64 * 1024 * 1024,
      includeExtensionMetadata: false,
    });
  });

  it('turns metadata on in development, and lets CACHE_METADATA decide either way', () => {
    expect(loadConfig({ NODE_ENV: 'development' }).cache.includeExtensionMetadata).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development', CACHE_METADATA: 'false' }).cache.includeExtensionMetadata).toBe(false);
    expect(loadConfig({ CACHE_METADATA: 'true' }).cache.includeExtensionMetadata).toBe(true);
  });

  it('reads Redis, a cluster, the prefix, the tier size and the purge token', () => {
    const single = loadConfig({ REDIS_URL: 'redis://127.0.0.1:6390', REDIS_KEY_PREFIX: 'shop', CACHE_MEMORY_BYTES: '0', CACHE_PURGE_TOKEN: 'a-long-enough-token' });
    expect(single.cache).toMatchObject({ redis: { url: 'redis://127.0.0.1:6390' }, redisKeyPrefix: 'shop', memoryBytes: 0, purgeToken: 'a-long-enough-token' });
    const cluster = loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2:7001' });
    expect(cluster.cache.redis).toEqual({ clusterNodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }] });
    expect(loadConfig({ CACHE_ENABLED: 'false' }).cache.enabled).toBe(false);
    expect(loadConfig({ REDIS_COMMAND_TIMEOUT_MS: '1500' }).cache.redisCommandTimeoutMs).toBe(1500);
    expect(loadConfig({ CACHE_EVICTION_WAIT_MS: '0' }).cache.evictionWaitMs).toBe(0);
  });

  it.each([
    [{ REDIS_URL: 'localhost:6379' }, 'expected REDIS_URL to be a redis:// or rediss:// URL, got "localhost:6379"'],
    [{ REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'b:2' }, 'expected only one of REDIS_URL and REDIS_CLUSTER_NODES'],
    [{ REDIS_CLUSTER_NODES: 'node-a' }, 'expected REDIS_CLUSTER_NODES to be comma-separated host:port pairs, got "node-a"'],
    [{ CACHE_MEMORY_BYTES: '0' }, 'expected CACHE_MEMORY_BYTES above 0 without Redis'],
    [{ CACHE_MEMORY_BYTES: '64MB' }, 'expected CACHE_MEMORY_BYTES to be a whole number of bytes, got "64MB"'],
    [{ CACHE_PURGE_TOKEN: 'short' }, 'expected CACHE_PURGE_TOKEN to be at least 16 characters'],
    // It passed start-up, but a bearer token is read without outer spaces, so it never matched.
    [{ CACHE_PURGE_TOKEN: ' a-long-enough-token ' }, 'expected CACHE_PURGE_TOKEN without leading or trailing spaces'],
    [{ CACHE_ENABLED: 'yes' }, 'expected CACHE_ENABLED to be true or false, got "yes"'],
    [{ REDIS_COMMAND_TIMEOUT_MS: '0' }, 'expected REDIS_COMMAND_TIMEOUT_MS to be an integer from 1 to 60000, got "0"'],
    [{ CACHE_EVICTION_WAIT_MS: '2s' }, 'expected CACHE_EVICTION_WAIT_MS to be an integer from 0 to 60000, got "2s"'],
    [{ REDIS_KEY_PREFIX: '{gcl}' }, 'expected REDIS_KEY_PREFIX to be 1 to 64 letters'],
  ])('refuses %o at start-up', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('never prints a Redis password in an error', () => {
    expect(() => loadConfig({ REDIS_URL: 'http://user:secret@cache:6379' })).toThrow('http://user:***@cache:6379');
    expect(() => loadConfig({ REDIS_URL: 'http://user:secret@cache:6379' })).not.toThrow('secret');
  });
});
