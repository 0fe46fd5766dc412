/**
 * The server with Redis failing under it: killed, restarted empty, paused, or with the eviction
 * channel alone cut off. Every request is still answered correctly and in bounded time (the miss
 * path, bounded by the command timeout), nothing leaks a rejection or crashes, an instance that
 * cannot hear evictions does not trust its in-process tier, and caching resumes by itself.
 *
 * Most servers run in this process (startCatalog), so the test can wait on the tiered store's
 * own events instead of timers; the last test runs the real server process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TieredStore } from '../../plugins/tiered-store.ts';
import { engineOf } from '../../plugins/response-cache.ts';
import { throwawayDatabaseWhenAvailable, type TestCatalog } from '../helpers/catalog.ts';
import { crashSigns, createInstanceDatabases, postGraphQL, startServerProcess, type GraphQLAnswer } from '../helpers/processes.ts';
import { startRedis, waitUntil, type RedisServer } from '../helpers/redis.ts';
import { redisInstances } from '../helpers/redis-instances.ts';

const PRODUCT = 'query ($id: ID!) { product(id: $id) { id name } }';
const UPDATE_NAME = 'mutation ($id: ID!, $name: String!) { updateProduct(id: $id, input: { name: $name }) { id name } }';

type ProductData = { product: { id: string; name: string } | null };

/**
 * A generous bound for an answer while Redis is failing: the 250 ms command deadline (twice for
 * an eviction, which is retried once) plus execution on a busy 2-core machine. Far below any
 * reconnect, pause or restart, so an answer within it did not wait for Redis to come back.
 */
const ANSWER_WITHIN_MS = 1_500;

/** What X-Cache may say of an answer that was executed, the cache being bypassed or missed. */
const NOT_FROM_CACHE = ['BYPASS', 'MISS'];

const MODES: { mode: string; env: Record<string, string>; tiered: boolean }[] = [
  { mode: 'with the in-process tier', env: {}, tiered: true },
  { mode: 'with Redis alone (CACHE_MEMORY_BYTES=0)', env: { CACHE_MEMORY_BYTES: '0' }, tiered: false },
];

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const instances = redisInstances({
  prefixBase: 'faults',
  redisEnv: () => ({ REDIS_URL: redis.url }),
  // A killed server is brought back for the next test.
  afterCleanup: async () => {
    if ((await redis.command('PING').catch(() => undefined)) !== 'PONG') await redis.restart();
  },
});
const startInstance = instances.start;

function tierOf(catalog: TestCatalog): TieredStore {
  return engineOf(catalog.server.cache!).store as TieredStore;
}

const readProduct = (catalog: TestCatalog, id: string) => postGraphQL<ProductData>(catalog.url, PRODUCT, { id });

/** Polls until a read of `id` is a HIT; returns every answer seen on the way. */
async function untilHit(catalog: TestCatalog, id: string, what: string, timeoutMs = 10_000) {
  const seen: GraphQLAnswer<ProductData>[] = [];
  await waitUntil(
    async () => {
      seen.push(await readProduct(catalog, id));
      return seen.at(-1)!.xCache === 'HIT';
    },
    what,
    { timeoutMs, intervalMs: 50 },
  );
  return seen;
}

/**
 * Caches product `id` on the instance: in Redis, and with the in-process tier in it too (the
 * tier fills only while subscribed, so wait for that first). Returns the cached data.
 */
async function cacheProduct(catalog: TestCatalog, id: string, tiered: boolean) {
  if (tiered) await waitUntil(() => tierOf(catalog).localTierActive, 'the eviction subscriber to subscribe');
  await untilHit(catalog, id, `product ${id} to be cached`);
  const hit = await readProduct(catalog, id);
  expect(hit.xCache).toBe('HIT');
  if (tiered) expect(tierOf(catalog).stats().entries).toBeGreaterThan(0);
  return hit.data;
}

