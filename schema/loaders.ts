import DataLoader from 'dataloader';
import type { CatalogRepository, CategoryPage } from './data/catalog-repository.ts';
import type { CategoryRow, ProductRow, ReviewRow, UserRow } from './data/rows.ts';

/** The batch functions the loaders call: one SQL statement for any number of keys, results in key order. */
export interface CatalogBatches {
  productsByIds(ids: readonly number[]): Promise<(ProductRow | null | Error)[]>;
  categoriesByIds(ids: readonly number[]): Promise<(CategoryRow | null | Error)[]>;
  usersByIds(ids: readonly number[]): Promise<(UserRow | null | Error)[]>;
  reviewsByProductIds(productIds: readonly number[]): Promise<(ReviewRow[] | Error)[]>;
  productsByCategoryIds(pages: readonly CategoryPage[]): Promise<ProductRow[][]>;
}

/** The batch functions straight on the database. */
export function databaseBatches(repository: CatalogRepository): CatalogBatches {
  return {
    productsByIds: (ids) => repository.productsByIds(ids),
    categoriesByIds: (ids) => repository.categoriesByIds(ids),
    usersByIds: (ids) => repository.usersByIds(ids),
    reviewsByProductIds: (ids) => repository.reviewsByProductIds(ids),
    productsByCategoryIds: (pages) => repository.productsByCategoryIds(pages),
  };
}

/**
 * Per-request DataLoaders, one per by-id and by-parent lookup: every load in one tick becomes
 * one batch call, and a row loaded twice in one request is read once. Never share them between
 * requests: they cache without expiry. `batches` says where rows come from: the database, or
 * the cache in front of it (resolver-cache.ts).
 */
export function createLoaders(batches: CatalogBatches) {
  return {
    productById: new DataLoader<number, ProductRow | null>((ids) => batches.productsByIds(ids)),
    categoryById: new DataLoader<number, CategoryRow | null>((ids) => batches.categoriesByIds(ids)),
    userById: new DataLoader<number, UserRow | null>((ids) => batches.usersByIds(ids)),
    reviewsByProductId: new DataLoader<number, ReviewRow[]>((ids) => batches.reviewsByProductIds(ids)),
    productsByCategory: new DataLoader<CategoryPage, ProductRow[], string>(
      (pages) => batches.productsByCategoryIds(pages),
      { cacheKeyFn: ({ categoryId, first, offset }) => `${categoryId}:${first}:${offset}` },
    ),
  };
}

export type CatalogLoaders = ReturnType<typeof createLoaders>;
