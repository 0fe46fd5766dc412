import { gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, startCatalog, type TestCatalog } from '../helpers/catalog.ts';

const productsWithEverything = gql`
  query ($first: Int!) {
    products(first: $first) {
      id
      category { id name }
      reviews {
        id
        author { id name }
        product { id name }
      }
    }
  }
`;

type ProductsData = { products: { id: string; category: { id: string }; reviews: { author: { id: string } }[] }[] };

describe.each(backends)('DataLoader batching on %s', (backend) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startCatalog(backend);
  });
  afterAll(() => catalog?.close());

  /**
   * The statements one request sends with nothing cached: the loaders and the cached fields read
   * through the cache, so batching is measured from an empty one (a warm cache sends fewer).
   */
  const statementsFor = async (query: string, variables?: Record<string, unknown>) => {
    await catalog.server.cache?.evictAll();
    const { result, statements } = await catalog.countStatements(() => catalog.client.request<ProductsData>(query, variables));
    return { data: result, statements: statements.map((statement) => statement.sql) };
  };

  it('loads 20 products with categories, reviews and review authors in 4 statements', async () => {
    const { data, statements } = await statementsFor(productsWithEverything, { first: 20 });
    expect(data.products).toHaveLength(20);
    expect(data.products.flatMap((product) => product.reviews)).toHaveLength(100);
    // products, then their categories, their reviews, and the reviews' authors: one each.
    expect(statements).toHaveLength(4);
    expect(statements.filter((sql) => sql.includes('FROM products'))).toHaveLength(1);
    expect(statements.filter((sql) => sql.includes('FROM categories'))).toHaveLength(1);
    expect(statements.filter((sql) => sql.includes('FROM reviews'))).toHaveLength(1);
    expect(statements.filter((sql) => sql.includes('FROM users'))).toHaveLength(1);
  });

  it('runs as many statements for 100 products as for 1', async () => {
    const one = await statementsFor(productsWithEverything, { first: 1 });
    const hundred = await statementsFor(productsWithEverything, { first: 100 });
    expect(hundred.data.products).toHaveLength(100);
    expect(hundred.statements).toHaveLength(one.statements.length);
  });

  it('loads differing pages of products of many categories in one statement', async () => {
    const { data, statements } = await statementsFor(gql`
      {
        categories {
          id
          products(first: 3) {
            id
            category { id }
            reviews { author { id } }
          }
          later: products(first: 2, offset: 10) { id }
        }
      }
    `);
    expect(data).toMatchObject({ categories: expect.arrayContaining([{ id: '4', products: expect.any(Array), later: [{ id: '204' }, { id: '224' }] }]) });
    // categories; the 40 pages; reviews; authors. Product.category is served from the
    // categories already loaded.
    expect(statements).toHaveLength(4);
    expect(statements.filter((sql) => sql.includes('FROM products'))).toHaveLength(1);
  });

  it('loads a row asked for twice in one request once', async () => {
    const { statements } = await statementsFor(gql`
      {
        a: product(id: "7") { name }
        b: product(id: "7") { name }
        c: node(id: "7") { id }
        d: product(id: "8") { name }
      }
    `);
    expect(statements).toHaveLength(1);
  });

  it('answers another document over rows the cache holds without a statement', async () => {
    await statementsFor(productsWithEverything, { first: 20 });
    // `products` caches its page as a field; rows by id are the productById loader's.
    await catalog.client.request(gql`{ a: product(id: "3") { id } b: product(id: "17") { id } }`);
    // Other fields and aliases over products 3 and 17: every row comes from the cache.
    const { statements } = await catalog.countStatements(() =>
      catalog.client.request(gql`
        {
          first: product(id: "3") { name category { name } reviews { rating author { name } } }
          second: product(id: "17") { price reviews { body } }
        }
      `),
    );
    expect(statements).toEqual([]);
  });
});
