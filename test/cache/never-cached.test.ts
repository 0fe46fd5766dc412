/**
 * What is never served from the cache: mutations, answers with errors, introspection (unless
 * asked for), and requests whose Cache-Control says no-cache or no-store. A no-cache request
 * still executes and refreshes the entry with what it produced; a no-store one stores nothing.
 */
import { describe, expect, it } from 'vitest';
import { createCachedLibrary } from '../helpers/in-process.ts';

describe('never cached', () => {
  it('does not cache mutations', async () => {
    const lib = createCachedLibrary();
    const first = await lib.request('mutation { renameBook(id: "1", title: "One") { id title } }');
    const second = await lib.request('mutation { renameBook(id: "1", title: "One") { id title } }');
    expect([first.xcache, second.xcache]).toEqual(['BYPASS', 'BYPASS']);
    expect(second.headers.get('cache-control')).toBe('no-store');
    expect(second.headers.get('etag')).toBeNull();
    expect(second.json.data.renameBook.title).toBe('One');
  });

  it('does not cache an answer with an error', async () => {
    const lib = createCachedLibrary();
    const first = await lib.request('{ boom { id } }');
    const second = await lib.request('{ boom { id } }');
    expect(first.json.errors).toHaveLength(1);
    expect([first.xcache, second.xcache]).toEqual(['BYPASS', 'BYPASS']);
    expect(second.headers.get('cache-control')).toBe('no-store');
    expect(lib.calls.boom).toBe(2);
  });

  it('mercurius-js/cache#128: a resolver result of the wrong type is cached and the error repeats until expiry', async () => {
    const lib = createCachedLibrary();
    const query = '{ book(id: "1") { title } }';
    // Book.title is String!: a null title is a field error, and book resolves to null.
    lib.books.set(1, { ...lib.books.get(1)!, title: null as unknown as string });
    const broken = await lib.request(query);
    expect(broken.json.errors).toHaveLength(1);
    expect(broken.json.data.book).toBeNull();
    expect(broken.headers.get('cache-control')).toBe('no-store');
    lib.books.set(1, { ...lib.books.get(1)!, title: 'Fixed' });
    const fixed = await lib.request(query);
    expect(fixed.json).toEqual({ data: { book: { title: 'Fixed' } } });
    expect(fixed.xcache).toBe('MISS');
  });

  it('does not cache partial data with an error', async () => {
    const lib = createCachedLibrary();
    await lib.request('{ book(id: "1") { title } boom { id } }');
    const second = await lib.request('{ book(id: "1") { title } boom { id } }');
    expect(second.json.data.book.title).toBe('Book 1');
    expect(second.xcache).toBe('BYPASS');
    expect(lib.calls.book).toBe(2);
  });

  it('does not cache introspection by default, whatever the default maxAge', async () => {
    const lib = createCachedLibrary({ defaultMaxAge: 60 });
    for (const query of ['{ __schema { queryType { name } } }', '{ __type(name: "Book") { name } book(id: "1") { title } }']) {
      const first = await lib.request(query);
      const second = await lib.request(query);
      expect(first.json.errors).toBeUndefined();
      expect([first.xcache, second.xcache]).toEqual(['BYPASS', 'BYPASS']);
      expect(second.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('caches introspection mixed with data when cacheIntrospection is true', async () => {
    const lib = createCachedLibrary({ cacheIntrospection: true });
    const query = '{ __type(name: "Book") { name } book(id: "1") { title } }';
    await lib.request(query);
    const second = await lib.request(query);
    expect(second.xcache).toBe('HIT');
    expect(second.json.data.__type.name).toBe('Book');
    expect(lib.calls.book).toBe(1);
  });

  it('caches a pure introspection query when cacheIntrospection is true (root fields take defaultMaxAge)', async () => {
    // __schema is a root field without a hint: like any other it takes defaultMaxAge.
    const lib = createCachedLibrary({ cacheIntrospection: true, defaultMaxAge: 60 });
    const query = '{ __schema { queryType { name } } }';
    const first = await lib.request(query);
    const second = await lib.request(query);
    expect(first.json.data.__schema.queryType.name).toBe('Query');
    expect(first.headers.get('cache-control')).toBe('max-age=60, public');
    expect(second.xcache).toBe('HIT');
    expect(second.text).toBe(first.text);
  });
});

describe('request Cache-Control: no-cache and no-store', () => {
  const QUERY = '{ book(id: "1") { title } }';

  it.each(['no-cache', 'max-age=0, no-cache'])(
    '"%s" executes instead of reading, and refreshes the entry for later requests',
    async (directive) => {
      const lib = createCachedLibrary();
      await lib.request(QUERY);
      lib.books.set(1, { ...lib.books.get(1)!, title: 'Changed behind the cache' });
      // A plain request still gets the stored answer: the change went around the cache.
      expect((await lib.request(QUERY)).json.data.book.title).toBe('Book 1');
      const forced = await lib.request(QUERY, { headers: { 'cache-control': directive } });
      expect(forced.xcache).not.toBe('HIT');
      expect(forced.json.data.book.title).toBe('Changed behind the cache');
      expect(lib.calls.book).toBe(2);
      const after = await lib.request(QUERY);
      expect(after.xcache).toBe('HIT');
      expect(after.json.data.book.title).toBe('Changed behind the cache');
      expect(lib.calls.book).toBe(2);
    },
  );

  it('Apollo "basic caching": a no-store request was stored (RFC 9111 5.2.1.5: nothing of its answer may be)', async () => {
    const lib = createCachedLibrary();
    await lib.request(QUERY);
    lib.books.set(1, { ...lib.books.get(1)!, title: 'Changed behind the cache' });
    const forced = await lib.request(QUERY, { headers: { 'cache-control': 'no-store' } });
    expect(forced.xcache).toBe('BYPASS');
    expect(forced.json.data.book.title).toBe('Changed behind the cache');
    // The entry is the one from before: the no-store answer was not written over it.
    const after = await lib.request(QUERY);
    expect([after.xcache, after.json.data.book.title]).toEqual(['HIT', 'Book 1']);
    // Nor stored on a cold key.
    const cold = '{ book(id: "2") { title } }';
    await lib.request(cold, { headers: { 'cache-control': 'no-store' } });
    expect((await lib.request(cold)).xcache).toBe('MISS');
  });

  it('executes a no-cache request on a cold cache and stores its answer', async () => {
    const lib = createCachedLibrary();
    const forced = await lib.request(QUERY, { headers: { 'cache-control': 'no-cache' } });
    expect(forced.headers.get('cache-control')).toBe('max-age=60, public');
    expect((await lib.request(QUERY)).xcache).toBe('HIT');
    expect(lib.calls.book).toBe(1);
  });

  it('executes every no-cache request even when an entry is fresh', async () => {
    const lib = createCachedLibrary();
    for (let i = 0; i < 3; i++) await lib.request(QUERY, { headers: { 'cache-control': 'no-cache' } });
    expect(lib.calls.book).toBe(3);
  });
});
