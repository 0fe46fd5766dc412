/**
 * TTLs with Apollo Server's cache-control semantics: a field takes its return type's hint, then
 * its own; root and composite fields without one take defaultMaxAge unless they inherit; scalar
 * fields inherit; the answer's maxAge is the minimum over every resolved field, and 0 anywhere
 * means not cached. Time is the harness clock: no test sleeps.
 */
import { describe, expect, it } from 'vitest';
import { createSchema } from 'graphql-yoga';
import { bearer, createCachedLibrary, createCachedSchema } from '../helpers/in-process.ts';
import { cacheDirectives, createLibrary } from '../helpers/library-schema.ts';
import { createResponseCache } from '../../plugins/response-cache.ts';

/** Sends a query twice and returns the first answer's Cache-Control and the second's X-Cache. */
async function policyOf(lib: Pick<ReturnType<typeof createCachedLibrary>, 'request'>, query: string, headers: Record<string, string> = {}) {
  const first = await lib.request(query, { headers });
  const second = await lib.request(query, { headers });
  expect(first.json.errors).toBeUndefined();
  return { cacheControl: first.headers.get('cache-control'), first: first.xcache, second: second.xcache };
}

describe('maxAge from hints', () => {
  it('does not cache a root field without a hint ({ hello }: BYPASS, no-store)', async () => {
    const lib = createCachedLibrary();
    expect(await policyOf(lib, '{ hello }')).toEqual({ cacheControl: 'no-store', first: 'BYPASS', second: 'BYPASS' });
    expect(lib.calls.hello).toBe(2);
  });

  it.each([
    ['a field hint below its type hint wins: book { stock }', '{ book(id: "1") { stock } }', 'max-age=5, public'],
    ['a scalar inherits its parent: book { title }', '{ book(id: "1") { title } }', 'max-age=60, public'],
    ['the type hint applies to the root field: author { name }', '{ author(id: "1") { name } }', 'max-age=300, public'],
    ['the minimum over the fields: book { author { name } }', '{ book(id: "1") { author { name } } }', 'max-age=60, public'],
    ['the minimum over sibling roots', '{ author(id: "1") { name } book(id: "1") { stock } }', 'max-age=5, public'],
    ['a union list with a field hint: feed', '{ feed { ... on Book { title } ... on Author { name } } }', 'max-age=30, public'],
  ])('%s', async (_name, query, cacheControl) => {
    const lib = createCachedLibrary();
    expect(await policyOf(lib, query)).toEqual({ cacheControl, first: 'MISS', second: 'HIT' });
  });

  it('makes the whole answer PRIVATE when any field is PRIVATE', async () => {
    const lib = createCachedLibrary();
    const policy = await policyOf(lib, '{ author(id: "1") { name email } }', bearer('A'));
    expect(policy).toEqual({ cacheControl: 'max-age=300, private', first: 'MISS', second: 'HIT' });
  });

  it('does not cache an answer when any field has maxAge 0', async () => {
    const lib = createCachedLibrary();
    // book alone is cacheable for 60 s; hello (a hint-less root field) brings maxAge 0.
    const policy = await policyOf(lib, '{ book(id: "1") { title } hello }');
    expect(policy).toEqual({ cacheControl: 'no-store', first: 'BYPASS', second: 'BYPASS' });
    expect(lib.calls.book).toBe(2);
  });

  it('gives a hint-less composite field defaultMaxAge (0: not cached)', async () => {
    const lib = createCachedLibrary();
    const policy = await policyOf(lib, '{ book(id: "1") { title lastReview { stars } } }');
    expect(policy).toEqual({ cacheControl: 'no-store', first: 'BYPASS', second: 'BYPASS' });
  });

  it('envelop#1958: @cacheControl has no inheritMaxAge (a field with inheritMaxAge takes its parent\'s maxAge, not defaultMaxAge)', async () => {
    const lib = createCachedLibrary();
    expect(await policyOf(lib, '{ book(id: "1") { review { stars } } }')).toEqual({
      cacheControl: 'max-age=60, public',
      first: 'MISS',
      second: 'HIT',
    });
    // Under a list too: Author.books takes Book's 60 s, and each review inherits it.
    expect(await policyOf(lib, '{ author(id: "1") { books { review { stars } } } }')).toEqual({
      cacheControl: 'max-age=60, public',
      first: 'MISS',
      second: 'HIT',
    });
  });

  it('caches book { related { title } } for Book\'s 60 s (related inherits, Book types it)', async () => {
    const lib = createCachedLibrary();
    expect(await policyOf(lib, '{ book(id: "1") { related { title } } }')).toEqual({
      cacheControl: 'max-age=60, public',
      first: 'MISS',
      second: 'HIT',
    });
  });

  it('honours the defaultMaxAge option for hint-less root and composite fields', async () => {
    const lib = createCachedLibrary({ defaultMaxAge: 20 });
    expect((await policyOf(lib, '{ hello }')).cacheControl).toBe('max-age=20, public');
    expect((await policyOf(lib, '{ book(id: "2") { lastReview { stars } } }')).cacheControl).toBe('max-age=20, public');
    // Hinted fields keep their own maxAge.
    expect((await policyOf(lib, '{ author(id: "1") { name } }')).cacheControl).toBe('max-age=300, public');
    expect(lib.calls.hello).toBe(1);
  });
});

