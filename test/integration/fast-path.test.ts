/**
 * The HTTP front (plugins/http-front.ts) answers hits before yoga. A client must not be able to
 * tell: a hit it serves carries the status, headers and bytes the pipeline sent for the miss,
 * and whatever the front does not understand reaches yoga unchanged, which answers it as it
 * would without the front. Which of the two looked a request up (and so answered its hit) is
 * told by `watchLookups`; a spy plugin after the cache's counts what yoga handled itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCatalog, type TestCatalog } from '../helpers/catalog.ts';
import { createExecutionSpy, getQuery, postQuery, postRaw, sendRaw, watchLookups, type CapturedResponse } from '../helpers/urql.ts';

/** Headers that differ between any two responses (or, for a hit, by design). */
const PER_RESPONSE = new Set(['date', 'connection', 'keep-alive', 'age', 'x-cache', 'cache-control']);

function comparableHeaders(response: CapturedResponse): Record<string, string> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (!PER_RESPONSE.has(name)) headers[name] = value;
  });
  return headers;
}

/**
 * Cache-Control without the seconds: the freshness arithmetic is pinned by catalog-cache's
 * "remainingSeconds floors" test; here what matters is that the hit keeps the directives.
 */
const cacheControlShape = (response: CapturedResponse) => (response.headers.get('cache-control') ?? '').replace(/max-age=\d+/, 'max-age=N');

