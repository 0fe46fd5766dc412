/**
 * What the consistency checker reads. A read kind is one way of asking for product prices; it
 * answers the prices it saw, by product id, and the cache's verdict when the transport states
 * one. The checker knows nothing else about it, so later grains (resolver and field caches,
 * tRPC procedures) are added as more kinds beside these.
 */

/** Where and what to read: one instance, and a product (with its category) the checker chose. */
export interface ReadContext {
  /** The instance's GraphQL endpoint, e.g. http://127.0.0.1:40123/graphql. */
  url: string;
  product: string;
  category: string;
}

export interface ReadResult {
  /** The price of every product in the answer, by product id. */
  prices: ReadonlyMap<string, number>;
  /** The cache's verdict (`X-Cache`: HIT, MISS or BYPASS) when the transport states one. */
  cache?: string;
  /** Names the answer read (its query and arguments), so that two reads of one cached answer can be told apart from reads of two. */
  answer: string;
}

export interface ReadKind {
  /** Shown in reports, e.g. "product(id) GET". */
  readonly name: string;
  /** Reads; rejects when the answer is not a successful one (the checker counts it as failed). */
  read(context: ReadContext): Promise<ReadResult>;
}

const PRODUCT = 'query ProductPrice($id: ID!) { product(id: $id) { id price } }';
const PRODUCTS = 'query ProductPrices { products(first: 100) { id price } }';
const PRODUCTS_IN_CATEGORY = 'query CategoryProductPrices($category: ID!) { products(categoryId: $category, first: 50) { id price } }';
const CATEGORY = 'query CategoryPrices($id: ID!) { category(id: $id) { id products(first: 50) { id price } } }';
const NODE = 'query NodePrice($id: ID!) { node(id: $id) { id ... on Product { price } } }';

/**
 * The response cache in the shapes a client asks for prices: one product, the root list, a
 * category's list through the root field and through the category, and `node`; over POST and GET.
 */
export const responseCacheReadKinds: readonly ReadKind[] = [
  graphQLRead('product(id) POST', 'POST', PRODUCT, ({ product }) => ({ id: product }), (data) => [object(data.product)]),
  graphQLRead('product(id) GET', 'GET', PRODUCT, ({ product }) => ({ id: product }), (data) => [object(data.product)]),
  graphQLRead('products(first: 100) POST', 'POST', PRODUCTS, () => undefined, (data) => list(data.products)),
  graphQLRead('products(categoryId) GET', 'GET', PRODUCTS_IN_CATEGORY, ({ category }) => ({ category }), (data) => list(data.products)),
  graphQLRead('category { products } POST', 'POST', CATEGORY, ({ category }) => ({ id: category }), (data) => list(object(data.category).products)),
  graphQLRead('category { products } GET', 'GET', CATEGORY, ({ category }) => ({ id: category }), (data) => list(object(data.category).products)),
  graphQLRead('node(id) POST', 'POST', NODE, ({ product }) => ({ id: product }), (data) => [object(data.node)]),
];

/**
 * The same prices through the catalog's tRPC procedures, on the same cache (GET, as tRPC's links
 * send queries): a write through either API must be seen by reads through both.
 */
export const trpcReadKinds: readonly ReadKind[] = [
  trpcRead('trpc product.byId', 'product.byId', ({ product }) => ({ id: product }), (data) => [object(data)]),
  trpcRead('trpc product.list(categoryId)', 'product.list', ({ category }) => ({ categoryId: category, first: 50 }), (data) => list(data)),
  trpcRead('trpc category.byId', 'category.byId', ({ category }) => ({ id: category }), (data) => list(object(data).products)),
];

/** Every read kind: the response cache's shapes (whose fields and loaders the server caches too) and tRPC's. */
export const allReadKinds: readonly ReadKind[] = [...responseCacheReadKinds, ...trpcReadKinds];

/** The tRPC endpoint beside a GraphQL endpoint URL. */
export const trpcUrl = (graphqlUrl: string, path: string) => graphqlUrl.replace(/\/graphql$/, `/trpc/${path}`);

