/**
 * Apollo Server's own cache-control tests, translated to this cache: one describe per Apollo file,
 * each case named as Apollo names it. Apollo asserts the hints it collected and the overall policy
 * (`policyIfCacheable`); we assert what a client sees of the same policy: the `Cache-Control`
 * header (`max-age=N, public|private`, or `no-store` when the answer is not cacheable) and
 * `extensions.responseCache` (`includeExtensionMetadata: true`). Where Apollo's hints map has one
 * root field, the overall policy is that field's hint; a maxAge of 0 is `no-store`.
 *
 * Sources (apollographql/apollo-server, main):
 * - packages/server/src/__tests__/plugin/cacheControl/cacheControlDirective.test.ts (16 cases)
 * - packages/server/src/__tests__/plugin/cacheControl/dynamicCacheControl.test.ts (4 cases)
 * - packages/server/src/__tests__/plugin/cacheControl/cacheControlPlugin.test.ts (4 cases)
 * - packages/integration-testsuite/src/httpServerTests.ts, its cache-control cases (10 cases)
 * - packages/plugin-response-cache/src/__tests__/integration.test.ts (1 case, "basic caching")
 * - packages/plugin-response-cache/src/__tests__/ApolloServerPluginResponseCache.test.ts (1 case)
 *
 * Resolvers use `cacheControlFromInfo` from `@apollo/cache-control-types`, as Apollo's tests do, so
 * a resolver written for Apollo runs here unchanged. Apollo's schemas without resolvers (or with
 * mocks) get small resolvers returning data, so nested fields resolve and count.
 *
 * Cases that do not apply, and why:
 * - cacheControlPlugin "is not set when calculateHttpHeaders is set to false", and httpServerTests
 *   "applies cacheControl Headers with if-cacheable" and "cache-control not set without any hints
 *   with if-cacheable": they test Apollo's `calculateHttpHeaders` option. Here the cache owns the
 *   `Cache-Control` header and always sends it (`no-store` when not cacheable, as Apollo does by
 *   default); the cacheable answer of the if-cacheable case is "applies cacheControl Headers".
 * - httpServerTests "runs when cache-control is disabled": tests
 *   `ApolloServerPluginCacheControlDisabled`; here hints are the cache, there is nothing to disable
 *   short of not installing the response cache.
 * - httpServerTests "returns PersistedQueryNotSupported/NotFound to a GET/POST request" (4 cases,
 *   `private, no-cache, must-revalidate`): they test Apollo's automatic persisted queries, which
 *   this server does not implement.
 * - The steps of "basic caching" that use Apollo's `shouldWriteToCache` hook: there is no hook
 *   here; a request's `Cache-Control: no-store` is the equivalent, asserted after that case.
 * - dynamicCacheControl "... using a human-readable format" and "... restricted with a human
 *   readable format" (`maxAge: '1d'`): only on the branch of Apollo's unmerged PR #7911; released
 *   `@apollo/cache-control-types` (1.0.3) types maxAge as a number. Here such a hint throws a clear
 *   error rather than being ignored.
 *
 * Where the answer differs from Apollo's on purpose:
 * - A PRIVATE answer to a request without a session is `no-store` here (Apollo: `max-age=N,
 *   private`): it is never stored without a session, so it is not announced as cacheable. The
 *   PRIVATE cases below send a session to see the policy.
 * - The key is the normalised document, so `{       cached           }` hits the entry of
 *   `{ cached }` (Apollo keys the text: a miss).
 * - A PUBLIC answer is one entry for everyone (Apollo keeps signed-in users' PUBLIC answers apart
 *   from anonymous ones).
 */
import { describe, expect, it } from 'vitest';
import { GraphQLError, GraphQLObjectType, GraphQLSchema, GraphQLString, type GraphQLResolveInfo } from 'graphql';
import { cacheControlFromInfo, type ResolveInfoCacheControl } from '@apollo/cache-control-types';
import { createResponseCache, type ResponseCacheOptions } from '../../plugins/response-cache.ts';
import { useResponseCache } from '../../plugins/use-response-cache.ts';
import { defaultBuildCacheKey } from '../../plugins/cache-key.ts';
import { bearer, createCachedSchema, type HarnessOptions } from '../helpers/in-process.ts';
import { buildSchemaWithResolvers } from '../helpers/sdl-schema.ts';

