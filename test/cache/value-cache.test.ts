/**
 * The value cache alone (plugins/value-cache.ts), the core of every resolver-level grain: on a
 * memory store with a controlled clock, latches where an interleaving matters, and a store that
 * counts its calls.
 */
import { describe, expect, it } from 'vitest';
import { createCacheCounters, type CacheEvent } from '../../plugins/cache-counters.ts';
import { createEvictionGuard, type EvictionGuard } from '../../plugins/eviction-guard.ts';
import { createMemoryStore } from '../../plugins/memory-store.ts';
import type { CacheStore } from '../../plugins/store.ts';
import { createValueCache, valueKey, type ValueRequest } from '../../plugins/value-cache.ts';
import { createClock } from '../helpers/in-process.ts';
import { countingStore } from '../helpers/counting-store.ts';
import { latch } from '../helpers/latch.ts';

function setup({ guard }: { guard?: EvictionGuard } = {}) {
  const clock = createClock();
  const memory = createMemoryStore({ now: clock.now });
  const store = countingStore(memory);
  const counters = createCacheCounters();
  const warnings: string[] = [];
  const events: CacheEvent[] = [];
  const cache = createValueCache({
    store,
    guard: guard ?? { degraded: false },
    counters,
    now: clock.now,
    logger: { warn: (message) => void warnings.push(message) },
    onHit: (event) => void events.push(event),
    onMiss: (event) => void events.push(event),
    onBypass: (event) => void events.push(event),
  });
  return { clock, memory, store, counters, warnings, events, cache };
}

/** A request for the value of `operation(id)`, fresh 60 s (+ `swrMs`), tagged `Book:<id>`. */
function request<T>(id: string, { operation = 'book', swrMs = 0 }: { operation?: string; swrMs?: number } = {}): ValueRequest<T> {
  return {
    grain: 'function',
    operation,
    key: valueKey('function', operation, id),
    policy: { maxAgeMs: 60_000, swrMs, scope: 'PUBLIC' },
    tagsOf: () => [`Book:${id}`],
  };
}

