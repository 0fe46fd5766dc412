/**
 * tRPC procedures on Redis, across two server processes that share it (and, with
 * TEST_POSTGRES_URL, one database): an output cached by one instance is a hit on the other, and
 * a write through either protocol on one instance evicts what the other serves through both.
 * Redis is the only copy here (CACHE_MEMORY_BYTES=0), so an eviction is complete everywhere once
 * the writer answers; the in-process tier's pub/sub is the multi-instance test's subject.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInstanceDatabases, postGraphQL, startServerProcess, type InstanceDatabases, type ServerProcess } from '../helpers/processes.ts';
import { startRedis, waitUntil, type RedisServer } from '../helpers/redis.ts';
import { createCatalogTrpcClient } from '../helpers/trpc.ts';

let redis: RedisServer;
let databases: InstanceDatabases;
let a: ServerProcess;
let b: ServerProcess;

beforeAll(async () => {
  redis = await startRedis();
  databases = await createInstanceDatabases(2);
  [a, b] = await Promise.all(
    ['A', 'B'].map((name, index) =>
      startServerProcess({ name, env: { REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'trpc', CACHE_MEMORY_BYTES: '0', ...databases.envFor(index) } }),
    ),
  );
  // Until its Redis client is connected an instance answers without storing.
  for (const server of [a, b]) {
    const trpc = createCatalogTrpcClient(server.url);
    await waitUntil(async () => (await trpc.client.category.list.query(), trpc.last().xCache === 'HIT'), `${server.name} to cache`, { timeoutMs: 15_000, intervalMs: 50 });
  }
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.kill(), b?.kill()]);
  await databases?.remove();
  await redis?.stop();
});

describe('tRPC on Redis, two server processes', () => {
  it("serves A's cached output as a hit on B", async () => {
    const onA = createCatalogTrpcClient(a.url);
    const onB = createCatalogTrpcClient(b.url);
    const product = await onA.client.product.byId.query({ id: '15' });
    expect(onA.last().xCache).toBe('MISS');
    expect(await onB.client.product.byId.query({ id: '15' })).toEqual(product);
    expect(onB.last().xCache).toBe('HIT');
  });

  it("a GraphQL write on A evicts B's tRPC outputs; a tRPC write on B evicts A's GraphQL answers", async () => {
    const onB = createCatalogTrpcClient(b.url);
    const byId = () => onB.client.product.byId.query({ id: '16' });
    const list = () => onB.client.product.list.query({ categoryId: '16' });
    for (const call of [byId, list]) {
      await call();
      await call();
      expect(onB.last().xCache).toBe('HIT');
    }
    const updated = await postGraphQL<any>(a.url, 'mutation { updateProduct(id: "16", input: { price: 16.5 }) { id } }');
    expect(updated.errors).toBeUndefined();
    const fresh = await byId();
    expect(onB.last().xCache).toBe('MISS');
    if (databases.shared) expect(fresh?.price).toBe(16.5);
    await list();
    expect(onB.last().xCache).toBe('MISS');

    const query = '{ product(id: "17") { price } }';
    await postGraphQL(a.url, query);
    expect((await postGraphQL(a.url, query)).xCache).toBe('HIT');
    await onB.client.product.update.mutate({ id: '17', input: { price: 17.5 } });
    const after = await postGraphQL<any>(a.url, query);
    expect(after.xCache).toBe('MISS');
    if (databases.shared) expect(after.data.product.price).toBe(17.5);
  });

  it("keeps PRIVATE outputs per session across instances", async () => {
    const three = createCatalogTrpcClient(a.url, { userId: 3 });
    const me3 = await three.client.me.query();
    const four = createCatalogTrpcClient(b.url, { userId: 4 });
    const me4 = await four.client.me.query();
    expect(four.last()).toMatchObject({ xCache: 'MISS', cacheControl: 'max-age=300, private' });
    expect(me4?.id).toBe('4');
    expect(me4?.email).not.toBe(me3?.email);
    const threeOnB = createCatalogTrpcClient(b.url, { userId: 3 });
    expect(await threeOnB.client.me.query()).toEqual(me3);
    expect(threeOnB.last().xCache).toBe('HIT');
  });
});
