/**
 * Start-up validation: bad options and schema directives fail createResponseCache with a
 * message that names the bad value, instead of caching wrongly later.
 */
import { describe, expect, it } from 'vitest';
import { createSchema } from 'graphql-yoga';
import { createResponseCache } from '../../plugins/response-cache.ts';
import { cacheDirectives, createLibrary } from '../helpers/library-schema.ts';

function schemaWith(typeDefs: string) {
  return createSchema({ typeDefs: [cacheDirectives, typeDefs] });
}

describe('createResponseCache options', () => {
  it.each([
    [-1, /defaultMaxAge.*-1/],
    [1.5, /defaultMaxAge.*1\.5/],
    ['60', /defaultMaxAge.*"60"/],
    [Number.NaN, /defaultMaxAge/],
  ])('rejects defaultMaxAge %j, naming it', (value, message) => {
    const { schema } = createLibrary();
    expect(() => createResponseCache({ schema, defaultMaxAge: value as number })).toThrow(message);
  });

  it('accepts defaultMaxAge 0 and a positive whole number', () => {
    expect(() => createResponseCache({ schema: createLibrary().schema, defaultMaxAge: 0 })).not.toThrow();
    expect(() => createResponseCache({ schema: createLibrary().schema, defaultMaxAge: 30 })).not.toThrow();
  });

  it('rejects idFields naming a missing type or field', () => {
    expect(() => createResponseCache({ schema: createLibrary().schema, idFields: { Bok: 'id' } })).toThrow(/Bok/);
    expect(() => createResponseCache({ schema: createLibrary().schema, idFields: { Book: 'isbn' } })).toThrow(/isbn/);
  });

  it('refuses to instrument one schema for two caches', () => {
    const { schema } = createLibrary();
    createResponseCache({ schema });
    expect(() => createResponseCache({ schema })).toThrow(/already instrumented/);
  });
});

describe('@cacheList(via:) misuse is a start-up error', () => {
  it('names a via field the element type does not have', () => {
    const schema = schemaWith(`
      type Query { shelf: Shelf }
      type Shelf { id: ID! items: [Item!]! @cacheList(via: "shelff") }
      type Item { id: ID! shelf: Shelf }
    `);
    expect(() => createResponseCache({ schema })).toThrow(/via: "shelff"/);
  });

  it('names a via field that returns another type', () => {
    const schema = schemaWith(`
      type Query { shelf: Shelf }
      type Shelf { id: ID! items: [Item!]! @cacheList(via: "owner") }
      type Owner { id: ID! }
      type Item { id: ID! owner: Owner shelf: Shelf }
    `);
    expect(() => createResponseCache({ schema })).toThrow(/Item\.owner/);
  });

  it('names a via field that returns a list', () => {
    const schema = schemaWith(`
      type Query { shelf: Shelf }
      type Shelf { id: ID! items: [Item!]! @cacheList(via: "shelves") }
      type Item { id: ID! shelves: [Shelf!]! }
    `);
    expect(() => createResponseCache({ schema })).toThrow(/Item\.shelves/);
  });

  it('rejects @cacheList on a field that is not a list of objects', () => {
    const schema = schemaWith(`
      type Query { shelf: Shelf }
      type Shelf { id: ID! item: Item @cacheList(via: "shelf") }
      type Item { id: ID! shelf: Shelf }
    `);
    expect(() => createResponseCache({ schema })).toThrow(/Shelf\.item/);
  });

  it('rejects @cacheList on a parent without an id', () => {
    const schema = schemaWith(`
      type Query { shelf: Shelf }
      type Shelf { name: String items: [Item!]! @cacheList(via: "shelf") }
      type Item { id: ID! shelf: Shelf }
    `);
    expect(() => createResponseCache({ schema })).toThrow(/Shelf has no id field/);
  });

  it('accepts a well-formed @cacheList', () => {
    const schema = schemaWith(`
      type Query { shelf: Shelf }
      type Shelf { id: ID! items: [Item!]! @cacheList(via: "shelf") }
      type Item { id: ID! shelf: Shelf! }
    `);
    expect(() => createResponseCache({ schema })).not.toThrow();
  });
});