function trpcRead(name: string, path: string, input: (context: ReadContext) => Record<string, unknown>, prices: (data: unknown) => Data[]): ReadKind {
  return {
    name,
    async read(context) {
      const url = new URL(trpcUrl(context.url, path));
      url.searchParams.set('input', JSON.stringify(input(context)));
      const response = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`${name}: HTTP ${response.status}: ${text.slice(0, 300)}`);
      const data = (JSON.parse(text) as { result?: { data?: unknown } }).result?.data;
      const seen = new Map<string, number>();
      for (const { id, price } of prices(data)) {
        if (typeof id !== 'string' || typeof price !== 'number') throw new Error(`${name}: no id and price in ${text.slice(0, 200)}`);
        seen.set(id, price);
      }
      return { prices: seen, cache: response.headers.get('x-cache') ?? undefined, answer: `GET ${url.pathname}${url.search}` };
    },
  };
}

/** An answer's `data`: checked field by field as the kinds read it. */
type Data = Record<string, unknown>;

function graphQLRead(
  name: string,
  method: 'GET' | 'POST',
  query: string,
  variables: (context: ReadContext) => Record<string, string> | undefined,
  prices: (data: Data) => Data[],
): ReadKind {
  return {
    name,
    async read(context) {
      const vars = variables(context);
      const answer = await requestGraphQL(context.url, { method, query, variables: vars });
      const seen = new Map<string, number>();
      for (const { id, price } of prices(answer.data)) {
        if (typeof id !== 'string' || typeof price !== 'number') throw new Error(`${name}: no id and price in ${answer.text.slice(0, 200)}`);
        seen.set(id, price);
      }
      return { prices: seen, cache: answer.cache, answer: `${method} ${query} ${JSON.stringify(vars ?? {})}` };
    },
  };
}

function object(value: unknown): Data {
  if (typeof value !== 'object' || value === null) throw new Error(`expected an object, got ${JSON.stringify(value)}`);
  return value as Data;
}

function list(value: unknown): Data[] {
  if (!Array.isArray(value)) throw new Error(`expected a list, got ${JSON.stringify(value)}`);
  return value.map(object);
}

export interface GraphQLRequest {
  method: 'GET' | 'POST';
  query: string;
  variables?: Record<string, unknown>;
}

/** Far above any answer, even under a Redis fault: a request that takes longer counts as failed. */
const REQUEST_TIMEOUT_MS = 10_000;

export interface GraphQLSuccess {
  data: Data;
  /** The X-Cache header, when sent. */
  cache?: string;
  text: string;
  /** The codes of the errors the caller said it accepts beside the data (`toleratedCodes`). */
  tolerated: string[];
}

/**
 * One GraphQL-over-HTTP request, as any client sends it. Resolves only to a successful answer:
 * status 200, `data` present and no `errors`; anything else rejects with what came back.
 */
export async function requestGraphQL(
  url: string,
  { method, query, variables }: GraphQLRequest,
  toleratedCodes: readonly string[] = [],
): Promise<GraphQLSuccess> {
  const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  const accept = { accept: 'application/json' };
  let response: Response;
  if (method === 'GET') {
    const target = new URL(url);
    target.searchParams.set('query', query);
    if (variables !== undefined) target.searchParams.set('variables', JSON.stringify(variables));
    response = await fetch(target, { headers: accept, signal });
  } else {
    const body = JSON.stringify(variables === undefined ? { query } : { query, variables });
    response = await fetch(url, { method, headers: { ...accept, 'content-type': 'application/json' }, body, signal });
  }
  const text = await response.text();
  let parsed: { data?: Data | null; errors?: unknown[] } | undefined;
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // Reported below with the text itself.
  }
  const codes = (parsed?.errors ?? []).map((error) => String((error as { extensions?: { code?: unknown } })?.extensions?.code));
  if (response.status !== 200 || !parsed || !parsed.data || codes.some((code) => !toleratedCodes.includes(code))) {
    throw new Error(`HTTP ${response.status}: ${text.slice(0, 300)}`);
  }
  return { data: parsed.data, cache: response.headers.get('x-cache') ?? undefined, text, tolerated: codes };
}
