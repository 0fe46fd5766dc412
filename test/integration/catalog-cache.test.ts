/**
 * The response cache through the real catalog server: a real HTTP server over a seeded PGlite,
 * driven by urql (and plain HTTP where a client would hide what is asserted: 304s, GET, raw
 * bytes, CORS). Read-only suites share one server and use distinct ids per test, so no test
 * depends on what another cached; suites that write or need other settings start their own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCatalog, type TestCatalog } from '../helpers/catalog.ts';
import {
  createExecutionSpy,
  createLatch,
  createUrqlClient,
  createUrqlClientAs,
  getQuery,
  postQuery,
  postRaw,
  watchLookups,
  type CapturedResponse,
  type UrqlTestClient,
} from '../helpers/urql.ts';

/** `max-age=N, public|private` → N. */
function maxAgeOf(response: CapturedResponse): number {
  const match = /^max-age=(\d+), (?:public|private)$/.exec(response.headers.get('cache-control') ?? '');
  if (!match) throw new Error(`expected a cacheable Cache-Control, got ${JSON.stringify(response.headers.get('cache-control'))}`);
  return Number(match[1]);
}

/**
 * What a hit's freshness must add up to: the seconds left (`max-age`) plus the seconds it has
 * been stored (`Age`) are the answer's lifetime, as on the miss that stored it.
 */
function lifetimeOf(hit: CapturedResponse): number {
  const age = hit.headers.get('age');
  if (age === null || !/^\d+$/.test(age)) throw new Error(`expected a hit to carry Age, got ${JSON.stringify(age)}`);
  return maxAgeOf(hit) + Number(age);
}

