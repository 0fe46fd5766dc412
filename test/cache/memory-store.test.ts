/**
 * The in-memory store: an LRU bounded by bytes, expiry by TTL on the injected clock, and hits
 * that are byte-identical to the answer the miss sent.
 */
import { describe, expect, it } from 'vitest';
import { createCachedLibrary, createClock } from '../helpers/in-process.ts';
import { createMemoryStore, type MemoryStore } from '../../plugins/memory-store.ts';
import type { CacheEntry } from '../../plugins/store.ts';

const bookQuery = (id: number) => `{ book(id: "${id}") { title } }`;

/** The bytes one `book(id) { title }` answer takes in a store (ids 1–6 all weigh the same). */
async function bookEntryBytes() {
  const lib = createCachedLibrary();
  await lib.request(bookQuery(1));
  return (lib.store as MemoryStore).stats().bytes;
}

describe('memory store through the cache', () => {
  it('peer bug #11: LRU bounded by entry count, not bytes (the least recently used answers go when over the byte budget)', async () => {
    const size = await bookEntryBytes();
    expect(size).toBeGreaterThan(0);
    const lib = createCachedLibrary({}, { memoryStore: { maxBytes: Math.floor(size * 2.5) } });
    await lib.request(bookQuery(1));
    await lib.request(bookQuery(2));
    // Reading 1 makes 2 the least recently used: storing 3 must push 2 out, not 1.
    expect((await lib.request(bookQuery(1))).xcache).toBe('HIT');
    await lib.request(bookQuery(3));
    const store = lib.store as MemoryStore;
    expect(store.stats().entries).toBe(2);
    expect(store.stats().bytes).toBeLessThanOrEqual(Math.floor(size * 2.5));
    expect((await lib.request(bookQuery(1))).xcache).toBe('HIT');
    expect((await lib.request(bookQuery(3))).xcache).toBe('HIT');
    expect((await lib.request(bookQuery(2))).xcache).toBe('MISS');
  });

  it('does not store an answer larger than the whole budget, and still serves it', async () => {
    const size = await bookEntryBytes();
    const lib = createCachedLibrary({}, { memoryStore: { maxBytes: size } });
    const big = '{ books { title author { name } } }';
    const first = await lib.request(big);
    expect(first.json.data.books).toHaveLength(6);
    expect((await lib.request(big)).xcache).toBe('MISS');
    expect((lib.store as MemoryStore).stats().entries).toBe(0);
  });

  it('serves hits byte-identical to the body the miss sent', async () => {
    const lib = createCachedLibrary();
    const queries = [
      '{ book(id: "1") { title subtitle author { name books { id title } } related { title } } }',
      '{ feed { __typename ... on Book { title stock } ... on Author { name } } }',
      '{ a: book(id: "6") { related { id } } b: author(id: "3") { name } }',
    ];
    for (const query of queries) {
      const miss = await lib.request(query);
      const hit = await lib.request(query);
      expect([miss.xcache, hit.xcache]).toEqual(['MISS', 'HIT']);
      expect(hit.text).toBe(miss.text);
    }
  });
});

describe('memory store on its own', () => {
  const entry = (at: number, maxAgeMs: number, tags: string[] = ['Book:1']): CacheEntry => ({
    body: '{"data":{}}',
    createdAt: at,
    maxAgeMs,
    swrMs: 0,
    scope: 'PUBLIC',
    etag: '"e"',
    tags,
  });

  it('expires an entry at createdAt + maxAge on its clock', () => {
    const clock = createClock();
    const store = createMemoryStore({ now: clock.now });
    expect(store.set('k', entry(clock.now(), 10_000), store.get('k').ticket)).toBe(true);
    clock.advance(9_999);
    expect(store.get('k').entry).toBeDefined();
    clock.advance(1);
    expect(store.get('k').entry).toBeUndefined();
    expect(store.stats().entries).toBe(0);
  });

  it('refuses to store an answer read before an eviction of one of its tags', () => {
    const clock = createClock();
    const store = createMemoryStore({ now: clock.now });
    const { ticket } = store.get('k');
    store.evict(['Book:1']);
    expect(store.set('k', entry(clock.now(), 10_000), ticket)).toBe(false);
    expect(store.set('other', entry(clock.now(), 10_000, ['Book:2']), ticket)).toBe(true);
  });

  it('rejects a bad byte budget at construction, naming the value', () => {
    expect(() => createMemoryStore({ maxBytes: 0 })).toThrow(/maxBytes.*0/);
    expect(() => createMemoryStore({ maxBytes: -5 })).toThrow(/-5/);
  });
});
