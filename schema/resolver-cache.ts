/**
 * The catalog's resolver-level caching, in one place: which loaders read through the cache and
 * which fields have their values cached, for how long. Hints stay in the SDL, next to the data
 * they describe; these choices are about where the catalog spends its database time, so they
 * live here, in code, where the server can switch them all on or off at once.
 *
 * Every maxAge here is its type's hint (Product 60, Category 300, Review 120, User 300) or
 * the field's (`search`, 30): no value outlives what an answer holding it may. Each loader's
 * value is tagged by the rules of answers (`type`), so the mutations that evict answers holding
 * Product 7 evict the cached row of Product 7 too, in the same store operation.
 */
import { cacheTags, type CachedFieldConfig, type ResponseCache } from '../plugins/index.ts';
import type { CatalogRepository } from './data/catalog-repository.ts';
import { databaseBatches, type CatalogBatches } from './loaders.ts';

/** Fields whose resolved rows are cached: lists that cost a statement each and repeat across documents. */
export const catalogCachedFields: CachedFieldConfig = {
  'Query.search': { maxAge: 30 },
  'Query.products': { maxAge: 60 },
  'Category.products': { maxAge: 60 },
  'Product.reviews': { maxAge: 120 },
};

/**
 * The loaders' batch functions through `cache`: a nested `Product:7` comes from the cache in
 * any query shape. A page of a category is not among them: `Category.products` caches it as a
 * field. Made once per server (each name once per cache).
 */
export function cachedBatches(repository: CatalogRepository, cache: ResponseCache): CatalogBatches {
  const fromDatabase = databaseBatches(repository);
  return {
    ...fromDatabase,
    // A row's maxAge is its type's. Product.stock says 5 s, but the catalog changes stock only
    // through mutations, which evict the row at once; stock written elsewhere would need 5 here.
    productsByIds: cache.cachedBatch(fromDatabase.productsByIds, { name: 'productById', maxAge: 60, type: 'Product' }),
    categoriesByIds: cache.cachedBatch(fromDatabase.categoriesByIds, { name: 'categoryById', maxAge: 300, type: 'Category' }),
    usersByIds: cache.cachedBatch(fromDatabase.usersByIds, { name: 'userById', maxAge: 300, type: 'User' }),
    reviewsByProductIds: cache.cachedBatch(fromDatabase.reviewsByProductIds, {
      name: 'reviewsByProduct',
      maxAge: 120,
      type: 'Review',
      // The list a new review joins, and the product it hangs on (deleted with its reviews).
      tags: (_reviews, productId) => [cacheTags.list('Product', productId, 'reviews'), cacheTags.entity('Product', productId)],
    }),
  };
}