describe('response cache over HTTP', () => {
  let catalog: TestCatalog;
  let anonymous: UrqlTestClient;
  const spy = createExecutionSpy();
  beforeAll(async () => {
    catalog = await startCatalog('pglite', { plugins: [spy.plugin] });
    anonymous = createUrqlClient(catalog.url);
  });
  afterAll(() => catalog?.close());

  describe('hits', () => {
    it('answers a repeated query MISS then HIT, with the same bytes and an Age', async () => {
      const query = 'query Product7 { product(id: "7") { name category { name } } }';
      const miss = await anonymous.query(query);
      const hit = await anonymous.query(query);

      expect(miss.data).toEqual({ product: { name: 'Classic Tent', category: { name: 'Outdoor' } } });
      expect([miss.xcache, hit.xcache]).toEqual(['MISS', 'HIT']);
      expect(hit.http.body).toBe(miss.http.body);
      expect(spy.executions('Product7')).toBe(1);
      // The minimum over Product (60) and Category (300).
      expect(miss.http.headers.get('cache-control')).toBe('max-age=60, public');
      expect(miss.http.headers.get('age')).toBeNull();
      expect(hit.http.headers.get('age')).toMatch(/^\d+$/);
      expect(hit.http.headers.get('cache-control')).toMatch(/^max-age=\d+, public$/);
      expect(hit.http.headers.get('etag')).toBe(miss.http.headers.get('etag'));
    });

    it('remainingSeconds floors: a hit\'s max-age plus its Age is the answer\'s whole lifetime, not one second less', async () => {
      // A hit a few ms after its miss says `Age: 0`, so its max-age must still be the full 60.
      // Flooring both the seconds stored (0.004 → 0) and the seconds left (59.996 → 59) loses one.
      const query = '{ product(id: "26") { name category { name } } }';
      expect((await anonymous.query(query)).xcache).toBe('MISS');
      const hit = await anonymous.query(query);
      expect(hit.xcache).toBe('HIT');
      expect(lifetimeOf(hit.http)).toBe(60);
    });

    it.each([
      ['a field hint below its type: product { stock }', '{ product(id: "31") { stock } }', 5],
      ['a type hint on the root field: category { name }', '{ category(id: "1") { name } }', 300],
      [
        'a field hint on a union list: search',
        '{ search(text: "lamp") { __typename ... on Product { name } ... on Category { name } } }',
        30,
      ],
      ['Review (120) under Product (60): product { reviews { rating } }', '{ product(id: "32") { reviews { rating } } }', 60],
    ])('Cache-Control follows the hints: %s', async (_name, query, maxAge) => {
      const miss = await anonymous.query(query);
      expect(miss.error).toBeUndefined();
      expect(miss.xcache).toBe('MISS');
      expect(miss.http.headers.get('cache-control')).toBe(`max-age=${maxAge}, public`);
      expect((await anonymous.query(query)).xcache).toBe('HIT');
    });
  });

  describe('scopes', () => {
    it('keeps `me` per user: private, never another user\'s, and not cached without a session', async () => {
      const alice = createUrqlClientAs(catalog.url, 1);
      const bob = createUrqlClientAs(catalog.url, 2);
      const query = '{ me { name } }';

      const aliceMiss = await alice.query(query);
      expect(aliceMiss.data).toEqual({ me: { name: 'Alice Smith' } });
      expect(aliceMiss.xcache).toBe('MISS');
      expect(aliceMiss.http.headers.get('cache-control')).toBe('max-age=300, private');

      // Bob asks the same text after Alice's answer is cached: he must get his own.
      const bobFirst = await bob.query(query);
      expect(bobFirst.data).toEqual({ me: { name: 'Bob Smith' } });
      expect(bobFirst.xcache).toBe('MISS');

      const [aliceHit, bobHit] = [await alice.query(query), await bob.query(query)];
      expect([aliceHit.data, aliceHit.xcache]).toEqual([{ me: { name: 'Alice Smith' } }, 'HIT']);
      expect([bobHit.data, bobHit.xcache]).toEqual([{ me: { name: 'Bob Smith' } }, 'HIT']);

      // Signed out: null, and neither stored nor served from anyone's entry.
      for (let i = 0; i < 2; i++) {
        const signedOut = await anonymous.query(query);
        expect(signedOut.data).toEqual({ me: null });
        expect(signedOut.xcache).toBe('BYPASS');
        expect(signedOut.http.headers.get('cache-control')).toBe('no-store');
      }
    });

    it('keeps an answer with a PRIVATE field (User.email) per user', async () => {
      const query = 'query Emails { product(id: "11") { reviews { author { email } } } }';
      const first = await createUrqlClientAs(catalog.url, 1).query(query);
      expect(first.xcache).toBe('MISS');
      expect(first.http.headers.get('cache-control')).toBe('max-age=60, private');
      expect(first.data.product.reviews).toHaveLength(5);

      const other = await createUrqlClientAs(catalog.url, 2).query(query);
      expect(other.xcache).toBe('MISS');
      expect(spy.executions('Emails')).toBe(2);

      expect((await createUrqlClientAs(catalog.url, 1).query(query)).xcache).toBe('HIT');
      const signedOut = await anonymous.query(query);
      expect(signedOut.xcache).toBe('BYPASS');
      expect(signedOut.http.headers.get('cache-control')).toBe('no-store');
    });

    it('shares an answer of PUBLIC fields (User.name) across tokens and anonymous clients', async () => {
      const query = 'query Names { product(id: "12") { reviews { author { name } } } }';
      const first = await createUrqlClientAs(catalog.url, 1).query(query);
      expect(first.xcache).toBe('MISS');
      expect(first.http.headers.get('cache-control')).toBe('max-age=60, public');

      const other = await createUrqlClientAs(catalog.url, 2).query(query);
      expect(other.xcache).toBe('HIT');
      expect(other.http.body).toBe(first.http.body);
      expect((await anonymous.query(query)).xcache).toBe('HIT');
      expect(spy.executions('Names')).toBe(1);
    });
  });

  describe('keys', () => {
    it('shares a key between texts that differ only in layout and comments', async () => {
      const compact = await postQuery(catalog.url, { query: '{product(id:"13"){name price}}' });
      const spaced = await postQuery(catalog.url, {
        query: '# the same query, laid out\n{\n  product( id: "13" ) {\n    name   # the name\n    price\n  }\n}\n',
      });
      expect(compact.headers.get('x-cache')).toBe('MISS');
      expect(spaced.headers.get('x-cache')).toBe('HIT');
      expect(spaced.body).toBe(compact.body);
    });

    it('shares a key between variables written in a different key order', async () => {
      const query = 'query Page($id: ID!, $first: Int) { category(id: $id) { products(first: $first) { id } } }';
      // Sent as written: urql would sort the keys itself, so plain fetch puts them on the wire.
      const first = await postRaw(catalog.url, `{"query":${JSON.stringify(query)},"variables":{"id":"2","first":3}}`);
      const swapped = await postRaw(catalog.url, `{"query":${JSON.stringify(query)},"variables":{"first":3,"id":"2"}}`);
      expect(JSON.parse(first.body)).toEqual({ data: { category: { products: [{ id: '2' }, { id: '22' }, { id: '42' }] } } });
      expect([first.headers.get('x-cache'), swapped.headers.get('x-cache')]).toEqual(['MISS', 'HIT']);
      // Different values are a different key.
      const other = await postQuery(catalog.url, { query, variables: { id: '2', first: 4 } });
      expect(other.headers.get('x-cache')).toBe('MISS');
    });
  });

  describe('never cached', () => {
    it('does not cache a validation error (400), so repeating it executes again', async () => {
      for (let i = 0; i < 2; i++) {
        const answer = await anonymous.query('{ product(id: "x") { nope } }');
        expect(answer.http.status).toBe(400);
        expect(answer.error?.graphQLErrors[0]?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
        expect(answer.xcache).toBe('BYPASS');
        expect(answer.http.headers.get('cache-control')).toBe('no-store');
      }
    });

    it('does not cache an answer with an execution error, even with partial data', async () => {
      // `products(first: -1)` fails in its resolver; `product` beside it succeeds.
      const query = 'query Partial { product(id: "14") { name } products(first: -1) { id } }';
      for (let i = 1; i <= 2; i++) {
        const answer = await anonymous.query(query);
        expect(answer.error?.graphQLErrors[0]?.extensions.code).toBe('BAD_USER_INPUT');
        expect(answer.xcache).not.toBe('HIT');
        expect(answer.http.headers.get('cache-control')).toBe('no-store');
        expect(spy.executions('Partial')).toBe(i);
      }
    });

    it('executes a request sent with Cache-Control: no-cache (BYPASS) and stores its fresh answer', async () => {
      const query = 'query Refreshed { product(id: "15") { name } }';
      // On a cold key: executed, not looked up, yet stored for the next normal request.
      const forced = await anonymous.query(query, {}, { headers: { 'cache-control': 'no-cache' } });
      expect(forced.xcache).toBe('BYPASS');
      expect(forced.data).toEqual({ product: { name: 'Classic Pillow' } });
      const next = await anonymous.query(query);
      expect(next.xcache).toBe('HIT');
      expect(spy.executions('Refreshed')).toBe(1);

      // On a warm key: executed anyway, and the normal request after it is still a hit.
      const again = await anonymous.query(query, {}, { headers: { 'cache-control': 'no-cache' } });
      expect(again.xcache).toBe('BYPASS');
      expect(spy.executions('Refreshed')).toBe(2);
      expect((await anonymous.query(query)).xcache).toBe('HIT');
      expect(spy.executions('Refreshed')).toBe(2);
    });

    it.each([
      ['a document that does not parse', { query: '{ product(id: "16" { name } }' }, 400],
      ['a validation error', { query: '{ product(id: "16") { nope } }' }, 400],
      ['introspection', { query: '{ __schema { queryType { name } } }' }, 200],
      ['an anonymous `me`', { query: '{ me { name } }' }, 200],
      ['a PRIVATE field without a session', { query: '{ product(id: "16") { reviews { author { email } } } }' }, 200],
      ['variables that are not an object', { query: '{ product(id: "16") { name } }', variables: [1] as never }, 400],
    ])('marks %s X-Cache: BYPASS and Cache-Control: no-store, every time', async (_name, params, status) => {
      for (let i = 0; i < 2; i++) {
        // The GraphQL-over-HTTP media type, under which request errors are 4xx (not 200).
        const answer = await postQuery(catalog.url, params, { accept: 'application/graphql-response+json' });
        expect(answer.status).toBe(status);
        expect(answer.headers.get('x-cache')).toBe('BYPASS');
        expect(answer.headers.get('cache-control')).toBe('no-store');
      }
    });
  });

  describe('HTTP', () => {
    it('answers If-None-Match with the ETag of the same request 304, and another query\'s ETag 200', async () => {
      const a = { query: '{ product(id: "17") { name } }' };
      const b = { query: '{ product(id: "18") { name } }' };
      const missA = await postQuery(catalog.url, a);
      const etag = missA.headers.get('etag');
      expect(etag).toMatch(/^"[^"]+"$/);

      const revalidated = await postQuery(catalog.url, a, { 'if-none-match': etag! });
      expect(revalidated.status).toBe(304);
      expect(revalidated.body).toBe('');
      expect(revalidated.headers.get('etag')).toBe(etag);
      expect(revalidated.headers.get('x-cache')).toBe('HIT');

      await postQuery(catalog.url, b);
      const other = await postQuery(catalog.url, b, { 'if-none-match': etag! });
      expect(other.status).toBe(200);
      expect(JSON.parse(other.body)).toEqual({ data: { product: { name: 'Classic Helmet' } } });
    });

    it('answers 304 to a conditional request with Cache-Control: no-cache when the fresh answer has that ETag', async () => {
      // What fetch() sends for any request given an If-None-Match, and what a proxy sends to
      // revalidate: the server executes, and the representation it selects is unchanged.
      const query = { query: '{ product(id: "25") { name } }' };
      const etag = (await postQuery(catalog.url, query)).headers.get('etag')!;
      const revalidated = await postQuery(catalog.url, query, { 'if-none-match': etag, 'cache-control': 'no-cache' });
      expect(revalidated.headers.get('etag')).toBe(etag);
      expect(revalidated.status).toBe(304);
      expect(revalidated.body).toBe('');
    });

    it('does not answer 304 to one user with another user\'s ETag for a private answer', async () => {
      const query = { query: '{ me { name email } }' };
      const alice = await postQuery(catalog.url, query, { authorization: 'Bearer token-3' });
      await postQuery(catalog.url, query, { authorization: 'Bearer token-4' });
      const bob = await postQuery(catalog.url, query, { authorization: 'Bearer token-4', 'if-none-match': alice.headers.get('etag')! });
      expect(bob.status).toBe(200);
      expect(JSON.parse(bob.body)).toEqual({ data: { me: { name: 'Dave Smith', email: 'dave.smith@example.com' } } });
    });

    it('says Vary: Authorization on a private answer, so a browser cache does not hand it to the next user', async () => {
      // A GET answer with `max-age=300, private` is kept by the browser under its URL; without
      // Vary, the next request for that URL with another user's token is answered from there.
      const params = { query: '{ me { name } }' };
      const mine = await getQuery(catalog.url, params, { authorization: 'Bearer token-6' });
      expect(JSON.parse(mine.body)).toEqual({ data: { me: { name: 'Frank Smith' } } });
      expect(mine.headers.get('cache-control')).toBe('max-age=300, private');
      const vary = (mine.headers.get('vary') ?? '').split(',').map((name) => name.trim().toLowerCase());
      expect(vary).toContain('authorization');
    });

    it('caches GET /graphql?query=…: MISS then HIT with the same body', async () => {
      const params = { query: 'query ByGet($id: ID!) { product(id: $id) { name } }', variables: { id: '19' }, operationName: 'ByGet' };
      const miss = await getQuery(catalog.url, params);
      const hit = await getQuery(catalog.url, params);
      expect(miss.status).toBe(200);
      expect(JSON.parse(miss.body)).toEqual({ data: { product: { name: 'Classic Guitar' } } });
      expect([miss.headers.get('x-cache'), hit.headers.get('x-cache')]).toEqual(['MISS', 'HIT']);
      expect(hit.body).toBe(miss.body);
      expect(spy.executions('ByGet')).toBe(1);
    });

    it('serves a GET urql query from the cache too', async () => {
      const viaGet = createUrqlClient(catalog.url, { preferGetMethod: 'force' });
      const query = 'query UrqlGet { product(id: "20") { name } }';
      expect((await viaGet.query(query)).xcache).toBe('MISS');
      const hit = await viaGet.query(query);
      expect(hit.xcache).toBe('HIT');
      expect(hit.data).toEqual({ product: { name: 'Classic Chess Set' } });
    });

    it('gives a cross-origin hit the CORS headers of the miss, and lets the browser read X-Cache', async () => {
      const origin = { origin: 'https://shop.example' };
      const query = { query: '{ product(id: "23") { name } }' };
      const miss = await postQuery(catalog.url, query, origin);
      const hit = await postQuery(catalog.url, query, origin);
      expect(hit.headers.get('x-cache')).toBe('HIT');
      const cors = (response: CapturedResponse) => ({
        allowOrigin: response.headers.get('access-control-allow-origin'),
        allowCredentials: response.headers.get('access-control-allow-credentials'),
        expose: response.headers.get('access-control-expose-headers'),
        vary: response.headers.get('vary'),
      });
      expect(miss.headers.get('access-control-allow-origin')).toBe('https://shop.example');
      expect(cors(hit)).toEqual(cors(miss));
      const exposed = (hit.headers.get('access-control-expose-headers') ?? '').split(',').map((name) => name.trim().toLowerCase());
      expect(exposed).toEqual(expect.arrayContaining(['x-cache', 'age', 'etag', 'cache-control']));
    });

    it('sends no `extensions` without CACHE_METADATA', async () => {
      const query = { query: '{ product(id: "24") { name } }' };
      for (const status of ['MISS', 'HIT']) {
        const answer = await postQuery(catalog.url, query);
        expect(answer.headers.get('x-cache')).toBe(status);
        expect(JSON.parse(answer.body)).toEqual({ data: { product: { name: 'Classic Headphones' } } });
      }
    });
  });
});

describe('mutations through the cache', () => {
  // Writes: a server of its own.
  let catalog: TestCatalog;
  const spy = createExecutionSpy();
  beforeAll(async () => {
    catalog = await startCatalog('pglite', { plugins: [spy.plugin] });
  });
  afterAll(() => catalog?.close());

  it('never caches a mutation: each one executes and says BYPASS, no-store', async () => {
    const client = createUrqlClient(catalog.url);
    const mutation = 'mutation Restock { updateProduct(id: "500", input: { stock: 3 }) { id stock } }';
    for (let i = 1; i <= 2; i++) {
      const answer = await client.mutation(mutation);
      expect(answer.data).toEqual({ updateProduct: { id: '500', stock: 3 } });
      expect(answer.xcache).toBe('BYPASS');
      expect(answer.http.headers.get('cache-control')).toBe('no-store');
      expect(spy.executions('Restock')).toBe(i);
    }
  });

  it('never caches a mutation sent as GET either (yoga refuses it)', async () => {
    const answer = await getQuery(catalog.url, { query: 'mutation { updateProduct(id: "501", input: { stock: 4 }) { id } }' });
    expect(answer.status).toBe(405);
    expect(answer.headers.get('x-cache')).toBe('BYPASS');
    expect(answer.headers.get('cache-control')).toBe('no-store');
  });
});

describe('CACHE_METADATA=true', () => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startCatalog('pglite', { env: { CACHE_METADATA: 'true' } });
  });
  afterAll(() => catalog?.close());

  it('reports extensions.responseCache MISS then HIT, with the TTL the headers give', async () => {
    const client = createUrqlClient(catalog.url);
    const query = '{ product(id: "7") { name } }';
    const miss = await client.query(query);
    const hit = await client.query(query);
    expect(miss.data).toEqual({ product: { name: 'Classic Tent' } });
    expect(hit.data).toEqual(miss.data);
    const missMeta = JSON.parse(miss.http.body).extensions.responseCache;
    const hitMeta = JSON.parse(hit.http.body).extensions.responseCache;
    expect(missMeta).toEqual({ status: 'MISS', ttl: 60, scope: 'PUBLIC' });
    expect(hitMeta).toEqual({ status: 'HIT', ttl: maxAgeOf(hit.http), scope: 'PUBLIC' });
    expect([miss.xcache, hit.xcache]).toEqual(['MISS', 'HIT']);
  });

  it('reports BYPASS for what is not cached', async () => {
    const client = createUrqlClient(catalog.url);
    const signedOut = await client.query('{ me { name } }');
    expect(JSON.parse(signedOut.http.body)).toEqual({
      data: { me: null },
      extensions: { responseCache: { status: 'BYPASS', ttl: 0, scope: 'PUBLIC' } },
    });
    const mine = await createUrqlClientAs(catalog.url, 5).query('{ me { name } }');
    expect(JSON.parse(mine.http.body).extensions.responseCache).toEqual({ status: 'MISS', ttl: 300, scope: 'PRIVATE' });
  });
});

