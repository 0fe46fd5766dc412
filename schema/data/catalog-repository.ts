import type { Database, Queryable } from './database.ts';
import type { CategoryRow, ProductRow, ReviewRow, UserRow } from './rows.ts';

/** Search returns at most this many products and this many categories. */
export const SEARCH_LIMIT = 50;

const PRODUCT_COLUMNS = `p.id, p.name, p.description, p.price, p.stock, p.category_id AS "categoryId"`;
const CATEGORY_COLUMNS = `c.id, c.name`;
const REVIEW_COLUMNS = `r.id, r.product_id AS "productId", r.author_id AS "authorId", r.rating, r.body`;
const USER_COLUMNS = `u.id, u.name, u.email`;

/** One page of one category's products, as DataLoader keys for `productsByCategoryIds`. */
export interface CategoryPage {
  categoryId: number;
  first: number;
  offset: number;
}

export interface ProductListOptions {
  categoryId?: number;
  first: number;
  offset: number;
}

export interface NewProduct {
  name: string;
  description: string;
  price: number;
  stock: number;
  categoryId: number;
}

/** Fields left undefined keep their value. */
export type ProductChanges = Partial<NewProduct>;

export interface NewReview {
  productId: number;
  authorId: number;
  rating: number;
  body: string;
}

export interface ProductUpdate {
  before: ProductRow;
  after: ProductRow;
}

export interface ProductDeletion {
  /** The product as it was. */
  product: ProductRow;
  /** Its reviews, deleted with it. */
  reviews: ReviewRow[];
}

export type CatalogRepository = ReturnType<typeof createCatalogRepository>;

/**
 * Every SQL statement of the catalog. The `…ByIds` functions are DataLoader batch functions:
 * one statement for any number of keys, results in key order (null where nothing matched).
 */