/** Apollo's `buildSchemaWithCacheControlSupport`, with resolvers. */
const apolloSchema = buildSchemaWithResolvers;

/** A cache over `schema` that reports its outcome in `extensions.responseCache`. */
function cached(schema: GraphQLSchema, options: Partial<ResponseCacheOptions> = {}, harness: HarnessOptions = {}) {
  return createCachedSchema(schema, { includeExtensionMetadata: true, ...options }, harness);
}

type Answer = Awaited<ReturnType<ReturnType<typeof cached>['request']>>;

/**
 * The overall policy as a client sees it. `maxAge` 0 or undefined is Apollo's
 * `policyIfCacheable() === null`: not cacheable.
 */
function expectPolicy(answer: Answer, maxAge: number | undefined, scope: 'PUBLIC' | 'PRIVATE' = 'PUBLIC') {
  expect(answer.status).toBe(200);
  expect(answer.json.errors).toBeUndefined();
  if (!maxAge) {
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.json.extensions.responseCache).toEqual({ status: 'BYPASS', ttl: 0, scope: 'PUBLIC' });
    return;
  }
  expect(answer.headers.get('cache-control')).toBe(`max-age=${maxAge}, ${scope.toLowerCase()}`);
  expect(answer.json.extensions.responseCache).toEqual({ status: 'MISS', ttl: maxAge, scope });
}

/** Sends `query` to a fresh cache over `schema` (as a signed-in session, so PRIVATE answers are cacheable). */
async function policyOf(schema: GraphQLSchema, query: string, options: Partial<ResponseCacheOptions> = {}) {
  return cached(schema, options).request(query, { headers: bearer('A') });
}

const DROID_SDL = /* GraphQL */ `
  type Query {
    droid(id: ID!): Droid
  }

  type Droid {
    id: ID!
    name: String!
  }
`;

const r2d2 = () => ({ id: '2001', name: 'R2-D2' });
const DROID_QUERY = '{ droid(id: 2001) { name } }';

