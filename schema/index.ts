import { readFileSync } from 'node:fs';
import { resolvers } from './resolvers.ts';

/** The catalog SDL, read from the one file codegen also reads, so they cannot disagree. */
export const catalogTypeDefs = readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8');

export const catalogResolvers = resolvers;

export type { CatalogContext, CatalogServices } from './context.ts';
export { createCatalogContext } from './context.ts';
