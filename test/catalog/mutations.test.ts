import { gql } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, graphQLError, startCatalog, type TestCatalog } from '../helpers/catalog.ts';

const PRODUCT_FIELDS = gql`
  fragment ProductFields on Product {
    id
    name
    description
    price
    stock
    category {
      id
    }
  }
`;

interface ProductData {
  id: string;
  name: string;
  description: string;
  price: number;
  stock: number;
  category: { id: string };
}

interface ProductInput {
  name?: string | null;
  description?: string | null;
  price?: number | null;
  stock?: number | null;
  categoryId?: string | null;
}

// Each backend gets its own database: these tests write. Tests use products they create, or
// seeded products no other test reads, so their order only matters for the first id.
describe.each(backends)('catalog mutations on %s', (backend) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startCatalog(backend);
  });
  afterAll(() => catalog?.close());

  const createProduct = (input: ProductInput) =>
    catalog.client
      .request<{ createProduct: ProductData }>(
        gql`
          ${PRODUCT_FIELDS}
          mutation ($input: ProductInput!) {
            createProduct(input: $input) {
              ...ProductFields
            }
          }
        `,
        { input },
      )
      .then((data) => data.createProduct);

  const updateProduct = (id: string, input: ProductInput) =>
    catalog.client
      .request<{ updateProduct: ProductData }>(
        gql`
          ${PRODUCT_FIELDS}
          mutation ($id: ID!, $input: ProductInput!) {
            updateProduct(id: $id, input: $input) {
              ...ProductFields
            }
          }
        `,
        { id, input },
      )
      .then((data) => data.updateProduct);

  const deleteProduct = (id: string) =>
    catalog.client
      .request<{ deleteProduct: ProductData & { reviews: { id: string }[] } }>(
        gql`
          ${PRODUCT_FIELDS}
          mutation ($id: ID!) {
            deleteProduct(id: $id) {
              ...ProductFields
              reviews {
                id
              }
            }
          }
        `,
        { id },
      )
      .then((data) => data.deleteProduct);

  const readProduct = (id: string) =>
    catalog.client
      .request<{ product: ProductData | null }>(
        gql`
          ${PRODUCT_FIELDS}
          query ($id: ID!) {
            product(id: $id) {
              ...ProductFields
            }
          }
        `,
        { id },
      )
      .then((data) => data.product);

  const categoryProductIds = (categoryId: string) =>
    catalog.client
      .request<{ products: { id: string }[] }>(
        gql`query ($categoryId: ID!) { products(categoryId: $categoryId, first: 100) { id } }`,
        { categoryId },
      )
      .then((data) => data.products.map((product) => product.id));

  const addReview = (client: TestCatalog['client'], productId: string, input: { rating: number; body: string }) =>
    client.request<{ addReview: { id: string; rating: number; body: string; author: { id: string }; product: { id: string } } }>(
      gql`
        mutation ($productId: ID!, $input: ReviewInput!) {
          addReview(productId: $productId, input: $input) {
            id
            rating
            body
            author {
              id
            }
            product {
              id
            }
          }
        }
      `,
      { productId, input },
    );

  describe('createProduct', () => {
    it('gives the first created product id 1001: the seed moved the sequence on', async () => {
      const created = await createProduct({ name: 'First New', price: 1, categoryId: '1' });
      expect(created.id).toBe('1001');
    });

    it('creates a product with trimmed name and default description and stock', async () => {
      const created = await createProduct({ name: '  Garden Gnome  ', price: 12.5, categoryId: '2' });
      expect(created).toEqual({
        id: expect.stringMatching(/^\d+$/),
        name: 'Garden Gnome',
        description: '',
        price: 12.5,
        stock: 0,
        category: { id: '2' },
      });
      expect(await readProduct(created.id)).toEqual(created);
      expect((await categoryProductIds('2')).at(-1)).toBe(created.id);
    });

    it('stores every given field', async () => {
      const created = await createProduct({
        name: 'Desk Fan',
        description: 'Quiet.',
        price: 0,
        stock: 3,
        categoryId: '3',
      });
      expect(created).toMatchObject({ name: 'Desk Fan', description: 'Quiet.', price: 0, stock: 3, category: { id: '3' } });
    });

    it('reads back the page it joined when two creations in one request load the same list', async () => {
      const data = await catalog.client.request<Record<'a' | 'b', { id: string; category: { products: { id: string }[] } }>>(gql`
        mutation {
          a: createProduct(input: { name: "Twin A", price: 1, categoryId: "19" }) {
            id
            category { products(first: 100) { id } }
          }
          b: createProduct(input: { name: "Twin B", price: 1, categoryId: "19" }) {
            id
            category { products(first: 100) { id } }
          }
        }
      `);
      expect(data.a.category.products.map((product) => product.id)).toContain(data.a.id);
      expect(data.b.category.products.map((product) => product.id)).toEqual(
        expect.arrayContaining([data.a.id, data.b.id]),
      );
    });

    it.each<[string, ProductInput, string]>([
      ['no name, price or category', {}, 'createProduct requires name, price, categoryId'],
      ['no price', { name: 'X', categoryId: '1' }, 'createProduct requires price'],
      ['a null name', { name: null, price: 1, categoryId: '1' }, 'createProduct requires name'],
      ['a blank name', { name: '   ', price: 1, categoryId: '1' }, 'name'],
      ['a negative price', { name: 'X', price: -0.01, categoryId: '1' }, 'price'],
      ['a negative stock', { name: 'X', price: 1, stock: -1, categoryId: '1' }, 'stock'],
      ['an unknown category', { name: 'X', price: 1, categoryId: '21' }, 'unknown category 21'],
      ['a malformed category id', { name: 'X', price: 1, categoryId: 'abc' }, 'categoryId'],
    ])('rejects %s with BAD_USER_INPUT and creates nothing', async (_, input, message) => {
      const before = await categoryProductIds('1');
      const error = await graphQLError(createProduct(input));
      expect(error).toMatchObject({ code: 'BAD_USER_INPUT', status: 400 });
      expect(error.message).toContain(message);
      expect(await categoryProductIds('1')).toEqual(before);
    });
  });

  describe('updateProduct', () => {
    it('changes the given fields, keeps the others, and moves the product between categories', async () => {
      const before = await readProduct('101');
      expect(before?.category.id).toBe('1');
      const updated = await updateProduct('101', { price: 9.99, stock: null, categoryId: '4', name: ' Renamed ' });
      expect(updated).toEqual({ ...before, name: 'Renamed', price: 9.99, category: { id: '4' } });
      expect(await readProduct('101')).toEqual(updated);
      expect(await categoryProductIds('1')).not.toContain('101');
      expect(await categoryProductIds('4')).toContain('101');
    });

    it('returns the product unchanged for an empty input', async () => {
      const before = await readProduct('102');
      expect(await updateProduct('102', {})).toEqual(before);
    });

    it('is NOT_FOUND for an unknown product', async () => {
      expect(await graphQLError(updateProduct('5000', { price: 1 }))).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    });

    it.each<[string, string, ProductInput]>([
      ['a malformed id', 'abc', { price: 1 }],
      ['a blank name', '103', { name: '' }],
      ['a negative price', '103', { price: -1 }],
      ['a negative stock', '103', { stock: -1 }],
      ['an unknown category', '103', { categoryId: '999' }],
    ])('rejects %s with BAD_USER_INPUT and changes nothing', async (_, id, input) => {
      const before = await readProduct('103');
      expect(await graphQLError(updateProduct(id, input))).toMatchObject({ code: 'BAD_USER_INPUT', status: 400 });
      expect(await readProduct('103')).toEqual(before);
    });
  });

  describe('deleteProduct', () => {
    it('deletes a product with its reviews and returns it as it was', async () => {
      const before = await readProduct('200');
      const deleted = await deleteProduct('200');
      expect(deleted).toEqual({ ...before, reviews: ['996', '997', '998', '999', '1000'].map((id) => ({ id })) });
      expect(await readProduct('200')).toBeNull();
      expect(await catalog.client.request(gql`{ node(id: "200") { id } }`)).toEqual({ node: null });
      expect(await categoryProductIds('20')).not.toContain('200');
    });

    it('is NOT_FOUND the second time', async () => {
      await deleteProduct('201');
      expect(await graphQLError(deleteProduct('201'))).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    });

    it('rejects a malformed id with BAD_USER_INPUT', async () => {
      expect(await graphQLError(deleteProduct('2.5'))).toMatchObject({ code: 'BAD_USER_INPUT', status: 400 });
    });
  });

  describe('addReview', () => {
    const reviewIds = (productId: string) =>
      catalog.client
        .request<{ product: { reviews: { id: string }[] } }>(gql`query ($id: ID!) { product(id: $id) { reviews { id } } }`, {
          id: productId,
        })
        .then((data) => data.product.reviews.map((review) => review.id));

    it('adds a review by the signed-in user, last in the product’s reviews', async () => {
      const { addReview: review } = await addReview(catalog.clientAs(3), '300', { rating: 5, body: 'Great.' });
      expect(review).toEqual({
        id: expect.stringMatching(/^\d+$/),
        rating: 5,
        body: 'Great.',
        author: { id: '3' },
        product: { id: '300' },
      });
      expect(Number(review.id)).toBeGreaterThan(5000);
      expect(await reviewIds('300')).toEqual(['1496', '1497', '1498', '1499', '1500', review.id]);
    });

    it.each<[string, Record<string, string>]>([
      ['no Authorization header', {}],
      ['a token of no user', { authorization: 'Bearer token-51' }],
      ['a malformed token', { authorization: 'Bearer token-03' }],
      ['another scheme', { authorization: 'Basic token-3' }],
    ])('is UNAUTHENTICATED with %s and adds nothing', async (_, headers) => {
      const client = catalog.clientAs(1);
      client.setHeaders(headers);
      const error = await graphQLError(addReview(client, '301', { rating: 3, body: 'x' }));
      expect(error).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
      expect(await reviewIds('301')).toHaveLength(5);
    });

    it.each([0, 6, -1])('rejects rating %d with BAD_USER_INPUT', async (rating) => {
      const error = await graphQLError(addReview(catalog.clientAs(3), '302', { rating, body: 'x' }));
      expect(error).toMatchObject({ code: 'BAD_USER_INPUT', status: 400 });
      expect(error.message).toContain('rating');
      expect(await reviewIds('302')).toHaveLength(5);
    });

    it('rejects a rating that is not an integer', async () => {
      const error = await graphQLError(addReview(catalog.clientAs(3), '302', { rating: 3.5, body: 'x' }));
      expect(error.message).toContain('Int cannot represent non-integer value: 3.5');
      expect(await reviewIds('302')).toHaveLength(5);
    });

    it('is NOT_FOUND for an unknown product and BAD_USER_INPUT for a malformed id', async () => {
      const client = catalog.clientAs(3);
      expect(await graphQLError(addReview(client, '5000', { rating: 3, body: 'x' }))).toMatchObject({
        code: 'NOT_FOUND',
        status: 404,
      });
      expect(await graphQLError(addReview(client, 'abc', { rating: 3, body: 'x' }))).toMatchObject({
        code: 'BAD_USER_INPUT',
        status: 400,
      });
    });
  });
});