describe('cacheControlDirective.test.ts: @cacheControl directives', () => {
  // Source: packages/server/src/__tests__/plugin/cacheControl/cacheControlDirective.test.ts

  it('should set maxAge: 0 and no scope for a field without cache hints', async () => {
    const schema = apolloSchema(DROID_SDL, { Query: { droid: r2d2 } });
    expectPolicy(await policyOf(schema, DROID_QUERY), 0);
  });

  it('should set maxAge: 0 and no scope for a top-level scalar field without cache hints', async () => {
    const schema = apolloSchema('type Query { name: String }', { Query: { name: () => 'R2-D2' } });
    expectPolicy(await policyOf(schema, '{ name }'), 0);
  });

  it('should set maxAge to the default and no scope for a field without cache hints', async () => {
    const schema = apolloSchema(DROID_SDL, { Query: { droid: r2d2 } });
    expectPolicy(await policyOf(schema, DROID_QUERY, { defaultMaxAge: 10 }), 10);
  });

  it('should set the specified maxAge from a cache hint on the field', async () => {
    const schema = apolloSchema(
      `type Query { droid(id: ID!): Droid @cacheControl(maxAge: 60) }
       type Droid { id: ID! name: String! }`,
      { Query: { droid: r2d2 } },
    );
    expectPolicy(await policyOf(schema, DROID_QUERY, { defaultMaxAge: 10 }), 60);
  });

  it('should set the specified maxAge for a field from a cache hint on the target type', async () => {
    const schema = apolloSchema(
      `type Query { droid(id: ID!): Droid }
       type Droid @cacheControl(maxAge: 60) { id: ID! name: String! }`,
      { Query: { droid: r2d2 } },
    );
    expectPolicy(await policyOf(schema, DROID_QUERY, { defaultMaxAge: 10 }), 60);
  });

  it('should set the specified maxAge for a field from a cache hint on the target type extension', async () => {
    const schema = apolloSchema(
      `type Query { droid(id: ID!): Droid }
       type Droid { id: ID! name: String! }
       extend type Droid @cacheControl(maxAge: 60)`,
      { Query: { droid: r2d2 } },
    );
    expectPolicy(await policyOf(schema, DROID_QUERY, { defaultMaxAge: 10 }), 60);
  });

  it('should overwrite the default maxAge when maxAge=0 is specified on the type', async () => {
    const schema = apolloSchema(
      `type Query { droid(id: ID!): Droid }
       type Droid @cacheControl(maxAge: 0) { id: ID! name: String! }`,
      { Query: { droid: r2d2 } },
    );
    expectPolicy(await policyOf(schema, DROID_QUERY, { defaultMaxAge: 10 }), 0);
  });

  it('should override the maxAge from the target type with that specified on a field', async () => {
    const schema = apolloSchema(
      `type Query { droid(id: ID!): Droid @cacheControl(maxAge: 120) }
       type Droid @cacheControl(maxAge: 60) { id: ID! name: String! }`,
      { Query: { droid: r2d2 } },
    );
    expectPolicy(await policyOf(schema, DROID_QUERY, { defaultMaxAge: 10 }), 120);
  });

  it('should override the maxAge from the target type with that specified on a field, keeping the scope', async () => {
    const schema = apolloSchema(
      `type Query { droid(id: ID!): Droid @cacheControl(maxAge: 120) }
       type Droid @cacheControl(maxAge: 60, scope: PRIVATE) { id: ID! name: String! }`,
      { Query: { droid: r2d2 } },
    );
    expectPolicy(await policyOf(schema, DROID_QUERY, { defaultMaxAge: 10 }), 120, 'PRIVATE');
  });

  it('should override the scope from the target type with that specified on a field', async () => {
    const schema = apolloSchema(
      `type Query { droid(id: ID!): Droid @cacheControl(scope: PRIVATE) }
       type Droid @cacheControl(maxAge: 60, scope: PUBLIC) { id: ID! name: String! }`,
      { Query: { droid: r2d2 } },
    );
    expectPolicy(await policyOf(schema, DROID_QUERY, { defaultMaxAge: 10 }), 60, 'PRIVATE');
  });

  it('interaction between type implementing interface, both with specified `maxAge`', async () => {
    const build = () =>
      apolloSchema(
        `type Query {
           named: Named
           droid(id: ID!): Droid
           alien(id: ID!): Alien
         }
         interface Named @cacheControl(maxAge: 60) { name: String! }
         type Droid implements Named @cacheControl(maxAge: 30) { id: ID! name: String! }
         type Alien implements Named { id: ID! name: String! }`,
        {
          Query: {
            named: () => ({ __typename: 'Droid', id: '2001', name: 'R2-D2' }),
            droid: r2d2,
            alien: () => ({ id: '3001', name: 'Alf' }),
          },
        },
      );
    // The field's return type (the interface) gives the hint, not the concrete type it resolves to.
    expectPolicy(await policyOf(build(), '{ named { ... on Droid { id name } } }'), 60);
    expectPolicy(await policyOf(build(), '{ droid(id: 2001) { id name } }'), 30);
    expectPolicy(await policyOf(build(), '{ alien(id: 3001) { id name } }', { defaultMaxAge: 10 }), 10);
  });

  it('inheritMaxAge', async () => {
    const droid = (n: number) => ({ uncachedField: { cachedField: `c${n}` }, scalarField: `s${n}`, cachedField: `c${n}` });
    const build = () =>
      apolloSchema(
        `type Query { topLevel: DroidQuery @cacheControl(maxAge: 1000) }
         type DroidQuery {
           droid: Droid @cacheControl(inheritMaxAge: true)
           droids: [Droid] @cacheControl(inheritMaxAge: true)
         }
         type Droid {
           uncachedField: Droid
           scalarField: String
           cachedField: String @cacheControl(maxAge: 30)
         }`,
        { Query: { topLevel: () => ({ droid: droid(0), droids: [droid(1), droid(2)] }) } },
      );
    expectPolicy(await policyOf(build(), '{ topLevel { droid { cachedField } } }'), 30);
    // uncachedField returns a composite type without a hint: maxAge 0 for the whole answer.
    expectPolicy(await policyOf(build(), '{ topLevel { droid { uncachedField { cachedField } cachedField } } }'), 0);
    expectPolicy(await policyOf(build(), '{ topLevel { droids { uncachedField { cachedField } cachedField } } }'), 0);
  });

  it('inheritMaxAge docs examples', async () => {
    const book = () => ({ title: 'T', cachedTitle: 'CT' });
    const lib = cached(
      apolloSchema(
        `type Query {
           book: Book
           cachedBook: Book @cacheControl(maxAge: 60)
           reader: Reader @cacheControl(maxAge: 40)
         }
         type Book {
           title: String
           cachedTitle: String @cacheControl(maxAge: 30)
         }
         type Reader {
           book: Book @cacheControl(inheritMaxAge: true)
         }`,
        { Query: { book, cachedBook: book, reader: () => ({ book: book() }) } },
      ),
    );
    expectPolicy(await lib.request('{book{cachedTitle}}'), undefined);
    expectPolicy(await lib.request('{cachedBook{title}}'), 60);
    expectPolicy(await lib.request('{cachedBook{cachedTitle}}'), 30);
    expectPolicy(await lib.request('{reader{book{title}}}'), 40);
  });

  it('inheritMaxAge can be combined with scope', async () => {
    const schema = apolloSchema(
      `type Query { topLevel: TopLevel @cacheControl(maxAge: 500) }
       type TopLevel { foo: Foo @cacheControl(inheritMaxAge: true, scope: PRIVATE) }
       type Foo { bar: String @cacheControl(maxAge: 5) }`,
      { Query: { topLevel: () => ({ foo: { bar: 'bar' } }) } },
    );
    expectPolicy(await policyOf(schema, '{topLevel { foo { bar } } }'), 5, 'PRIVATE');
  });

  it('inheritMaxAge on types', async () => {
    const schema = apolloSchema(
      `type Query { topLevel: TopLevel @cacheControl(maxAge: 500) }
       type TopLevel { foo: Foo }
       type Foo @cacheControl(inheritMaxAge: true) { bar: String }`,
      { Query: { topLevel: () => ({ foo: { bar: 'bar' } }) } },
    );
    expectPolicy(await policyOf(schema, '{topLevel { foo { bar } } }'), 500);
  });

  it('scalars can inherit from grandparents', async () => {
    const bar = () => ({ scalar: 's', cachedScalar: 'c' });
    const lib = cached(
      apolloSchema(
        `type Query { foo: Foo @cacheControl(maxAge: 5) }
         type Foo {
           bar: Bar @cacheControl(inheritMaxAge: true)
           defaultBar: Bar
         }
         type Bar {
           scalar: String
           cachedScalar: String @cacheControl(maxAge: 2)
         }`,
        { Query: { foo: () => ({ bar: bar(), defaultBar: bar() }) } },
      ),
    );
    expectPolicy(await lib.request('{foo{defaultBar{scalar}}}'), undefined);
    expectPolicy(await lib.request('{foo{defaultBar{cachedScalar}}}'), undefined);
    expectPolicy(await lib.request('{foo{bar{scalar}}}'), 5);
    expectPolicy(await lib.request('{foo{bar{cachedScalar}}}'), 2);
  });
});

