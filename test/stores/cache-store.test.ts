/**
 * createCacheStore: the store a deployment asks for from one options object, the clients it
 * makes and closes, and start-up errors that show the bad value (never a password). A Redis
 * Cluster is covered through the server in test/integration/redis-cluster-server.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCacheStore, type CacheStoreFailure, type RedisStore, type TieredStore } from '../../plugins/index.ts';
import { freePort, startRedis, waitUntil, type RedisServer } from '../helpers/redis.ts';
import { cacheEntry } from './entry.ts';

let server: RedisServer;
const stores: { close(): unknown }[] = [];

beforeAll(async () => {
  server = await startRedis();
});
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});
afterAll(async () => {
  await server?.stop();
});

/** Connections to the test's server besides the one that asks. */
async function otherClients(): Promise<number> {
  return String(await server.command('CLIENT', 'LIST')).trim().split('\n').length - 1;
}

describe('createCacheStore', () => {
  it('without Redis is an in-process store of memoryBytes (64 MiB by default)', () => {
    expect(createCacheStore().stats?.().maxBytes).toBe(64 * 1024 * 1024);
    expect(createCacheStore({ memoryBytes: 1_000_000 }).stats?.().maxBytes).toBe(1_000_000);
  });

  it('with a Redis URL puts an in-process tier in front of Redis, and quits the clients it made on close', async () => {
    const store = createCacheStore({ redis: server.url, prefix: 'tiered', memoryBytes: 2_000_000 }) as TieredStore;
    stores.push(store);
    await waitUntil(() => store.localTierActive, 'the eviction subscription');
    expect(store.stats().maxBytes).toBe(2_000_000);
    const { ticket } = await store.get('k');
    expect(await store.set('k', cacheEntry(['Book:1']), ticket)).toBe(true);
    expect(await server.command('KEYS', '{tiered}:e:*')).toHaveLength(1);
    expect(await otherClients()).toBe(2);

    await stores.pop()?.close();
    await waitUntil(async () => (await otherClients()) === 0, 'the store and its subscriber to disconnect');
  });

  it('with memoryBytes 0 is Redis alone', async () => {
    const store = createCacheStore({ redis: server.url, prefix: 'alone', memoryBytes: 0 }) as RedisStore;
    stores.push(store);
    expect(store.stats).toBeUndefined();
    expect(store.prefix).toBe('alone');
    await waitUntil(() => store.redis.status === 'ready', 'the client to connect');
    const { ticket } = await store.get('k');
    expect(await store.set('k', cacheEntry(['Book:1']), ticket)).toBe(true);
    expect(await server.command('KEYS', '{alone}:e:*')).toHaveLength(1);
  });

  it('reports a Redis it cannot reach to onError, with where it failed, and answers misses', async () => {
    const failures: CacheStoreFailure[] = [];
    const store = createCacheStore({
      redis: `redis://127.0.0.1:${await freePort()}`,
      memoryBytes: 0,
      onError: (_error, where) => failures.push(where),
    });
    stores.push(store);
    expect((await store.get('k')).entry).toBeUndefined();
    await waitUntil(() => failures.includes('connection'), 'a connection failure');
    expect(failures).toContain('get');
  });

  it.each([
    [{ memoryBytes: 0 }, 'expected memoryBytes above 0 without redis'],
    [{ memoryBytes: -1 }, 'expected memoryBytes to be a whole number of bytes, got -1'],
    [{ memoryBytes: 1.5 }, 'expected memoryBytes to be a whole number of bytes, got 1.5'],
    [{ redis: 'localhost:6379' }, 'expected redis to be a redis:// or rediss:// URL, got one with scheme "localhost:"'],
    [{ redis: { clusterNodes: [] } }, 'expected redis.clusterNodes to list at least one { host, port }, got []'],
    [{ redis: 'redis://127.0.0.1:6390', prefix: '{gcl}' }, 'expected prefix to be a non-empty string without braces, got "{gcl}"'],
  ])('refuses %o', (options, message) => {
    expect(() => createCacheStore(options)).toThrow(message);
  });

  it('never shows a password in its error', () => {
    expect(() => createCacheStore({ redis: 'http://user:secret@cache:6379' })).toThrow('got one with scheme "http:"');
    expect(() => createCacheStore({ redis: 'http://user:secret@cache:6379' })).not.toThrow('secret');
  });
});
