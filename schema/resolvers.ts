import type { CategoryRow, ProductRow, ReviewRow, UserRow } from './data/rows.ts';
import type { Resolvers } from './generated/resolvers-types.ts';
import * as catalog from './catalog.ts';

type CatalogRow = ProductRow | CategoryRow | ReviewRow | UserRow;

/** Rows carry no type tag; each type has a column no other type has. */
function typenameOf(row: CatalogRow): 'Product' | 'Category' | 'Review' | 'User' {
  if ('price' in row) return 'Product';
  if ('rating' in row) return 'Review';
  if ('email' in row) return 'User';
  return 'Category';
}

/** The operations themselves are in catalog.ts, shared with the tRPC procedures. */
export const resolvers = {
  Query: {
    // Ids are plain database ids and collide across types, so `node` resolves Product ids.
    node: (_, { id }, context) => catalog.productById(context, id),
    product: (_, { id }, context) => catalog.productById(context, id),
    products: (_, args, context) => catalog.listProducts(context, args),
    category: (_, { id }, context) => catalog.categoryById(context, id),
    categories: (_, __, context) => catalog.listCategories(context),
    search: (_, { text }, context) => catalog.search(context, text),
    me: (_, __, context) => catalog.viewer(context),
  },

  Mutation: {
    createProduct: (_, { input }, context) => catalog.createProduct(context, input),
    // The product carries its previous version: the cache evicts the lists of the category it leaves too.
    updateProduct: (_, { id, input }, context) => catalog.updateProduct(context, id, input),
    deleteProduct: (_, { id }, context) => catalog.deleteProduct(context, id),
    addReview: (_, { productId, input }, context) => catalog.addReview(context, productId, input),
  },

  Node: { __resolveType: typenameOf },
  SearchResult: { __resolveType: (row) => ('price' in row ? 'Product' : 'Category') },

  Product: {
    id: (product) => String(product.id),
    async category(product, _, { loaders }) {
      const category = await loaders.categoryById.load(product.categoryId);
      // A foreign key guarantees the row; its absence is a broken database, not a null.
      if (category === null) throw new Error(`product ${product.id} has no category ${product.categoryId}`);
      return category;
    },
    reviews: (product, _, { loaders }) => loaders.reviewsByProductId.load(product.id),
  },

  Category: {
    id: (category) => String(category.id),
    products: (category, { first, offset }, context) => catalog.categoryProducts(context, category, first, offset),
  },

  Review: {
    id: (review) => String(review.id),
    async author(review, _, { loaders }) {
      const author = await loaders.userById.load(review.authorId);
      if (author === null) throw new Error(`review ${review.id} has no author ${review.authorId}`);
      return author;
    },
    async product(review, _, { loaders }) {
      const product = await loaders.productById.load(review.productId);
      if (product === null) throw new Error(`review ${review.id} has no product ${review.productId}`);
      return product;
    },
  },

  User: {
    id: (user) => String(user.id),
  },
} satisfies Resolvers;
