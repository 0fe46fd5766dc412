/**
 * OpenTelemetry spans from the real server, read with the SDK's in-memory exporter: while a
 * tracer provider is registered each GraphQL operation gets a `graphql.cache` span with its
 * outcome, the key's short hash and the store lookup's latency, for a miss, a hit the HTTP
 * front answered, a hit yoga's plugin answered, a coalesced-free bypass; once the provider is
 * gone, none.
 */
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCatalog, type TestCatalog } from '../helpers/catalog.ts';
import { postQuery } from '../helpers/urql.ts';

describe('graphql.cache spans with a tracer provider registered', () => {
  const exporter = new InMemorySpanExporter();
  let catalog: TestCatalog;
  beforeAll(async () => {
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    catalog = await startCatalog('pglite');
  });
  afterAll(async () => {
    trace.disable();
    await catalog?.close();
  });

  const attributesOf = (span: ReadableSpan) => span.attributes;
  const take = () => {
    const spans = exporter.getFinishedSpans().filter((span) => span.name === 'graphql.cache');
    exporter.reset();
    return spans.map(attributesOf);
  };
  const query = 'query Product { product(id: "7") { name } }';

  it('carries the outcome, the key and the store latency of a miss, a front hit and a yoga hit', async () => {
    expect((await postQuery(catalog.url, { query })).headers.get('x-cache')).toBe('MISS');
    const [miss] = take();
    expect((await postQuery(catalog.url, { query })).headers.get('x-cache')).toBe('HIT');
    const [frontHit] = take();
    // Through yoga alone (no HTTP front): the GraphQL plugin answers the hit.
    const viaYoga = await catalog.server.yoga.fetch('http://catalog.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    expect(viaYoga.headers.get('x-cache')).toBe('HIT');
    const [yogaHit] = take();

    for (const [span, outcome] of [[miss, 'miss'], [frontHit, 'hit'], [yogaHit, 'hit']] as const) {
      expect(span).toMatchObject({
        'graphql.cache.outcome': outcome,
        'graphql.operation.name': 'Product',
        'graphql.cache.scope': 'PUBLIC',
      });
      expect(span['graphql.cache.key']).toMatch(/^[0-9a-f]{16}$/);
      expect(span['graphql.cache.store.latency_ms']).toBeGreaterThanOrEqual(0);
    }
    // One key for the three, and the answer's seconds left.
    expect(new Set([miss, frontHit, yogaHit].map((span) => span['graphql.cache.key'])).size).toBe(1);
    expect(miss['graphql.cache.ttl']).toBe(60);
  });

  it('names a bypass, which has no key and read no store', async () => {
    expect((await postQuery(catalog.url, { query: 'mutation Stock { updateProduct(id: "8", input: { stock: 2 }) { id } }' })).headers.get('x-cache')).toBe('BYPASS');
    const [bypass] = take();
    expect(bypass).toEqual({ 'graphql.operation.name': 'Stock', 'graphql.cache.outcome': 'bypass' });
  });

  it('makes no span once no provider is registered', async () => {
    trace.disable();
    try {
      await postQuery(catalog.url, { query: '{ product(id: "9") { name } }' });
      await postQuery(catalog.url, { query: '{ product(id: "9") { name } }' });
      expect(take()).toEqual([]);
    } finally {
      trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    }
  });
});
