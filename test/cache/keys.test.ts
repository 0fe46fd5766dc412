/**
 * Cache keys: the normalised document, the variables, the operation name and the scope decide
 * the entry; layout, comments, variable key order and `extensions` do not.
 */
import { describe, expect, it } from 'vitest';
import { createCachedLibrary, listenWithFront } from '../helpers/in-process.ts';
import { defaultBuildCacheKey, type BuildCacheKey, type CacheKeyInput } from '../../plugins/cache-key.ts';
import { engineOf } from '../../plugins/response-cache.ts';
import { shareParams } from '../../plugins/request-keying.ts';

const BOOK_TITLE = '{ book(id: "1") { title } }';

describe('cache keys', () => {
  it('peer bug #10: the document text is keyed raw, so whitespace changes miss (whitespace and comments share a key)', async () => {
    const lib = createCachedLibrary();
    const first = await lib.request(BOOK_TITLE);
    const second = await lib.request(`
      # the same query, laid out differently
      {
        book(id: "1") {   # one book
          title
        }
      }
    `);
    expect(first.xcache).toBe('MISS');
    expect(second.xcache).toBe('HIT');
    expect(second.text).toBe(first.text);
    expect(lib.calls.book).toBe(1);
  });

  it('a token limit could be passed by a text printed like a cached one (`query {` as `{`): every token now enters the key', async () => {
    const lib = createCachedLibrary();
    const shorthand = await lib.request(BOOK_TITLE);
    const spelledOut = await lib.request(`query ${BOOK_TITLE}`);
    const commas = await lib.request('{ book(id: "1",) { title, } }');
    expect([shorthand.xcache, spelledOut.xcache, commas.xcache]).toEqual(['MISS', 'MISS', 'HIT']);
    expect(spelledOut.text).toBe(shorthand.text);
  });

  it('operationName "" named the anonymous operation, so a hit answered what graphql-js refuses: it names none', async () => {
    const lib = createCachedLibrary();
    await lib.request(BOOK_TITLE);
    const named = await lib.request(BOOK_TITLE, { operationName: '' });
    expect(named.xcache).not.toBe('HIT');
    expect(named.json.errors[0].message).toBe('Could not determine what operation to execute.');
  });

  it('ignores the order of variable keys', async () => {
    const lib = createCachedLibrary();
    const query = 'query ($id: ID!, $age: Int!) { book(id: $id) { title } dynamic(maxAge: $age) }';
    const first = await lib.request(query, { variables: { id: '1', age: 20 } });
    const second = await lib.request(query, { variables: { age: 20, id: '1' } });
    expect(first.xcache).toBe('MISS');
    expect(second.xcache).toBe('HIT');
    expect(lib.calls.book).toBe(1);
  });

  it('leaves extensions out of the key', async () => {
    const lib = createCachedLibrary();
    await lib.request(BOOK_TITLE, { extensions: { trace: 'one' } });
    const second = await lib.request(BOOK_TITLE, { extensions: { trace: 'two', more: [1, 2] } });
    const third = await lib.request(BOOK_TITLE);
    expect(second.xcache).toBe('HIT');
    expect(third.xcache).toBe('HIT');
    expect(lib.calls.book).toBe(1);
  });

  it('keeps different variables in different entries', async () => {
    const lib = createCachedLibrary();
    const query = 'query ($id: ID!) { book(id: $id) { title } }';
    const one = await lib.request(query, { variables: { id: '1' } });
    const two = await lib.request(query, { variables: { id: '2' } });
    const oneAgain = await lib.request(query, { variables: { id: '1' } });
    expect([one.xcache, two.xcache, oneAgain.xcache]).toEqual(['MISS', 'MISS', 'HIT']);
    expect(one.json.data.book.title).toBe('Book 1');
    expect(two.json.data.book.title).toBe('Book 2');
    expect(oneAgain.json.data.book.title).toBe('Book 1');
    expect(lib.calls.book).toBe(2);
  });

  it('keeps different operations of one document in different entries', async () => {
    const lib = createCachedLibrary();
    const document = 'query One { book(id: "1") { title } } query Two { book(id: "2") { title } }';
    const one = await lib.request(document, { operationName: 'One' });
    const two = await lib.request(document, { operationName: 'Two' });
    const oneAgain = await lib.request(document, { operationName: 'One' });
    expect([one.xcache, two.xcache, oneAgain.xcache]).toEqual(['MISS', 'MISS', 'HIT']);
    expect(two.json.data.book.title).toBe('Book 2');
    expect(oneAgain.json.data.book.title).toBe('Book 1');
  });

  it('lets a buildKey option extend the default key, here with accept-language', async () => {
    const buildKey: BuildCacheKey = (input) =>
      `${defaultBuildCacheKey(input)}|${input.request.headers.get('accept-language') ?? ''}`;
    const lib = createCachedLibrary({ buildKey });
    const en = await lib.request(BOOK_TITLE, { headers: { 'accept-language': 'en' } });
    const fr = await lib.request(BOOK_TITLE, { headers: { 'accept-language': 'fr' } });
    const enAgain = await lib.request(BOOK_TITLE, { headers: { 'accept-language': 'en' } });
    expect([en.xcache, fr.xcache, enAgain.xcache]).toEqual(['MISS', 'MISS', 'HIT']);
    expect(lib.calls.book).toBe(2);
  });

  it('calls a buildKey option for every request through the HTTP front, whose identical bodies share parsed params', async () => {
    const buildKey: BuildCacheKey = (input) =>
      `${defaultBuildCacheKey(input)}|${input.request.headers.get('accept-language') ?? ''}`;
    const lib = createCachedLibrary({ buildKey });
    const front = await listenWithFront(lib);
    try {
      const en = await front.request(BOOK_TITLE, { headers: { 'accept-language': 'en' } });
      const fr = await front.request(BOOK_TITLE, { headers: { 'accept-language': 'fr' } });
      const frAgain = await front.request(BOOK_TITLE, { headers: { 'accept-language': 'fr' } });
      const enAgain = await front.request(BOOK_TITLE, { headers: { 'accept-language': 'en' } });
      expect([en.xcache, fr.xcache, frAgain.xcache, enAgain.xcache]).toEqual(['MISS', 'MISS', 'HIT', 'HIT']);
      expect(lib.calls.book).toBe(2);
    } finally {
      await front.close();
    }
  });

  it('works a key out afresh for params it was not told are shared, even frozen ones', () => {
    const lib = createCachedLibrary();
    const request = { method: 'POST', headers: new Headers() };
    const params = Object.freeze({ query: 'query ($id: ID!) { book(id: $id) { title } }', variables: { id: '1' } });
    const keyOf = () => {
      const state = engineOf(lib.cache).begin({ request, params });
      return state.keyed ? state.key : undefined;
    };
    const first = keyOf();
    params.variables.id = '2';
    expect(first).toBeDefined();
    expect(keyOf()).not.toBe(first);
  });

  it('freezes shared params all the way down, so what was worked out from them cannot go stale', () => {
    const params = shareParams({ query: '{ book(id: "1") { title } }', variables: { filter: { ids: ['1'] } } });
    expect(() => {
      (params.variables.filter.ids as string[]).push('2');
    }).toThrow(TypeError);
  });

  it('lets a buildKey option replace the key entirely', async () => {
    // Every query shares one entry: proves the builder's value is the key, not an input to it.
    const lib = createCachedLibrary({ buildKey: () => 'one-key-for-all' });
    const first = await lib.request(BOOK_TITLE);
    const other = await lib.request('{ book(id: "2") { title } }');
    expect(other.xcache).toBe('HIT');
    expect(other.text).toBe(first.text);
  });

  it('exports defaultBuildCacheKey, which separates sessions, variables and operations', () => {
    const request = { method: 'POST', headers: new Headers() };
    const base: CacheKeyInput = { documentHash: 'h', operationName: '', variables: '{}', session: null, request };
    const key = defaultBuildCacheKey(base);
    expect(defaultBuildCacheKey({ ...base })).toBe(key);
    expect(defaultBuildCacheKey({ ...base, session: 'A' })).not.toBe(key);
    expect(defaultBuildCacheKey({ ...base, session: 'A' })).not.toBe(defaultBuildCacheKey({ ...base, session: 'B' }));
    expect(defaultBuildCacheKey({ ...base, variables: '{"id":"1"}' })).not.toBe(key);
    expect(defaultBuildCacheKey({ ...base, operationName: 'Q' })).not.toBe(key);
    expect(defaultBuildCacheKey({ ...base, documentHash: 'other' })).not.toBe(key);
  });
});