describe('dynamicCacheControl.test.ts: dynamic cache control', () => {
  // Source: packages/server/src/__tests__/plugin/cacheControl/dynamicCacheControl.test.ts

  /** The droid schema with a `droid` resolver that sets a hint through Apollo's API. */
  function droidSchema(sdl: string, setHint: (cacheControl: ResolveInfoCacheControl) => void) {
    return apolloSchema(sdl, {
      Query: {
        droid: (_source, _args, _context, info) => {
          setHint(cacheControlFromInfo(info));
          return { id: 2001, name: 'R2-D2' };
        },
      },
    });
  }
  const DROID_60_SDL = DROID_SDL.replace('droid(id: ID!): Droid', 'droid(id: ID!): Droid @cacheControl(maxAge: 60)');

  it('should set the maxAge for a field from a dynamic cache hint', async () => {
    const schema = droidSchema(DROID_SDL, (cc) => cc.setCacheHint({ maxAge: 60 }));
    expectPolicy(await policyOf(schema, DROID_QUERY, { defaultMaxAge: 10 }), 60);
  });

  it('can use restrict to set the maxAge for a field', async () => {
    const schema = droidSchema(DROID_SDL, (cc) => cc.cacheHint.restrict({ maxAge: 60 }));
    expectPolicy(await policyOf(schema, DROID_QUERY, { defaultMaxAge: 10 }), 60);
  });

  it('should set the scope for a field from a dynamic cache hint', async () => {
    const schema = droidSchema(DROID_60_SDL, (cc) => cc.setCacheHint({ scope: 'PRIVATE' }));
    expectPolicy(await policyOf(schema, DROID_QUERY, { defaultMaxAge: 10 }), 60, 'PRIVATE');
  });

  it('should override the maxAge set for a field from a dynamic cache hint', async () => {
    const schema = droidSchema(DROID_60_SDL, (cc) => cc.setCacheHint({ maxAge: 120 }));
    expectPolicy(await policyOf(schema, DROID_QUERY, { defaultMaxAge: 10 }), 120);
  });
});

