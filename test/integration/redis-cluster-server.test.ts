/**
 * The server on a real local Redis Cluster of 3 masters (REDIS_CLUSTER_NODES): it caches,
 * evicts on mutations and answers fresh data, with or without its in-process tier, and one
 * instance's evictions reach another instance's in-process tier through the cluster's pub/sub.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TieredStore } from '../../plugins/tiered-store.ts';
import { engineOf } from '../../plugins/response-cache.ts';
import { throwawayDatabaseWhenAvailable, type TestCatalog } from '../helpers/catalog.ts';
import { postGraphQL } from '../helpers/processes.ts';
import { startRedisCluster, waitUntil, type RedisClusterHandle } from '../helpers/redis.ts';
import { redisInstances } from '../helpers/redis-instances.ts';

const PRODUCT = 'query ($id: ID!) { product(id: $id) { id name } }';
const UPDATE_NAME = 'mutation ($id: ID!, $name: String!) { updateProduct(id: $id, input: { name: $name }) { id name } }';

type ProductData = { product: { id: string; name: string } | null };

let cluster: RedisClusterHandle;
beforeAll(async () => {
  cluster = await startRedisCluster(3);
});
afterAll(async () => {
  await cluster?.stop();
});

const instances = redisInstances({
  prefixBase: 'cluster',
  redisEnv: () => ({ REDIS_CLUSTER_NODES: cluster.nodes.map((node) => `${node.host}:${node.port}`).join(',') }),
});
const startInstance = instances.start;

const readProduct = (catalog: TestCatalog, id: string) => postGraphQL<ProductData>(catalog.url, PRODUCT, { id });

/** The port of the master that serves the prefix's keys (all in the slot of `{prefix}`). */
async function masterOf(prefix: string): Promise<number> {
  const slot = Number(await cluster.nodes[0].command('CLUSTER', 'KEYSLOT', `{${prefix}}`));
  const ranges = (await cluster.nodes[0].command('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  const range = ranges.find(([from, to]) => slot >= from && slot <= to);
  if (range === undefined) throw new Error(`no master serves slot ${slot}`);
  return range[2][1];
}

/** Resolves with the tags of the first eviction by another instance that `store` applied and that evicted `tag`. */
function remoteEviction(store: TieredStore, tag: string, timeoutMs = 5_000): Promise<readonly string[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no eviction of ${tag} by another instance reached this one within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = store.onRemoteEvict((eviction) => {
      if (eviction.kind !== 'evict' || !eviction.tags.includes(tag)) return;
      clearTimeout(timer);
      off();
      resolve(eviction.tags);
    });
  });
}

describe.each<{ mode: string; env: Record<string, string>; tiered: boolean }>([
  { mode: 'with the in-process tier', env: {}, tiered: true },
  { mode: 'with Redis alone (CACHE_MEMORY_BYTES=0)', env: { CACHE_MEMORY_BYTES: '0' }, tiered: false },
])('the server on a 3-master Redis Cluster, $mode', ({ env, tiered }) => {
  it('MISS, then HIT, a mutation evicts, the next read is fresh, then HIT again', async () => {
    const prefix = instances.nextPrefix();
    const server = await startInstance(env, { prefix });
    if (tiered) await waitUntil(() => (engineOf(server.server.cache!).store as TieredStore).localTierActive, 'the subscriber to subscribe');
    // The cluster client connects (and learns the slots) after the server starts: the first
    // reads may find it not ready, and such a miss cannot be stored.
    const seen: Awaited<ReturnType<typeof readProduct>>[] = [];
    await waitUntil(
      async () => {
        seen.push(await readProduct(server, '7'));
        return seen.at(-1)!.xCache === 'HIT';
      },
      'caching to work',
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    expect(seen.map((answer) => answer.xCache)).toEqual([...seen.slice(1).map(() => 'MISS'), 'HIT']);
    for (const answer of seen) expect(answer).toMatchObject({ status: 200, data: seen[0].data });
    expect(seen[0].data?.product?.id).toBe('7');

    // The entries are in the cluster, on the master of the prefix's slot.
    const port = await masterOf(prefix);
    const owner = cluster.nodes.find((node) => node.port === port)!;
    const keys = (await owner.command('KEYS', `{${prefix}}:e:*`)) as string[];
    expect(keys.length).toBeGreaterThan(0);

    const name = `Renamed on the cluster ${Date.now()}`;
    expect(await postGraphQL(server.url, UPDATE_NAME, { id: '7', name })).toMatchObject({
      status: 200,
      data: { updateProduct: { id: '7', name } },
    });
    const after = await readProduct(server, '7');
    expect(after).toMatchObject({ status: 200, xCache: 'MISS', data: { product: { id: '7', name } } });
    expect(await readProduct(server, '7')).toMatchObject({ xCache: 'HIT', data: after.data });
    expect(server.server.cache!.degraded).toBe(false);
  });
});

describe('two instances on a 3-master Redis Cluster', () => {
  const database = throwawayDatabaseWhenAvailable();

  it("A's eviction, published on the prefix's master, reaches B's subscriber on another node: B's next read is fresh", async () => {
    // A prefix whose slot is not on the first node, where the instances' subscribers connect,
    // so the announcement has to cross the cluster bus.
    let prefix = instances.nextPrefix();
    while ((await masterOf(prefix)) === cluster.nodes[0].port) prefix = instances.nextPrefix();
    const a = await startInstance({}, { prefix, databaseUrl: database()?.url });
    const b = await startInstance({}, { prefix, databaseUrl: database()?.url });
    const tierOfB = engineOf(b.server.cache!).store as TieredStore;
    await waitUntil(() => tierOfB.localTierActive, "B's subscriber to subscribe");
    await waitUntil(async () => (await readProduct(b, '7')).xCache === 'HIT', 'B to cache', { timeoutMs: 15_000, intervalMs: 50 });
    const before = await readProduct(b, '7');
    expect(before.xCache).toBe('HIT');
    expect(tierOfB.stats().entries).toBeGreaterThan(0);

    // B's store reports each eviction it heard once it has applied it: wait on that, not a timer.
    const heard = remoteEviction(tierOfB, 'Product:7');
    const name = `Renamed on A ${Date.now()}`;
    expect(await postGraphQL(a.url, UPDATE_NAME, { id: '7', name })).toMatchObject({ status: 200, data: { updateProduct: { id: '7', name } } });
    expect(await heard).toContain('Product:7');

    const after = await readProduct(b, '7');
    expect(after.xCache).toBe('MISS');
    expect(after.data).toEqual(database() ? { product: { id: '7', name } } : before.data);
    expect(await readProduct(b, '7')).toMatchObject({ xCache: 'HIT', data: after.data });
  });
});
