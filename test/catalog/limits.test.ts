/**
 * Limits against hostile requests, through the real HTTP server: each is refused before it
 * executes with a clear error and the right status, is never cached, and leaves the server
 * answering good requests. The catalog's real queries (and GraphiQL's introspection and default
 * query) pass.
 */
import { request as httpRequest } from 'node:http';
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCatalog, type TestCatalog } from '../helpers/catalog.ts';
import { defaultLimits, loadConfig } from '../../server/config.ts';
import { catalogDefaultQuery } from '../../server/graphiql.ts';

interface Answer {
  status: number;
  headers: Headers;
  json: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] } | Array<{ data?: unknown }>;
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, json: await response.json() };
}

const errorOf = (answer: Answer) => {
  const { errors } = answer.json as { errors?: { message: string; extensions?: { code?: string } }[] };
  return { status: answer.status, message: errors?.[0]?.message, code: errors?.[0]?.extensions?.code, cache: answer.headers.get('cache-control') };
};

/** `{ product(id: "1") { category { products { category { products { … } } } } } }`, `levels` fields deep. */
function nestedPages(levels: number): string {
  const fields: string[] = ['product(id: "1")'];
  for (let i = 1; i < levels; i++) fields.push(i % 2 === 1 ? 'category' : 'products');
  return `{ ${fields.join(' { ')} { id }${' }'.repeat(fields.length)}`;
}

const GOOD = '{ product(id: "7") { name } }';
/** The GraphQL-over-HTTP media type, under which every request error is a 400. */
const GRAPHQL_RESPONSE = { accept: 'application/graphql-response+json' };

