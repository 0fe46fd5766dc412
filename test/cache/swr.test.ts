/**
 * Stale-while-revalidate: within its `swr` window a stale answer is served at once while one
 * refresh runs, and an eviction removes the stale answer too.
 */
import { describe, it, expect } from 'vitest';
import { createCachedLibrary, createClock } from '../helpers/in-process.ts';
import { createMemoryStore } from '../../plugins/memory-store.ts';
import type { CacheEntry, ReadTicket } from '../../plugins/store.ts';

const BOOK = '{ book(id: "1") { title } }';

/** A memory store that reports each stored entry, so a test can wait for the refresh's write. */
function watchedStore(now: () => number) {
  const store = createMemoryStore({ now });
  const stored: Array<(entry: CacheEntry) => void> = [];
  const set = store.set.bind(store);
  store.set = (key: string, entry: CacheEntry, ticket: ReadTicket) => {
    const accepted = set(key, entry, ticket);
    if (accepted) stored.splice(0).forEach((resolve) => resolve(entry));
    return accepted;
  };
  return { store, nextStored: () => new Promise<CacheEntry>((resolve) => stored.push(resolve)) };
}

function setUp() {
  const clock = createClock();
  const watched = watchedStore(clock.now);
  const lib = createCachedLibrary({ store: watched.store, now: clock.now, hints: { Book: { maxAge: 10, swr: 30 } } });
  return { lib, clock, nextStored: watched.nextStored };
}

describe('stale-while-revalidate', () => {
  it('serves the stale answer at once inside the swr window, refreshes it once, then serves the refreshed one', async () => {
    const { lib, clock, nextStored } = setUp();
    expect((await lib.request(BOOK)).xcache).toBe('MISS');
    lib.books.get(1)!.title = 'Changed behind the cache';
    clock.advance(15_000);

    const refreshed = nextStored();
    const stale = await lib.request(BOOK);
    expect(stale.xcache).toBe('HIT');
    expect(stale.json.data.book.title).toBe('Book 1');
    // Past its max-age by its Age, and inside the swr a downstream cache may also serve it stale.
    expect(stale.headers.get('cache-control')).toBe('max-age=10, public, stale-while-revalidate=30');
    expect(stale.headers.get('age')).toBe('15');
    // A second stale read while the refresh runs does not start another one.
    expect((await lib.request(BOOK)).json.data.book.title).toBe('Book 1');

    const entry = await refreshed;
    expect(JSON.parse(entry.body).data.book.title).toBe('Changed behind the cache');
    expect(lib.calls.book).toBe(2);
    const fresh = await lib.request(BOOK);
    expect(fresh.xcache).toBe('HIT');
    expect(fresh.json.data.book.title).toBe('Changed behind the cache');
    expect(fresh.headers.get('cache-control')).toBe('max-age=10, public, stale-while-revalidate=30');
  });

  it('does not serve a stale answer past the swr window', async () => {
    const { lib, clock } = setUp();
    await lib.request(BOOK);
    clock.advance(41_000);
    const late = await lib.request(BOOK);
    expect(late.xcache).toBe('MISS');
    expect(lib.calls.book).toBe(2);
  });

  it('never serves a stale answer past an eviction', async () => {
    const { lib, clock } = setUp();
    await lib.request(BOOK);
    clock.advance(15_000);
    await lib.request('mutation { renameBook(id: "1", title: "Renamed") { id } }');
    const after = await lib.request(BOOK);
    expect(after.xcache).toBe('MISS');
    expect(after.json.data.book.title).toBe('Renamed');
  });

  it('serves stale answers only for types that opt in: without swr an expired answer is a miss', async () => {
    const clock = createClock();
    const lib = createCachedLibrary({ store: createMemoryStore({ now: clock.now }), now: clock.now });
    await lib.request(BOOK);
    clock.advance(61_000);
    expect((await lib.request(BOOK)).xcache).toBe('MISS');
  });
});
