/**
 * Several instances of the real server, each its own process, sharing one Redis (and, as in
 * production, one PostgreSQL database): what one instance's mutation evicts, every other
 * instance stops serving, whether it reads Redis alone or keeps an in-process tier in front.
 *
 * With TEST_POSTGRES_URL (CI sets it when PostgreSQL answers locally) the instances share a
 * throw-away database and the tests check the data itself: B's next read returns what A wrote.
 * Without it each instance has its own PGlite database, so A's write cannot show on B; the
 * tests then check what the cache decides: B's next read is executed (MISS), never served
 * from what A's eviction dropped.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvictionMessage } from '../../plugins/redis-store.ts';
import {
  crashSigns,
  createInstanceDatabases,
  postGraphQL,
  startServerProcess,
  type InstanceDatabases,
  type ServerProcess,
} from '../helpers/processes.ts';
import { startRedis, waitUntil, whenReady, type RedisServer } from '../helpers/redis.ts';

const PRODUCT = 'query ($id: ID!) { product(id: $id) { id name } }';
const CATEGORY_PRODUCTS = 'query ($id: ID!) { category(id: $id) { id products(first: 100) { id name } } }';
const UPDATE_NAME = 'mutation ($id: ID!, $name: String!) { updateProduct(id: $id, input: { name: $name }) { id name } }';
const CREATE_PRODUCT =
  'mutation ($name: String!, $categoryId: ID!) { createProduct(input: { name: $name, price: 1, categoryId: $categoryId }) { id name } }';
/** Read by the warm-up only: no test writes a category. */
const WARM_UP = '{ categories { id } }';

type ProductData = { product: { id: string; name: string } | null };
type CategoryData = { category: { id: string; products: { id: string; name: string }[] } | null };

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** A test's own subscriber on an eviction channel: proof that an eviction was announced. */
async function listenForEvictions(channel: string) {
  const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  await client.connect();
  await client.subscribe(channel);
  const received: EvictionMessage[] = [];
  const waiting = new Set<() => void>();
  client.on('message', (from: string, text: string) => {
    if (from !== channel) return;
    received.push(JSON.parse(text) as EvictionMessage);
    for (const wake of waiting) wake();
  });
  return {
    /** Resolves with the first announcement (since `since`) that evicted `tag`. */
    evicted(tag: string, since: number, timeoutMs = 5_000): Promise<EvictionMessage> {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = received.slice(since).find((message) => message.t?.includes(tag));
          if (!found) return;
          cleanup();
          resolve(found);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no eviction of ${tag} announced on ${channel} within ${timeoutMs} ms; heard ${JSON.stringify(received.slice(since))}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiting.delete(check);
        };
        waiting.add(check);
        check();
      });
    },
    get count() {
      return received.length;
    },
    close: () => client.quit().catch(() => client.disconnect()),
  };
}

/** How many clients (server instances, our listener) are subscribed to `channel` on the Redis. */
async function subscribers(channel: string): Promise<number> {
  const reply = (await redis.command('PUBSUB', 'NUMSUB', channel)) as [string, number];
  return reply[1];
}

/**
 * Two instances, A and B, on one Redis key prefix, one database each or one shared, started in
 * parallel. Resolves once both answer, cache (a repeated query is a HIT) and, with the
 * in-process tier, have subscribed to the eviction channel.
 */
function pairOfInstances(prefix: string, env: Record<string, string>) {
  const pair = {
    a: undefined as unknown as ServerProcess,
    b: undefined as unknown as ServerProcess,
    databases: undefined as InstanceDatabases | undefined,
    listener: undefined as Awaited<ReturnType<typeof listenForEvictions>> | undefined,
    get shared() {
      return pair.databases?.shared ?? false;
    },
  };
  const started: ServerProcess[] = [];

  beforeAll(async () => {
    pair.databases = await createInstanceDatabases(2);
    const starting = ['A', 'B'].map((name, index) =>
      startServerProcess({
        name,
        env: { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, ...pair.databases!.envFor(index), ...env },
      }),
    );
    // Both settle before anything is thrown, so that teardown knows every process that started.
    const results = await Promise.allSettled(starting);
    for (const result of results) if (result.status === 'fulfilled') started.push(result.value);
    for (const result of results) if (result.status === 'rejected') throw result.reason;
    [pair.a, pair.b] = started;
    pair.listener = await listenForEvictions(`${prefix}:evictions`);
    const tiered = env.CACHE_MEMORY_BYTES !== '0';
    for (const server of [pair.a, pair.b]) {
      // The first reads may come before the instance's Redis client is connected: such a miss
      // cannot be stored. Caching works once a repeated read is a HIT.
      await waitUntil(async () => (await postGraphQL(server.url, WARM_UP)).xCache === 'HIT', `${server.name} to cache`, {
        timeoutMs: 15_000,
        intervalMs: 50,
      });
    }
    // Until an instance has subscribed, it reads Redis alone; the tests want its in-process tier.
    if (tiered) await waitUntil(async () => (await subscribers(`${prefix}:tiers`)) === 2, 'A and B to subscribe', { timeoutMs: 15_000 });
  }, 120_000);

  afterAll(async () => {
    await pair.listener?.close();
    // Teardown of a failed run: the last test stops them gracefully when the run gets there.
    await Promise.all(started.map((server) => server.kill()));
    await pair.databases?.remove();
  });

  return pair;
}