describe('value cache: one value', () => {
  it('computes a miss once, then serves hits parsed anew for every caller, under a key of its grain', async () => {
    const { cache, memory, counters, events } = setup();
    let calls = 0;
    const compute = () => ({ id: '1', title: `read ${++calls}` });
    const miss = await cache.get(request('1'), compute);
    expect(miss).toMatchObject({ kind: 'miss', value: { title: 'read 1' } });
    const first = await cache.get(request('1'), compute);
    const second = await cache.get(request('1'), compute);
    expect([first.kind, second.kind, calls]).toEqual(['hit', 'hit', 1]);
    expect(first.value).toEqual({ id: '1', title: 'read 1' });
    // Each caller may mutate what it got: no two share an object.
    expect(first.value).not.toBe(second.value);
    expect(first.value).not.toBe(miss.value);
    expect(valueKey('function', 'book', '1')).toMatch(/^fn:book:[A-Za-z0-9_-]+$/);
    expect(memory.stats().entriesByGrain).toMatchObject({ function: 1, response: 0 });
    expect(counters.snapshot().grains.function).toMatchObject({ hits: 2, misses: 1 });
    expect(events.map(({ grain, kind, operation }) => `${grain} ${kind} ${operation}`)).toEqual(['function miss book', 'function hit book', 'function hit book']);
    expect(events[1]).toMatchObject({ ttl: 60, scope: 'PUBLIC' });
  });

  it('reports how long a served value stays fresh, counted as answers count it', async () => {
    const { cache, clock } = setup();
    const miss = await cache.get(request('1'), () => 'v');
    expect(cache.remainingSeconds(miss.life!)).toBe(60);
    clock.advance(50_400);
    const hit = await cache.get(request('1'), () => 'v');
    expect(cache.remainingSeconds(hit.life!)).toBe(10);
  });

  it('serves a stale value inside its swr window while one refresh per key runs, then the refreshed one', async () => {
    const { cache, clock, counters, store } = setup();
    let version = 0;
    const hold = latch();
    const compute = async () => {
      version++;
      if (version === 2) await hold.wait();
      return `v${version}`;
    };
    await cache.get(request('1', { swrMs: 30_000 }), compute);
    clock.advance(61_000);
    const stale = await Promise.all([cache.get(request('1', { swrMs: 30_000 }), compute), cache.get(request('1', { swrMs: 30_000 }), compute)]);
    expect(stale.map(({ kind, value }) => `${kind} ${value}`)).toEqual(['stale v1', 'stale v1']);
    expect(cache.remainingSeconds(stale[0].life!)).toBe(0);
    await hold.entered;
    expect(version).toBe(2);
    hold.release();
    // The refresh stores in the background: wait for its write, not for time.
    await expect.poll(() => store.calls.set).toBe(2);
    expect(await cache.get(request('1', { swrMs: 30_000 }), compute)).toMatchObject({ kind: 'hit', value: 'v2' });
    expect(version).toBe(2);
    expect(counters.snapshot().grains.function).toMatchObject({ stale: 2, hits: 3, misses: 1 });
  });

  it('a stale value past its swr window is a miss', async () => {
    const { cache, clock } = setup();
    await cache.get(request('1', { swrMs: 1_000 }), () => 'v1');
    clock.advance(61_000);
    expect(await cache.get(request('1', { swrMs: 1_000 }), () => 'v2')).toMatchObject({ kind: 'miss', value: 'v2' });
  });

  it('coalescing of identical calls: concurrent gets of one key share one computation, each with its own copy', async () => {
    const { cache, counters } = setup();
    const hold = latch();
    let calls = 0;
    const compute = async () => {
      calls++;
      await hold.wait();
      return { title: 'once' };
    };
    const leader = cache.get(request('1'), compute);
    await hold.entered;
    const followers = [cache.get(request('1'), compute), cache.get(request('1'), compute)];
    hold.release();
    const results = await Promise.all([leader, ...followers]);
    expect(calls).toBe(1);
    expect(results.map(({ kind }) => kind)).toEqual(['miss', 'coalesced', 'coalesced']);
    expect(results[1].value).toEqual({ title: 'once' });
    expect(results[1].value).not.toBe(results[2].value);
    expect(counters.snapshot().grains.function).toMatchObject({ misses: 1, coalesced: 2 });
  });

  it('never caches a thrown error or a rejected promise; followers of a failed leader compute for themselves', async () => {
    const { cache } = setup();
    const hold = latch();
    let calls = 0;
    const failing = async () => {
      calls++;
      await hold.wait();
      throw new Error('database down');
    };
    const leader = cache.get(request('1'), failing);
    await hold.entered;
    const follower = cache.get(request('1'), async () => (calls++, 'computed by the follower'));
    hold.release();
    await expect(leader).rejects.toThrow('database down');
    expect(await follower).toMatchObject({ kind: 'miss', value: 'computed by the follower' });
    expect(calls).toBe(2);
    await expect(cache.get(request('2'), () => { throw new Error('sync failure'); })).rejects.toThrow('sync failure');
    expect(await cache.get(request('2'), () => 'fine')).toMatchObject({ kind: 'miss', value: 'fine' });
  });

  it('no stale write-back: a computation held across an eviction of its tag does not store its value', async () => {
    const { cache, memory } = setup();
    const hold = latch();
    const slow = cache.get(request('1'), async () => {
      await hold.wait();
      return 'before the write';
    });
    await hold.entered;
    memory.evict(['Book:1']);
    // A caller arriving after the eviction must not be handed the older value either.
    const late = cache.get(request('1'), () => 'after the write');
    hold.release();
    expect((await slow).value).toBe('before the write');
    expect(await late).toMatchObject({ kind: 'miss', value: 'after the write' });
    expect(await cache.get(request('1'), () => 'again')).toMatchObject({ kind: 'hit', value: 'after the write' });
  });

  it('stores with the lookup\'s ticket, not one taken later: an eviction during the computation refuses it', async () => {
    // The store sees a set whose ticket predates the eviction; a ticket taken at set time would pass.
    const { cache, memory, store } = setup();
    const hold = latch();
    const slow = cache.get(request('1'), async () => (await hold.wait(), 'old'));
    await hold.entered;
    memory.evict(['Book:1']);
    hold.release();
    await slow;
    expect(store.calls.set).toBe(1);
    expect(memory.get(valueKey('function', 'book', '1')).entry).toBeUndefined();
  });

  it('still stores a computation held across an eviction of an unrelated tag', async () => {
    const { cache, memory } = setup();
    const hold = latch();
    const slow = cache.get(request('1'), async () => (await hold.wait(), 'v'));
    await hold.entered;
    memory.evict(['Book:2']);
    hold.release();
    await slow;
    expect((await cache.get(request('1'), () => 'other')).kind).toBe('hit');
  });

  it('keeps a value out of the store when its policy function answers null', async () => {
    const { cache } = setup();
    const conditional: ValueRequest<string> = { ...request('1'), policy: (value) => (value === 'keep' ? { maxAgeMs: 1_000, swrMs: 0, scope: 'PUBLIC' } : null) };
    expect(await cache.get(conditional, () => 'drop')).toMatchObject({ kind: 'miss', life: undefined });
    expect(await cache.get(conditional, () => 'keep')).toMatchObject({ kind: 'miss', life: { maxAgeMs: 1_000 } });
    expect(await cache.get(conditional, () => 'other')).toMatchObject({ kind: 'hit', value: 'keep' });
  });

  it('bypasses the store while the cache is degraded: computed, neither read nor written', async () => {
    const failing = createEvictionGuard({ store: { evict: () => Promise.reject(new Error('unreachable')) }, retryMs: 60_000, onError: () => {} });
    const { cache, store, counters, events } = setup({ guard: failing });
    await failing.evict(['Book:1'], 'mutation');
    expect(failing.degraded).toBe(true);
    expect(await cache.get(request('1'), () => 'v1')).toMatchObject({ kind: 'bypass', value: 'v1' });
    expect(await cache.getMany([request('1'), request('2')], () => ['a', 'b'])).toMatchObject([{ kind: 'bypass', value: 'a' }, { kind: 'bypass', value: 'b' }]);
    expect(store.calls).toEqual({ get: 0, getMany: 0, set: 0, evict: 0 });
    expect(counters.snapshot().grains.function).toMatchObject({ bypassed: 3 });
    expect(events[0]).toEqual({ grain: 'function', kind: 'bypass', operation: 'book', key: valueKey('function', 'book', '1') });
    failing.close();
  });
});