describe('hints on interfaces and unions', () => {
  /** Root fields without hints returning hinted abstract types: the type's hint is all they get. */
  function abstractSchema() {
    const thing = { kind: 'Thing', id: '1', name: 'a thing' };
    return createSchema({
      typeDefs: [
        cacheDirectives,
        /* GraphQL */ `
          type Query { node(id: ID!): Node  item(id: ID!): Item  account: Account }
          interface Node @cacheControl(maxAge: 40) { id: ID! }
          union Item @cacheControl(maxAge: 20) = Thing | Other
          interface Account @cacheControl(maxAge: 50, scope: PRIVATE) { id: ID! }
          type Thing implements Node { id: ID! name: String! }
          type Other { id: ID! }
          type User implements Account { id: ID! }
        `,
      ],
      resolvers: {
        Query: { node: () => thing, item: () => thing, account: () => ({ id: 'u' }) },
        Node: { __resolveType: () => 'Thing' },
        Item: { __resolveType: () => 'Thing' },
        Account: { __resolveType: () => 'User' },
      },
    });
  }

  it('envelop#1958: @cacheControl has no INTERFACE/UNION locations (their hints apply to fields of those types)', async () => {
    const server = createCachedSchema(abstractSchema());
    expect(await policyOf(server, '{ node(id: "1") { id ... on Thing { name } } }')).toEqual({
      cacheControl: 'max-age=40, public',
      first: 'MISS',
      second: 'HIT',
    });
    expect((await policyOf(server, '{ item(id: "1") { ... on Thing { name } } }')).cacheControl).toBe('max-age=20, public');
  });

  it('makes answers through a PRIVATE interface private', async () => {
    const server = createCachedSchema(abstractSchema());
    expect(await policyOf(server, '{ account { id } }')).toEqual({ cacheControl: 'no-store', first: 'BYPASS', second: 'BYPASS' });
    expect(await policyOf(server, '{ account { id } }', bearer('A'))).toEqual({
      cacheControl: 'max-age=50, private',
      first: 'MISS',
      second: 'HIT',
    });
  });

  it('takes a hints-config hint on an interface', async () => {
    const lib = createCachedLibrary({ hints: { Node: 40 } });
    expect((await policyOf(lib, '{ node(id: "1") { id } }')).cacheControl).toBe('max-age=40, public');
  });
});

describe('hints config', () => {
  it('acts on types and fields and wins over the SDL', async () => {
    const lib = createCachedLibrary({ hints: { Book: 10, 'Book.title': { maxAge: 3 }, 'Book.stock': 20 } });
    expect((await policyOf(lib, '{ book(id: "1") { id } }')).cacheControl).toBe('max-age=10, public');
    expect((await policyOf(lib, '{ book(id: "1") { title } }')).cacheControl).toBe('max-age=3, public');
    // SDL says Book.stock is 5 s; config says 20 (then the type's 10 is the minimum).
    expect((await policyOf(lib, '{ book(id: "2") { stock } }')).cacheControl).toBe('max-age=10, public');
  });

  it('can make a field PRIVATE', async () => {
    const lib = createCachedLibrary({ hints: { 'Book.title': { scope: 'PRIVATE' } } });
    const anonymous = await policyOf(lib, '{ book(id: "1") { title } }');
    expect(anonymous).toEqual({ cacheControl: 'no-store', first: 'BYPASS', second: 'BYPASS' });
    const signedIn = await policyOf(lib, '{ book(id: "1") { title } }', bearer('A'));
    expect(signedIn.cacheControl).toBe('max-age=60, private');
  });

  it('can give a field inheritMaxAge', async () => {
    const lib = createCachedLibrary({ hints: { 'Book.lastReview': { inheritMaxAge: true } } });
    expect((await policyOf(lib, '{ book(id: "1") { lastReview { stars } } }')).cacheControl).toBe('max-age=60, public');
  });

  it.each([
    [{ Bok: 10 }, /"Bok"/],
    [{ 'Book.titel': 10 }, /titel/],
    [{ 'Book.title.x': 10 }, /Book\.title\.x/],
    [{ String: 10 }, /String/],
    [{ Book: -1 }, /-1/],
    [{ Book: { maxAge: 1.5 } }, /1\.5/],
    [{ Book: { scope: 'SHARED' } }, /SHARED/],
  ])('rejects %j at start-up with a message naming it', (hints, message) => {
    const { schema } = createLibrary();
    expect(() => createResponseCache({ schema, hints: hints as never })).toThrow(message);
  });
});

