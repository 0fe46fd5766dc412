/**
 * Automatic persisted queries with Apollo Client's own link (`createPersistedQueryLink` with
 * `useGETForHashedQueries`) over `HttpLink`, against the real server: the first request of a
 * query sends its hash alone, hears `PersistedQueryNotFound` and registers the text; from then
 * on the hash alone, as a GET a CDN can cache, is answered by the HTTP front as a HIT with the
 * headers the full query gets. A mutation goes through the same link, and the next read is fresh.
 */
import { createHash } from 'node:crypto';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCatalog, type TestCatalog } from '../helpers/catalog.ts';
import { createExecutionSpy, postQuery, sendRaw } from '../helpers/urql.ts';

interface ProductData {
  product: { id: string; name: string; price: number } | null;
}
interface RepriceData {
  updateProduct: { id: string; price: number } | null;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** One HTTP exchange as the client's fetch saw it. */
interface Exchange {
  method: string;
  /** Whether the request carried the query's text. */
  withText: boolean;
  status: number;
  xcache: string | null;
  headers: Headers;
  /** The body a POST carried. */
  body?: string;
}

function createApollo(url: string) {
  const exchanges: Exchange[] = [];
  const recording: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const sent = `${String(input)} ${typeof init?.body === 'string' ? init.body : ''}`;
    exchanges.push({
      method: init?.method ?? 'GET',
      withText: sent.includes('query=') || sent.includes('"query"'),
      status: response.status,
      xcache: response.headers.get('x-cache'),
      headers: response.headers,
      ...(typeof init?.body === 'string' && { body: init.body }),
    });
    return response;
  };
  const client = new ApolloClient({
    link: ApolloLink.from([createPersistedQueryLink({ sha256, useGETForHashedQueries: true }), new HttpLink({ uri: url, fetch: recording })]),
    cache: new InMemoryCache(),
  });
  return { client, exchanges };
}

const PRODUCT = gql`
  query PersistedProduct($id: ID!) {
    product(id: $id) {
      id
      name
      price
    }
  }
`;

const REPRICE = gql`
  mutation PersistedReprice($id: ID!, $price: Float!) {
    updateProduct(id: $id, input: { price: $price }) {
      id
      price
    }
  }
`;

describe('Apollo Client with automatic persisted queries, over GET', () => {
  let catalog: TestCatalog;
  const executions = createExecutionSpy();
  beforeAll(async () => {
    catalog = await startCatalog('pglite', { plugins: [executions.plugin] });
  });
  afterAll(() => catalog?.close());

  it('registers a query once, then sends its hash alone as a GET that the front answers HIT', async () => {
    const { client, exchanges } = createApollo(catalog.url);
    const read = () => client.query<ProductData>({ query: PRODUCT, variables: { id: '7' }, fetchPolicy: 'network-only' });

    const first = await read();
    expect(first.data?.product?.id).toBe('7');
    // The hash alone (not found), then the text with its hash, which executes and registers it.
    expect(exchanges.map(({ method, withText, status, xcache }) => ({ method, withText, status, xcache }))).toEqual([
      { method: 'GET', withText: false, status: 404, xcache: 'BYPASS' },
      { method: 'POST', withText: true, status: 200, xcache: 'MISS' },
    ]);

    // The text Apollo registered (its own print, with `__typename` added).
    const registered = JSON.parse(exchanges[1].body!) as { query: string };
    exchanges.length = 0;
    const before = executions.executions('PersistedProduct');
    const second = await read();
    const third = await read();
    expect([second.data, third.data]).toEqual([first.data, first.data]);
    expect(exchanges.map(({ method, withText, status, xcache }) => ({ method, withText, status, xcache }))).toEqual([
      { method: 'GET', withText: false, status: 200, xcache: 'HIT' },
      { method: 'GET', withText: false, status: 200, xcache: 'HIT' },
    ]);
    // Answered before yoga: nothing executed.
    expect(executions.executions('PersistedProduct')).toBe(before);

    // The same headers as the full query's hit.
    const full = await postQuery(catalog.url, { query: registered.query, variables: { id: '7' }, operationName: 'PersistedProduct' }, { accept: 'application/graphql-response+json,application/json;q=0.9' });
    expect(full.headers.get('x-cache')).toBe('HIT');
    const hashed = exchanges[1].headers;
    for (const name of ['cache-control', 'etag', 'vary', 'content-type', 'x-cache']) expect(hashed.get(name), name).toBe(full.headers.get(name));
    expect(hashed.get('cache-control')).toBe('max-age=60, public');
  });

  it('answers PersistedQueryNotFound to a hash the server has not seen, GET or POST', async () => {
    const extensions = { persistedQuery: { version: 1, sha256Hash: sha256('query Unseen { product(id: "1") { id } }') } };
    const viaGet = await sendRaw(`${catalog.url}?${new URLSearchParams({ extensions: JSON.stringify(extensions) })}`, { headers: { accept: 'application/json' } });
    const viaPost = await postQuery(catalog.url, { extensions } as never, { accept: 'application/json' });
    for (const answer of [viaGet, viaPost]) {
      expect(answer.status).toBe(404);
      expect(JSON.parse(answer.body)).toEqual({ errors: [{ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }] });
      expect(answer.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('refuses a text that does not match its hash, even for a query the cache holds', async () => {
    const text = print(PRODUCT);
    await postQuery(catalog.url, { query: text, variables: { id: '7' } });
    expect((await postQuery(catalog.url, { query: text, variables: { id: '7' } })).headers.get('x-cache')).toBe('HIT');
    const extensions = { persistedQuery: { version: 1, sha256Hash: sha256(`${text} `) } };
    const answer = await postQuery(catalog.url, { query: text, variables: { id: '7' }, extensions } as never, { accept: 'application/json' });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).errors[0].extensions.code).toBe('PERSISTED_QUERY_MISMATCH');
  });

  it('sends a mutation through the link, and the next read of what it wrote is fresh', async () => {
    const { client, exchanges } = createApollo(catalog.url);
    const read = async () => (await client.query<ProductData>({ query: PRODUCT, variables: { id: '8' }, fetchPolicy: 'network-only' })).data?.product?.price;
    await read();
    expect(exchanges.at(-1)?.xcache).toBe('MISS');
    await read();
    expect(exchanges.at(-1)).toMatchObject({ method: 'GET', withText: false, xcache: 'HIT' });

    const written = await client.mutate<RepriceData>({ mutation: REPRICE, variables: { id: '8', price: 4321.5 } });
    expect(written.data?.updateProduct?.price).toBe(4321.5);
    // Mutations never go by GET: the hash alone by POST, then the text.
    expect(exchanges.slice(-2).map(({ method, withText, status }) => ({ method, withText, status }))).toEqual([
      { method: 'POST', withText: false, status: 404 },
      { method: 'POST', withText: true, status: 200 },
    ]);

    expect(await read()).toBe(4321.5);
    expect(exchanges.at(-1)).toMatchObject({ method: 'GET', withText: false, xcache: 'MISS' });
  });
});