/** Stops both with SIGTERM: exit code 0 and no crash or leaked rejection in their output. */
async function expectGracefulShutdown(servers: ServerProcess[]) {
  const codes = await Promise.all(servers.map((server) => server.stop()));
  for (const [index, server] of servers.entries()) {
    expect({ server: server.name, code: codes[index], crashes: crashSigns(server.output()) }).toEqual({
      server: server.name,
      code: 0,
      crashes: [],
    });
  }
}

describe.each<{ mode: string; prefix: string; env: Record<string, string> }>([
  { mode: 'with the in-process tier in front of Redis', prefix: 'mi-tiered', env: {} },
  { mode: 'with Redis alone (CACHE_MEMORY_BYTES=0)', prefix: 'mi-redis', env: { CACHE_MEMORY_BYTES: '0' } },
])('two server processes on one Redis, $mode', ({ prefix, env }) => {
  const pair = pairOfInstances(prefix, env);
  const tiered = env.CACHE_MEMORY_BYTES !== '0';

  it("B's cached product is fresh on B's next read after A updates it", async () => {
    const { a, b, listener } = pair;
    const readOnB = () => postGraphQL<ProductData>(b.url, PRODUCT, { id: '7' });
    const before = await readOnB();
    expect(before.xCache).toBe('MISS');
    expect(await readOnB()).toMatchObject({ xCache: 'HIT', data: before.data });

    const name = `Renamed on A ${Date.now()}`;
    const since = listener!.count;
    const updated = await postGraphQL<{ updateProduct: { id: string; name: string } }>(a.url, UPDATE_NAME, { id: '7', name });
    expect(updated).toMatchObject({ status: 200, data: { updateProduct: { id: '7', name } } });
    // Waiting on the broadcast, not on a timer. A answers a mutation only after the Lua script
    // that evicts in Redis and PUBLISHes the announcement has returned, so the eviction is
    // complete in Redis already (which is all B needs with Redis alone). Our subscriber hearing
    // it proves it was announced; Redis wrote it to B's subscriber connection in the same
    // event-loop turn as to ours, before A even had its reply, and B handles its sockets in the
    // order data arrived, so B has dropped its in-process copy before it reads the request we
    // send next. The first read is asserted: no polling that would let a stale answer pass.
    expect((await listener!.evicted('Product:7', since)).t).toContain('Product:7');

    const after = await readOnB();
    expect(after.xCache).toBe('MISS');
    if (pair.shared) expect(after.data).toEqual({ product: { id: '7', name } });
    expect(await readOnB()).toMatchObject({ xCache: 'HIT', data: after.data });
  });

  it('a product A creates shows in the category list B had cached', async () => {
    const { a, b, listener } = pair;
    const readOnB = () => postGraphQL<CategoryData>(b.url, CATEGORY_PRODUCTS, { id: '3' });
    const before = await readOnB();
    expect(before.xCache).toBe('MISS');
    expect(before.data?.category?.products).toHaveLength(50);
    expect(await readOnB()).toMatchObject({ xCache: 'HIT', data: before.data });

    const since = listener!.count;
    const created = await postGraphQL<{ createProduct: { id: string; name: string } }>(a.url, CREATE_PRODUCT, {
      name: `Created on A ${Date.now()}`,
      categoryId: '3',
    });
    expect(created.errors).toBeUndefined();
    // As above: the announcement of the list's tag, then B's first read.
    await listener!.evicted('Category:3.products', since);

    const after = await readOnB();
    expect(after.xCache).toBe('MISS');
    if (pair.shared) expect(after.data?.category?.products.at(-1)).toEqual(created.data?.createProduct);
    expect(await readOnB()).toMatchObject({ xCache: 'HIT', data: after.data });
  });

  it(
    tiered
      ? "B answers a hit from its in-process tier while Redis is paused; A, which never cached it, answers a miss within Redis's command timeout"
      : 'with Redis paused, a cached query is answered by executing it, within the command timeout',
    async () => {
      const { a, b } = pair;
      const read = (server: ServerProcess) => postGraphQL<ProductData>(server.url, PRODUCT, { id: '8' });
      const fresh = await read(b);
      expect(fresh.xCache).toBe('MISS');
      expect(await read(b)).toMatchObject({ xCache: 'HIT', data: fresh.data });

      // Every command of every client waits until the pause ends, publishes included.
      const PAUSE_MS = 2_000;
      expect(await redis.command('CLIENT', 'PAUSE', PAUSE_MS, 'ALL')).toBe('OK');
      const paused = Date.now();
      const [onB, onA] = await Promise.all([read(b), read(a)]);
      // Both answered before Redis could have: a hit from memory, and a miss executed after the
      // 250 ms command deadline instead of waiting for the pause to end.
      expect(Date.now() - paused).toBeLessThan(PAUSE_MS);
      expect(onB).toMatchObject({ status: 200, xCache: tiered ? 'HIT' : 'MISS', data: fresh.data });
      expect(onA).toMatchObject({ status: 200, xCache: 'MISS', data: fresh.data });

      // PING is held until the pause ends too; after it, A's own reads cache again.
      expect(await redis.command('PING')).toBe('PONG');
      await waitUntil(async () => (await read(a)).xCache === 'HIT', 'A to cache after the pause');
    },
  );

  it('both instances shut down gracefully on SIGTERM: exit code 0, no crash in their output', async () => {
    await expectGracefulShutdown([pair.a, pair.b]);
  });
});
