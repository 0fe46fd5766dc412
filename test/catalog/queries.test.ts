import { gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, graphQLError, startCatalog, type TestCatalog } from '../helpers/catalog.ts';

// Read-only: one server per backend serves every test in this file.
describe.each(backends)('catalog queries on %s', (backend) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startCatalog(backend);
  });
  afterAll(() => catalog?.close());

  const idsOf = (items: { id: string }[]) => items.map((item) => item.id);

  describe('product', () => {
    it('returns a seeded product with its category', async () => {
      const data = await catalog.client.request(gql`
        {
          product(id: "7") {
            id
            name
            description
            price
            stock
            category {
              id
              name
            }
          }
        }
      `);
      expect(data).toEqual({
        product: {
          id: '7',
          name: 'Classic Tent',
          description: 'Classic tent from our outdoor range.',
          price: 3.58,
          stock: 91,
          category: { id: '7', name: 'Outdoor' },
        },
      });
    });

    it('returns the reviews ordered by id, with authors and the product', async () => {
      const data = await catalog.client.request<{ product: { reviews: unknown[] } }>(gql`
        {
          product(id: "1") {
            reviews {
              id
              rating
              body
              author {
                id
                name
              }
              product {
                id
              }
            }
          }
        }
      `);
      expect(data.product.reviews).toEqual([
        { id: '1', rating: 1, body: 'Broke within a week.', author: { id: '19', name: 'Ivan Jones' }, product: { id: '1' } },
        { id: '2', rating: 3, body: 'Does the job.', author: { id: '30', name: 'Judy Garcia' }, product: { id: '1' } },
        { id: '3', rating: 5, body: 'Excellent, better than expected.', author: { id: '41', name: 'Alice Novak' }, product: { id: '1' } },
        { id: '4', rating: 2, body: 'Not worth the price.', author: { id: '2', name: 'Bob Smith' }, product: { id: '1' } },
        { id: '5', rating: 4, body: 'Very good, would buy again.', author: { id: '13', name: 'Carol Jones' }, product: { id: '1' } },
      ]);
    });

    it.each(['1001', '0', 'abc', '07', '7.0', '-7', '99999999999', ''])('is null for id %j', async (id) => {
      const data = await catalog.client.request(gql`query ($id: ID!) { product(id: $id) { id } }`, { id });
      expect(data).toEqual({ product: null });
    });
  });

  describe('products', () => {
    const productsQuery = gql`
      query ($categoryId: ID, $first: Int, $offset: Int) {
        products(categoryId: $categoryId, first: $first, offset: $offset) {
          id
          category {
            id
          }
        }
      }
    `;
    type ProductsData = { products: { id: string; category: { id: string } }[] };
    const products = (variables: { categoryId?: string; first?: number | null; offset?: number | null } = {}) =>
      catalog.client.request<ProductsData>(productsQuery, variables).then((data) => data.products);

    it('returns the first 20 products ordered by id by default', async () => {
      expect(idsOf(await products())).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 1)));
    });

    it('treats explicit null first/offset as the defaults', async () => {
      expect(idsOf(await products({ first: null, offset: null }))).toEqual(idsOf(await products()));
    });

    it('pages with first and offset', async () => {
      expect(idsOf(await products({ first: 5, offset: 10 }))).toEqual(['11', '12', '13', '14', '15']);
      expect(await products({ first: 0 })).toEqual([]);
      expect(await products({ offset: 1000 })).toEqual([]);
    });

    it('caps first at 100', async () => {
      const page = await products({ first: 1000 });
      expect(page).toHaveLength(100);
      expect(page.at(-1)?.id).toBe('100');
    });

    it('filters by category, ordered by id', async () => {
      const page = await products({ categoryId: '3', first: 4, offset: 1 });
      expect(page).toEqual(['23', '43', '63', '83'].map((id) => ({ id, category: { id: '3' } })));
      expect(await products({ categoryId: '3', first: 100 })).toHaveLength(50);
    });

    it('is empty for an unknown or malformed category', async () => {
      expect(await products({ categoryId: '21' })).toEqual([]);
      expect(await products({ categoryId: 'abc' })).toEqual([]);
    });

    it.each([
      [{ first: -1 }, 'first'],
      [{ offset: -1 }, 'offset'],
      [{ categoryId: '3', first: -5 }, 'first'],
    ])('rejects %j with BAD_USER_INPUT', async (variables, argument) => {
      const error = await graphQLError(products(variables));
      expect(error.code).toBe('BAD_USER_INPUT');
      expect(error.message).toContain(argument);
      expect(error.status).toBe(400);
    });
  });

  describe('category and categories', () => {
    it('lists the 20 categories ordered by id', async () => {
      const data = await catalog.client.request<{ categories: { id: string; name: string }[] }>(
        gql`{ categories { id name } }`,
      );
      expect(data.categories).toHaveLength(20);
      expect(idsOf(data.categories)).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 1)));
      expect(data.categories.slice(0, 3).map((category) => category.name)).toEqual(['Kitchen', 'Garden', 'Office']);
    });

    it("returns a category and a page of its products", async () => {
      const data = await catalog.client.request(gql`
        {
          category(id: "5") {
            id
            name
            products(first: 3, offset: 1) {
              id
              name
            }
          }
        }
      `);
      expect(data).toEqual({
        category: {
          id: '5',
          name: 'Lighting',
          products: [
            { id: '25', name: 'Classic Lantern' },
            { id: '45', name: 'Compact Lamp' },
            { id: '65', name: 'Compact Lantern' },
          ],
        },
      });
    });

    it('serves different pages of different categories in one query', async () => {
      const data = await catalog.client.request<Record<string, { products: { id: string }[] }>>(gql`
        {
          a: category(id: "1") { products { id } }
          b: category(id: "2") { products(first: 2, offset: 48) { id } }
          c: category(id: "1") { products(first: 1000) { id } }
          d: category(id: "3") { products(first: 0) { id } }
        }
      `);
      expect(idsOf(data.a.products)).toEqual(Array.from({ length: 20 }, (_, i) => String(1 + 20 * i)));
      expect(idsOf(data.b.products)).toEqual(['962', '982']);
      expect(data.c.products).toHaveLength(50);
      expect(data.d.products).toEqual([]);
    });

    it('rejects a negative first on Category.products', async () => {
      const error = await graphQLError(catalog.client.request(gql`{ category(id: "1") { products(first: -1) { id } } }`));
      expect(error.code).toBe('BAD_USER_INPUT');
    });

    it.each(['21', 'abc', '0'])('is null for id %j', async (id) => {
      expect(await catalog.client.request(gql`query ($id: ID!) { category(id: $id) { id } }`, { id })).toEqual({
        category: null,
      });
    });
  });

  describe('search', () => {
    type SearchData = { search: { __typename: string; id: string; name: string }[] };
    const search = (text: string) =>
      catalog.client
        .request<SearchData>(
          gql`
            query ($text: String!) {
              search(text: $text) {
                __typename
                ... on Product { id name }
                ... on Category { id name }
              }
            }
          `,
          { text },
        )
        .then((data) => data.search);

    it('finds products by name, case-insensitively, ordered by id', async () => {
      const results = await search('LaMp');
      expect(results).toHaveLength(25);
      expect(results.every((result) => result.__typename === 'Product' && result.name.endsWith(' Lamp'))).toBe(true);
      expect(idsOf(results)).toEqual(Array.from({ length: 25 }, (_, i) => String(5 + 40 * i)));
    });

    it('lists matching products before matching categories', async () => {
      const results = await search('light');
      expect(results).toHaveLength(41);
      expect(results.slice(0, 40).every((result) => result.__typename === 'Product')).toBe(true);
      expect(results[0]).toEqual({ __typename: 'Product', id: '401', name: 'Lightweight Kettle' });
      expect(results[40]).toEqual({ __typename: 'Category', id: '5', name: 'Lighting' });
    });

    it('returns at most 50 products and 50 categories', async () => {
      const results = await search('e');
      const products = results.filter((result) => result.__typename === 'Product');
      expect(products).toHaveLength(50);
      expect(idsOf(products)).toEqual([...idsOf(products)].sort((a, b) => Number(a) - Number(b)));
      expect(results.filter((result) => result.__typename === 'Category').length).toBeGreaterThan(0);
    });

    it('matches LIKE wildcards literally', async () => {
      expect(await search('%')).toEqual([]);
      expect(await search('_')).toEqual([]);
      expect(await search('Heavy-Duty Kettle')).toEqual([{ __typename: 'Product', id: '361', name: 'Heavy-Duty Kettle' }]);
    });
  });

  describe('node', () => {
    it('resolves a product id to the Product', async () => {
      const data = await catalog.client.request(gql`{ node(id: "7") { __typename id ... on Product { name } } }`);
      expect(data).toEqual({ node: { __typename: 'Product', id: '7', name: 'Classic Tent' } });
    });

    it.each(['1001', 'abc', '0'])('is null for id %j', async (id) => {
      expect(await catalog.client.request(gql`query ($id: ID!) { node(id: $id) { id } }`, { id })).toEqual({ node: null });
    });
  });

  describe('me', () => {
    const me = gql`{ me { id name email } }`;

    it('is the user of the demo token', async () => {
      expect(await catalog.clientAs(3).request(me)).toEqual({
        me: { id: '3', name: 'Carol Smith', email: 'carol.smith@example.com' },
      });
      expect(await catalog.clientAs(50).request(me)).toEqual({
        me: { id: '50', name: 'Judy Novak', email: 'judy.novak@example.com' },
      });
    });

    it('is null when signed out, for an unknown user, or for a malformed token', async () => {
      expect(await catalog.client.request(me)).toEqual({ me: null });
      expect(await catalog.clientAs(51).request(me)).toEqual({ me: null });
      expect(await catalog.clientAs('99999999999').request(me)).toEqual({ me: null });
      expect(await catalog.clientAs('03').request(me)).toEqual({ me: null });
    });
  });

  it('serves GraphiQL at /graphql', async () => {
    const response = await fetch(catalog.url, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('GraphiQL');
  });
});
