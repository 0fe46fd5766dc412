import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore, type RedisStore, type RedisStoreOperation } from '../../plugins/redis-store.ts';
import { startRedis, waitUntil, whenReady, type RedisServer } from '../helpers/redis.ts';
import { cacheEntry } from './entry.ts';
import { watchUnhandledRejections } from '../helpers/unhandled-rejections.ts';

const COMMAND_TIMEOUT_MS = 150;
/** Deadline plus scheduling slack on a busy 2-core machine: far below any reconnect or pause. */
const ANSWER_WITHIN_MS = COMMAND_TIMEOUT_MS + 350;

let server: RedisServer;
const cleanups: (() => unknown)[] = [];
const rejections = watchUnhandledRejections();
const unhandled = rejections.reasons;

beforeAll(async () => {
  rejections.start();
  server = await startRedis();
});
afterEach(async () => {
  // Each test asserts on its own rejections; one test's leak must not fail the next ones.
  unhandled.splice(0);
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  // A killed server is brought back for the next test.
  if ((await server.command('PING').catch(() => undefined)) !== 'PONG') await server.restart();
});
afterAll(async () => {
  rejections.stop();
  await server?.stop();
});

async function openStore(redis: RedisStore['redis'] | string = server.url) {
  const errors: RedisStoreOperation[] = [];
  const store = createRedisStore({
    redis,
    prefix: 'faults',
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
    onError: (_error, operation) => errors.push(operation),
  });
  cleanups.push(() => store.close());
  await whenReady(store.redis);
  return { store, errors };
}

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await run();
  return { value, ms: performance.now() - started };
}

describe('redis store faults', () => {
  it('Redis down: get is a quick miss that cannot store, set is false, evict retries then rejects; it recovers after a restart', async () => {
    const { store, errors } = await openStore();
    expect(await store.set('k', cacheEntry(['Product:7']), (await store.get('k')).ticket)).toBe(true);
    await server.kill();

    const get = await timed(() => store.get('k'));
    expect(get.ms).toBeLessThan(ANSWER_WITHIN_MS);
    expect(get.value.entry).toBeUndefined();
    expect(get.value.ticket.epoch).toBe(-1);
    expect(await store.set('k', cacheEntry(['Product:7']), get.value.ticket)).toBe(false);
    const { ticket } = await store.get('k');
    expect(await store.set('k', cacheEntry(['Product:7']), { ...ticket, epoch: 1 })).toBe(false);
    await expect(store.evict(['Product:7'])).rejects.toThrow(/evict failed twice/);
    expect(errors.filter((operation) => operation === 'evict')).toHaveLength(2);
    expect(errors).toContain('get');
    expect(errors).toContain('set');

    const ready = whenReady(store.redis);
    await server.restart();
    await ready;
    // The first script calls after a restart reload the scripts (NOSCRIPT, then EVAL); on a busy
    // machine that can outlast the deadline, so recovery is polled, bounded.
    await waitUntil(
      async () => store.set('k', cacheEntry(['Product:7']), (await store.get('k')).ticket),
      'a set to succeed after the restart',
    );
    expect((await store.get('k')).entry).toBeDefined();
    expect(await store.evict(['Product:7'])).toBe(1);
    expect(unhandled).toEqual([]);
  });

  it("Redis down under a caller's client with default options (offline queue, no timeout): the store's deadline still bounds get", async () => {
    const client = new Redis({ host: server.host, port: server.port });
    client.on('error', () => {});
    cleanups.push(() => client.disconnect());
    const { store } = await openStore(client);
    await server.kill();
    const get = await timed(() => store.get('k'));
    expect(get.ms).toBeLessThan(ANSWER_WITHIN_MS);
    expect(get.ms).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 5);
    expect(get.value.ticket.epoch).toBe(-1);
    expect(await store.set('k', cacheEntry([]), get.value.ticket)).toBe(false);
    expect(unhandled).toEqual([]);
  });

  it('Redis paused for every command: get is a miss within the deadline, and reads work again after the pause', async () => {
    const { store } = await openStore();
    expect(await store.set('k', cacheEntry(['Product:7']), (await store.get('k')).ticket)).toBe(true);
    expect(await server.command('CLIENT', 'PAUSE', 800, 'ALL')).toBe('OK');
    const get = await timed(() => store.get('k'));
    expect(get.ms).toBeLessThan(ANSWER_WITHIN_MS);
    expect(get.value.entry).toBeUndefined();
    expect(get.value.ticket.epoch).toBe(-1);
    // The pause ends on Redis's schedule: poll for a hit, bounded.
    await waitUntil(async () => (await store.get('k')).entry !== undefined, 'a hit after the pause');
    expect(unhandled).toEqual([]);
  });

  it('Redis paused for writes (as during a failover): reads still hit, a set gives up at its deadline', async () => {
    const { store } = await openStore();
    expect(await store.set('k', cacheEntry(['Product:7']), (await store.get('k')).ticket)).toBe(true);
    expect(await server.command('CLIENT', 'PAUSE', 600, 'WRITE')).toBe('OK');
    const get = await timed(() => store.get('k'));
    expect(get.value.entry).toBeDefined();
    expect(get.ms).toBeLessThan(COMMAND_TIMEOUT_MS);
    const set = await timed(() => store.set('k2', cacheEntry(['Product:7']), get.value.ticket));
    expect(set.value).toBe(false);
    expect(set.ms).toBeLessThan(ANSWER_WITHIN_MS);
    expect(await server.command('CLIENT', 'UNPAUSE')).toBe('OK');
    expect(unhandled).toEqual([]);
  });
});
