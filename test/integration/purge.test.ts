/**
 * The operators' purge endpoint (`POST /cache/purge`) on the real server: only the configured
 * bearer token purges, each command drops exactly what it names, and a refused or malformed
 * request drops nothing. Each test caches its own answers right before it purges, so the
 * purges of earlier tests do not matter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCatalog, type TestCatalog } from '../helpers/catalog.ts';
import { createUrqlClient, sendRaw, type CapturedResponse, type UrqlTestClient } from '../helpers/urql.ts';

const TOKEN = 'purge-token-0123456789abcdef';

function purgeUrl(catalog: TestCatalog): string {
  return new URL('/cache/purge', catalog.url).toString();
}

function purge(catalog: TestCatalog, body: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) {
  return sendRaw(purgeUrl(catalog), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

const json = (response: CapturedResponse) => JSON.parse(response.body);

/** Makes sure each query is cached (a test may find it cached by an earlier one). */
async function cacheAll(client: UrqlTestClient, queries: string[]) {
  for (const query of queries) {
    expect(['MISS', 'HIT'], query).toContain((await client.query(query)).xcache);
    expect((await client.query(query)).xcache, query).toBe('HIT');
  }
}

async function xcacheOf(client: UrqlTestClient, queries: string[]) {
  const statuses: Record<string, string | null> = {};
  for (const query of queries) statuses[query] = (await client.query(query)).xcache;
  return statuses;
}

const all = (queries: string[], status: string) => Object.fromEntries(queries.map((query) => [query, status]));