describe('cacheControlPlugin.test.ts: plugin willSendResponse HTTP cache-control header', () => {
  // Source: packages/server/src/__tests__/plugin/cacheControl/cacheControlPlugin.test.ts
  // Apollo forces the overall policy (300, PUBLIC) from a plugin; here `hello` carries that hint.

  /** Apollo's `type Query {hello: String}`, asked with a GET as Apollo's test does. */
  async function hello({ errors = false, hinted = true } = {}) {
    let calls = 0;
    const schema = apolloSchema('type Query { hello: String }', {
      Query: {
        hello: () => {
          calls++;
          if (errors) throw new GraphQLError('test error');
          return 'asdf';
        },
      },
    });
    const lib = cached(schema, hinted ? { hints: { 'Query.hello': { maxAge: 300, scope: 'PUBLIC' } } } : {});
    const first = await lib.request('{hello}', { method: 'GET' });
    const second = await lib.request('{hello}', { method: 'GET' });
    return { first, second, calls };
  }

  it('is set when calculateHttpHeaders is set to true', async () => {
    const { first, second, calls } = await hello();
    expectPolicy(first, 300);
    expect([first.xcache, second.xcache, calls]).toEqual(['MISS', 'HIT', 1]);
  });

  it('is not set if response has errors', async () => {
    // Never announced as cacheable, and never stored.
    const { first, second, calls } = await hello({ errors: true });
    expect(first.json.errors).toHaveLength(1);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect([first.xcache, second.xcache, calls]).toEqual(['BYPASS', 'BYPASS', 2]);
  });

  it('does not set cache-control header if there is no overall cache policy', async () => {
    const { first, second, calls } = await hello({ errors: true, hinted: false });
    expect(first.json.errors).toHaveLength(1);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect([first.xcache, second.xcache, calls]).toEqual(['BYPASS', 'BYPASS', 2]);
  });
});