describe('coalescing', () => {
  let catalog: TestCatalog;
  // The first `Coalesced` execution waits until every request has reached the cache.
  const latch = createLatch('Coalesced');
  beforeAll(async () => {
    catalog = await startCatalog('pglite', { plugins: [latch.plugin] });
  });
  afterAll(() => catalog?.close());

  it('runs 50 identical concurrent misses once: one leader, 49 X-Cache-Coalesced, all MISS and correct', async () => {
    const shape = (name: string, id: string) => ({
      query: `query ${name}($id: ID!) { product(id: $id) { name category { name } reviews { rating author { name } } } }`,
      operationName: name,
      variables: { id },
    });
    // What one execution of this shape costs, on another cold product.
    const single = await catalog.countStatements(() => postQuery(catalog.url, shape('Baseline', '40')));
    expect(single.result.headers.get('x-cache')).toBe('MISS');
    expect(single.statements.length).toBeGreaterThan(0);

    const lookups = watchLookups(catalog.server.cache!);
    try {
      const burst = await catalog.countStatements(async () => {
        const answers = Array.from({ length: 50 }, () => postQuery(catalog.url, shape('Coalesced', '41')));
        // The leader is held in execution; release it only once all 50 have looked up.
        await latch.entered;
        await lookups.reached(50);
        latch.release();
        return Promise.all(answers);
      });

      expect(latch.executions).toBe(1);
      expect(burst.statements.length).toBe(single.statements.length);
      const expected = (await postQuery(catalog.url, shape('Coalesced', '41'))).body;
      expect(JSON.parse(expected).data.product.name).toBe('Compact Kettle');
      for (const answer of burst.result) {
        expect(answer.status).toBe(200);
        expect(answer.body).toBe(expected);
        expect(answer.headers.get('x-cache')).toBe('MISS');
      }
      const coalesced = burst.result.map((answer) => answer.headers.get('x-cache-coalesced'));
      expect(coalesced.filter((value) => value === null)).toHaveLength(1);
      expect(coalesced.filter((value) => value === '1')).toHaveLength(49);
    } finally {
      lookups.restore();
    }
  });
});

describe('CACHE_ENABLED=false', () => {
  let catalog: TestCatalog;
  const spy = createExecutionSpy();
  beforeAll(async () => {
    catalog = await startCatalog('pglite', { env: { CACHE_ENABLED: 'false' }, plugins: [spy.plugin] });
  });
  afterAll(() => catalog?.close());

  it('executes every answer and never reports a hit', async () => {
    expect(catalog.server.cache).toBeUndefined();
    const client = createUrqlClient(catalog.url);
    const query = 'query Uncached { product(id: "7") { name } }';
    for (let i = 1; i <= 3; i++) {
      const { result: answer, statements } = await catalog.countStatements(() => client.query(query));
      expect(answer.data).toEqual({ product: { name: 'Classic Tent' } });
      expect(answer.xcache).not.toBe('HIT');
      expect(statements.length).toBeGreaterThan(0);
      expect(spy.executions('Uncached')).toBe(i);
    }
    const get = { query: '{ product(id: "8") { name } }' };
    await getQuery(catalog.url, get);
    expect((await getQuery(catalog.url, get)).headers.get('x-cache')).not.toBe('HIT');
  });
});
