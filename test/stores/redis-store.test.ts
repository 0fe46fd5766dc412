import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore, type RedisStore, type RedisStoreOptions } from '../../plugins/redis-store.ts';
import { DEFAULT_TOMBSTONE_MS } from '../../plugins/store.ts';
import { createResponseCache } from '../../plugins/response-cache.ts';
import { createLibrary } from '../helpers/library-schema.ts';
import { startRedis, waitUntil, whenReady, type RedisServer } from '../helpers/redis.ts';
import { cacheEntry } from './entry.ts';

let server: RedisServer;
const open: RedisStore[] = [];
let prefixes = 0;

beforeAll(async () => {
  server = await startRedis();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((store) => store.close()));
});
afterAll(async () => {
  await server?.stop();
});

/**
 * A store on its own client and, unless given, its own prefix; resolves once connected and
 * initialised. The test's admin commands use another connection, so a first read on the store's
 * own connection is what orders them after the store's start-up script.
 */
async function openStore(options: Partial<RedisStoreOptions> = {}, on: RedisServer = server): Promise<RedisStore> {
  const store = createRedisStore({ redis: on.url, prefix: `t${++prefixes}`, ...options });
  open.push(store);
  await whenReady(store.redis);
  expect((await store.get('start-up')).ticket.epoch).toBeGreaterThan(0);
  return store;
}

/** The generation part of entry and index keys, read from Redis. */
async function generation(prefix: string): Promise<string> {
  return String(await server.command('GET', `{${prefix}}:gen`));
}