describe('the HTTP front', () => {
  let catalog: TestCatalog;
  const spy = createExecutionSpy();
  beforeAll(async () => {
    // Bodies up to 4 MiB are allowed here, so that bodies past the front's own maxBodyBytes
    // (1 MiB) reach it and are left to yoga.
    catalog = await startCatalog('pglite', { plugins: [spy.plugin], env: { MAX_BODY_BYTES: String(4 * 1024 * 1024) } });
  });
  afterAll(() => catalog?.close());

  /** The answer to `send`, and who looked it up in the cache ('front' or 'yoga'; none for a bypass). */
  async function lookedUp<T>(send: () => Promise<T>): Promise<{ answer: T; by: string[] }> {
    const lookups = watchLookups(catalog.server.cache!);
    try {
      return { answer: await send(), by: [...lookups.sources] };
    } finally {
      lookups.restore();
    }
  }

  /** The in-process pipeline's answer to the same POST: yoga without the front. */
  async function pipelineAnswer(body: string, headers: Record<string, string> = {}): Promise<CapturedResponse> {
    const response = await catalog.server.yoga.fetch('http://catalog.internal/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    return { status: response.status, headers: response.headers, body: await response.text() };
  }

  describe('a hit it serves looks like the miss the pipeline sent', () => {
    it.each([
      ['application/json', 'application/json', '100'],
      ['application/graphql-response+json', 'application/graphql-response+json', '101'],
      ['no Accept', undefined, '102'],
      ['*/*', '*/*', '103'],
    ])('Accept: %s', async (_name, accept, id) => {
      // With an Origin, so that the CORS headers are compared too.
      const headers: Record<string, string> = { origin: 'https://shop.example', ...(accept && { accept }) };
      const query = { query: `{ product(id: "${id}") { name price category { name } } }` };
      const { answer: miss, by: missBy } = await lookedUp(() => postQuery(catalog.url, query, headers));
      expect(miss.headers.get('x-cache')).toBe('MISS');
      const { answer: hit, by: hitBy } = await lookedUp(() => postQuery(catalog.url, query, headers));
      expect(hit.headers.get('x-cache')).toBe('HIT');
      // The front looked both up; the miss then went through the whole pipeline.
      expect([missBy, hitBy]).toEqual([['front'], ['front']]);

      expect(hit.status).toBe(miss.status);
      expect(hit.body).toBe(miss.body);
      expect(comparableHeaders(hit)).toEqual(comparableHeaders(miss));
      expect(cacheControlShape(hit)).toBe(cacheControlShape(miss));
      expect(hit.headers.get('age')).toMatch(/^\d+$/);
      expect(miss.headers.get('content-type')).toMatch(/^application\/(json|graphql-response\+json); charset=utf-8$/);
    });

    it('for a GET too', async () => {
      const params = { query: '{ product(id: "104") { name } }' };
      const miss = await getQuery(catalog.url, params, { accept: 'application/json' });
      const { answer: hit, by } = await lookedUp(() => getQuery(catalog.url, params, { accept: 'application/json' }));
      expect([miss.headers.get('x-cache'), hit.headers.get('x-cache')]).toEqual(['MISS', 'HIT']);
      expect(by).toEqual(['front']);
      expect([hit.status, hit.body]).toEqual([miss.status, miss.body]);
      expect(comparableHeaders(hit)).toEqual(comparableHeaders(miss));
    });
  });

  describe('what it leaves to yoga', () => {
    it.each([
      ['malformed JSON', '{"query": "{ product(id: \\"105\\") { name } }"'],
      ['an empty body', ''],
      ['a JSON string', '"{ product(id: \\"105\\") { name } }"'],
      ['JSON null', 'null'],
      ['a query that is not a string', '{"query": 105}'],
    ])('%s: yoga\'s own 4xx, never cached, and the server keeps serving', async (_name, body) => {
      const expected = await pipelineAnswer(body);
      expect(expected.status).toBeGreaterThanOrEqual(400);
      expect(expected.status).toBeLessThan(500);
      for (let i = 0; i < 2; i++) {
        const reachedYoga = spy.requests;
        const { answer, by } = await lookedUp(() => postRaw(catalog.url, body));
        expect(by, 'nothing to look up').toEqual([]);
        expect(spy.requests, 'yoga handled it').toBe(reachedYoga + 1);
        expect(answer.status).toBe(expected.status);
        expect(answer.body).toBe(expected.body);
        expect(answer.headers.get('content-type')).toBe(expected.headers.get('content-type'));
        expect(answer.headers.get('x-cache')).toBe('BYPASS');
        expect(answer.headers.get('cache-control')).toBe('no-store');
      }
      const after = await postQuery(catalog.url, { query: '{ product(id: "105") { name } }' });
      expect([after.status, JSON.parse(after.body)]).toEqual([200, { data: { product: { name: 'Deluxe Lantern' } } }]);
    });

    // The front and the pipeline disagreed: with the query cached, these were answered 200 as
    // hits, where a miss (yoga) refuses them. The front now accepts exactly what yoga accepts.
    it.each([
      ['Content-Type text/json', { 'content-type': 'text/json' }, {}],
      ['a Content-Type that merely contains "json"', { 'content-type': 'application/jsonx' }, {}],
      ['a list of Content-Types yoga reads the first of', { 'content-type': 'text/plain, application/json' }, {}],
      ['variables given as a JSON string', {}, { variables: '{"id": "104"}' }],
      ['variables given as an array', {}, { variables: [] }],
      ['extensions given as a string', {}, { extensions: 'persisted' }],
      ['a parameter yoga does not know', {}, { operation: 'x' }],
    ])('a hit answered 200 for %s, which a miss refuses: now both refuse it alike', async (_name, headers, extra) => {
      const query = "query ($id: ID!) { product(id: $id) { name } }";
      const good = JSON.stringify({ query, variables: { id: '104' } });
      await postRaw(catalog.url, good);
      expect((await postRaw(catalog.url, good)).headers.get('x-cache'), 'the query is cached').toBe('HIT');

      const body = JSON.stringify({ query, variables: { id: '104' }, ...extra });
      const expected = await pipelineAnswer(body, headers);
      expect(expected.status).toBeGreaterThanOrEqual(400);
      const { answer, by } = await lookedUp(() => postRaw(catalog.url, body, headers));
      expect(by, 'the front did not look it up').not.toContain('front');
      expect([answer.status, answer.body]).toEqual([expected.status, expected.body]);
      expect(answer.headers.get('x-cache')).not.toBe('HIT');
    });

    it('a GET with variables that are not a JSON object: refused as yoga refuses it, never a hit', async () => {
      const query = "query ($id: ID!) { product(id: $id) { name } }";
      await getQuery(catalog.url, { query, variables: { id: '104' } });
      const url = `${catalog.url}?${new URLSearchParams({ query, variables: '"104"' })}`;
      const answer = await sendRaw(url, {});
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.headers.get('x-cache')).not.toBe('HIT');
    });

    it('hands a batched array body to yoga, whose half of the cache looks up and caches each operation', async () => {
      const body = JSON.stringify([{ query: '{ product(id: "106") { name } }' }, { query: '{ product(id: "107") { name } }' }]);
      const answers = [];
      for (let i = 0; i < 2; i++) {
        const reachedYoga = spy.requests;
        const { answer, by } = await lookedUp(() => postRaw(catalog.url, body));
        expect(by, 'one lookup per operation, by yoga').toEqual(['yoga', 'yoga']);
        expect(spy.requests, 'yoga handled it').toBe(reachedYoga + 1);
        answers.push(answer);
      }
      expect(JSON.parse(answers[0].body)).toEqual([{ data: { product: { name: 'Deluxe Table' } } }, { data: { product: { name: 'Deluxe Hammock' } } }]);
      expect(answers.map((answer) => answer.headers.get('x-cache'))).toEqual(['MISS', 'HIT']);
      expect(answers[1].body).toBe(answers[0].body);
      expect(answers[1].headers.get('cache-control')).toMatch(/^max-age=\d+, public$/);
    });

    it('answers a body larger than maxBodyBytes (1 MiB) through yoga, and still caches it', async () => {
      // A 2 MiB comment: the text differs, the normalised document (and key) does not.
      const query = `# ${'x'.repeat(2 * 1024 * 1024)}\n{ product(id: "108") { name } }`;
      const { answer: first, by: firstBy } = await lookedUp(() => postQuery(catalog.url, { query }));
      expect(first.status).toBe(200);
      expect(JSON.parse(first.body)).toEqual({ data: { product: { name: 'Deluxe Racket' } } });
      expect(first.headers.get('x-cache')).toBe('MISS');
      const { answer: second, by: secondBy } = await lookedUp(() => postQuery(catalog.url, { query }));
      expect([second.headers.get('x-cache'), second.body]).toEqual(['HIT', first.body]);
      // Looked up by yoga's half of the cache: the front never read the body.
      expect([firstBy, secondBy]).toEqual([['yoga'], ['yoga']]);
      // And the compact text shares the entry.
      expect((await postQuery(catalog.url, { query: '{ product(id: "108") { name } }' })).headers.get('x-cache')).toBe('HIT');
    });

    it('reads a body below maxBodyBytes that arrives in many chunks', async () => {
      const body = Buffer.from(JSON.stringify({ query: `# ${'y'.repeat(256 * 1024)}\n{ product(id: "109") { name } }` }));
      const chunks = Array.from({ length: Math.ceil(body.length / 4096) }, (_, i) => body.subarray(i * 4096, (i + 1) * 4096));
      const send = () => sendRaw(catalog.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chunks });
      const miss = await send();
      expect(JSON.parse(miss.body)).toEqual({ data: { product: { name: 'Deluxe Kite' } } });
      const { answer: hit, by } = await lookedUp(send);
      expect([hit.headers.get('x-cache'), hit.body]).toEqual(['HIT', miss.body]);
      expect(by, 'the hit was answered by the front').toEqual(['front']);
    });

    it('leaves a chunked body larger than maxBodyBytes to yoga, as when its length is declared', async () => {
      // FastPathOptions.maxBodyBytes: "Bodies larger than this go to yoga unread by the front".
      // Without Content-Length the front can only know by counting while it reads: past the
      // limit it should hand the body on to yoga, not buffer all of it and look it up itself.
      const body = Buffer.from(JSON.stringify({ query: `# ${'z'.repeat(1024 * 1024 + 64 * 1024)}\n{ product(id: "110") { name } }` }));
      const chunks = Array.from({ length: Math.ceil(body.length / 65536) }, (_, i) => body.subarray(i * 65536, (i + 1) * 65536));
      const send = () => sendRaw(catalog.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chunks });
      const first = await send();
      expect(JSON.parse(first.body)).toEqual({ data: { product: { name: 'Deluxe Atlas' } } });
      const { answer: second, by } = await lookedUp(send);
      expect([second.headers.get('x-cache'), second.body]).toEqual(['HIT', first.body]);
      expect(by, 'the hit was looked up by yoga, not by the front').toEqual(['yoga']);
    });
  });
});
