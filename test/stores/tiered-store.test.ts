import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../plugins/memory-store.ts';
import { createRedisStore, type RedisStore } from '../../plugins/redis-store.ts';
import type { Lookup } from '../../plugins/store.ts';
import { createTieredStore, type RemoteEviction, type TieredStore, type TieredStoreOptions } from '../../plugins/tiered-store.ts';
import { startRedis, waitUntil, whenReady, type RedisServer } from '../helpers/redis.ts';
import { cacheEntry } from './entry.ts';

let server: RedisServer;
const cleanups: (() => unknown)[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
let prefixes = 0;

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  server = await startRedis();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  expect(unhandled.splice(0)).toEqual([]);
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await server?.stop();
});

function localTier(store: TieredStore, active: boolean): Promise<void> {
  if (store.localTierActive === active) return Promise.resolve();
  return new Promise((resolve) => {
    const off = store.onLocalTierChange((now) => {
      if (now !== active) return;
      off();
      resolve();
    });
  });
}

function nextRemoteEviction(store: TieredStore): Promise<RemoteEviction> {
  return new Promise((resolve) => {
    const off = store.onRemoteEvict((eviction) => {
      off();
      resolve(eviction);
    });
  });
}

/** One application instance: its own Redis client, memory tier and subscriber, on a shared prefix. */
async function instance(
  prefix: string,
  options: Partial<Omit<TieredStoreOptions, 'local' | 'remote'>> & { wrapRemote?: (remote: RedisStore) => RedisStore } = {},
): Promise<{ store: TieredStore; remote: RedisStore }> {
  const { wrapRemote = (remote) => remote, ...tiered } = options;
  const remote = createRedisStore({ redis: server.url, prefix, commandTimeoutMs: 200 });
  const store = createTieredStore({ local: createMemoryStore(), remote: wrapRemote(remote), ...tiered });
  cleanups.push(() => store.close());
  await whenReady(remote.redis);
  await localTier(store, true);
  return { store, remote };
}

async function pair(): Promise<{ a: TieredStore; b: TieredStore; prefix: string }> {
  const prefix = `shop${++prefixes}`;
  const [{ store: a }, { store: b }] = await Promise.all([instance(prefix), instance(prefix)]);
  return { a, b, prefix };
}

/** Reads through Redis (a local miss) and stores; the next local read is a hit. */
async function fill(store: TieredStore, key: string, tags: string[]): Promise<void> {
  const lookup = store.get(key);
  expect(lookup).toBeInstanceOf(Promise);
  expect(await store.set(key, cacheEntry(tags), (await lookup).ticket)).toBe(true);
}

