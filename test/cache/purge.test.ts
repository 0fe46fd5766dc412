/**
 * The purge API for operators: evictEntity, evictType, evictAll.
 */
import { describe, expect, it } from 'vitest';
import { createCachedLibrary } from '../helpers/in-process.ts';

const Q = {
  book1: '{ book(id: "1") { title } }',
  book2: '{ book(id: "2") { title } }',
  books: '{ books { id } }',
  missingBook: '{ book(id: "99") { title } }',
  author3: '{ author(id: "3") { name } }',
  authors: '{ authors { name } }',
  author3Books: '{ author(id: "3") { books { id } } }',
};

async function primed() {
  const lib = createCachedLibrary();
  for (const query of Object.values(Q)) {
    await lib.request(query);
    expect((await lib.request(query)).xcache, query).toBe('HIT');
  }
  return lib;
}

async function statuses(lib: Awaited<ReturnType<typeof primed>>) {
  const result: Record<string, string | null> = {};
  for (const [name, query] of Object.entries(Q)) result[name] = (await lib.request(query)).xcache;
  return result;
}

describe('purge API', () => {
  it('evictEntity drops every answer containing that object, and nothing else', async () => {
    const lib = await primed();
    expect(await lib.cache.evictEntity('Book', 1)).toEqual({ pending: false, evicted: 2 });
    expect(await statuses(lib)).toEqual({
      book1: 'MISS',
      book2: 'HIT',
      books: 'MISS',
      missingBook: 'HIT',
      author3: 'HIT',
      authors: 'HIT',
      author3Books: 'HIT',
    });
  });

  it('evictEntity takes the id as a string too', async () => {
    const lib = await primed();
    await lib.cache.evictEntity('Author', '3');
    const after = await statuses(lib);
    expect([after.author3, after.authors, after.author3Books, after.book1]).toEqual(['MISS', 'MISS', 'MISS', 'HIT']);
  });

  it('evictType drops answers with objects, lists and nulls of the type, and leaves Author-only ones', async () => {
    const lib = await primed();
    await lib.cache.evictType('Book');
    expect(await statuses(lib)).toEqual({
      book1: 'MISS',
      book2: 'MISS',
      books: 'MISS',
      missingBook: 'MISS',
      author3: 'HIT',
      authors: 'HIT',
      author3Books: 'MISS',
    });
  });

  it('evictType of an interface drops the answers of its implementations', async () => {
    const lib = await primed();
    await lib.cache.evictType('Node');
    const after = await statuses(lib);
    expect(Object.values(after).every((status) => status === 'MISS')).toBe(true);
  });

  it('envelop#2131: no purge-all API (evictAll drops everything)', async () => {
    const lib = await primed();
    await lib.cache.evictAll();
    const after = await statuses(lib);
    expect(Object.values(after)).toEqual(Object.values(Q).map(() => 'MISS'));
  });

  it.each([
    ['evictEntity on an unknown type', (lib: Awaited<ReturnType<typeof primed>>) => lib.cache.evictEntity('Bok', 1), /Bok/],
    ['evictEntity on a type without an id', (lib: Awaited<ReturnType<typeof primed>>) => lib.cache.evictEntity('Review', 1), /Review/],
    ['evictType on an unknown type', (lib: Awaited<ReturnType<typeof primed>>) => lib.cache.evictType('Bok'), /Bok/],
    // It answered `evicted: 0` while every answer still stood: no answer is indexed under a root type.
    ['evictType on the Query root type', (lib: Awaited<ReturnType<typeof primed>>) => lib.cache.evictType('Query'), /"Query" is a root operation type/],
  ])('%s throws, naming it', async (_name, call, message) => {
    const lib = await primed();
    await expect(Promise.resolve().then(() => call(lib))).rejects.toThrow(message);
    // Nothing was evicted on the way.
    expect((await lib.request(Q.book1)).xcache).toBe('HIT');
  });
});