describe('value cache: unserialisable values', () => {
  class Row {
    constructor(readonly id: string) {}
  }
  const refused: [string, unknown][] = [
    ['a Date', { at: new Date(0) }],
    ['a Map', new Map([['a', 1]])],
    ['a class instance', new Row('1')],
    ['a BigInt', { count: 1n }],
    ['a function', { run: () => 1 }],
    ['a symbol', { s: Symbol('x') }],
    ['NaN', { price: Number.NaN }],
    ['Infinity', [Number.POSITIVE_INFINITY]],
    ['undefined in an array', [1, undefined, 3]],
    ['a hole in an array', [1, , 3]],
    ['a cycle', (() => { const a: Record<string, unknown> = {}; a.self = a; return a; })()],
    ['undefined itself', undefined],
  ];

  it.each(refused)('serves %s but does not store it', async (_name, value) => {
    const { cache, memory } = setup();
    expect(await cache.get(request('1'), () => value)).toMatchObject({ kind: 'miss' });
    expect(memory.stats().entries).toBe(0);
    expect((await cache.get(request('1'), () => value)).kind).toBe('miss');
  });

  it('reports an unserialisable value once per operation at warn, and never an Error in a batch', async () => {
    const { cache, warnings } = setup();
    for (let i = 0; i < 3; i++) await cache.get(request(String(i), { operation: 'withDate' }), () => ({ at: new Date(0) }));
    await cache.get(request('1', { operation: 'withMap' }), () => new Map());
    await cache.getMany([request('1', { operation: 'withError' })], () => [new Error('not found')]);
    expect(warnings).toEqual([
      'function cache: withDate returned an instance of Date, which JSON would not give back as it was; such values are served but not cached',
      'function cache: withMap returned an instance of Map, which JSON would not give back as it was; such values are served but not cached',
    ]);
  });

  it('stores plain objects, arrays, null, numbers and an object property that is undefined', async () => {
    const { cache } = setup();
    const value = { a: [1, 'two', null, { b: true }], c: undefined, d: -0.5 };
    await cache.get(request('1'), () => value);
    expect(await cache.get(request('1'), () => null)).toMatchObject({ kind: 'hit', value: { a: [1, 'two', null, { b: true }], d: -0.5 } });
  });
});

