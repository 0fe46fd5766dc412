/**
 * A schema as graphql's `buildSchema` makes it (keeping `extend type` apart from the type, as
 * Apollo's cache-control tests build theirs), over the cache's directives, with resolvers put on
 * its fields afterwards (`buildSchema` takes none).
 */
import { buildSchema, isObjectType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { cacheDirectives } from './library-schema.ts';

/** Field resolvers by type, then field. */
export type FieldResolvers = Record<string, Record<string, GraphQLFieldResolver<unknown, unknown>>>;

export function buildSchemaWithResolvers(sdl: string, resolvers: FieldResolvers = {}): GraphQLSchema {
  const schema = buildSchema(`${cacheDirectives}\n${sdl}`);
  for (const [typeName, fields] of Object.entries(resolvers)) {
    const type = schema.getType(typeName);
    if (!isObjectType(type)) throw new Error(`buildSchemaWithResolvers: the SDL has no object type ${typeName}`);
    for (const [name, resolve] of Object.entries(fields)) {
      const field = type.getFields()[name];
      if (!field) throw new Error(`buildSchemaWithResolvers: type ${typeName} has no field ${name}`);
      field.resolve = resolve;
    }
  }
  return schema;
}