describe('Redis killed and restarted', () => {
  it.each(MODES)('$mode: answers stay correct and quick, a mutation says its eviction is pending, nothing stale comes back, caching resumes by itself', async ({ env, tiered }) => {
    const server = await startInstance({ ...env, CACHE_EVICTION_WAIT_MS: '300' });
    const original = await cacheProduct(server, '7', tiered);

    await redis.kill();
    // The instance hears of it when its connections close; from then on its in-process copies
    // are not trusted, as an eviction could be missed.
    if (tiered) await waitUntil(() => !tierOf(server).localTierActive, 'the subscriber to notice Redis is gone');
    const down = await readProduct(server, '7');
    expect(down).toMatchObject({ status: 200, xCache: 'MISS', data: original });
    expect(down.ms).toBeLessThan(ANSWER_WITHIN_MS);

    const name = `Written while Redis was down ${Date.now()}`;
    const updated = await postGraphQL(server.url, UPDATE_NAME, { id: '7', name });
    // The write is done, but its eviction could not reach Redis within CACHE_EVICTION_WAIT_MS:
    // the answer says so, as other instances could still serve the old name.
    expect(updated).toMatchObject({ status: 200, data: { updateProduct: { id: '7', name } }, errors: [{ extensions: { code: 'CACHE_EVICTION_PENDING' } }] });
    expect(updated.ms).toBeLessThan(ANSWER_WITHIN_MS + 300);
    // This instance bypasses its cache until the retry gets through.
    expect(server.server.cache!.degraded).toBe(true);
    const afterWrite = await readProduct(server, '7');
    expect(afterWrite).toMatchObject({ status: 200, data: { product: { id: '7', name } } });
    expect(NOT_FROM_CACHE).toContain(afterWrite.xCache);
    expect(afterWrite.ms).toBeLessThan(ANSWER_WITHIN_MS);

    // Restarted without persistence: empty. The client reconnects, the pending eviction is retried,
    // the subscriber resubscribes: no one restarts the instance.
    await redis.restart();
    const seen = await untilHit(server, '7', 'caching to resume after the restart');
    for (const answer of seen) expect(answer).toMatchObject({ status: 200, data: { product: { id: '7', name } } });
    expect(server.server.cache!.degraded).toBe(false);
    if (tiered) expect(tierOf(server).localTierActive).toBe(true);
  });

  it('a mutation answered while its eviction could not reach Redis left other instances serving the old answer: it now waits for the eviction, and answers once Redis took it', async () => {
    const server = await startInstance({ CACHE_EVICTION_WAIT_MS: '30000' });
    await cacheProduct(server, '8', true);
    await redis.kill();
    const name = `Written across a Redis restart ${Date.now()}`;
    const updating = postGraphQL(server.url, UPDATE_NAME, { id: '8', name }, { timeoutMs: 40_000 });
    await waitUntil(() => server.server.cache!.degraded, 'the eviction to fail and be kept pending');
    let answered = false;
    void updating.then(() => (answered = true));
    await redis.restart();
    const updated = await updating;
    expect(updated).toMatchObject({ status: 200, data: { updateProduct: { id: '8', name } } });
    expect(updated.errors).toBeUndefined();
    expect(server.server.cache!.degraded).toBe(false);
    expect(answered).toBe(true);
    expect(await readProduct(server, '8')).toMatchObject({ data: { product: { id: '8', name } } });
  });

  it('Redis not running when the server starts: it starts, answers correctly, and caches once Redis is up', async () => {
    await redis.kill();
    const server = await startInstance({});
    const down = await readProduct(server, '7');
    expect(down).toMatchObject({ status: 200, xCache: 'MISS', data: { product: { id: '7' } } });
    expect(down.ms).toBeLessThan(ANSWER_WITHIN_MS);
    expect((await readProduct(server, '7')).xCache).toBe('MISS');

    await redis.restart();
    const seen = await untilHit(server, '7', 'caching to begin');
    for (const answer of seen) expect(answer.data).toEqual(down.data);
  });
});

