/**
 * `info.cacheControl`, the hint API resolvers see: Apollo Server's `ResolveInfoCacheControl`
 * (`cacheHint` with `restrict`, `replace` and `policyIfCacheable`, `setCacheHint`,
 * `cacheHintFromType`), so resolvers written for Apollo run unchanged. Apollo's own cases are in
 * test/conformance/apollo-cache-control.test.ts; these pin what they leave open.
 */
import { describe, expect, it } from 'vitest';
import type { GraphQLResolveInfo } from 'graphql';
import { cacheControlFromInfo, maybeCacheControlFromInfo, type ResolveInfoCacheControl } from '@apollo/cache-control-types';
import { bearer, createCachedSchema } from '../helpers/in-process.ts';
import { buildSchemaWithResolvers } from '../helpers/sdl-schema.ts';

const SDL = /* GraphQL */ `
  type Query {
    droid: Droid @cacheControl(maxAge: 60)
    secret: Droid @cacheControl(maxAge: 60, scope: PRIVATE)
    plain: Droid
  }
  type Mutation {
    rename(name: String!): Droid
  }
  type Droid @cacheControl(maxAge: 300) {
    name: String!
  }
`;

/**
 * A cache whose `Query.droid`, `Query.secret` and `Query.plain` resolvers hand their
 * `info.cacheControl` (taken as Apollo's resolvers take it) to `use`, then return a droid.
 */
function droids(use: (cacheControl: ResolveInfoCacheControl, info: GraphQLResolveInfo) => void = () => {}) {
  const resolve = (_source: unknown, _args: unknown, _context: unknown, info: GraphQLResolveInfo) => {
    use(cacheControlFromInfo(info), info);
    return { name: 'R2-D2' };
  };
  const schema = buildSchemaWithResolvers(SDL, { Query: { droid: resolve, secret: resolve, plain: resolve }, Mutation: { rename: resolve } });
  return createCachedSchema(schema);
}

describe('cacheHint.restrict', () => {
  it('only narrows: a longer maxAge than the hint changes nothing, a shorter one wins', async () => {
    const longer = droids((cc) => cc.cacheHint.restrict({ maxAge: 600 }));
    expect((await longer.request('{ droid { name } }')).headers.get('cache-control')).toBe('max-age=60, public');
    const shorter = droids((cc) => cc.cacheHint.restrict({ maxAge: 7 }));
    expect((await shorter.request('{ droid { name } }')).headers.get('cache-control')).toBe('max-age=7, public');
  });

  it('keeps a PRIVATE field PRIVATE, and makes a PUBLIC one PRIVATE', async () => {
    const stays = droids((cc) => cc.cacheHint.restrict({ scope: 'PUBLIC' }));
    expect((await stays.request('{ secret { name } }', { headers: bearer('A') })).headers.get('cache-control')).toBe('max-age=60, private');
    const turns = droids((cc) => cc.cacheHint.restrict({ scope: 'PRIVATE' }));
    expect((await turns.request('{ droid { name } }', { headers: bearer('A') })).headers.get('cache-control')).toBe('max-age=60, private');
  });

  it('sets a maxAge on a field without one, so the default maxAge does not apply', async () => {
    const lib = droids((cc) => cc.cacheHint.restrict({ maxAge: 9 }));
    expect((await lib.request('{ plain { name } }')).headers.get('cache-control')).toBe('max-age=9, public');
  });
});

describe('cacheHint.replace and setCacheHint', () => {
  it('may widen: a longer maxAge than the static hint wins', async () => {
    const lib = droids((cc) => cc.cacheHint.replace({ maxAge: 120 }));
    expect((await lib.request('{ droid { name } }')).headers.get('cache-control')).toBe('max-age=120, public');
  });

  it('leaves what the hint does not set: setCacheHint({ maxAge: undefined, scope: PRIVATE }) keeps maxAge 60', async () => {
    const lib = droids((cc) => cc.setCacheHint({ maxAge: undefined, scope: 'PRIVATE' }));
    expect((await lib.request('{ droid { name } }', { headers: bearer('A') })).headers.get('cache-control')).toBe('max-age=60, private');
  });

  it('replace then restrict apply in order', async () => {
    const lib = droids((cc) => {
      cc.setCacheHint({ maxAge: 30 });
      cc.cacheHint.restrict({ maxAge: 45 });
    });
    expect((await lib.request('{ droid { name } }')).headers.get('cache-control')).toBe('max-age=30, public');
  });
});