describe('limits against hostile requests', () => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startCatalog('pglite');
  });
  afterAll(() => catalog?.close());

  /** The server still answers, and a good query still hits the cache, after a refusal. */
  async function stillServes() {
    await post(catalog.url, { query: GOOD });
    const again = await post(catalog.url, { query: GOOD });
    expect(again.status).toBe(200);
    expect(again.headers.get('x-cache')).toBe('HIT');
  }

  it('one 350-byte query took the server down: 12 levels of nested pages are refused with 400 before executing', async () => {
    const query = nestedPages(12);
    expect(query.length).toBeLessThan(400);
    const { statements, result } = await catalog.countStatements(() => post(catalog.url, { query }));
    expect(errorOf(result)).toEqual({
      status: 400,
      message: 'Syntax Error: Query depth limit of 8 exceeded, found 13.',
      code: 'QUERY_LIMIT_EXCEEDED',
      cache: 'no-store',
    });
    expect(statements).toHaveLength(0);
    await stillServes();
  });

  it('refuses a shallow query whose nested pages multiply past the cost limit, counting page sizes from variables', async () => {
    const query = 'query ($n: Int) { products(first: $n) { category { products(first: $n) { id name } } } }';
    const refused = await post(catalog.url, { query, variables: { n: 100 } });
    expect(errorOf(refused)).toMatchObject({ status: 400, code: 'QUERY_LIMIT_EXCEEDED', cache: 'no-store' });
    expect(errorOf(refused).message).toMatch(/^Query cost limit of 5000 exceeded, found \d+\.$/);
    // The same document with small pages is cheap, and runs.
    const allowed = await post(catalog.url, { query, variables: { n: 5 } });
    expect(allowed.status).toBe(200);
    expect((allowed.json as { data: { products: unknown[] } }).data.products).toHaveLength(5);
  });

  it('refuses too many aliases, directives and tokens with 400 and a message naming the limit', async () => {
    const aliases = `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: product(id: "${i + 1}") { id }`).join(' ')} }`;
    const directives = `{ product(id: "1") { id ${'@include(if: true) '.repeat(51)} } }`;
    const tokens = `{ product(id: "1") { ${'id '.repeat(1000)} } }`;
    expect(errorOf(await post(catalog.url, { query: aliases }))).toEqual({
      status: 400,
      message: 'Syntax Error: Aliases limit of 15 exceeded, found 16.',
      code: 'QUERY_LIMIT_EXCEEDED',
      cache: 'no-store',
    });
    expect(errorOf(await post(catalog.url, { query: directives }))).toMatchObject({
      status: 400,
      message: 'Syntax Error: Directives limit of 50 exceeded, found 51.',
      code: 'QUERY_LIMIT_EXCEEDED',
    });
    expect(errorOf(await post(catalog.url, { query: tokens }, GRAPHQL_RESPONSE))).toMatchObject({
      status: 400,
      message: 'Syntax Error: Token limit of 1000 exceeded.',
      code: 'QUERY_LIMIT_EXCEEDED',
    });
    await stillServes();
  });

  it('refuses too many tokens while parsing, so it answers as yoga answers every syntax error: 200 with the error under legacy application/json', async () => {
    const tokens = `{ product(id: "1") { ${'id '.repeat(1000)} } }`;
    expect(errorOf(await post(catalog.url, { query: tokens }))).toEqual({
      status: 200,
      message: 'Syntax Error: Token limit of 1000 exceeded.',
      code: 'QUERY_LIMIT_EXCEEDED',
      cache: 'no-store',
    });
  });

  it('a 10,000-fragment chain answered 500 (stack overflow in validation): it is refused with 400', async () => {
    const fragments = Array.from({ length: 10_000 }, (_, i) => `fragment F${i} on Product { id ...F${i + 1} }`).join('\n');
    const query = `{ product(id: "1") { ...F0 } }\n${fragments}\nfragment F10000 on Product { id }`;
    const answer = errorOf(await post(catalog.url, { query }, GRAPHQL_RESPONSE));
    expect(answer).toMatchObject({ status: 400, code: 'QUERY_LIMIT_EXCEEDED', message: 'Syntax Error: Token limit of 1000 exceeded.' });
    await stillServes();
  });

  it('a 5 MB request body was accepted: bodies over MAX_BODY_BYTES are answered 413, declared or chunked', async () => {
    const big = JSON.stringify({ query: GOOD, variables: { padding: 'x'.repeat(5 * 1024 * 1024) } });
    const declared = await post(catalog.url, big);
    expect(declared.status).toBe(413);
    expect(errorOf(declared)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', cache: 'no-store' });
    expect(errorOf(declared).message).toBe(`The request body is larger than the limit of ${defaultLimits.maxBodyBytes} bytes (MAX_BODY_BYTES).`);

    const chunked = await sendChunked(catalog.url, big);
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    await stillServes();
  });

  it('answers a chunked body within the limit, through the cache front as a hit', async () => {
    const body = JSON.stringify({ query: '{ product(id: "3") { name } }' });
    const first = await sendChunked(catalog.url, body);
    const second = await sendChunked(catalog.url, body);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.xcache).toBe('HIT');
    expect(second.body).toBe(first.body);
  });

  it('caps batched requests at MAX_BATCH_SIZE operations and answers smaller batches', async () => {
    const batch = (n: number) => Array.from({ length: n }, (_, i) => ({ query: `{ product(id: "${i + 1}") { id } }` }));
    const ok = await post(catalog.url, batch(2));
    expect(ok.status).toBe(200);
    expect((ok.json as Array<{ data: unknown }>).map((item) => item.data)).toEqual([{ product: { id: '1' } }, { product: { id: '2' } }]);
    const refused = await post(catalog.url, batch(defaultLimits.maxBatchSize + 1));
    expect(refused.status).toBe(413);
    expect(errorOf(refused).message).toBe(`Batching is limited to ${defaultLimits.maxBatchSize} operations per request.`);
  });

  it('lets the catalog\'s real queries, GraphiQL\'s introspection and its default query through', async () => {
    const real = [
      '{ product(id: "7") { name category { name } reviews { rating author { name } } } }',
      '{ category(id: "3") { name products(first: 100) { id name price stock reviews { rating body author { name } } } } }',
      '{ products(first: 100) { id name price category { id name } } }',
      '{ search(text: "tent") { ... on Product { id name } ... on Category { id name } } }',
      '{ node(id: "7") { id ... on Product { name category { products { name } } } } }',
      getIntrospectionQuery(),
      catalogDefaultQuery,
    ];
    for (const query of real) {
      const answer = await post(catalog.url, { query });
      expect({ query: query.slice(0, 60), status: answer.status, errors: (answer.json as { errors?: unknown }).errors }).toEqual({
        query: query.slice(0, 60),
        status: 200,
        errors: undefined,
      });
    }
  });
});

describe('each limit has its own variable', () => {
  it('reads MAX_QUERY_DEPTH, MAX_QUERY_ALIASES, MAX_QUERY_DIRECTIVES, MAX_QUERY_TOKENS, MAX_QUERY_COST, MAX_BATCH_SIZE and MAX_BODY_BYTES', () => {
    const config = loadConfig({
      MAX_QUERY_DEPTH: '3',
      MAX_QUERY_ALIASES: '4',
      MAX_QUERY_DIRECTIVES: '5',
      MAX_QUERY_TOKENS: '600',
      MAX_QUERY_COST: '700',
      MAX_BATCH_SIZE: '2',
      MAX_BODY_BYTES: '2048',
    });
    expect(config.limits).toEqual({ maxDepth: 3, maxAliases: 4, maxDirectives: 5, maxTokens: 600, maxCost: 700, maxBatchSize: 2, maxBodyBytes: 2048 });
  });

  it('defaults to the documented values', () => {
    expect(loadConfig({}).limits).toEqual({
      maxDepth: 8,
      maxAliases: 15,
      maxDirectives: 50,
      maxTokens: 1000,
      maxCost: 5000,
      maxBatchSize: 10,
      maxBodyBytes: 1_048_576,
    });
  });

  it('stops start-up on a value that is not a positive integer, naming the variable and the value', () => {
    expect(() => loadConfig({ MAX_QUERY_DEPTH: '0', MAX_BODY_BYTES: '1MB' })).toThrow(
      'Invalid configuration:\n  - expected MAX_QUERY_DEPTH to be an integer from 1 to 1000000000, got "0"\n  - expected MAX_BODY_BYTES to be an integer from 1 to 1000000000, got "1MB"',
    );
  });

  it('applies a lowered depth limit to the running server', async () => {
    const catalog = await startCatalog('pglite', { env: { MAX_QUERY_DEPTH: '2' } });
    try {
      const answer = await post(catalog.url, { query: '{ product(id: "1") { category { name } } }' });
      expect(errorOf(answer)).toMatchObject({ status: 400, message: 'Syntax Error: Query depth limit of 2 exceeded, found 3.' });
      expect((await post(catalog.url, { query: '{ product(id: "1") { name } }' })).status).toBe(200);
    } finally {
      await catalog.close();
    }
  });
});

/** POSTs `body` with `Transfer-Encoding: chunked` (no Content-Length), in 64 KiB chunks. */
function sendChunked(url: string, body: string): Promise<{ status: number; body: string; xcache: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, xcache: res.headers['x-cache'] as string | undefined }));
    });
    // The server may answer 413 and close before the whole upload is written.
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)));
    const buffer = Buffer.from(body);
    for (let at = 0; at < buffer.length; at += 64 * 1024) req.write(buffer.subarray(at, at + 64 * 1024));
    req.end();
  });
}