describe('Redis paused', () => {
  it('a mutation during the pause waits for its eviction and answers once Redis took it; reads meanwhile are never stale; caching resumes after the pause', async () => {
    const server = await startInstance({ CACHE_EVICTION_WAIT_MS: '10000' });
    const original = await cacheProduct(server, '9', true);

    // Every command of every client is held until the pause ends (DEBUG SLEEP is disabled in
    // Redis 7 unless enabled at start; CLIENT PAUSE needs no such switch).
    const PAUSE_MS = 2_000;
    expect(await redis.command('CLIENT', 'PAUSE', PAUSE_MS, 'ALL')).toBe('OK');
    const paused = Date.now();
    // The in-process tier answers without Redis.
    expect(await readProduct(server, '9')).toMatchObject({ xCache: 'HIT', data: original });

    const name = `Written while Redis was paused ${Date.now()}`;
    const updating = postGraphQL(server.url, UPDATE_NAME, { id: '9', name }, { timeoutMs: 20_000 });
    // Its eviction timed out (twice) and waits for a retry: the cache bypasses itself meanwhile.
    await waitUntil(() => server.server.cache!.degraded, 'the eviction to be kept pending');
    const during = await readProduct(server, '9');
    expect(during).toMatchObject({ status: 200, data: { product: { id: '9', name } } });
    expect(NOT_FROM_CACHE).toContain(during.xCache);
    expect(Date.now() - paused, 'read before the pause ended').toBeLessThan(PAUSE_MS);

    // The mutation's answer waited for Redis: once a client has it, every instance is told.
    const updated = await updating;
    expect(updated).toMatchObject({ status: 200, data: { updateProduct: { id: '9', name } } });
    expect(updated.errors).toBeUndefined();
    expect(Date.now() - paused, 'answered after the pause ended').toBeGreaterThanOrEqual(PAUSE_MS - 100);

    const seen = await untilHit(server, '9', 'caching to resume after the pause');
    for (const answer of seen) expect(answer).toMatchObject({ status: 200, data: { product: { id: '9', name } } });
  });
});

describe('Redis slow', () => {
  it('coalescing failed when Redis was slow: 50 identical cold requests during a 150 ms pause execute once', async () => {
    // Redis alone: every lookup is a Redis round trip, held by the pause. The deadline is far
    // above the pause, so a busy machine cannot turn the slow lookups into failed ones.
    const server = await startInstance({ CACHE_MEMORY_BYTES: '0', REDIS_COMMAND_TIMEOUT_MS: '5000' });
    await untilHit(server, '1', 'the connection to be ready and caching to work');
    const query = '{ product(id: "31") { id name price } }';
    const send = () =>
      fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) }).then(
        async (response) => ({ status: response.status, coalesced: response.headers.get('x-cache-coalesced'), body: await response.json() }),
      );
    const { result: answers, statements } = await server.countStatements(async () => {
      // Far below the command deadline: the lookups are slow, not failed.
      expect(await redis.command('CLIENT', 'PAUSE', 150, 'ALL')).toBe('OK');
      return Promise.all(Array.from({ length: 50 }, send));
    });
    for (const answer of answers) expect(answer).toMatchObject({ status: 200, body: { data: { product: { id: '31' } } } });
    // Each lookup was in flight when the first one became the leader: they all joined it.
    expect(statements.filter((statement) => /from products/i.test(statement.sql))).toHaveLength(1);
    expect(answers.filter((answer) => answer.coalesced === '1')).toHaveLength(49);
  });
});