describe('what a resolver reads', () => {
  it('cacheHint holds the static hint (type, then field) without the default, and follows changes', async () => {
    const seen: unknown[] = [];
    const lib = droids((cc, info) => {
      seen.push([info.fieldName, { maxAge: cc.cacheHint.maxAge, scope: cc.cacheHint.scope }, cc.cacheHint.policyIfCacheable()]);
      if (info.fieldName === 'droid') {
        cc.cacheHint.restrict({ maxAge: 0 });
        seen.push(cc.cacheHint.policyIfCacheable());
      }
    });
    await lib.request('{ droid { name } }', { headers: bearer('A') });
    await lib.request('{ secret { name } }', { headers: bearer('A') });
    expect(seen).toEqual([
      ['droid', { maxAge: 60, scope: undefined }, { maxAge: 60, scope: 'PUBLIC' }],
      null,
      ['secret', { maxAge: 60, scope: 'PRIVATE' }, { maxAge: 60, scope: 'PRIVATE' }],
    ]);
  });

  it('cacheHintFromType gives the hint a type carries', async () => {
    let hint: unknown;
    const lib = droids((cc, info) => (hint = cc.cacheHintFromType(info.schema.getType('Droid') as never)));
    await lib.request('{ droid { name } }');
    expect(hint).toEqual({ maxAge: 300 });
  });

  it('is Apollo\'s: its own maybeCacheControlFromInfo recognises it, and the types agree', async () => {
    const found: unknown[] = [];
    const lib = droids((_cc, info) => {
      // Typed as Apollo's, so `npm run typecheck` fails if the two drift apart.
      const ours: ResolveInfoCacheControl = info.cacheControl;
      found.push(maybeCacheControlFromInfo(info) === ours);
    });
    await lib.request('{ droid { name } }');
    await lib.request('mutation { rename(name: "R3") { name } }');
    expect(found).toEqual([true, true]);
  });
});

describe('hints that are not hints', () => {
  it.each([
    ['a human-readable maxAge', { maxAge: '1d' }, 'expected maxAge to be a whole number of seconds >= 0, got "1d"'],
    ['a negative maxAge', { maxAge: -1 }, 'expected maxAge to be a whole number of seconds >= 0, got -1'],
    ['an unknown scope', { scope: 'SHARED' }, 'expected scope to be PUBLIC or PRIVATE, got "SHARED"'],
  ])('%s throws a clear error naming the field, and the answer is not cached', async (_name, hint, message) => {
    const thrown: string[] = [];
    const lib = droids((cc) => {
      try {
        cc.cacheHint.restrict(hint as never);
      } catch (error) {
        thrown.push((error as Error).message);
        throw error;
      }
    });
    const answer = await lib.request('{ droid { name } }');
    expect(thrown).toEqual([`a cache hint set by the resolver of Query.droid: ${message}`]);
    expect(answer.json.errors).toHaveLength(1);
    expect(answer.headers.get('cache-control')).toBe('no-store');
  });
});

describe('requests the cache does not track', () => {
  it('info.cacheControl was missing: a resolver setting a hint failed with "Unexpected error." on an anonymous PRIVATE read and on a mutation', async () => {
    const resolve = (_source: unknown, _args: unknown, _context: unknown, info: GraphQLResolveInfo) => {
      info.cacheControl.setCacheHint({ maxAge: 5 });
      return { name: 'R2-D2' };
    };
    const lib = createCachedSchema(buildSchemaWithResolvers(SDL, { Query: { secret: resolve }, Mutation: { rename: resolve } }));
    // An anonymous PRIVATE read is never stored, so the cache does not track it.
    const anonymous = await lib.request('{ secret { name } }');
    expect(anonymous.json).toEqual({ data: { secret: { name: 'R2-D2' } } });
    expect(anonymous.headers.get('cache-control')).toBe('no-store');
    const mutation = await lib.request('mutation { rename(name: "R3") { name } }');
    expect(mutation.json).toEqual({ data: { rename: { name: 'R2-D2' } } });
    expect(mutation.headers.get('cache-control')).toBe('no-store');
  });
});
