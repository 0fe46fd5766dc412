/**
 * The HTTP face of the cache: Cache-Control, Age, X-Cache on every GraphQL answer, ETags bound
 * to the request that would be served, 304s, and GET sharing entries with POST.
 */
import { describe, expect, it } from 'vitest';
import { bearer, createCachedLibrary } from '../helpers/in-process.ts';

const BOOK = '{ book(id: "1") { title } }';

describe('Cache-Control and X-Cache', () => {
  it('graphql-yoga#4272: no Cache-Control header (a cacheable answer says max-age=<remaining>, public|private)', async () => {
    const lib = createCachedLibrary();
    expect((await lib.request(BOOK)).headers.get('cache-control')).toBe('max-age=60, public');
    expect((await lib.request('{ author(id: "1") { email } }', { headers: bearer('A') })).headers.get('cache-control')).toBe(
      'max-age=300, private',
    );
  });

  it.each([
    ['a query with maxAge 0', '{ hello }', 'BYPASS'],
    ['a mutation', 'mutation { renameAuthor(id: "1", name: "N") { id } }', 'BYPASS'],
    ['an error', '{ boom { id } }', 'BYPASS'],
    ['introspection', '{ __schema { queryType { name } } }', 'BYPASS'],
    ['a validation error', '{ nope }', 'BYPASS'],
    ['a syntax error', '{ book(', 'BYPASS'],
    ['PRIVATE data without a session', '{ author(id: "1") { email } }', 'BYPASS'],
  ])('marks every other GraphQL answer no-store with an X-Cache: %s', async (_name, query, xcache) => {
    const lib = createCachedLibrary();
    const response = await lib.request(query);
    expect(response.headers.get('content-type')).toMatch(/json/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.xcache).toBe(xcache);
    expect(response.headers.get('etag')).toBeNull();
    expect(response.headers.get('age')).toBeNull();
  });

  it('peer bug 6: no Age header (MISS then HIT, and Age only on hits)', async () => {
    const lib = createCachedLibrary();
    const miss = await lib.request(BOOK);
    lib.clock.advance(7_000);
    const hit = await lib.request(BOOK);
    expect([miss.xcache, hit.xcache]).toEqual(['MISS', 'HIT']);
    expect(miss.headers.get('age')).toBeNull();
    expect(hit.headers.get('age')).toBe('7');
    // The whole max-age with the Age: a downstream cache holds it for the 53 s left (RFC 9111 4.2).
    expect(hit.headers.get('cache-control')).toBe('max-age=60, public');
    expect(hit.headers.get('content-type')).toBe(miss.headers.get('content-type'));
  });
});