describe('httpServerTests.ts: cache-control', () => {
  // Source: packages/integration-testsuite/src/httpServerTests.ts

  const books = [{ title: 'H', author: 'J' }];
  const LIBRARY_SDL = /* GraphQL */ `
    type Book {
      title: String
      author: String
    }

    type Cook @cacheControl(maxAge: 200) {
      title: String
      author: String
    }

    type Pook @cacheControl(maxAge: 200) {
      title: String
      books: [Book] @cacheControl(maxAge: 20, scope: PRIVATE)
    }

    type Query {
      books: [Book]
      cooks: [Cook]
      pooks: [Pook]
      uncached: ID
      ten: ID @cacheControl(maxAge: 10)
      twenty: ID @cacheControl(maxAge: 20, scope: PRIVATE)
    }
  `;
  const library = () =>
    apolloSchema(LIBRARY_SDL, {
      Query: { books: () => books, cooks: () => books, pooks: () => [{ title: 'pook', books }] },
    });

  it('applies cacheControl Headers', async () => {
    const answer = await cached(library()).request('{ cooks { title author } }');
    expect(answer.json.data).toEqual({ cooks: books });
    expectPolicy(answer, 200);
  });

  it('applies cacheControl Headers for batched operation', async () => {
    const lib = cached(library(), {}, { batching: true });
    const batch = async (...queries: string[]) => {
      const response = await lib.yoga.fetch('http://cache.test/graphql', {
        method: 'POST',
        // A session, so that the PRIVATE `twenty` is cacheable here as it is in Apollo.
        headers: { 'content-type': 'application/json', ...bearer('A') },
        body: JSON.stringify(queries.map((query) => ({ query }))),
      });
      const body = (await response.json()) as Array<{ data: unknown }>;
      return { cacheControl: response.headers.get('cache-control'), data: body.map((answer) => answer.data) };
    };
    expect(await batch('{ten}', '{twenty}')).toEqual({ cacheControl: 'max-age=10, private', data: [{ ten: null }, { twenty: null }] });
    expect(await batch('{twenty}', '{ten}')).toEqual({ cacheControl: 'max-age=10, private', data: [{ twenty: null }, { ten: null }] });
    expect(await batch('{uncached}', '{ten}')).toEqual({ cacheControl: 'no-store', data: [{ uncached: null }, { ten: null }] });
    expect(await batch('{ten}', '{uncached}')).toEqual({ cacheControl: 'no-store', data: [{ ten: null }, { uncached: null }] });
  });

  it('contains no cacheControl Headers when uncacheable', async () => {
    const answer = await cached(library()).request('{ books { title author } }');
    expect(answer.json.data).toEqual({ books });
    expectPolicy(answer, 0);
  });

  it('contains private cacheControl Headers when scoped', async () => {
    const lib = cached(library());
    const answer = await lib.request('{ pooks { title books { title author } } }', { headers: bearer('A') });
    expect(answer.json.data).toEqual({ pooks: [{ title: 'pook', books }] });
    expectPolicy(answer, 20, 'PRIVATE');
    // Without a session a PRIVATE answer is never stored, so it is not announced as cacheable.
    const anonymous = await lib.request('{ pooks { title books { title author } } }');
    expect(anonymous.headers.get('cache-control')).toBe('no-store');
  });

  // Apollo's code-first schema (no SDL, so no directives): hints come from resolvers and options.
  const personType = new GraphQLObjectType({
    name: 'PersonType',
    fields: { firstName: { type: GraphQLString }, lastName: { type: GraphQLString } },
  });
  const codeFirst = () =>
    new GraphQLSchema({
      query: new GraphQLObjectType({
        name: 'QueryType',
        fields: {
          testPerson: { type: personType, resolve: () => ({ firstName: 'Jane', lastName: 'Doe' }) },
          testPersonWithCacheControl: {
            type: personType,
            resolve(_source, _args, _context, info: GraphQLResolveInfo) {
              cacheControlFromInfo(info).setCacheHint({ maxAge: 11 });
              return { firstName: 'Jane', lastName: 'Doe' };
            },
          },
        },
      }),
    });

  it('cache-control set to no-store without any hints', async () => {
    const answer = await cached(codeFirst()).request('query test{ testPerson { firstName } }');
    expect(answer.json.data).toEqual({ testPerson: { firstName: 'Jane' } });
    expectPolicy(answer, 0);
  });

  it('cache-control set with dynamic hint', async () => {
    const answer = await cached(codeFirst()).request('query test{ testPersonWithCacheControl { firstName } }');
    expect(answer.json.data).toEqual({ testPersonWithCacheControl: { firstName: 'Jane' } });
    expectPolicy(answer, 11);
  });

  it('cache-control set with defaultMaxAge', async () => {
    const answer = await cached(codeFirst(), { defaultMaxAge: 5 }).request('query test{ testPerson { firstName } }');
    expect(answer.json.data).toEqual({ testPerson: { firstName: 'Jane' } });
    expectPolicy(answer, 5);
  });
});