describe('dynamic hints (info.cacheControl.setCacheHint)', () => {
  it('peer bug 7: no dynamic hints from resolvers (setCacheHint replaces the field\'s static hint, lower or higher)', async () => {
    const lib = createCachedLibrary();
    expect((await policyOf(lib, '{ dynamic(maxAge: 7) }')).cacheControl).toBe('max-age=7, public');
    // Apollo's setCacheHint replaces the field's hint: 500 beats the SDL's 100.
    expect((await policyOf(lib, '{ dynamic(maxAge: 500) }')).cacheControl).toBe('max-age=500, public');
  });

  it('does not cache an answer whose dynamic hint is maxAge 0', async () => {
    const lib = createCachedLibrary();
    expect(await policyOf(lib, '{ dynamic(maxAge: 0) }')).toEqual({ cacheControl: 'no-store', first: 'BYPASS', second: 'BYPASS' });
    expect(lib.calls.dynamic).toBe(2);
  });

  it('still takes the minimum with the other fields', async () => {
    const lib = createCachedLibrary();
    expect((await policyOf(lib, '{ dynamic(maxAge: 90) book(id: "1") { title } }')).cacheControl).toBe('max-age=60, public');
  });
});

describe('expiry on the controlled clock', () => {
  it('serves a HIT before maxAge and executes again at maxAge', async () => {
    const lib = createCachedLibrary();
    const query = '{ book(id: "1") { title } }';
    expect((await lib.request(query)).xcache).toBe('MISS');
    lib.clock.advance(59_999);
    expect((await lib.request(query)).xcache).toBe('HIT');
    expect(lib.calls.book).toBe(1);
    lib.clock.advance(1);
    const expired = await lib.request(query);
    expect(expired.xcache).toBe('MISS');
    expect(expired.headers.get('cache-control')).toBe('max-age=60, public');
    expect(lib.calls.book).toBe(2);
  });

  it('expires the shortest field first: book { stock } lives 5 s', async () => {
    const lib = createCachedLibrary();
    const query = '{ book(id: "1") { title stock } }';
    await lib.request(query);
    lib.clock.advance(4_000);
    expect((await lib.request(query)).xcache).toBe('HIT');
    lib.clock.advance(1_000);
    expect((await lib.request(query)).xcache).toBe('MISS');
  });

  it('Apollo "basic caching": hits counted max-age down while also sending Age, so a downstream cache held them for half the time left', async () => {
    const lib = createCachedLibrary({ includeExtensionMetadata: true });
    const query = '{ book(id: "1") { title } }';
    const miss = await lib.request(query);
    expect(miss.headers.get('cache-control')).toBe('max-age=60, public');
    expect(miss.headers.get('age')).toBeNull();
    lib.clock.advance(15_000);
    const hit = await lib.request(query);
    // RFC 9111 4.2: fresh while max-age exceeds the age, which starts at Age: 45 s left downstream.
    expect(hit.headers.get('cache-control')).toBe('max-age=60, public');
    expect(hit.headers.get('age')).toBe('15');
    expect(hit.json.extensions.responseCache.ttl).toBe(45);
    lib.clock.advance(25_500);
    const later = await lib.request(query);
    expect(later.headers.get('cache-control')).toBe('max-age=60, public');
    expect(later.headers.get('age')).toBe('40');
    expect(later.json.extensions.responseCache.ttl).toBe(20);
  });
});
