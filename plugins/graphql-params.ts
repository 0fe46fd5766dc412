/**
 * Which GraphQL requests the HTTP front may answer: exactly those graphql-yoga's own request
 * parsers and checks accept (yoga's `plugins/request-parser/{get,post-json,utils}.js` and
 * `plugins/request-validation/use-check-graphql-query-params.js`). Anything else goes to yoga,
 * which answers it with its own error, so a hit is never a 200 where a miss would be a 4xx.
 */

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
 * them (variables or extensions that are not JSON objects).
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
  return acceptedParams(params);
}

/** `params` when yoga would execute them (an object with a string query and well-typed fields), else undefined. */
export function acceptedParams(params: unknown): GraphQLParams | undefined {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) return undefined;
  for (const [name, value] of Object.entries(params)) {
    if (value != null && !EXPECTED_PARAMS.has(name)) return undefined;
  }
  const { query, variables, extensions } = params as GraphQLParams;
  if (typeof query !== 'string') return undefined;
  if (!isObjectOrAbsent(variables) || !isObjectOrAbsent(extensions)) return undefined;
  return params as GraphQLParams;
}

/** Yoga's `extendedTypeof` is 'object', 'null' or 'undefined' (arrays are 'array'). */
function isObjectOrAbsent(value: unknown): boolean {
  return value == null || (typeof value === 'object' && !Array.isArray(value));
}