describe('tiered store', () => {
  it('a local miss reads Redis and fills the local tier; the next hit is synchronous, on every instance', async () => {
    const { a, b } = await pair();
    await fill(a, 'k', ['Product:7']);
    const hitA = a.get('k');
    expect(hitA).not.toBeInstanceOf(Promise);
    expect((hitA as Lookup).entry?.tags).toEqual(['Product:7']);

    const fromRedis = b.get('k');
    expect(fromRedis).toBeInstanceOf(Promise);
    expect((await fromRedis).entry?.tags).toEqual(['Product:7']);
    expect(b.stats().entries).toBe(1);
    const hitB = b.get('k');
    expect(hitB).not.toBeInstanceOf(Promise);
    expect((hitB as Lookup).entry?.body).toBe((hitA as Lookup).entry?.body);
  });

  it('evict on A drops the entry from A at once and from B when the broadcast arrives; A ignores its own', async () => {
    const { a, b } = await pair();
    await fill(a, 'product', ['Product:7']);
    await fill(a, 'other', ['Product:8']);
    await b.get('product');
    await b.get('other');
    expect(b.stats().entries).toBe(2);
    const seenByA: RemoteEviction[] = [];
    a.onRemoteEvict((eviction) => seenByA.push(eviction));

    const arrived = nextRemoteEviction(b);
    expect(await a.evict(['Product:7'])).toBe(1);
    expect(a.get('product')).toBeInstanceOf(Promise);
    expect(await arrived).toEqual({ kind: 'evict', tags: ['Product:7'] });
    expect(b.stats().entries).toBe(1);
    const afterB = b.get('product');
    expect(afterB).toBeInstanceOf(Promise);
    expect((await afterB).entry).toBeUndefined();
    expect(b.get('other')).not.toBeInstanceOf(Promise);

    // Messages on A's subscription arrive in order: once B's eviction is in, A's own was skipped.
    const backAtA = nextRemoteEviction(a);
    await b.evict(['Product:8']);
    await backAtA;
    expect(seenByA).toEqual([{ kind: 'evict', tags: ['Product:8'] }]);
  });

  it('a local fill that races a broadcast eviction is refused', async () => {
    const prefix = `shop${++prefixes}`;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let readAnswered!: () => void;
    const remoteRead = new Promise<void>((resolve) => (readAnswered = resolve));
    // B's Redis reads complete, then wait at the gate: the broadcast lands between read and fill.
    const wrapRemote = (remote: RedisStore): RedisStore => ({
      ...remote,
      get: async (key) => {
        const lookup = await remote.get(key);
        readAnswered();
        await gate;
        return lookup;
      },
    });
    const [{ store: a }, { store: b }] = await Promise.all([instance(prefix), instance(prefix, { wrapRemote })]);
    await fill(a, 'k', ['Product:7']);

    const read = b.get('k');
    await remoteRead;
    const arrived = nextRemoteEviction(b);
    await a.evict(['Product:7']);
    await arrived;
    release();
    // The read began before the eviction, so its answer may be the old one, but it stays local to that read.
    expect((await read).entry).toBeDefined();
    expect(b.stats().entries).toBe(0);
  });

  it('set stores in Redis first: when Redis refuses, nothing is stored locally', async () => {
    const { a, b } = await pair();
    const { ticket } = await b.get('k');
    const arrived = nextRemoteEviction(b);
    await a.evict(['Product:7']);
    await arrived;
    expect(await b.set('k', cacheEntry(['Product:7']), ticket)).toBe(false);
    expect(b.stats().entries).toBe(0);
    expect((await a.get('k')).entry).toBeUndefined();
  });

  it('a fresh local hit cannot be written back; a stale one reads Redis, so its refresh is stored', async () => {
    const { a } = await pair();
    const { ticket } = await a.get('k');
    const stale = cacheEntry(['Product:7'], { createdAt: Date.now() - 2_000, maxAgeMs: 1_000, swrMs: 60_000 });
    expect(await a.set('k', stale, ticket)).toBe(true);
    expect(a.stats().entries).toBe(1);
    const staleHit = a.get('k');
    expect(staleHit).toBeInstanceOf(Promise);
    const { entry, ticket: refreshTicket } = await staleHit;
    expect(entry?.createdAt).toBe(stale.createdAt);
    const fresh = cacheEntry(['Product:7']);
    expect(await a.set('k', fresh, refreshTicket)).toBe(true);

    const freshHit = a.get('k') as Lookup;
    expect(freshHit.entry?.createdAt).toBe(fresh.createdAt);
    expect(await a.set('k', cacheEntry(['Product:7']), freshHit.ticket)).toBe(false);
  });

  it("clear on A empties B's local tier too", async () => {
    const { a, b } = await pair();
    await fill(b, 'k', ['Product:7']);
    const arrived = nextRemoteEviction(b);
    await a.clear();
    expect(await arrived).toEqual({ kind: 'clear' });
    expect(b.stats().entries).toBe(0);
    expect((await b.get('k')).entry).toBeUndefined();
  });

  it('subscription lost: the local tier is bypassed, a missed eviction cannot be served, and the tier is flushed on resubscribe', async () => {
    const prefix = `shop${++prefixes}`;
    // B's subscriber does not reconnect by itself, so the test decides how long it stays down.
    const subscriber = new Redis({ host: server.host, port: server.port, retryStrategy: () => null });
    subscriber.on('error', () => {});
    cleanups.push(() => subscriber.disconnect());
    const [{ store: a }, { store: b }] = await Promise.all([instance(prefix), instance(prefix, { subscriber })]);
    await fill(b, 'k', ['Product:7']);
    expect(b.get('k')).not.toBeInstanceOf(Promise);

    const down = localTier(b, false);
    expect(await server.command('CLIENT', 'KILL', 'TYPE', 'pubsub')).toBeGreaterThanOrEqual(2);
    await down;
    await a.evict(['Product:7']); // B does not hear of this one

    const bypass = b.get('k');
    expect(bypass).toBeInstanceOf(Promise);
    expect((await bypass).entry).toBeUndefined();
    expect(b.stats().entries).toBe(1); // the stale copy is still there, unused
    expect(await b.set('k2', cacheEntry(['Product:8']), (await b.get('k2')).ticket)).toBe(true);
    expect(b.stats().entries).toBe(1); // not filled while off

    const up = localTier(b, true);
    await subscriber.connect();
    await up;
    expect(b.stats().entries).toBe(0);
    expect((await b.get('k2')).entry).toBeDefined();
    expect(b.get('k2')).not.toBeInstanceOf(Promise);
  });

  it('Redis killed: reads are quick misses that cannot store; after a restart on the same port the tier is flushed and caching resumes', async () => {
    const prefix = `shop${++prefixes}`;
    const [{ store: a }, { store: b, remote }] = await Promise.all([instance(prefix), instance(prefix)]);
    await fill(b, 'k', ['Product:7']);

    const down = localTier(b, false);
    await server.kill();
    await down;
    const started = performance.now();
    const lookup = await b.get('k');
    expect(performance.now() - started).toBeLessThan(500);
    expect(lookup.entry).toBeUndefined();
    expect(await b.set('k', cacheEntry(['Product:7']), lookup.ticket)).toBe(false);
    await expect(a.evict(['Product:7'])).rejects.toThrow(/evict failed/);

    const up = localTier(b, true);
    const reconnected = whenReady(remote.redis);
    await server.restart();
    await Promise.all([up, reconnected]);
    expect(b.stats().entries).toBe(0);
    // The first script calls after a restart reload the scripts, and the new generation's clear
    // may reach B after a fill: polled, bounded, until a fill is answered from the local tier.
    await waitUntil(
      async () => {
        if (!(b.get('k') instanceof Promise)) return true;
        await b.set('k', cacheEntry(['Product:7']), (await b.get('k')).ticket);
        return false;
      },
      'hits from the local tier after the restart',
    );
  });

  it('a new generation Redis starts (its epoch lost, as to maxmemory) is announced as a clear: the tiers drop their copies and read locally again', async () => {
    const { a, b, prefix } = await pair();
    await fill(a, 'product', ['Product:7']);
    await b.get('product');
    expect(b.stats().entries).toBe(1);
    const arrived = Promise.all([nextRemoteEviction(a), nextRemoteEviction(b)]);
    expect(await server.command('DEL', `{${prefix}}:epoch`, `{${prefix}}:gen`)).toBe(2);
    // The next write starts the new generation; its ticket, from before, is refused.
    expect(await a.set('other', cacheEntry(['Product:8']), (await a.get('other')).ticket)).toBe(false);
    expect(await arrived).toEqual([{ kind: 'clear' }, { kind: 'clear' }]);
    expect([a.stats().entries, b.stats().entries]).toEqual([0, 0]);
    // Not left behind by an epoch nobody evicted to: B's tier answers again once filled.
    await fill(b, 'product', ['Product:7']);
    expect(b.get('product')).not.toBeInstanceOf(Promise);
  });

  describe('an instance that reads announcements late', () => {
    /** A and B on one prefix, B's subscriber one the test can stop reading (its socket paused: messages wait in the kernel). */
    async function withLateB(acknowledgeTimeoutMs?: number) {
      const prefix = `shop${++prefixes}`;
      const subscriber = new Redis(server.url, { autoResubscribe: false });
      subscriber.on('error', () => {});
      cleanups.push(() => subscriber.disconnect());
      const [{ store: a }, { store: b }] = await Promise.all([instance(prefix, { acknowledgeTimeoutMs }), instance(prefix, { subscriber, acknowledgeTimeoutMs })]);
      const socket = (subscriber as unknown as { stream: NodeJS.ReadableStream }).stream;
      return { a, b, pause: () => socket.pause(), resume: () => socket.resume() };
    }

    it("A's evict resolves only once B has dropped its copy, however late B reads the announcement", async () => {
      const { a, b, pause, resume } = await withLateB();
      await fill(a, 'product', ['Product:7']);
      await b.get('product');
      expect(b.stats().entries).toBe(1);
      pause();
      let settled = false;
      const evicting = a.evict(['Product:7']).finally(() => (settled = true));
      // A has its own announcement and Redis's answer by the time a later command of A's connection returns.
      await a.remote.redis.ping();
      await a.remote.redis.ping();
      expect(settled).toBe(false);
      // B still holds the old copy: the evicting write must not have answered yet.
      expect((b.get('product') as Lookup).entry?.tags).toEqual(['Product:7']);
      resume();
      expect(await evicting).toBe(1);
      expect(b.stats().entries).toBe(0);
      expect(await b.get('product')).toEqual({ ticket: expect.anything() });
    });

    it("A's evict rejects when B never confirms in time, naming how many did not", async () => {
      const { a, b, pause, resume } = await withLateB(150);
      await fill(a, 'product', ['Product:7']);
      await b.get('product');
      pause();
      await expect(a.evict(['Product:7'])).rejects.toThrow(/1 of 2 in-process tiers did not confirm the eviction within 150 ms/);
      resume();
      // A retry (what the eviction guard does) is confirmed once B reads again.
      expect(await a.evict(['Product:7'])).toBe(0);
      expect(b.stats().entries).toBe(0);
    });

    it('B, whose subscriber stops answering (a partition), switches its tier off; once it answers, the tier is flushed and back', async () => {
      const { a, b, pause, resume } = await withLateB(100);
      await fill(a, 'product', ['Product:7']);
      await b.get('product');
      expect(b.get('product')).not.toBeInstanceOf(Promise);
      pause();
      await localTier(b, false);
      expect(b.get('product')).toBeInstanceOf(Promise);
      resume();
      await localTier(b, true);
      expect(b.stats().entries).toBe(0);
    });

    it('B, once a reply from Redis shows an eviction it has not applied yet, stops reading its own tier until it has', async () => {
      const { a, b, pause, resume } = await withLateB(5_000);
      await fill(a, 'product', ['Product:7']);
      await b.get('product');
      pause();
      const evicting = a.evict(['Product:7']);
      await a.remote.redis.ping();
      // Not yet known to B: its tier answers (A's write has not answered, so this read is not late).
      expect(b.get('product')).not.toBeInstanceOf(Promise);
      // Any reply from Redis tells B the epoch moved on: from then on it reads Redis, where the entry is gone.
      await b.get('elsewhere');
      const behind = b.get('product');
      expect(behind).toBeInstanceOf(Promise);
      expect((await behind).entry).toBeUndefined();
      expect((await b.getMany(['product']))).toMatchObject({ entries: [undefined] });
      resume();
      await evicting;
      // Caught up: hits are local again.
      await fill(b, 'product', ['Product:7']);
      expect(b.get('product')).not.toBeInstanceOf(Promise);
    });
  });

  it('an eviction never announced to the tiers (an epoch skipped) makes the next announcement drop everything', async () => {
    const { a, b, prefix } = await pair();
    await fill(a, 'product', ['Product:7']);
    await b.get('product');
    expect(b.get('product')).not.toBeInstanceOf(Promise);
    // An eviction that ran but was published nowhere B listens (an instance of an older release,
    // a message lost): Redis's epoch moves on and B is not told.
    await server.command('INCR', `{${prefix}}:epoch`);
    const arrived = nextRemoteEviction(b);
    await a.evict(['Product:8']);
    expect(await arrived).toEqual({ kind: 'clear' });
    expect(b.stats().entries).toBe(0);
    expect(b.get('product')).toBeInstanceOf(Promise);
  });

  it('a subscriber serves one tiered store: Redis counts a connection once', async () => {
    const prefix = `shop${++prefixes}`;
    const subscriber = new Redis(server.url, { autoResubscribe: false });
    subscriber.on('error', () => {});
    cleanups.push(() => subscriber.disconnect());
    const { store: first } = await instance(prefix, { subscriber });
    const remote = createRedisStore({ redis: server.url, prefix });
    cleanups.push(() => remote.close());
    expect(() => createTieredStore({ local: createMemoryStore(), remote, subscriber })).toThrow(/already serves another tiered store/);
    await first.close();
    const second = createTieredStore({ local: createMemoryStore(), remote, subscriber });
    cleanups.push(() => second.close());
    await localTier(second, true);
  });

  it('close unsubscribes and quits the subscriber it created', async () => {
    const { b, prefix } = await pair();
    const channel = `${prefix}:tiers`;
    expect(await server.command('PUBSUB', 'NUMSUB', channel)).toEqual([channel, 2]);
    await b.close();
    expect(b.localTierActive).toBe(false);
    expect(await server.command('PUBSUB', 'NUMSUB', channel)).toEqual([channel, 1]);
  });
});
