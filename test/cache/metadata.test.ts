/**
 * `includeExtensionMetadata`: the cache outcome as typed data in `extensions.responseCache`,
 * only when asked for.
 */
import { describe, expect, it } from 'vitest';
import { bearer, createCachedLibrary } from '../helpers/in-process.ts';

const BOOK = '{ book(id: "1") { title } }';

describe('extensions.responseCache', () => {
  it('is absent by default: no extensions key at all, on a miss or a hit', async () => {
    const lib = createCachedLibrary();
    const miss = await lib.request(BOOK);
    const hit = await lib.request(BOOK);
    const bypass = await lib.request('{ hello }');
    for (const answer of [miss, hit, bypass]) expect(Object.keys(answer.json)).toEqual(['data']);
  });

  it('reports MISS and HIT with the remaining ttl and the scope', async () => {
    const lib = createCachedLibrary({ includeExtensionMetadata: true });
    const miss = await lib.request(BOOK);
    lib.clock.advance(10_000);
    const hit = await lib.request(BOOK);
    expect(miss.json).toEqual({ data: { book: { title: 'Book 1' } }, extensions: { responseCache: { status: 'MISS', ttl: 60, scope: 'PUBLIC' } } });
    expect(hit.json).toEqual({ data: { book: { title: 'Book 1' } }, extensions: { responseCache: { status: 'HIT', ttl: 50, scope: 'PUBLIC' } } });
  });

  it('reports the PRIVATE scope', async () => {
    const lib = createCachedLibrary({ includeExtensionMetadata: true });
    const query = '{ author(id: "2") { email } }';
    await lib.request(query, { headers: bearer('A') });
    const hit = await lib.request(query, { headers: bearer('A') });
    expect(hit.json.extensions.responseCache).toEqual({ status: 'HIT', ttl: 300, scope: 'PRIVATE' });
  });

  it.each([
    ['maxAge 0', '{ hello }'],
    ['a mutation', 'mutation { renameBook(id: "2", title: "T") { id } }'],
    ['an error', '{ boom { id } }'],
  ])('reports BYPASS with ttl 0 for %s', async (_name, query) => {
    const lib = createCachedLibrary({ includeExtensionMetadata: true });
    const answer = await lib.request(query);
    expect(answer.json.extensions.responseCache).toMatchObject({ status: 'BYPASS', ttl: 0 });
  });

  it('does not store the metadata with the entry (a hit reports its own outcome)', async () => {
    const lib = createCachedLibrary({ includeExtensionMetadata: true });
    await lib.request(BOOK);
    const first = await lib.request(BOOK);
    lib.clock.advance(1_000);
    const second = await lib.request(BOOK);
    expect(first.json.extensions).toEqual({ responseCache: { status: 'HIT', ttl: 60, scope: 'PUBLIC' } });
    expect(second.json.extensions).toEqual({ responseCache: { status: 'HIT', ttl: 59, scope: 'PUBLIC' } });
  });
});