describe('a purge the store cannot apply yet', () => {
  const TOKEN = 'faults-purge-token-0123456789';
  const purge = (catalog: TestCatalog, body: object) =>
    fetch(new URL('/cache/purge', catalog.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(async (response) => ({ status: response.status, body: await response.json() }));
  const stats = (catalog: TestCatalog) =>
    fetch(new URL('/cache/stats', catalog.url), { headers: { authorization: `Bearer ${TOKEN}` } }).then((response) => response.json());

  it.each([
    ['an entity', { entity: { type: 'Product', id: '7' } }, 'entity', { tags: 1, all: false }],
    ['a type', { type: 'Product' }, 'type', { tags: expect.any(Number), all: false }],
    ['everything', { all: true }, 'all', { tags: 0, all: true }],
  ])('reported success for %s while Redis was down: it answers 202 pending, bypasses the cache, and applies the purge once Redis is back', async (_what, body, purged, pending) => {
    const server = await startInstance({ CACHE_PURGE_TOKEN: TOKEN });
    const original = await cacheProduct(server, '7', true);

    await redis.kill();
    expect(await purge(server, body)).toEqual({ status: 202, body: { purged, pending: true } });
    expect(await stats(server)).toMatchObject({ degraded: true, pendingEvictions: pending });
    // Nothing the purge names is served meanwhile.
    const during = await readProduct(server, '7');
    expect(during).toMatchObject({ status: 200, data: original });
    expect(NOT_FROM_CACHE).toContain(during.xCache);

    await redis.restart();
    await waitUntil(async () => (await stats(server)).degraded === false, 'the pending purge to be applied');
    expect(await stats(server)).toMatchObject({ pendingEvictions: { tags: 0, all: false } });
    await untilHit(server, '7', 'caching to resume');
  });
});

// One instance's subscriber is cut off alone, deterministically: Redis 7 disconnects the
// subscribers of a user whose channel permissions are revoked, and refuses their SUBSCRIBE until
// the permissions are back. The instance reads and writes Redis as before, and another instance,
// signed in as the default user, evicts and announces as before.
const READER = 'gcl-reader';

/** Creates the ACL user READER with every permission; returns a REDIS_URL that signs in as it. */
async function createReaderUser(): Promise<string> {
  const password = 'reader-secret';
  expect(await redis.command('ACL', 'SETUSER', READER, 'on', `>${password}`, '~*', '&*', '+@all')).toBe('OK');
  expect(await redis.command('ACL', 'LOG', 'RESET')).toBe('OK');
  instances.onCleanup(() => redis.command('ACL', 'DELUSER', READER));
  const url = new URL(redis.url);
  url.username = READER;
  url.password = password;
  return url.toString();
}

/** How many commands of `user` Redis refused for want of channel permissions (ACL LOG). */
async function channelDenials(user: string): Promise<number> {
  const entries = (await redis.command('ACL', 'LOG')) as (string | number)[][];
  let count = 0;
  for (const entry of entries) {
    const fields = new Map<unknown, unknown>();
    for (let i = 0; i < entry.length; i += 2) fields.set(entry[i], entry[i + 1]);
    if (fields.get('reason') === 'channel' && fields.get('username') === user) count += Number(fields.get('count'));
  }
  return count;
}

describe('the eviction channel down while Redis serves', () => {
  const database = throwawayDatabaseWhenAvailable();

  it('an instance that could not hear evictions never serves its in-process copies of what they evicted', async () => {
    const readerUrl = await createReaderUser();
    const prefix = instances.nextPrefix();
    // Both on one database when PostgreSQL is available, so the data itself can be checked too.
    const writer = await startInstance({}, { prefix, databaseUrl: database()?.url });
    const reader = await startInstance({ REDIS_URL: readerUrl }, { prefix, databaseUrl: database()?.url });
    await waitUntil(() => tierOf(writer).localTierActive, 'the writer to subscribe');
    const original7 = await cacheProduct(reader, '7', true);
    const original8 = await cacheProduct(reader, '8', true);

    expect(await redis.command('ACL', 'SETUSER', READER, 'resetchannels')).toBe('OK');
    await waitUntil(() => !tierOf(reader).localTierActive, "the reader's subscriber to be cut off");
    // It reconnects at once and subscribes again: wait until Redis has refused that (the store's
    // SUBSCRIBE and ioredis's own resubscription, sent together), so the refusal path is taken.
    await waitUntil(async () => (await channelDenials(READER)) >= 2, "Redis to refuse the reader's SUBSCRIBE");

    const names = { 7: `Seven ${Date.now()}`, 8: `Eight ${Date.now()}` };
    for (const id of ['7', '8'] as const) {
      const updated = await postGraphQL(writer.url, UPDATE_NAME, { id, name: names[id] });
      expect(updated).toMatchObject({ status: 200, data: { updateProduct: { id, name: names[id] } } });
    }
    expect(writer.server.cache!.degraded).toBe(false);

    // Channel down: the reader goes to Redis, where the writer's eviction did happen.
    const whileDown = await readProduct(reader, '7');
    expect(whileDown.xCache).toBe('MISS');
    if (database()) expect(whileDown.data).toEqual({ product: { id: '7', name: names[7] } });
    else expect(whileDown.data).toEqual(original7);

    expect(await redis.command('ACL', 'SETUSER', READER, 'allchannels')).toBe('OK');
    // The reader resubscribes by itself (it retries), and flushes what it may have missed.
    await waitUntil(() => tierOf(reader).localTierActive, "the reader's subscriber to be back", { timeoutMs: 5_000 });
    // Product 8 was not read while the channel was down: without the flush, its old in-process
    // copy would be served now.
    const afterward = await readProduct(reader, '8');
    expect(afterward.xCache).toBe('MISS');
    if (database()) expect(afterward.data).toEqual({ product: { id: '8', name: names[8] } });
    else expect(afterward.data).toEqual(original8);
    // And the in-process tier is in use again.
    expect(await readProduct(reader, '8')).toMatchObject({ xCache: 'HIT', data: afterward.data });
  });
});

describe('the writer alone cut off from Redis', () => {
  // Found by check:faults: a mutation answered while its eviction could not reach Redis left the
  // other instances serving the old answer. The writer is cut off alone, deterministically, by
  // revoking its user's scripts (every cache command is a script); the reader is untouched.
  async function writerAndReader(evictionWaitMs: string) {
    const prefix = instances.nextPrefix();
    const writer = await startInstance({ REDIS_URL: await createReaderUser(), CACHE_MEMORY_BYTES: '0', CACHE_EVICTION_WAIT_MS: evictionWaitMs }, { prefix });
    const reader = await startInstance({ CACHE_MEMORY_BYTES: '0' }, { prefix });
    await cacheProduct(reader, '42', false);
    expect(await redis.command('ACL', 'SETUSER', READER, '-@scripting')).toBe('OK');
    return { writer, reader };
  }

  it('its mutation answers only once the eviction reached Redis: the other instance then misses', async () => {
    const { writer, reader } = await writerAndReader('30000');
    const name = `Written while cut off ${Date.now()}`;
    let answered = false;
    const updating = postGraphQL(writer.url, UPDATE_NAME, { id: '42', name }, { timeoutMs: 40_000 }).finally(() => (answered = true));
    await waitUntil(() => writer.server.cache!.degraded, "the writer's eviction to be kept pending");
    // The reader still has the old answer in Redis; the writer has not answered its client.
    expect((await readProduct(reader, '42')).xCache).toBe('HIT');
    expect(answered).toBe(false);

    expect(await redis.command('ACL', 'SETUSER', READER, '+@scripting')).toBe('OK');
    const updated = await updating;
    expect(updated).toMatchObject({ status: 200, data: { updateProduct: { id: '42', name } } });
    expect(updated.errors).toBeUndefined();
    expect((await readProduct(reader, '42')).xCache).toBe('MISS');
  });

  it('past CACHE_EVICTION_WAIT_MS its mutation answers with its data and an error saying other instances may serve the old answer', async () => {
    const { writer, reader } = await writerAndReader('300');
    const name = `Written while cut off ${Date.now()}`;
    const updated = await postGraphQL(writer.url, UPDATE_NAME, { id: '42', name });
    expect(updated).toMatchObject({
      status: 200,
      data: { updateProduct: { id: '42', name } },
      errors: [{ message: expect.stringContaining('other instances may serve them as they were'), extensions: { code: 'CACHE_EVICTION_PENDING' } }],
    });
    expect((await readProduct(reader, '42')).xCache).toBe('HIT');
    expect(await redis.command('ACL', 'SETUSER', READER, '+@scripting')).toBe('OK');
    await waitUntil(() => !writer.server.cache!.degraded, 'the retry to apply the eviction');
    expect((await readProduct(reader, '42')).xCache).toBe('MISS');
  });
});

describe('the server process through Redis faults', () => {
  it('survives Redis being killed and restarted, and exits 0 on SIGTERM while Redis is down', async () => {
    const databases = await createInstanceDatabases(1);
    instances.onCleanup(() => databases.remove());
    const server = await startServerProcess({ name: 'P', env: { REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'faults-process', ...databases.envFor(0) } });
    instances.onCleanup(() => server.kill());
    const read = () => postGraphQL<ProductData>(server.url, PRODUCT, { id: '5' });
    await waitUntil(async () => (await read()).xCache === 'HIT', 'P to cache', { timeoutMs: 10_000, intervalMs: 50 });
    const original = (await read()).data;

    await redis.kill();
    for (let i = 0; i < 3; i++) {
      const answer = await read();
      expect(answer).toMatchObject({ status: 200, data: original });
      expect(answer.ms).toBeLessThan(ANSWER_WITHIN_MS);
    }
    const name = `Written by P while Redis was down ${Date.now()}`;
    expect(await postGraphQL(server.url, UPDATE_NAME, { id: '5', name })).toMatchObject({ status: 200, data: { updateProduct: { id: '5', name } } });

    await redis.restart();
    let fresh: GraphQLAnswer<ProductData> | undefined;
    await waitUntil(
      async () => {
        fresh = await read();
        expect(fresh).toMatchObject({ status: 200, data: { product: { id: '5', name } } });
        return fresh.xCache === 'HIT';
      },
      'P to cache again after the restart',
      { timeoutMs: 10_000, intervalMs: 50 },
    );

    // Shutting down must not wait on a Redis that is not there.
    await redis.kill();
    expect(await server.stop()).toBe(0);
    expect(crashSigns(server.output())).toEqual([]);
  });

  it('a refused resubscription of the eviction subscriber neither crashes the process nor leaks a rejection', async () => {
    const readerUrl = await createReaderUser();
    const databases = await createInstanceDatabases(1);
    instances.onCleanup(() => databases.remove());
    const prefix = 'faults-resubscribe';
    const channel = `${prefix}:tiers`;
    const subscribed = async () => ((await redis.command('PUBSUB', 'NUMSUB', channel)) as [string, number])[1] === 1;
    const server = await startServerProcess({ name: 'P', env: { REDIS_URL: readerUrl, REDIS_KEY_PREFIX: prefix, ...databases.envFor(0) } });
    instances.onCleanup(() => server.kill());
    await waitUntil(subscribed, 'P to subscribe', { timeoutMs: 10_000 });

    expect(await redis.command('ACL', 'SETUSER', READER, 'resetchannels')).toBe('OK');
    await waitUntil(async () => (await channelDenials(READER)) >= 2, "Redis to refuse P's SUBSCRIBE");
    expect(await redis.command('ACL', 'SETUSER', READER, 'allchannels')).toBe('OK');
    const exited = () => server.child.exitCode !== null || server.child.signalCode !== null;
    await waitUntil(async () => exited() || (await subscribed()), 'P to subscribe again', { timeoutMs: 10_000 });

    expect({ exited: exited(), crashes: crashSigns(server.output()) }, server.output()).toEqual({ exited: false, crashes: [] });
    expect(await postGraphQL(server.url, PRODUCT, { id: '5' })).toMatchObject({ status: 200, data: { product: { id: '5' } } });
    expect(await server.stop()).toBe(0);
  });
});
