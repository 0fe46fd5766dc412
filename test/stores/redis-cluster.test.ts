import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../plugins/memory-store.ts';
import { createRedisStore, type RedisStore } from '../../plugins/redis-store.ts';
import { createTieredStore, type RemoteEviction, type TieredStore } from '../../plugins/tiered-store.ts';
import { startRedisCluster, whenReady, type RedisClusterHandle } from '../helpers/redis.ts';
import { cacheEntry } from './entry.ts';

let cluster: RedisClusterHandle;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster(3);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await cluster?.stop();
});

async function clusterClient(): Promise<Cluster> {
  const client = new Cluster([...cluster.startupNodes], { redisOptions: { commandTimeout: 1_000 } });
  client.on('error', () => {});
  cleanups.push(() => client.disconnect());
  await whenReady(client);
  return client;
}

async function openStore(prefix: string): Promise<RedisStore> {
  const store = createRedisStore({ redis: await clusterClient(), prefix });
  cleanups.push(() => store.close());
  return store;
}

/** The port of the master that holds `key`'s slot. */
async function ownerPort(key: string): Promise<number> {
  const slot = Number(await cluster.nodes[0].command('CLUSTER', 'KEYSLOT', key));
  const ranges = (await cluster.nodes[0].command('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  const range = ranges.find(([from, to]) => slot >= from && slot <= to);
  if (range === undefined) throw new Error(`no master serves slot ${slot}`);
  return range[2][1];
}

describe('redis store on a 3-master cluster', () => {
  it('get, set, evict, clear and the write-back refusals work, each script in one slot', async () => {
    const store = await openStore('shop');
    const { ticket } = await store.get('k');
    expect(await store.set('k', cacheEntry(['Product:7', 'Query.products']), ticket)).toBe(true);
    expect((await store.get('k')).entry?.tags).toEqual(['Product:7', 'Query.products']);

    const before = await store.get('k2');
    expect(await store.evict(['Product:7'])).toBe(1);
    expect((await store.get('k')).entry).toBeUndefined();
    expect(await store.set('k2', cacheEntry(['Product:7']), before.ticket)).toBe(false);

    const beforeClear = await store.get('k3');
    expect(await store.set('k3', cacheEntry(['Product:9']), (await store.get('k3')).ticket)).toBe(true);
    await store.clear();
    expect((await store.get('k3')).entry).toBeUndefined();
    expect(await store.set('k3', cacheEntry(['Product:9']), beforeClear.ticket)).toBe(false);

    // The namespace's keys, entries and indexes included, all sit in the one slot of `{shop}`.
    const slot = Number(await cluster.nodes[0].command('CLUSTER', 'KEYSLOT', '{shop}'));
    const port = await ownerPort('{shop}');
    const node = cluster.nodes.find((candidate) => candidate.port === port);
    const keys = (await node?.command('CLUSTER', 'GETKEYSINSLOT', slot, 100)) as string[];
    expect(keys).toEqual(expect.arrayContaining(['{shop}:epoch', '{shop}:gen', '{shop}:x:Product:7']));
    expect(keys.some((key) => key.startsWith('{shop}:e:'))).toBe(true);
    expect(keys.some((key) => key.startsWith('{shop}:t:'))).toBe(true);
  });

  it('prefixes on different masters are separate caches', async () => {
    // Find two prefixes whose slots live on different masters.
    const first = 'app0';
    let second = 'app1';
    for (let i = 1; (await ownerPort(`{${second}}`)) === (await ownerPort(`{${first}}`)); i++) second = `app${i}`;
    const a = await openStore(first);
    const b = await openStore(second);
    for (const store of [a, b]) {
      expect(await store.set('k', cacheEntry(['Product:7']), (await store.get('k')).ticket)).toBe(true);
    }
    expect(await a.evict(['Product:7'])).toBe(1);
    await a.clear();
    expect((await a.get('k')).entry).toBeUndefined();
    expect((await b.get('k')).entry).toBeDefined();
  });

  it('tiered stores on a cluster broadcast through subscribers on different nodes', async () => {
    const stores: TieredStore[] = [];
    for (const node of cluster.nodes.slice(0, 2)) {
      const subscriber = new Redis({ host: node.host, port: node.port });
      subscriber.on('error', () => {});
      cleanups.push(() => subscriber.disconnect());
      const store = createTieredStore({ local: createMemoryStore(), remote: await openStore('tiered'), subscriber });
      cleanups.push(() => store.close());
      if (!store.localTierActive) {
        await new Promise<void>((resolve) => store.onLocalTierChange((active) => active && resolve()));
      }
      stores.push(store);
    }
    const [a, b] = stores;
    const { ticket } = await a.get('k');
    expect(await a.set('k', cacheEntry(['Product:7']), ticket)).toBe(true);
    expect((await b.get('k')).entry).toBeDefined();
    expect(b.get('k')).not.toBeInstanceOf(Promise);

    const arrived = new Promise<RemoteEviction>((resolve) => b.onRemoteEvict(resolve));
    await a.evict(['Product:7']);
    expect(await arrived).toEqual({ kind: 'evict', tags: ['Product:7'] });
    expect(b.stats().entries).toBe(0);
  });

  it('a tiered store over a cluster needs an explicit subscriber', async () => {
    const remote = await openStore('needs-subscriber');
    expect(() => createTieredStore({ local: createMemoryStore(), remote })).toThrow(/Cluster.*subscriber/);
  });
});
