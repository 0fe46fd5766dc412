/**
 * Hints on type extensions. `buildSchema`, `extendSchema` and other tools keep `extend type`
 * apart from the type (in `extensionASTNodes`); yoga's `createSchema` merges it into the type.
 * Whichever way the schema was built, a hint on an extension counts, and a second session never
 * sees the first one's PRIVATE data.
 */
import { describe, expect, it } from 'vitest';
import { buildSchema, extendSchema, parse, type GraphQLSchema } from 'graphql';
import { createSchema } from 'graphql-yoga';
import { bearer, createCachedSchema } from '../helpers/in-process.ts';
import { cacheDirectives } from '../helpers/library-schema.ts';
import { buildSchemaIndex } from '../../plugins/schema-index.ts';
import { attachResolvers } from '../helpers/resolvers.ts';

const BASE = /* GraphQL */ `
  type Query {
    me: User @cacheControl(maxAge: 60)
    droid: Droid
    search: [Result!]! @cacheControl(maxAge: 30)
  }
  type User { id: ID! name: String! email: String! }
  type Droid { id: ID! }
  type Account { id: ID! owner: String! }
  union Result = Droid | Account
`;

const EXTENSIONS = /* GraphQL */ `
  extend type User @cacheControl(scope: PRIVATE)
  extend type Droid @cacheControl(maxAge: 60)
  extend union Result @cacheControl(scope: PRIVATE)
`;

const users: Record<string, { id: string; name: string; email: string }> = {
  A: { id: '1', name: 'Ada', email: 'ada@example.com' },
  B: { id: '2', name: 'Bob', email: 'bob@example.com' },
};

const resolvers = {
  Query: {
    me: (_: unknown, __: unknown, context: { request: Request }) => {
      const token = /^Bearer (\S+)$/.exec(context.request.headers.get('authorization') ?? '')?.[1];
      return token ? (users[token] ?? null) : null;
    },
    droid: () => ({ id: 'r2' }),
    search: () => [{ __typename: 'Account', id: '9', owner: 'ada' }],
  },
  Result: { __resolveType: (value: { __typename: string }) => value.__typename },
};

const withResolvers = (schema: GraphQLSchema) => attachResolvers(schema, resolvers);

const builds: Array<[string, () => GraphQLSchema]> = [
  ['buildSchema with extensions in the same SDL', () => withResolvers(buildSchema(cacheDirectives + BASE + EXTENSIONS))],
  ['extendSchema over a built schema', () => withResolvers(extendSchema(buildSchema(cacheDirectives + BASE), parse(EXTENSIONS)))],
  ["yoga's createSchema (extensions merged into the type)", () => createSchema({ typeDefs: [cacheDirectives, BASE, EXTENSIONS], resolvers }) as GraphQLSchema],
];

describe.each(builds)('PRIVATE leak when a hint sits on a type extension: %s', (_name, build) => {
  it('answers `me` PRIVATE, per session, and never serves one session\'s email to another', async () => {
    const harness = createCachedSchema(build());
    const query = '{ me { id name email } }';
    const a = await harness.request(query, { headers: bearer('A') });
    const aAgain = await harness.request(query, { headers: bearer('A') });
    const b = await harness.request(query, { headers: bearer('B') });
    const anonymous = await harness.request(query);

    expect(a.headers.get('cache-control')).toBe('max-age=60, private');
    expect([a.xcache, aAgain.xcache, b.xcache, anonymous.xcache]).toEqual(['MISS', 'HIT', 'MISS', 'BYPASS']);
    expect(b.json.data.me.email).toBe('bob@example.com');
    expect(b.text).not.toContain('ada@example.com');
    expect(anonymous.text).not.toContain('ada@example.com');
    expect(anonymous.headers.get('cache-control')).toBe('no-store');
  });

  it('reads a maxAge set on an extension (Apollo: "hint on a type extension")', async () => {
    const harness = createCachedSchema(build());
    const droid = await harness.request('{ droid { id } }');
    expect(droid.headers.get('cache-control')).toBe('max-age=60, public');
  });

  it('makes an answer PRIVATE through a hint on a union extension', async () => {
    const harness = createCachedSchema(build());
    const a = await harness.request('{ search { ... on Account { owner } } }', { headers: bearer('A') });
    const b = await harness.request('{ search { ... on Account { owner } } }', { headers: bearer('B') });
    expect(a.headers.get('cache-control')).toBe('max-age=30, private');
    expect([a.xcache, b.xcache]).toEqual(['MISS', 'MISS']);
  });
});

describe('hints on a type and on its extension', () => {
  it('take the stricter value of each: the lower maxAge, and PRIVATE over PUBLIC', async () => {
    // Not valid SDL (the directive is not repeatable), but a schema assembled by other tools can carry it.
    const base = buildSchema(`${cacheDirectives} type Query { me: User } type User @cacheControl(maxAge: 30, scope: PUBLIC) { id: ID! }`);
    const extended = extendSchema(base, parse('extend type User @cacheControl(maxAge: 90, scope: PRIVATE)'), { assumeValidSDL: true });
    (extended.getQueryType()!.getFields().me as { resolve?: unknown }).resolve = () => ({ id: '1' });
    const harness = createCachedSchema(extended);
    const answer = await harness.request('{ me { id } }', { headers: bearer('A') });
    expect(answer.headers.get('cache-control')).toBe('max-age=30, private');
  });
});

describe('@cacheList on a field declared in a type extension', () => {
  it('is read, so a written element evicts its parent\'s list', () => {
    const schema = buildSchema(
      `${cacheDirectives}
      type Query { author: Author }
      type Author { id: ID! }
      type Book { id: ID! author: Author! }
      extend type Author { books: [Book!]! @cacheList(via: "author") }`,
    );
    expect(buildSchemaIndex(schema).tags.relations.perParentLists.has('Author.books')).toBe(true);
  });
});