describe('POST /cache/purge with CACHE_PURGE_TOKEN set', () => {
  let catalog: TestCatalog;
  let client: UrqlTestClient;
  beforeAll(async () => {
    catalog = await startCatalog('pglite', { env: { CACHE_PURGE_TOKEN: TOKEN } });
    client = createUrqlClient(catalog.url);
  });
  afterAll(() => catalog?.close());

  const ENTITY_7 = JSON.stringify({ entity: { type: 'Product', id: '7' } });

  it('refuses a request without Authorization (401) and evicts nothing', async () => {
    const cached = ['{ product(id: "7") { name } }'];
    await cacheAll(client, cached);
    const refused = await purge(catalog, ENTITY_7, {});
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(await xcacheOf(client, cached)).toEqual(all(cached, 'HIT'));
  });

  it.each([
    ['a wrong token', `Bearer ${TOKEN}x`],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, -1)}`],
    ['another scheme', `Basic ${Buffer.from(`ops:${TOKEN}`).toString('base64')}`],
  ])('refuses %s (403 or 401) and evicts nothing', async (_name, authorization) => {
    const cached = ['{ product(id: "7") { description } }'];
    await cacheAll(client, cached);
    const refused = await purge(catalog, ENTITY_7, { authorization });
    expect([401, 403]).toContain(refused.status);
    if (authorization.startsWith('Bearer')) expect(refused.status).toBe(403);
    expect(await xcacheOf(client, cached)).toEqual(all(cached, 'HIT'));
  });

  it('purges every answer containing one entity, and only those', async () => {
    const withProduct7 = [
      '{ product(id: "7") { name price } }',
      '{ category(id: "7") { products { id } } }',
      '{ products { name } }',
    ];
    const without = ['{ product(id: "8") { name price } }', '{ category(id: "3") { name } }', '{ categories { name } }'];
    await cacheAll(client, [...withProduct7, ...without]);

    const purged = await purge(catalog, ENTITY_7);
    expect(purged.status).toBe(200);
    expect(purged.headers.get('cache-control')).toBe('no-store');
    expect(json(purged)).toMatchObject({ purged: 'entity' });
    // Earlier tests' answers about product 7 count too.
    expect(json(purged).evicted).toBeGreaterThanOrEqual(withProduct7.length);

    expect(await xcacheOf(client, withProduct7)).toEqual(all(withProduct7, 'MISS'));
    expect(await xcacheOf(client, without)).toEqual(all(without, 'HIT'));
  });

  it('purges every answer with any object of a type: {"type":"Category"}', async () => {
    const withCategories = [
      '{ category(id: "2") { name } }',
      '{ categories { id } }',
      '{ product(id: "9") { category { name } } }',
      '{ search(text: "garden") { ... on Category { name } } }',
    ];
    const without = ['{ product(id: "10") { name } }', '{ products(first: 3) { id } }'];
    await cacheAll(client, [...withCategories, ...without]);

    const purged = await purge(catalog, JSON.stringify({ type: 'Category' }));
    expect(purged.status).toBe(200);
    expect(json(purged)).toMatchObject({ purged: 'type' });
    expect(json(purged).evicted).toBeGreaterThanOrEqual(withCategories.length);

    expect(await xcacheOf(client, withCategories)).toEqual(all(withCategories, 'MISS'));
    expect(await xcacheOf(client, without)).toEqual(all(without, 'HIT'));
  });

  it('purges everything: {"all":true}', async () => {
    const cached = ['{ product(id: "11") { name } }', '{ category(id: "11") { name } }', '{ categories { name } }'];
    await cacheAll(client, cached);
    const purged = await purge(catalog, JSON.stringify({ all: true }));
    expect([purged.status, json(purged)]).toEqual([200, { purged: 'all', pending: false }]);
    expect(await xcacheOf(client, cached)).toEqual(all(cached, 'MISS'));
  });

  it.each([
    ['a body that is not JSON', '{"entity": '],
    ['an empty object', '{}'],
    ['JSON null', 'null'],
    ['an entity without an id', JSON.stringify({ entity: { type: 'Product' } })],
    ['an entity with an object id', JSON.stringify({ entity: { type: 'Product', id: { $ne: 1 } } })],
    ['all that is not true', JSON.stringify({ all: 'yes' })],
  ])('answers 400 to %s and evicts nothing', async (_name, body) => {
    const cached = ['{ product(id: "12") { name } }'];
    await cacheAll(client, cached);
    const refused = await purge(catalog, body);
    expect(refused.status).toBe(400);
    expect(json(refused).error).toEqual(expect.any(String));
    expect(await xcacheOf(client, cached)).toEqual(all(cached, 'HIT'));
  });

  it.each([
    ['an unknown type', JSON.stringify({ type: 'Produkt' })],
    ['an unknown entity type', JSON.stringify({ entity: { type: 'Produkt', id: '7' } })],
    ['an entity of a type without ids (a union)', JSON.stringify({ entity: { type: 'SearchResult', id: '7' } })],
  ])('answers 400 to %s, naming it, and evicts nothing', async (_name, body) => {
    const cached = ['{ product(id: "7") { stock } }'];
    await cacheAll(client, cached);
    const refused = await purge(catalog, body);
    expect(refused.status).toBe(400);
    expect(json(refused).error).toMatch(/Produkt|SearchResult/);
    expect(await xcacheOf(client, cached)).toEqual(all(cached, 'HIT'));
  });

  it('answers 405 to a GET', async () => {
    const refused = await sendRaw(purgeUrl(catalog), { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(refused.status).toBe(405);
    expect(refused.headers.get('allow')).toBe('POST');
  });
});

describe('POST /cache/purge without CACHE_PURGE_TOKEN', () => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startCatalog('pglite');
  });
  afterAll(() => catalog?.close());

  it('does not exist (404), whatever the token, and evicts nothing', async () => {
    const client = createUrqlClient(catalog.url);
    const cached = ['{ product(id: "7") { name } }'];
    await cacheAll(client, cached);
    for (const headers of [{}, { authorization: `Bearer ${TOKEN}` }] as Record<string, string>[]) {
      const answer = await purge(catalog, JSON.stringify({ all: true }), headers);
      expect(answer.status).toBe(404);
    }
    expect(await xcacheOf(client, cached)).toEqual(all(cached, 'HIT'));
  });
});
