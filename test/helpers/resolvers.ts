import { isAbstractType, isObjectType, type GraphQLSchema } from 'graphql';

/**
 * Puts a resolver map on a schema built without resolvers (`buildSchema` and `extendSchema`
 * take none): field resolvers on object types, `__resolveType` on interfaces and unions.
 */
export function attachResolvers(schema: GraphQLSchema, resolvers: Record<string, object>): GraphQLSchema {
  for (const [typeName, fields] of Object.entries(resolvers)) {
    const type = schema.getType(typeName);
    if (isObjectType(type)) {
      for (const [name, resolve] of Object.entries(fields)) type.getFields()[name].resolve = resolve as never;
    } else if (isAbstractType(type)) {
      type.resolveType = (fields as { __resolveType: never }).__resolveType;
    }
  }
  return schema;
}