describe('redis store', () => {
  it('get misses, set stores, get returns the same entry, body bytes intact', async () => {
    const store = await openStore();
    const miss = await store.get('k');
    expect(miss.entry).toBeUndefined();
    const entry = cacheEntry(['Product:7', 'Query.products', 'odd\ntag'], {
      body: '{"data":{"name":"Lampe «Été»\\n","raw":"\n"}}',
      swrMs: 5_000,
      scope: 'PRIVATE',
    });
    expect(await store.set('k', entry, miss.ticket)).toBe(true);
    expect((await store.get('k')).entry).toEqual(entry);
  });

  it('sends the reads asked for in one turn of the event loop in one write (auto-pipelining), each answered with its own entry', async () => {
    const store = await openStore();
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    for (const key of keys) {
      const entry = cacheEntry([`Product:${key}`], { body: `{"data":{"key":"${key}"}}` });
      expect(await store.set(key, entry, (await store.get(key)).ticket)).toBe(true);
    }
    // Redis counts the read events on its client sockets; the admin connection adds its own.
    const readEvents = async () => Number(/total_reads_processed:(\d+)/.exec(String(await server.command('INFO', 'stats')))?.[1]);
    const adminOnly = -(await readEvents()) + (await readEvents());

    const before = await readEvents();
    const lookups = await Promise.all([...keys, 'absent'].map((key) => store.get(key)));
    const storeReads = (await readEvents()) - before - adminOnly;

    expect(lookups.map((lookup) => lookup.entry?.body ?? null)).toEqual([...keys.map((key) => `{"data":{"key":"${key}"}}`), null]);
    expect(new Set(lookups.map((lookup) => lookup.ticket.epoch)).size).toBe(1);
    expect(storeReads, '21 reads arrived in far fewer socket reads').toBeLessThanOrEqual(3);
  });

  it('holds nothing in process: the engine reports no local tier for it', async () => {
    const store = await openStore();
    const cache = createResponseCache({ schema: createLibrary().schema, store });
    expect(cache.stats()).toEqual({ hits: 0, stale: 0, misses: 0, coalesced: 0, bypassed: 0, grains: {}, degraded: false, pendingEvictions: { tags: 0, all: false }, local: null });
  });

  it('stores an entry for the time left until createdAt + maxAgeMs + swrMs', async () => {
    const store = await openStore();
    const entry = cacheEntry(['Product:7'], { createdAt: Date.now() - 10_000, maxAgeMs: 30_000, swrMs: 20_000 });
    expect(await store.set('k', entry, (await store.get('k')).ticket)).toBe(true);
    const pttl = Number(await server.command('PTTL', `{${store.prefix}}:e:${await generation(store.prefix)}:k`));
    expect(pttl).toBeGreaterThan(39_000);
    expect(pttl).toBeLessThanOrEqual(40_000);
    const expired = cacheEntry(['Product:7'], { createdAt: Date.now() - 10_000, maxAgeMs: 5_000, swrMs: 5_000 });
    expect(await store.set('gone', expired, (await store.get('gone')).ticket)).toBe(false);
  });

  it('tag indexes expire with their longest-lived member, tombstones after tombstoneMs', async () => {
    const store = await openStore({ tombstoneMs: 7_000 });
    const gen = await generation(store.prefix);
    const tagKey = `{${store.prefix}}:t:${gen}:Query.products`;
    await store.set('long', cacheEntry(['Query.products'], { maxAgeMs: 20_000 }), (await store.get('long')).ticket);
    await store.set('short', cacheEntry(['Query.products'], { maxAgeMs: 10_000 }), (await store.get('short')).ticket);
    const pttl = Number(await server.command('PTTL', tagKey));
    expect(pttl).toBeGreaterThan(19_000);
    expect(pttl).toBeLessThanOrEqual(20_000);
    expect(await server.command('SCARD', tagKey)).toBe(2);

    await store.evict(['Query.products']);
    const tombstoneTtl = Number(await server.command('PTTL', `{${store.prefix}}:x:Query.products`));
    expect(tombstoneTtl).toBeGreaterThan(6_000);
    expect(tombstoneTtl).toBeLessThanOrEqual(7_000);
    expect(await server.command('EXISTS', tagKey)).toBe(0);
  });

  it('every key but the epoch and the generation expires: DBSIZE returns to its baseline', async () => {
    const own = await startRedis();
    try {
      const store = await openStore({ tombstoneMs: 1_000 }, own);
      const baseline = Number(await own.command('DBSIZE'));
      expect(baseline).toBe(2);
      const { ticket } = await store.get('q');
      const stored = await Promise.all(
        Array.from({ length: 100 }, (_, i) => {
          const entry = cacheEntry([`Product:${i}`, `Category:${i % 5}`, 'Query.products'], { maxAgeMs: 800, swrMs: 200 });
          return store.set(`q${i}`, entry, ticket);
        }),
      );
      expect(stored.every(Boolean)).toBe(true);
      await store.evict(['Product:1', 'Category:2']);
      // 79 entries, 99 + 4 + 1 tag sets, 2 tombstones, the epoch and the generation.
      expect(Number(await own.command('DBSIZE'))).toBeGreaterThan(150);
      // Real Redis expiry: a bounded poll, no sleep.
      await waitUntil(async () => Number(await own.command('DBSIZE')) === baseline, 'DBSIZE back to its baseline', {
        timeoutMs: 10_000,
      });
    } finally {
      await own.stop();
    }
  });

  it('evict removes every entry under any of the tags, only those, and counts them', async () => {
    const store = await openStore();
    const put = async (key: string, tags: string[]): Promise<void> => {
      expect(await store.set(key, cacheEntry(tags), (await store.get(key)).ticket)).toBe(true);
    };
    await put('product7', ['Product:7']);
    await put('list', ['Query.products', 'Product:7', 'Product:8']);
    await put('category', ['Category:3', 'Category:3.products']);
    await put('product9', ['Product:9']);
    expect(await store.evict(['Product:8', 'Category:3.products'])).toBe(2);
    expect((await store.get('list')).entry).toBeUndefined();
    expect((await store.get('category')).entry).toBeUndefined();
    expect((await store.get('product7')).entry).toBeDefined();
    expect((await store.get('product9')).entry).toBeDefined();
    expect(await store.evict(['Product:7', 'Product:9'])).toBe(2);
    expect(await store.evict([])).toBe(0);
  });

  it('evicts a tag with thousands of entries in one script', async () => {
    // Three thousand sets at once: on a loaded machine some would pass the default 250 ms deadline.
    const store = await openStore({ commandTimeoutMs: 10_000 });
    const { ticket } = await store.get('warm');
    await Promise.all(
      Array.from({ length: 3_000 }, (_, i) => store.set(`q${i}`, cacheEntry(['Query.products', `Product:${i}`]), ticket)),
    );
    expect(await store.evict(['Query.products'])).toBe(3_000);
    expect((await store.get('q2999')).entry).toBeUndefined();
  });

  describe('write-back guarantee', () => {
    it('set refuses when a tag of the entry was evicted, by any instance, after the read began', async () => {
      const reader = await openStore();
      const writer = await openStore({ prefix: reader.prefix });
      const { ticket } = await reader.get('k');
      await writer.evict(['Product:7']);
      expect(await reader.set('k', cacheEntry(['Query.products', 'Product:7']), ticket)).toBe(false);
      expect((await reader.get('k')).entry).toBeUndefined();
    });

    it('set accepts when the eviction was of another tag, or came before the read', async () => {
      const store = await openStore();
      await store.evict(['Product:7']);
      const { ticket } = await store.get('k');
      await store.evict(['Product:8']);
      expect(await store.set('k', cacheEntry(['Product:7']), ticket)).toBe(true);
    });

    it('set refuses a ticket issued before a clear', async () => {
      const store = await openStore();
      const { ticket } = await store.get('k');
      await store.clear();
      expect(await store.set('k', cacheEntry(['Product:7']), ticket)).toBe(false);
      expect(await store.set('k', cacheEntry(['Product:7']), (await store.get('k')).ticket)).toBe(true);
    });

    it('set refuses a ticket as old as tombstoneMs on the instance clock (default 60 s)', async () => {
      expect(DEFAULT_TOMBSTONE_MS).toBe(60_000);
      const clock = { now: Date.now() };
      const store = await openStore({ now: () => clock.now });
      const { ticket } = await store.get('k');
      clock.now += 59_999;
      expect(await store.set('k', cacheEntry([], { createdAt: clock.now }), ticket)).toBe(true);
      clock.now += 1;
      expect(await store.set('k', cacheEntry([], { createdAt: clock.now }), ticket)).toBe(false);
    });

    it('set refuses a ticket that reaches Redis after the tombstone expired, even on a frozen instance clock', async () => {
      // The instance clock says no time passed (a set stuck in a socket buffer looks like this);
      // Redis's own clock still refuses the ticket once the tombstone could be gone.
      const frozen = Date.now();
      const store = await openStore({ tombstoneMs: 200, now: () => frozen });
      const { ticket } = await store.get('k');
      await store.evict(['Product:7']);
      const tombstone = `{${store.prefix}}:x:Product:7`;
      await waitUntil(async () => (await server.command('EXISTS', tombstone)) === 0, 'the tombstone to expire');
      expect(await store.set('k', cacheEntry(['Product:7'], { createdAt: frozen }), ticket)).toBe(false);
    });

    it('set refuses a ticket from a failed read without asking Redis', async () => {
      const store = await openStore();
      expect(await store.set('k', cacheEntry([]), { epoch: -1, issuedAt: Date.now() })).toBe(false);
      expect(await store.set('k', cacheEntry([]), { epoch: 5, issuedAt: Date.now() })).toBe(false);
    });

    it('after a Redis restart (data lost), a ticket from before cannot write back', async () => {
      const own = await startRedis();
      try {
        const store = await openStore({}, own);
        const { ticket } = await store.get('k');
        expect(ticket.epoch).toBeGreaterThan(0);
        await own.restart();
        await waitUntil(async () => (await own.command('EXISTS', `{${store.prefix}}:gen`)) === 1, 'the store to re-create its epoch');
        expect(await store.set('k', cacheEntry(['Product:7']), ticket)).toBe(false);
        const fresh = await store.get('k');
        expect(fresh.ticket.epoch).toBeGreaterThan(ticket.epoch);
        expect(await store.set('k', cacheEntry(['Product:7']), fresh.ticket)).toBe(true);
      } finally {
        await own.stop();
      }
    });
  });

  it('two prefixes on one Redis are separate caches: evict and clear touch only their own', async () => {
    const a = await openStore({ prefix: 'app-a' });
    const b = await openStore({ prefix: 'app-b' });
    for (const store of [a, b]) {
      expect(await store.set('k', cacheEntry(['Product:7']), (await store.get('k')).ticket)).toBe(true);
      expect(await store.set('k2', cacheEntry(['Product:8']), (await store.get('k2')).ticket)).toBe(true);
    }
    expect(await a.evict(['Product:7'])).toBe(1);
    expect((await a.get('k')).entry).toBeUndefined();
    expect((await b.get('k')).entry).toBeDefined();
    await a.clear();
    expect((await a.get('k2')).entry).toBeUndefined();
    expect((await b.get('k2')).entry).toBeDefined();
  });

  it('runs no KEYS, SCAN, FLUSHDB or FLUSHALL, not even inside its scripts', async () => {
    const store = await openStore();
    expect(await server.command('CONFIG', 'RESETSTAT')).toBe('OK');
    const { ticket } = await store.get('k');
    await store.set('k', cacheEntry(['Product:7']), ticket);
    await store.get('k');
    await store.evict(['Product:7']);
    await store.clear();
    const stats = String(await server.command('INFO', 'commandstats'));
    // Commands run by scripts are counted too: the scripts did run.
    expect(stats).toMatch(/cmdstat_(evalsha|eval):calls=[1-9]/);
    expect(stats).toMatch(/cmdstat_incr:calls=[1-9]/);
    expect(stats).not.toMatch(/cmdstat_(keys|scan|flushdb|flushall):/);
  });

  it('evict and clear announce themselves, numbered by epoch, on <prefix>:evictions and <prefix>:tiers, published by the script that evicts', async () => {
    const store = await openStore();
    expect([store.channel, store.tierChannel]).toEqual([`${store.prefix}:evictions`, `${store.prefix}:tiers`]);
    const watcher = new Redis({ host: server.host, port: server.port });
    const tiers = [new Redis({ host: server.host, port: server.port }), new Redis({ host: server.host, port: server.port })];
    for (const client of [watcher, ...tiers]) client.on('error', () => {});
    try {
      await watcher.subscribe(store.channel);
      for (const tier of tiers) await tier.subscribe(store.tierChannel);
      const messages: { channel: string; message: unknown }[] = [];
      for (const client of [watcher, tiers[0]]) client.on('message', (channel: string, text: string) => messages.push({ channel, message: JSON.parse(text) }));
      expect(await server.command('CONFIG', 'RESETSTAT')).toBe('OK');
      const evicted = await store.evictAnnounced(['Product:7', 'Category:3.products']);
      const cleared = await store.clearAnnounced();
      // The tiers are counted, the watcher is not: the count is who the evicting tier waits for.
      expect({ evicted: evicted.receivers, cleared: cleared.receivers, next: cleared.epoch - evicted.epoch }).toEqual({ evicted: 2, cleared: 2, next: 1 });
      await waitUntil(() => messages.length === 4, 'two announcements on each channel');
      const eviction = { o: store.origin, t: ['Product:7', 'Category:3.products'], e: evicted.epoch };
      const clear = { o: store.origin, c: 1, e: cleared.epoch };
      expect(messages.filter(({ channel }) => channel === store.channel).map(({ message }) => message)).toEqual([eviction, clear]);
      expect(messages.filter(({ channel }) => channel === store.tierChannel).map(({ message }) => message)).toEqual([eviction, clear]);
      // One announcement per operation on each channel, no more.
      expect(String(await server.command('INFO', 'commandstats'))).toMatch(/cmdstat_publish:calls=4,/);
    } finally {
      for (const client of [watcher, ...tiers]) client.disconnect();
    }
  });

  it('rejects a prefix with braces, naming the bad value', () => {
    expect(() => createRedisStore({ redis: server.url, prefix: '{x}' })).toThrow(/prefix.*"\{x\}"/);
  });

  it("rejects a client with ioredis's keyPrefix, which would prefix keys but not the channels the scripts publish on", () => {
    const client = new Redis(server.url, { keyPrefix: 'app:', lazyConnect: true });
    expect(() => createRedisStore({ redis: client })).toThrow(/keyPrefix "app:".*prefix option/);
    expect(() => createRedisStore({ redis: { host: '127.0.0.1', port: server.port, keyPrefix: 'app:' } })).toThrow(/keyPrefix "app:"/);
  });
});
