/**
 * What a hit costs: no pipeline phase runs (a spy plugin counts them) and a request makes one
 * store lookup, miss or hit, with or without a session.
 */
import { describe, expect, it } from 'vitest';
import { bearer, createCachedLibrary } from '../helpers/in-process.ts';

/** Counts the cache's store lookups (the engine reads `store.get` at call time). */
function countGets(lib: ReturnType<typeof createCachedLibrary>) {
  const counter = { gets: 0 };
  const get = lib.store.get.bind(lib.store);
  lib.store.get = (key: string) => {
    counter.gets++;
    return get(key);
  };
  return counter;
}

describe('hits', () => {
  it('skip parse, validate, context building and execute', async () => {
    const lib = createCachedLibrary();
    const query = '{ book(id: "1") { title author { name } } }';
    await lib.request(query);
    expect(lib.spy).toEqual({ parse: 1, validate: 1, context: 1, execute: 1 });
    const hit = await lib.request(query);
    const hitByGet = await lib.request(query, { method: 'GET' });
    expect([hit.xcache, hitByGet.xcache]).toEqual(['HIT', 'HIT']);
    expect(lib.spy).toEqual({ parse: 1, validate: 1, context: 1, execute: 1 });
  });

  it('peer bug #10: a miss calls cache.get twice (one lookup per miss, one per hit)', async () => {
    const lib = createCachedLibrary();
    const counter = countGets(lib);
    await lib.request('{ book(id: "1") { title } }');
    expect(counter.gets).toBe(1);
    await lib.request('{ book(id: "1") { title } }');
    expect(counter.gets).toBe(2);
  });

  it('apollo-server#4877: two cache lookups per request with a session (one lookup per PRIVATE request)', async () => {
    const lib = createCachedLibrary();
    const counter = countGets(lib);
    const query = '{ author(id: "1") { email } }';
    await lib.request(query, { headers: bearer('A') });
    expect(counter.gets).toBe(1);
    expect((await lib.request(query, { headers: bearer('A') })).xcache).toBe('HIT');
    expect(counter.gets).toBe(2);
  });

  it('look nothing up for requests that cannot be cached', async () => {
    const lib = createCachedLibrary();
    const counter = countGets(lib);
    await lib.request('mutation { renameBook(id: "1", title: "X") { id } }');
    await lib.request('{ author(id: "1") { email } }');
    await lib.request('{ __schema { queryType { name } } }');
    expect(counter.gets).toBe(0);
  });
});
