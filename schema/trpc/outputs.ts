/**
 * What the procedures answer: plain objects shaped like the GraphQL types (ids as strings,
 * fields by the same names), so the cache tags them by the schema as it tags answers, and so a
 * client sees the same ids through both APIs.
 */
import type { CategoryRow, ProductRow, ReviewRow, UserRow } from '../data/rows.ts';

export const productOutput = (row: ProductRow) => ({
  id: String(row.id),
  name: row.name,
  description: row.description,
  price: row.price,
  stock: row.stock,
  categoryId: String(row.categoryId),
});

export const categoryOutput = (row: CategoryRow) => ({ id: String(row.id), name: row.name });

export const reviewOutput = (row: ReviewRow) => ({
  id: String(row.id),
  rating: row.rating,
  body: row.body,
  productId: String(row.productId),
  authorId: String(row.authorId),
});

/** A review's author, as anyone may see them: no email. */
export const authorOutput = (row: UserRow) => ({ id: String(row.id), name: row.name });

/** The signed-in user, email included: PRIVATE. */
export const viewerOutput = (row: UserRow) => ({ ...authorOutput(row), email: row.email });

/** A search result says its type, as the `SearchResult` union needs. */
export const searchResultOutput = (row: ProductRow | CategoryRow) =>
  'price' in row ? { __typename: 'Product' as const, ...productOutput(row) } : { __typename: 'Category' as const, ...categoryOutput(row) };
