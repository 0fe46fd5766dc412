/**
 * `getMany` on the Redis and tiered stores (the memory store's is in memory-store.test.ts): many
 * keys in one round trip, one ticket for them all, and the write-back rule kept. Round trips are
 * counted by Redis itself (`INFO commandstats`: script calls), on a redis-server of this file.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../plugins/memory-store.ts';
import { createRedisStore, type RedisStore } from '../../plugins/redis-store.ts';
import { createTieredStore, type TieredStore } from '../../plugins/tiered-store.ts';
import type { ManyLookup } from '../../plugins/store.ts';
import { startRedis, whenReady, type RedisServer } from '../helpers/redis.ts';
import { cacheEntry } from './entry.ts';

let server: RedisServer;
const cleanups: (() => unknown)[] = [];
let prefixes = 0;

beforeAll(async () => {
  server = await startRedis();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await server?.stop();
});

/** Scripts Redis has run so far (EVALSHA, and EVAL for a script it did not have yet). */
async function scriptCalls(): Promise<number> {
  const stats = String(await server.command('INFO', 'commandstats'));
  const calls = (command: string) => Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
  return calls('evalsha') + calls('eval');
}

async function redisStore(prefix = `many${++prefixes}`): Promise<RedisStore> {
  const store = createRedisStore({ redis: server.url, prefix });
  cleanups.push(() => store.close());
  await whenReady(store.redis);
  await store.get('start-up');
  return store;
}

async function tieredStore(prefix = `many${++prefixes}`): Promise<TieredStore> {
  const remote = createRedisStore({ redis: server.url, prefix });
  const store = createTieredStore({ local: createMemoryStore(), remote });
  cleanups.push(() => store.close());
  await whenReady(remote.redis);
  await remote.get('start-up');
  if (!store.localTierActive) await new Promise<void>((resolve) => store.onLocalTierChange((active) => active && resolve()));
  return store;
}

const bodies = (lookup: ManyLookup) => lookup.entries.map((entry) => entry?.body);

describe('redis store: getMany', () => {
  it('answers 50 keys with one script call: the entries in key order and one ticket', async () => {
    const store = await redisStore();
    const { ticket } = await store.get('k0');
    for (let i = 0; i < 50; i += 2) expect(await store.set(`k${i}`, cacheEntry([`Product:${i}`], { body: `body ${i}` }), ticket)).toBe(true);
    const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
    const before = await scriptCalls();
    const many = await store.getMany(keys);
    expect((await scriptCalls()) - before).toBe(1);
    expect(bodies(many)).toEqual(keys.map((_, i) => (i % 2 === 0 ? `body ${i}` : undefined)));
    expect(many.entries[0]).toEqual(cacheEntry(['Product:0'], { body: 'body 0', createdAt: many.entries[0]!.createdAt }));
  });

  it('its one ticket stores any of the keys, and refuses those whose tags were evicted after it', async () => {
    const store = await redisStore();
    const { ticket } = await store.getMany(['a', 'b']);
    await store.evict(['Product:2']);
    expect(await store.set('a', cacheEntry(['Product:1']), ticket)).toBe(true);
    expect(await store.set('b', cacheEntry(['Product:2']), ticket)).toBe(false);
  });

  it('answers nothing, and a ticket that stores nothing, before any generation exists', async () => {
    const prefix = `fresh${++prefixes}`;
    const store = createRedisStore({ redis: server.url, prefix });
    cleanups.push(() => store.close());
    await whenReady(store.redis);
    await server.command('DEL', `{${prefix}}:gen`, `{${prefix}}:epoch`);
    const many = await store.getMany(['a']);
    expect(many.entries).toEqual([undefined]);
    // Any write starts a generation above this ticket's epoch.
    expect(await store.set('a', cacheEntry(['Product:1']), many.ticket)).toBe(false);
  });

  it('a Redis that does not answer is a miss of every key, with a ticket that stores nothing', async () => {
    const errors: string[] = [];
    const slow = createRedisStore({ redis: server.url, prefix: `many${++prefixes}`, commandTimeoutMs: 50, onError: (_error, where) => errors.push(where) });
    cleanups.push(() => slow.close());
    await whenReady(slow.redis);
    await server.command('CLIENT', 'PAUSE', '300', 'ALL');
    const many = await slow.getMany(['a', 'b']);
    expect(many.entries).toEqual([undefined, undefined]);
    expect(errors).toContain('get');
    expect(await slow.set('a', cacheEntry(['Product:1']), many.ticket)).toBe(false);
  });
});

describe('tiered store: getMany', () => {
  it('answers from the local tier without a round trip when it holds every key fresh', async () => {
    const store = await tieredStore();
    const { ticket } = await store.getMany(['a', 'b']);
    await store.set('a', cacheEntry(['Product:1'], { body: 'A' }), ticket);
    await store.set('b', cacheEntry(['Product:2'], { body: 'B' }), ticket);
    const before = await scriptCalls();
    const local = store.getMany(['a', 'b']);
    expect(local).not.toBeInstanceOf(Promise);
    expect(bodies(local as ManyLookup)).toEqual(['A', 'B']);
    expect((await scriptCalls()) - before).toBe(0);
  });

  it('reads the keys the local tier lacks in one remote round trip, and fills the local tier with them', async () => {
    const prefix = `many${++prefixes}`;
    const [a, b] = [await tieredStore(prefix), await tieredStore(prefix)];
    const { ticket } = await a.getMany(['k1', 'k2', 'k3']);
    for (const key of ['k1', 'k2', 'k3']) await a.set(key, cacheEntry([`Product:${key}`], { body: key }), ticket);
    await b.getMany(['k1']);
    const before = await scriptCalls();
    const many = b.getMany(['k1', 'k2', 'k3', 'k4']);
    expect(many).toBeInstanceOf(Promise);
    expect(bodies(await many)).toEqual(['k1', 'k2', 'k3', undefined]);
    expect((await scriptCalls()) - before).toBe(1);
    const again = b.getMany(['k2', 'k3']);
    expect(again).not.toBeInstanceOf(Promise);
    expect(b.stats().entries).toBe(3);
  });

  it('its ticket stores through Redis, and refuses a key whose tag was evicted by another instance after the read', async () => {
    const prefix = `many${++prefixes}`;
    const [a, b] = [await tieredStore(prefix), await tieredStore(prefix)];
    const { ticket } = await a.getMany(['x', 'y']);
    await b.evict(['Product:y']);
    expect(await a.set('x', cacheEntry(['Product:x']), ticket)).toBe(true);
    expect(await a.set('y', cacheEntry(['Product:y']), ticket)).toBe(false);
    expect(bodies(await b.getMany(['x', 'y']))).toEqual([cacheEntry([]).body, undefined]);
  });

  it('reads Redis alone while the local tier is off', async () => {
    const store = await tieredStore();
    const { ticket } = await store.getMany(['a']);
    await store.set('a', cacheEntry(['Product:1'], { body: 'A' }), ticket);
    await server.command('CLIENT', 'KILL', 'TYPE', 'pubsub');
    if (store.localTierActive) await new Promise<void>((resolve) => store.onLocalTierChange((active) => !active && resolve()));
    const before = await scriptCalls();
    const many = store.getMany(['a']);
    expect(many).toBeInstanceOf(Promise);
    expect(bodies(await many)).toEqual(['A']);
    expect((await scriptCalls()) - before).toBe(1);
  });
});
