/**
 * Apollo Client, the most used GraphQL client, against the real catalog server over HTTP: its
 * `HttpLink` sends what it always sends (`__typename` added to every selection, its own Accept
 * header), and a link in front of it reads each answer's cache headers. Apollo keeps a
 * normalised cache of its own, so every read that must reach the server says `network-only`.
 */
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { map } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCatalog, type TestCatalog } from '../helpers/catalog.ts';
import { createExecutionSpy } from '../helpers/urql.ts';

/** What the server said about one operation, as the HTTP response carried it. */
interface Exchange {
  operationName: string | undefined;
  status: number;
  xcache: string | null;
  cacheControl: string | null;
}

interface TestApollo {
  client: ApolloClient;
  /** One entry per HTTP response, in order; a read Apollo answers from its own cache adds none. */
  exchanges: Exchange[];
}

function createApollo(url: string, headers: Record<string, string> = {}): TestApollo {
  const exchanges: Exchange[] = [];
  // HttpLink puts the fetch Response on the operation's context before it passes the result
  // back; this link, in front of it, reads the headers as each result goes by.
  const recordResponses = new ApolloLink((operation, forward) =>
    forward(operation).pipe(
      map((result) => {
        const { response } = operation.getContext() as { response: Response };
        exchanges.push({
          operationName: operation.operationName,
          status: response.status,
          xcache: response.headers.get('x-cache'),
          cacheControl: response.headers.get('cache-control'),
        });
        return result;
      }),
    ),
  );
  const client = new ApolloClient({
    link: ApolloLink.from([recordResponses, new HttpLink({ uri: url, headers })]),
    cache: new InMemoryCache(),
  });
  return { client, exchanges };
}

const PRODUCT = gql`
  query ApolloProduct($id: ID!) {
    product(id: $id) {
      id
      name
      price
      category {
        id
        name
      }
    }
  }
`;

const REPRICE = gql`
  mutation ApolloReprice($id: ID!, $price: Float!) {
    updateProduct(id: $id, input: { price: $price }) {
      id
      price
    }
  }
`;

const ME = gql`
  query ApolloMe {
    me {
      id
      email
    }
  }
`;

describe('Apollo Client against the catalog server', () => {
  let catalog: TestCatalog;
  const spy = createExecutionSpy();
  beforeAll(async () => {
    catalog = await startCatalog('pglite', { plugins: [spy.plugin] });
  });
  afterAll(() => catalog?.close());

  it('reads MISS then HIT, and after updateProduct a network-only read gets the new price, not a stale HIT', async () => {
    const { client, exchanges } = createApollo(catalog.url);
    const product = (price: number) => ({
      product: {
        __typename: 'Product',
        id: '11',
        name: 'Classic Towel',
        price,
        category: { __typename: 'Category', id: '11', name: 'Bath' },
      },
    });
    const read = () => client.query({ query: PRODUCT, variables: { id: '11' }, fetchPolicy: 'network-only' });

    expect((await client.query({ query: PRODUCT, variables: { id: '11' } })).data).toEqual(product(5.06));
    expect((await read()).data).toEqual(product(5.06));
    expect(exchanges.map((e) => e.xcache)).toEqual(['MISS', 'HIT']);
    expect(exchanges[1]!.cacheControl).toMatch(/^max-age=\d+, public$/);
    expect(spy.executions('ApolloProduct')).toBe(1);

    const written = await client.mutate({ mutation: REPRICE, variables: { id: '11', price: 42.5 } });
    expect(written.data).toEqual({ updateProduct: { __typename: 'Product', id: '11', price: 42.5 } });
    expect(exchanges[2]).toEqual({ operationName: 'ApolloReprice', status: 200, xcache: 'BYPASS', cacheControl: 'no-store' });

    // The mutation evicted the stored answer: the next read executes and is stored afresh.
    expect((await read()).data).toEqual(product(42.5));
    expect((await read()).data).toEqual(product(42.5));
    expect(exchanges.slice(3).map((e) => [e.operationName, e.xcache])).toEqual([
      ['ApolloProduct', 'MISS'],
      ['ApolloProduct', 'HIT'],
    ]);
    expect(spy.executions('ApolloProduct')).toBe(2);
    client.stop();
  });

  it('gives two signed-in clients their own PRIVATE `me`, each stored apart, and a signed-out one neither', async () => {
    const alice = createApollo(catalog.url, { authorization: 'Bearer token-1' });
    const bob = createApollo(catalog.url, { authorization: 'Bearer token-2' });
    const signedOut = createApollo(catalog.url);
    const me = (client: ApolloClient) => client.query({ query: ME, fetchPolicy: 'network-only' });
    const aliceMe = { me: { __typename: 'User', id: '1', email: 'alice.smith@example.com' } };
    const bobMe = { me: { __typename: 'User', id: '2', email: 'bob.smith@example.com' } };

    expect((await me(alice.client)).data).toEqual(aliceMe);
    // Bob asks the very same document right after: Alice's stored answer is not his.
    expect((await me(bob.client)).data).toEqual(bobMe);
    expect((await me(signedOut.client)).data).toEqual({ me: null });
    expect((await me(alice.client)).data).toEqual(aliceMe);
    expect((await me(bob.client)).data).toEqual(bobMe);

    expect(alice.exchanges.map((e) => [e.xcache, e.cacheControl])).toEqual([
      ['MISS', 'max-age=300, private'],
      ['HIT', expect.stringMatching(/^max-age=\d+, private$/)],
    ]);
    expect(bob.exchanges.map((e) => e.xcache)).toEqual(['MISS', 'HIT']);
    // Without a session a PRIVATE answer is neither looked up nor stored.
    expect(signedOut.exchanges.map((e) => [e.xcache, e.cacheControl])).toEqual([['BYPASS', 'no-store']]);
    expect(spy.executions('ApolloMe')).toBe(3);
    for (const { client } of [alice, bob, signedOut]) client.stop();
  });
});