describe('value cache: many values', () => {
  it('looks every key up in one store round trip and computes only the misses, in their order', async () => {
    const { cache, store } = setup();
    await cache.getMany([request('2'), request('4')], (positions) => positions.map((p) => `first ${p}`));
    store.calls.getMany = 0;
    const asked: string[][] = [];
    const ids = ['1', '2', '3', '4', '5'];
    const results = await cache.getMany(
      ids.map((id) => request<string>(id)),
      (positions) => {
        asked.push(positions.map((p) => ids[p]));
        return positions.map((p) => `computed ${ids[p]}`);
      },
    );
    expect(store.calls.getMany).toBe(1);
    expect(store.calls.get).toBe(0);
    expect(asked).toEqual([['1', '3', '5']]);
    expect(results.map((r) => (r instanceof Error ? r.message : `${r.kind} ${r.value}`))).toEqual([
      'miss computed 1',
      'hit first 0',
      'miss computed 3',
      'hit first 1',
      'miss computed 5',
    ]);
  });

  it('never caches an Error answered for one key; the others are stored', async () => {
    const { cache } = setup();
    const first = await cache.getMany([request('1'), request('2')], () => ['one', new Error('no row 2')]);
    expect(first[1]).toBeInstanceOf(Error);
    const again = await cache.getMany([request('1'), request('2')], (positions) => positions.map(() => 'two now'));
    expect(again.map((r) => (r instanceof Error ? r.message : `${r.kind} ${r.value}`))).toEqual(['hit one', 'miss two now']);
  });

  it('answers the failure at every missed position when the batch function throws, and caches none', async () => {
    const { cache } = setup();
    await cache.getMany([request('1')], () => ['one']);
    const results = await cache.getMany([request('1'), request('2')], () => Promise.reject(new Error('batch failed')));
    expect(results.map((r) => (r instanceof Error ? r.message : r.kind))).toEqual(['hit', 'batch failed']);
    const short = await cache.getMany([request('3'), request('4')], () => ['only one']);
    expect((short[0] as Error).message).toMatch(/one value per key: it was given 2 keys and answered 1/);
  });

  it('shares one computation per key across concurrent batches', async () => {
    const { cache, counters } = setup();
    const hold = latch();
    const asked: string[][] = [];
    const batch = (ids: string[]) =>
      cache.getMany(
        ids.map((id) => request<string>(id)),
        async (positions) => {
          asked.push(positions.map((p) => ids[p]));
          if (asked.length === 1) await hold.wait();
          return positions.map((p) => `v${ids[p]}`);
        },
      );
    const first = batch(['1', '2']);
    await hold.entered;
    const second = batch(['2', '3']);
    await expect.poll(() => asked.length).toBe(2);
    hold.release();
    const [a, b] = await Promise.all([first, second]);
    expect(asked).toEqual([['1', '2'], ['3']]);
    expect(b.map((r) => (r instanceof Error ? r.message : `${r.kind} ${r.value}`))).toEqual(['coalesced v2', 'miss v3']);
    expect(a.map((r) => (r instanceof Error ? r.message : r.kind))).toEqual(['miss', 'miss']);
    expect(counters.snapshot().grains.function).toMatchObject({ misses: 3, coalesced: 1 });
  });

  it('no stale write-back in a batch: values computed across an eviction of their tags are not stored', async () => {
    const { cache, memory } = setup();
    const hold = latch();
    const slow = cache.getMany([request('1'), request('2')], async () => (await hold.wait(), ['old 1', 'old 2']));
    await hold.entered;
    memory.evict(['Book:1']);
    hold.release();
    await slow;
    const after = await cache.getMany([request('1'), request('2')], () => ['new 1']);
    expect(after.map((r) => (r instanceof Error ? r.message : `${r.kind} ${r.value}`))).toEqual(['miss new 1', 'hit old 2']);
  });

  it('serves stale values of a batch while one refresh for them runs', async () => {
    const { cache, clock, store } = setup();
    let round = 0;
    const compute = (positions: readonly number[]) => (round++, positions.map(() => `round ${round}`));
    await cache.getMany([request('1', { swrMs: 10_000 }), request('2', { swrMs: 10_000 })], compute);
    clock.advance(61_000);
    const stale = await cache.getMany([request('1', { swrMs: 10_000 }), request('2', { swrMs: 10_000 })], compute);
    expect(stale.map((r) => (r instanceof Error ? r.message : `${r.kind} ${r.value}`))).toEqual(['stale round 1', 'stale round 1']);
    await expect.poll(() => store.calls.set).toBe(4);
    expect(round).toBe(2);
    expect(await cache.get(request('1', { swrMs: 10_000 }), () => 'x')).toMatchObject({ kind: 'hit', value: 'round 2' });
  });

  it('falls back to one get per key for a store without getMany, each value stored with its own lookup\'s ticket', async () => {
    const { memory } = setup();
    const clock = createClock();
    const gets: string[] = [];
    const store: CacheStore = {
      get: (key) => (gets.push(key), memory.get(key)),
      set: (key, entry, ticket) => memory.set(key, entry, ticket),
      evict: (tags) => memory.evict(tags),
      clear: () => memory.clear(),
      close: () => memory.close(),
    };
    const cache = createValueCache({ store, guard: { degraded: false }, counters: createCacheCounters(), now: clock.now, logger: { warn() {} }, onHit() {}, onMiss() {}, onBypass() {} });
    await cache.getMany([request('1'), request('2')], () => ['a', 'b']);
    const again = await cache.getMany([request('1'), request('2')], () => ['x', 'y']);
    expect(again.map((r) => (r instanceof Error ? r.message : r.kind))).toEqual(['hit', 'hit']);
    expect(gets).toHaveLength(4);
  });
});