describe('plugin-response-cache integration.test.ts: Response caching', () => {
  // Source: packages/plugin-response-cache/src/__tests__/integration.test.ts
  // Apollo's hooks map to ours: `sessionId` is `session`, `extraCacheKeyData` extends `buildKey`,
  // `shouldReadFromCache() === false` is a request's `Cache-Control: no-cache`.

  it('basic caching', async () => {
    const fieldNames = ['cached', 'asyncCached', 'asyncUncached', 'uncached', 'private'] as const;
    type FieldName = (typeof fieldNames)[number];
    const calls = Object.fromEntries(fieldNames.map((name) => [name, 0])) as Record<FieldName, number>;
    const expected = { ...calls };
    const expectCacheHit = (name: FieldName) => expect(calls[name]).toBe(expected[name]);
    const expectCacheMiss = (name: FieldName) => expect(calls[name]).toBe(++expected[name]);
    const schema = apolloSchema(
      `type Query {
         cached: String @cacheControl(maxAge: 10)
         asyncCached: String @cacheControl(maxAge: 10)
         asyncUncached: String @cacheControl(maxAge: 10)
         uncached: String
         private: String @cacheControl(maxAge: 9, scope: PRIVATE)
       }`,
      {
        Query: Object.fromEntries(
          fieldNames.map((name) => [
            name,
            () => {
              calls[name]++;
              return `value:${name}`;
            },
          ]),
        ),
      },
    );
    const lib = createCachedSchema(schema, {
      session: (request) => request.headers.get('session-id') || null,
      sessionHeaders: ['session-id'],
      buildKey: (input) => {
        const extra = input.request.headers.get('extra-cache-key-data');
        return extra ? `${defaultBuildCacheKey(input)}:${extra}` : defaultBuildCacheKey(input);
      },
    });
    const fetch = (query = '{ cached }', headers: Record<string, string> = {}) => lib.request(query, { headers });
    const header = (answer: Answer, name: string) => answer.headers.get(name);

    // Cache miss
    {
      const result = await fetch();
      expect(result.json.data.cached).toBe('value:cached');
      expectCacheMiss('cached');
      expect(header(result, 'cache-control')).toBe('max-age=10, public');
      expect(header(result, 'age')).toBe(null);
    }
    // Cache hit
    {
      const result = await fetch();
      expect(result.json.data.cached).toBe('value:cached');
      expectCacheHit('cached');
      expect(header(result, 'cache-control')).toBe('max-age=10, public');
      expect(header(result, 'age')).toBe('0');
    }
    // Cache hit partway to ttl.
    lib.clock.advance(5 * 1000);
    {
      const result = await fetch();
      expect(result.json.data.cached).toBe('value:cached');
      expectCacheHit('cached');
      expect(header(result, 'cache-control')).toBe('max-age=10, public');
      expect(header(result, 'age')).toBe('5');
    }
    // Cache miss after ttl.
    lib.clock.advance(6 * 1000);
    {
      const result = await fetch();
      expect(result.json.data.cached).toBe('value:cached');
      expectCacheMiss('cached');
      expect(header(result, 'cache-control')).toBe('max-age=10, public');
      expect(header(result, 'age')).toBe(null);
    }
    // Cache hit async (Apollo: a shouldReadFromCache that resolves true; here, a plain read)
    await fetch('{asyncCached}');
    expectCacheMiss('asyncCached');
    expect((await fetch('{asyncCached}')).json.data.asyncCached).toBe('value:asyncCached');
    expectCacheHit('asyncCached');
    // Cache Miss async (Apollo: a shouldReadFromCache that resolves false; here, no-cache)
    for (let i = 0; i < 2; i++) {
      expect((await fetch('{asyncUncached}', { 'cache-control': 'no-cache' })).json.data.asyncUncached).toBe('value:asyncUncached');
      expectCacheMiss('asyncUncached');
    }
    // Cache hit.
    {
      const result = await fetch();
      expectCacheHit('cached');
      expect(header(result, 'cache-control')).toBe('max-age=10, public');
      expect(header(result, 'age')).toBe('0');
    }
    // Apollo keys the document's text, so `{       cached           }` is a miss there. Here the
    // key is the normalised document: layout does not matter, it is a hit.
    {
      const result = await fetch('{       cached           }');
      expect(result.json.data.cached).toBe('value:cached');
      expectCacheHit('cached');
    }
    // This definitely should be a cache miss because the output is different.
    {
      const result = await fetch('{alias: cached}');
      expect(result.json.data.alias).toBe('value:cached');
      expectCacheMiss('cached');
    }
    // Reading both a cached and uncached data should not get cached (it's a full response cache).
    for (let i = 0; i < 2; i++) {
      const result = await fetch('{cached uncached}');
      expect(result.json.data).toEqual({ cached: 'value:cached', uncached: 'value:uncached' });
      expectCacheMiss('cached');
      expectCacheMiss('uncached');
      expect(header(result, 'cache-control')).toBe('no-store');
      expect(header(result, 'age')).toBe(null);
    }
    // Let's just remind ourselves that the basic query is cacheable.
    await fetch();
    expectCacheHit('cached');
    // But if we give it some extra cache key data, it'll be cached separately; twice is a hit.
    expect((await fetch('{ cached }', { 'extra-cache-key-data': 'foo' })).json.data.cached).toBe('value:cached');
    expectCacheMiss('cached');
    expect((await fetch('{ cached }', { 'extra-cache-key-data': 'foo' })).json.data.cached).toBe('value:cached');
    expectCacheHit('cached');
    // Without a session ID, private fields won't be cached. (Apollo still announces
    // `max-age=9, private`; here an answer never stored is `no-store`.)
    for (let i = 0; i < 2; i++) {
      const result = await fetch('{private}');
      expect(result.json.data.private).toBe('value:private');
      expectCacheMiss('private');
      expect(header(result, 'cache-control')).toBe('no-store');
      expect(header(result, 'age')).toBe(null);
    }
    // OK, how about with a session ID. First try should be a miss, the next a hit.
    {
      const result = await fetch('{private}', { 'session-id': 'foo' });
      expect(result.json.data.private).toBe('value:private');
      expectCacheMiss('private');
      expect(header(result, 'cache-control')).toBe('max-age=9, private');
    }
    {
      const result = await fetch('{private}', { 'session-id': 'foo' });
      expect(result.json.data.private).toBe('value:private');
      expectCacheHit('private');
      expect(header(result, 'cache-control')).toBe('max-age=9, private');
    }
    // But a different session ID should be a miss again.
    {
      const result = await fetch('{private}', { 'session-id': 'bar' });
      expectCacheMiss('private');
      expect(header(result, 'cache-control')).toBe('max-age=9, private');
    }
    // As should be no session.
    await fetch('{private}');
    expectCacheMiss('private');
    // Let's remind ourselves once again that the basic (public) query is *still* cached.
    {
      const result = await fetch();
      expectCacheHit('cached');
      expect(header(result, 'cache-control')).toBe('max-age=10, public');
    }
    // Apollo keeps one "authenticated public" cache for signed-in users apart from the anonymous
    // one, so session bar misses there. Here a PUBLIC answer is one entry for everyone: a hit.
    for (const session of ['bar', 'baz']) {
      const result = await fetch('{ cached }', { 'session-id': session });
      expect(result.json.data.cached).toBe('value:cached');
      expectCacheHit('cached');
      expect(header(result, 'cache-control')).toBe('max-age=10, public');
      expect(header(result, 'age')).toBe('0');
    }
    // But what if we specifically ask to not read from the cache?
    {
      const result = await fetch('{ cached }', { 'cache-control': 'no-cache' });
      expect(result.json.data.cached).toBe('value:cached');
      expectCacheMiss('cached');
      expect(header(result, 'cache-control')).toBe('max-age=10, public');
    }
    // (Apollo's last step, a request that must not be written to the cache, is pending: see the report.)
  });

  it('basic caching: a request that must not be written (here, `Cache-Control: no-store`) is executed and not stored', async () => {
    let calls = 0;
    const schema = apolloSchema('type Query { cached: String @cacheControl(maxAge: 10) }', {
      Query: { cached: () => `value:${++calls}` },
    });
    const lib = createCachedSchema(schema);
    const unwritten = await lib.request('{ cached }', { headers: { 'cache-control': 'no-store' } });
    expect(unwritten.json.data.cached).toBe('value:1');
    expect(unwritten.headers.get('cache-control')).toBe('max-age=10, public');
    // And now verify that in fact we did not write!
    const after = await lib.request('{ cached }');
    expect(after.json.data.cached).toBe('value:2');
    expect(after.xcache).toBe('MISS');
  });
});

describe('plugin-response-cache ApolloServerPluginResponseCache.test.ts: Response cache plugin', () => {
  // Source: packages/plugin-response-cache/src/__tests__/ApolloServerPluginResponseCache.test.ts

  it('will instantiate when not called with options', async () => {
    const cache = createResponseCache({ schema: apolloSchema('type Query { hello: String }') });
    expect(useResponseCache(cache)).toHaveProperty('onExecute');
    await cache.close();
  });
});
