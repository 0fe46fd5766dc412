import DataLoader from 'dataloader';
import type { CatalogRepository, CategoryPage } from './data/catalog-repository.ts';
import type { CategoryRow, ProductRow, ReviewRow, UserRow } from './data/rows.ts';

/**
 * Per-request DataLoaders, one per by-id and by-parent lookup: every load in one tick becomes
 * one SQL statement, and a row loaded twice in one request is read once. Never share them
 * between requests: they cache without expiry.
 */
export function createLoaders(repository: CatalogRepository) {
  return {
    productById: new DataLoader<number, ProductRow | null>((ids) => repository.productsByIds(ids)),
    categoryById: new DataLoader<number, CategoryRow | null>((ids) => repository.categoriesByIds(ids)),
    userById: new DataLoader<number, UserRow | null>((ids) => repository.usersByIds(ids)),
    reviewsByProductId: new DataLoader<number, ReviewRow[]>((ids) => repository.reviewsByProductIds(ids)),
    productsByCategory: new DataLoader<CategoryPage, ProductRow[], string>(
      (pages) => repository.productsByCategoryIds(pages),
      { cacheKeyFn: ({ categoryId, first, offset }) => `${categoryId}:${first}:${offset}` },
    ),
  };
}

export type CatalogLoaders = ReturnType<typeof createLoaders>;

/** Forgets everything loaded so far: after a mutation, later fields must see the new rows. */
export function clearLoaders(loaders: CatalogLoaders): void {
  for (const loader of Object.values(loaders)) loader.clearAll();
}