describe('ETag and If-None-Match', () => {
  it('answers 304 to the validator of the entry this request would be served', async () => {
    const lib = createCachedLibrary();
    const miss = await lib.request(BOOK);
    const etag = miss.headers.get('etag');
    expect(etag).toMatch(/^"[^"]+"$/);
    const revalidated = await lib.request(BOOK, { headers: { 'if-none-match': etag! } });
    expect(revalidated.status).toBe(304);
    expect(revalidated.text).toBe('');
    expect(revalidated.headers.get('etag')).toBe(etag);
    expect(revalidated.xcache).toBe('HIT');
    expect(lib.calls.book).toBe(1);
  });

  it('ETag of one query answering another with 304', async () => {
    const lib = createCachedLibrary();
    const a = await lib.request(BOOK);
    await lib.request('{ book(id: "2") { title } }');
    const b = await lib.request('{ book(id: "2") { title } }', { headers: { 'if-none-match': a.headers.get('etag')! } });
    expect(b.status).toBe(200);
    expect(b.json.data.book.title).toBe('Book 2');
  });

  it('does not let one query\'s ETag validate another whose body is byte-identical', async () => {
    // The validator is bound to the key, not only to the bytes: a literal and a variable say
    // the same thing with different keys.
    const lib = createCachedLibrary();
    const literal = await lib.request('{ book(id: "1") { stock } }');
    const query = 'query ($id: ID!) { book(id: $id) { stock } }';
    const first = await lib.request(query, { variables: { id: '1' } });
    expect(first.text).toBe(literal.text);
    const other = await lib.request(query, { variables: { id: '1' }, headers: { 'if-none-match': literal.headers.get('etag')! } });
    expect(other.xcache).toBe('HIT');
    expect(other.status).toBe(200);
    expect(other.text).toBe(literal.text);
  });

  it('answers 200 to a PRIVATE ETag of session A sent by session B', async () => {
    const lib = createCachedLibrary();
    const query = '{ author(id: "1") { name email } }';
    const a = await lib.request(query, { headers: bearer('A') });
    const bMiss = await lib.request(query, { headers: { ...bearer('B'), 'if-none-match': a.headers.get('etag')! } });
    expect(bMiss.status).toBe(200);
    const bHit = await lib.request(query, { headers: { ...bearer('B'), 'if-none-match': a.headers.get('etag')! } });
    expect(bHit.xcache).toBe('HIT');
    expect(bHit.status).toBe(200);
    expect(bHit.json.data.author.email).toBe('a1@example.com');
    expect(bHit.headers.get('etag')).not.toBe(a.headers.get('etag'));
  });

  it('answers 200 once the entry the validator named has been replaced', async () => {
    const lib = createCachedLibrary();
    const old = await lib.request(BOOK);
    await lib.request('mutation { renameBook(id: "1", title: "Renamed") { id } }');
    const fresh = await lib.request(BOOK, { headers: { 'if-none-match': old.headers.get('etag')! } });
    expect(fresh.status).toBe(200);
    expect(fresh.json.data.book.title).toBe('Renamed');
    expect(fresh.headers.get('etag')).not.toBe(old.headers.get('etag'));
  });

  it('a PRIVATE answer\'s ETag could be checked offline: it was an unsalted hash of guessable inputs; now it depends on a secret of the cache', async () => {
    // Two caches over the same schema and data: the same key, the same body, and so, with an
    // unsalted hash, the same ETag, which anyone could compute for a guessed email.
    const query = '{ author(id: "1") { name email } }';
    const first = createCachedLibrary();
    const second = createCachedLibrary();
    const a = await first.request(query, { headers: bearer('A') });
    const b = await second.request(query, { headers: bearer('A') });
    expect(b.text).toBe(a.text);
    expect(a.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(b.headers.get('etag')).not.toBe(a.headers.get('etag'));
    // On one cache it stays the same for the same answer, so revalidation still works.
    const again = await first.request(query, { headers: { ...bearer('A'), 'cache-control': 'no-cache', 'if-none-match': a.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });

  it('executes a no-cache request with a validator, and answers 304 when the fresh answer is unchanged', async () => {
    const lib = createCachedLibrary();
    const etag = (await lib.request(BOOK)).headers.get('etag')!;
    const before = lib.calls.book;
    const forced = await lib.request(BOOK, { headers: { 'if-none-match': etag, 'cache-control': 'no-cache' } });
    expect(lib.calls.book).toBe(before + 1);
    expect(forced.status).toBe(304);
    expect(forced.text).toBe('');
  });

  it('answers 200 with the new data to a no-cache request whose validator is out of date', async () => {
    const lib = createCachedLibrary();
    const etag = (await lib.request(BOOK)).headers.get('etag')!;
    lib.books.get(1)!.title = 'Changed behind the cache';
    const forced = await lib.request(BOOK, { headers: { 'if-none-match': etag, 'cache-control': 'no-cache' } });
    expect(forced.status).toBe(200);
    expect(forced.json.data.book.title).toBe('Changed behind the cache');
  });
});

describe('GET requests', () => {
  it('caches a GET like a POST and shares the entry both ways', async () => {
    const lib = createCachedLibrary();
    const post = await lib.request(BOOK);
    const get = await lib.request(BOOK, { method: 'GET' });
    expect(get.status).toBe(200);
    expect(get.xcache).toBe('HIT');
    expect(get.text).toBe(post.text);

    const query = 'query ($id: ID!) { book(id: $id) { title } }';
    const firstGet = await lib.request(query, { method: 'GET', variables: { id: '3' } });
    const thenPost = await lib.request(query, { variables: { id: '3' } });
    expect([firstGet.xcache, thenPost.xcache]).toEqual(['MISS', 'HIT']);
    expect(thenPost.json.data.book.title).toBe('Book 3');
    expect(lib.calls.book).toBe(2);
  });

  it('serves a GET hit with the same headers as a POST hit', async () => {
    const lib = createCachedLibrary();
    await lib.request(BOOK, { method: 'GET' });
    lib.clock.advance(2_000);
    const get = await lib.request(BOOK, { method: 'GET' });
    expect(get.headers.get('cache-control')).toBe('max-age=60, public');
    expect(get.headers.get('age')).toBe('2');
  });
});
