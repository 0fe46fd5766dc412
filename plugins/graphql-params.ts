/**
 * Which GraphQL requests the HTTP front may answer: exactly those graphql-yoga's own request
 * parsers and checks accept (yoga's `plugins/request-parser/{get,post-json,utils}.js` and
 * `plugins/request-validation/use-check-graphql-query-params.js`). Anything else goes to yoga,
 * which answers it with its own error, so a hit is never a 200 where a miss would be a 4xx.
 *
 * With automatic persisted queries (Apollo's protocol, `@graphql-yoga/plugin-apq`), a request
 * may carry only `extensions.persistedQuery.sha256Hash`: yoga's plugin puts the query text back
 * from its store before yoga checks the params, and answers `PersistedQueryNotFound` when the
 * store has none. The front does the same through the same store (`resolvePersistedQuery`).
 */
import { isPromise, type MaybePromise } from './store.ts';

/** GraphQL params as a request carries them. */
export interface GraphQLParams {
  query?: unknown;
  operationName?: unknown;
  variables?: unknown;
  extensions?: unknown;
}

const EXPECTED_PARAMS = new Set(['query', 'variables', 'operationName', 'extensions']);

/** Whether yoga parses a POST with this `Content-Type` as a JSON GraphQL request. */
export function isJsonRequestType(contentType: string | null | undefined): boolean {
  // Yoga reads only the first of a list of types (which HTTP does not allow, but clients send).
  const type = contentType?.split(',')[0];
  return type !== undefined && (isType(type, 'application/json') || isType(type, 'application/graphql+json'));
}

function isType(contentType: string, expected: string): boolean {
  return contentType === expected || contentType.startsWith(`${expected};`);
}

/**
 * The params of a GET query string as yoga reads them, or undefined when yoga would refuse
 * them (variables or extensions that are not JSON objects). The query may be absent: a
 * persisted query's hash stands for it (`resolvePersistedQuery`).
 */
export function paramsFromSearch(search: URLSearchParams): GraphQLParams | undefined {
  const params: GraphQLParams = {
    query: search.get('query') || undefined,
    operationName: search.get('operationName') || undefined,
  };
  for (const name of ['variables', 'extensions'] as const) {
    const text = search.get(name);
    if (!text) continue;
    try {
      params[name] = JSON.parse(text);
    } catch {
      return undefined;
    }
  }
  return wellFormedParams(params);
}

/** `params` when yoga would execute them (an object with a string query and well-typed fields), else undefined. */
export function acceptedParams(params: unknown): GraphQLParams | undefined {
  const wellFormed = wellFormedParams(params);
  return typeof wellFormed?.query === 'string' ? wellFormed : undefined;
}

/** `params` when they are an object of the four known fields with object variables and extensions; the query is not checked. */
export function wellFormedParams(params: unknown): GraphQLParams | undefined {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) return undefined;
  for (const [name, value] of Object.entries(params)) {
    if (value != null && !EXPECTED_PARAMS.has(name)) return undefined;
  }
  const { variables, extensions } = params as GraphQLParams;
  if (!isObjectOrAbsent(variables) || !isObjectOrAbsent(extensions)) return undefined;
  return params as GraphQLParams;
}

/**
 * Where persisted queries' texts are kept by their SHA-256 hash: the store given to
 * `useAPQ({ store })` of `@graphql-yoga/plugin-apq` (its `createInMemoryAPQStore()` fits).
 */
export interface PersistedQueryStore {
  get(sha256Hash: string): MaybePromise<string | null | undefined>;
}

/** The hash of an APQ extension as yoga's plugin reads it: version 1 and a string `sha256Hash`. */
export function persistedQueryHash(params: GraphQLParams): string | undefined {
  const persisted = (params.extensions as { persistedQuery?: { version?: unknown; sha256Hash?: unknown } } | undefined)?.persistedQuery;
  return persisted?.version === 1 && typeof persisted.sha256Hash === 'string' ? persisted.sha256Hash : undefined;
}

/**
 * Well-formed params as yoga will check them once the APQ plugin has run: the same params when
 * they carry a query and no APQ extension; with only a hash, the params with the text `store`
 * holds for it (undefined when it holds none: yoga answers `PersistedQueryNotFound`). A query
 * sent with its hash is left to yoga, which checks that they match and registers it.
 */
export function resolvePersistedQuery(
  params: GraphQLParams,
  store: PersistedQueryStore | undefined,
): MaybePromise<GraphQLParams | undefined> {
  const hash = store && persistedQueryHash(params);
  if (hash === undefined) return acceptedParams(params);
  if (params.query != null) return undefined;
  const text = store!.get(hash);
  return isPromise(text) ? text.then((found) => withQuery(params, found)) : withQuery(params, text);
}

function withQuery(params: GraphQLParams, query: string | null | undefined): GraphQLParams | undefined {
  return typeof query === 'string' ? { ...params, query } : undefined;
}

/** Yoga's `extendedTypeof` is 'object', 'null' or 'undefined' (arrays are 'array'). */
function isObjectOrAbsent(value: unknown): boolean {
  return value == null || (typeof value === 'object' && !Array.isArray(value));
}
