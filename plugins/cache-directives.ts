/**
 * The SDL of the cache directives, the one source of truth: the package exports it, and the
 * catalog's codegen reads it from this file (the `GraphQL` comment marks it for the loader).
 */
import { parse, type DocumentNode } from 'graphql';

/** The SDL of `@cacheControl`, `@cacheList` and `@cacheResolver`: add it to your schema's type definitions. */
export const cacheDirectivesTypeDefs: string = /* GraphQL */ `
"""
Who may be served a cached answer: PUBLIC answers are shared by everyone,
PRIVATE answers only by the session that produced them.
"""
enum CacheControlScope {
  PUBLIC
  PRIVATE
}

"""
A cache hint, with Apollo Server's semantics. \`maxAge\` is in seconds; \`swr\` is how many
seconds past maxAge a stale answer may still be served while one refresh runs.
"""
directive @cacheControl(
  maxAge: Int
  scope: CacheControlScope
  inheritMaxAge: Boolean
  swr: Int
) on FIELD_DEFINITION | OBJECT | INTERFACE | UNION

"""
Declares which parent's list an element belongs to, so that a mutation on an element evicts
exactly the lists it joins: an element of this list belongs to the list of the object that
its \`via\` field returns (e.g. \`Category.products @cacheList(via: "category")\`).
"""
directive @cacheList(via: String!) on FIELD_DEFINITION

"""
Caches what the field's resolver returns (a field of an object type), keyed by the field, its
parent's id, its arguments and, when the field is PRIVATE, the session: \`maxAge\` seconds fresh,
\`swr\` seconds more served stale while one refresh runs. The sub-selection still resolves as usual.
"""
directive @cacheResolver(maxAge: Int!, swr: Int) on FIELD_DEFINITION
`;

/** `cacheDirectivesTypeDefs`, parsed: for schemas built from `DocumentNode`s. */
export const cacheDirectivesDocument: DocumentNode = parse(cacheDirectivesTypeDefs);
