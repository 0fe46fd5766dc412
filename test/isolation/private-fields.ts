/** Which fields answer PRIVATE, read from a schema's SDL. */
import { getNamedType, isInterfaceType, isObjectType, type ConstDirectiveNode, type GraphQLSchema } from 'graphql';

/**
 * Field coordinates whose answers are PRIVATE by the schema's `@cacheControl` directives: the
 * field's own hint, or its return type's (on the type or any of its extensions). Read from the
 * SDL directly, apart from the cache layer's own hint code, so that a mistake there shows.
 */
export function privateCoordinates(schema: GraphQLSchema): Set<string> {
  const isPrivate = (nodes: readonly ({ directives?: readonly ConstDirectiveNode[] } | null | undefined)[]) =>
    nodes.some((node) =>
      node?.directives?.some(
        (directive) =>
          directive.name.value === 'cacheControl' &&
          directive.arguments?.some((arg) => arg.name.value === 'scope' && arg.value.kind === 'EnumValue' && arg.value.value === 'PRIVATE'),
      ),
    );
  const coordinates = new Set<string>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) && !isInterfaceType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      const returned = getNamedType(field.type);
      if (isPrivate([field.astNode]) || isPrivate([returned.astNode, ...(returned.extensionASTNodes ?? [])])) {
        coordinates.add(`${type.name}.${field.name}`);
      }
    }
  }
  return coordinates;
}