export function createCatalogRepository(db: Database) {
  return {
    async productsByIds(ids: readonly number[]): Promise<(ProductRow | null)[]> {
      const rows = await db.query<ProductRow>(
        `SELECT ${PRODUCT_COLUMNS} FROM products p WHERE p.id = ANY($1::int[])`,
        [ids],
      );
      return inKeyOrder(ids, rows, (row) => row.id);
    },

    async categoriesByIds(ids: readonly number[]): Promise<(CategoryRow | null)[]> {
      const rows = await db.query<CategoryRow>(
        `SELECT ${CATEGORY_COLUMNS} FROM categories c WHERE c.id = ANY($1::int[])`,
        [ids],
      );
      return inKeyOrder(ids, rows, (row) => row.id);
    },

    async usersByIds(ids: readonly number[]): Promise<(UserRow | null)[]> {
      const rows = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.id = ANY($1::int[])`, [ids]);
      return inKeyOrder(ids, rows, (row) => row.id);
    },

    /** Each product's reviews, ordered by id. */
    async reviewsByProductIds(productIds: readonly number[]): Promise<ReviewRow[][]> {
      const rows = await db.query<ReviewRow>(
        `SELECT ${REVIEW_COLUMNS} FROM reviews r WHERE r.product_id = ANY($1::int[]) ORDER BY r.id`,
        [productIds],
      );
      return groupedInKeyOrder(productIds, rows, (row) => row.productId);
    },

    /**
     * Each requested page of a category's products, ordered by id, in one statement: the pages
     * are unnested into rows and each is filled by a LIMIT/OFFSET subquery on
     * (category_id, id), so differing `first`/`offset` per key need no extra round trip.
     */
    async productsByCategoryIds(pages: readonly CategoryPage[]): Promise<ProductRow[][]> {
      const rows = await db.query<ProductRow & { page: number }>(
        `SELECT k.page::int AS page, ${PRODUCT_COLUMNS}
         FROM unnest($1::int[], $2::int[], $3::int[]) WITH ORDINALITY AS k(category_id, page_size, skip, page)
         CROSS JOIN LATERAL (
           SELECT * FROM products WHERE products.category_id = k.category_id
           ORDER BY products.id LIMIT k.page_size OFFSET k.skip
         ) p
         ORDER BY k.page, p.id`,
        [pages.map((page) => page.categoryId), pages.map((page) => page.first), pages.map((page) => page.offset)],
      );
      const byPage: ProductRow[][] = pages.map(() => []);
      for (const { page, ...product } of rows) byPage[page - 1].push(product);
      return byPage;
    },

    async listProducts({ categoryId, first, offset }: ProductListOptions): Promise<ProductRow[]> {
      return db.query<ProductRow>(
        `SELECT ${PRODUCT_COLUMNS} FROM products p
         WHERE $1::int IS NULL OR p.category_id = $1::int
         ORDER BY p.id LIMIT $2::int OFFSET $3::int`,
        [categoryId ?? null, first, offset],
      );
    },

    async listCategories(): Promise<CategoryRow[]> {
      return db.query<CategoryRow>(`SELECT ${CATEGORY_COLUMNS} FROM categories c ORDER BY c.id`);
    },

    /** Products, then categories, whose name contains `text` case-insensitively; each by id. */
    async search(text: string): Promise<{ products: ProductRow[]; categories: CategoryRow[] }> {
      const pattern = `%${escapeLike(text)}%`;
      const products = await db.query<ProductRow>(
        `SELECT ${PRODUCT_COLUMNS} FROM products p WHERE p.name ILIKE $1 ESCAPE '\\' ORDER BY p.id LIMIT $2::int`,
        [pattern, SEARCH_LIMIT],
      );
      const categories = await db.query<CategoryRow>(
        `SELECT ${CATEGORY_COLUMNS} FROM categories c WHERE c.name ILIKE $1 ESCAPE '\\' ORDER BY c.id LIMIT $2::int`,
        [pattern, SEARCH_LIMIT],
      );
      return { products, categories };
    },

    async createProduct(product: NewProduct): Promise<ProductRow> {
      const [created] = await db.query<ProductRow>(
        `INSERT INTO products AS p (name, description, price, stock, category_id)
         VALUES ($1, $2, $3::float8, $4::int, $5::int)
         RETURNING ${PRODUCT_COLUMNS}`,
        [product.name, product.description, product.price, product.stock, product.categoryId],
      );
      return created;
    },

    /** Applies `changes` and returns the row before and after; null when there is no such product. */
    async updateProduct(id: number, changes: ProductChanges): Promise<ProductUpdate | null> {
      return db.transaction(async (tx) => {
        const before = await lockProduct(tx, id);
        if (before === null) return null;
        const [after] = await tx.query<ProductRow>(
          `UPDATE products AS p SET
             name = COALESCE($2, p.name),
             description = COALESCE($3, p.description),
             price = COALESCE($4::float8, p.price),
             stock = COALESCE($5::int, p.stock),
             category_id = COALESCE($6::int, p.category_id)
           WHERE p.id = $1::int
           RETURNING ${PRODUCT_COLUMNS}`,
          [
            id,
            changes.name ?? null,
            changes.description ?? null,
            changes.price ?? null,
            changes.stock ?? null,
            changes.categoryId ?? null,
          ],
        );
        return { before, after };
      });
    },

    /** Deletes a product with its reviews; null when there is no such product. */
    async deleteProduct(id: number): Promise<ProductDeletion | null> {
      return db.transaction(async (tx) => {
        const product = await lockProduct(tx, id);
        if (product === null) return null;
        const reviews = await tx.query<ReviewRow>(
          `DELETE FROM reviews AS r WHERE r.product_id = $1::int RETURNING ${REVIEW_COLUMNS}`,
          [id],
        );
        await tx.query('DELETE FROM products WHERE id = $1::int', [id]);
        reviews.sort((a, b) => a.id - b.id);
        return { product, reviews };
      });
    },

    /** Adds a review; null when the product does not exist (anymore). */
    async addReview(review: NewReview): Promise<ReviewRow | null> {
      // INSERT … SELECT makes "the product exists" and the insert one atomic statement, so a
      // concurrent delete yields null instead of a foreign-key error.
      const [created] = await db.query<ReviewRow>(
        `INSERT INTO reviews AS r (product_id, author_id, rating, body)
         SELECT p.id, $2::int, $3::int, $4 FROM products p WHERE p.id = $1::int
         RETURNING ${REVIEW_COLUMNS}`,
        [review.productId, review.authorId, review.rating, review.body],
      );
      return created ?? null;
    },
  };
}

async function lockProduct(tx: Queryable, id: number): Promise<ProductRow | null> {
  const [row] = await tx.query<ProductRow>(`SELECT ${PRODUCT_COLUMNS} FROM products p WHERE p.id = $1::int FOR UPDATE`, [
    id,
  ]);
  return row ?? null;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}

function inKeyOrder<K, R>(keys: readonly K[], rows: readonly R[], keyOf: (row: R) => K): (R | null)[] {
  const byKey = new Map(rows.map((row) => [keyOf(row), row] as const));
  return keys.map((key) => byKey.get(key) ?? null);
}

function groupedInKeyOrder<K, R>(keys: readonly K[], rows: readonly R[], keyOf: (row: R) => K): R[][] {
  const groups = new Map<K, R[]>(keys.map((key) => [key, []]));
  for (const row of rows) groups.get(keyOf(row))?.push(row);
  return keys.map((key) => groups.get(key) ?? []);
}
