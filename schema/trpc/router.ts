/**
 * The catalog over tRPC: the same operations (catalog.ts), repository, DataLoaders and sessions
 * as the GraphQL API, mounted at `/trpc`. With a cache, queries go through its middleware, and
 * mutations evict what they wrote (`cache.evictWrites`) before they answer, by the rules of the
 * GraphQL mutations: so a write through either API is seen by reads through both.
 */
import { TRPCError, type TRPCMiddlewareFunction } from '@trpc/server';
import { trpcCacheMiddleware, type ResponseCache, type TrpcCacheMiddlewareOptions, type Write } from '../../plugins/index.ts';
import * as catalog from '../catalog.ts';
import type { CatalogTrpcContext } from './context.ts';
import { procedure, router } from './init.ts';
import * as inputs from './inputs.ts';
import { authorOutput, categoryOutput, productOutput, reviewOutput, searchResultOutput, viewerOutput } from './outputs.ts';

/** The router's type, for typed clients: `createTRPCClient<AppRouter>(…)`. */
export type AppRouter = ReturnType<typeof createCatalogRouter>;

/** Without a cache (CACHE_ENABLED=false) the same router runs without the middleware and evicts nothing. */
export function createCatalogRouter(cache: ResponseCache | undefined) {
  // The middleware's option types are checked against each procedure's input where it is used.
  const cached = <Input>(options: TrpcCacheMiddlewareOptions<Input>): TRPCMiddlewareFunction<object, unknown, object, object, Input> =>
    cache ? trpcCacheMiddleware(cache, options) : ({ next }) => next();

  /** Evicts what a mutation wrote before it answers; a pending eviction is the mutation's error. */
  async function evicted<T>(ctx: CatalogTrpcContext, writes: Write[], output: T): Promise<T> {
    if (cache && (await cache.evictWrites(writes, ctx)).pending) {
      throw new TRPCError({
        code: 'INTERNAL_SERVER_ERROR',
        message:
          'CACHE_EVICTION_PENDING: the write succeeded, but the cache could not evict the values it changes in time; ' +
          'until a retry does, other instances may serve them as they were.',
      });
    }
    return output;
  }

  return router({
    product: router({
      byId: procedure
        .input(inputs.byId)
        .use(cached({ maxAge: 60, type: 'Product' }))
        .query(async ({ ctx, input }) => {
          const product = await catalog.productById(ctx, input.id);
          if (product === null) return null;
          const [category, reviews] = await Promise.all([ctx.loaders.categoryById.load(product.categoryId), ctx.loaders.reviewsByProductId.load(product.id)]);
          const authors = await ctx.loaders.userById.loadMany(reviews.map((review) => review.authorId));
          return {
            ...productOutput(product),
            category: category && categoryOutput(category),
            reviews: reviews.map((review, i) => {
              const author = authors[i];
              return { ...reviewOutput(review), author: author && !(author instanceof Error) ? authorOutput(author) : null };
            }),
          };
        }),
      list: procedure
        .input(inputs.productList)
        .use(cached({ maxAge: 60, list: ({ categoryId }: { categoryId?: string | null }) => (categoryId ? { field: 'Category.products', parent: categoryId } : 'Query.products') }))
        .query(async ({ ctx, input }) => (await catalog.listProducts(ctx, input)).map(productOutput)),
      create: procedure.input(inputs.productCreate).mutation(async ({ ctx, input }) => {
        const created = await catalog.createProduct(ctx, input);
        return evicted(ctx, [{ type: 'Product', object: created }], productOutput(created));
      }),
      update: procedure.input(inputs.productUpdate).mutation(async ({ ctx, input }) => {
        // Carries its previous version: a move evicts the list of the category it left too.
        const updated = await catalog.updateProduct(ctx, input.id, input.input);
        return evicted(ctx, [{ type: 'Product', object: updated }], productOutput(updated));
      }),
      delete: procedure.input(inputs.byId).mutation(async ({ ctx, input }) => {
        const deleted = await catalog.deleteProduct(ctx, input.id);
        return evicted(ctx, [{ type: 'Product', object: deleted }], productOutput(deleted));
      }),
    }),

    category: router({
      byId: procedure
        .input(inputs.byId)
        .use(cached({ maxAge: 300, type: 'Category' }))
        .query(async ({ ctx, input }) => {
          const category = await catalog.categoryById(ctx, input.id);
          if (category === null) return null;
          return { ...categoryOutput(category), products: (await catalog.categoryProducts(ctx, category)).map(productOutput) };
        }),
      list: procedure.use(cached({ maxAge: 300, list: 'Query.categories' })).query(async ({ ctx }) => (await catalog.listCategories(ctx)).map(categoryOutput)),
    }),

    search: procedure
      .input(inputs.searchText)
      .use(cached({ maxAge: 30, list: 'Query.search' }))
      .query(async ({ ctx, input }) => (await catalog.search(ctx, input.text)).map(searchResultOutput)),

    me: procedure.use(cached({ maxAge: 300, scope: 'PRIVATE', type: 'User' })).query(async ({ ctx }) => {
      const user = await catalog.viewer(ctx);
      return user && viewerOutput(user);
    }),

    review: router({
      add: procedure.input(inputs.reviewAdd).mutation(async ({ ctx, input }) => {
        const review = await catalog.addReview(ctx, input.productId, input.input);
        return evicted(ctx, [{ type: 'Review', object: review }], reviewOutput(review));
      }),
    }),
  });
}
