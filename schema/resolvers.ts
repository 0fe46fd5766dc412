import { readAfterWrite, type CatalogContext } from './context.ts';
import type { CategoryRow, ProductRow, ReviewRow, UserRow } from './data/rows.ts';
import { badUserInput, notFound, unauthenticated } from './errors.ts';
import type { Resolvers } from './generated/resolvers-types.ts';
import { parseId } from './ids.ts';
import { newProduct, pageArgs, productChanges, requireId, reviewInput } from './validation.ts';
import { withPreviousVersion } from '../plugins/index.ts';

type CatalogRow = ProductRow | CategoryRow | ReviewRow | UserRow;

/** Rows carry no type tag; each type has a column no other type has. */
function typenameOf(row: CatalogRow): 'Product' | 'Category' | 'Review' | 'User' {
  if ('price' in row) return 'Product';
  if ('rating' in row) return 'Review';
  if ('email' in row) return 'User';
  return 'Category';
}

/** Lookups by an id the client wrote: one that cannot name a row finds nothing. */
async function loadById<T>(raw: string, load: (id: number) => Promise<T | null>): Promise<T | null> {
  const id = parseId(raw);
  return id === null ? null : load(id);
}

async function requireCategory(context: CatalogContext, categoryId: number | undefined): Promise<void> {
  if (categoryId === undefined) return;
  const category = await context.loaders.categoryById.load(categoryId);
  if (category === null) throw badUserInput(`unknown category ${categoryId}`);
}

/**
 * After a mutation every loaded row may be stale: read the database alone from now on, and
 * remember the rows the mutation returned so that its selection set reads them without another
 * statement.
 */
function afterMutation(context: CatalogContext, product: ProductRow): void {
  readAfterWrite(context).productById.prime(product.id, product);
}

export const resolvers = {
  Query: {
    // Ids are plain database ids and collide across types, so `node` resolves Product ids.
    node: (_, { id }, { loaders }) => loadById(id, (productId) => loaders.productById.load(productId)),
    product: (_, { id }, { loaders }) => loadById(id, (productId) => loaders.productById.load(productId)),
    async products(_, { categoryId, first, offset }, { repository, loaders }) {
      const page = pageArgs(first, offset);
      if (categoryId == null) {
        const products = await repository.listProducts(page);
        for (const product of products) loaders.productById.prime(product.id, product);
        return products;
      }
      const category = parseId(categoryId);
      return category === null ? [] : loaders.productsByCategory.load({ categoryId: category, ...page });
    },
    category: (_, { id }, { loaders }) => loadById(id, (categoryId) => loaders.categoryById.load(categoryId)),
    async categories(_, __, { repository, loaders }) {
      const categories = await repository.listCategories();
      for (const category of categories) loaders.categoryById.prime(category.id, category);
      return categories;
    },
    async search(_, { text }, { repository }) {
      const { products, categories } = await repository.search(text);
      return [...products, ...categories];
    },
    me: (_, __, { viewerId, loaders }) =>
      viewerId === null ? null : loadById(viewerId, (userId) => loaders.userById.load(userId)),
  },

  Mutation: {
    async createProduct(_, { input }, context) {
      const product = newProduct(input);
      await requireCategory(context, product.categoryId);
      const created = await context.repository.createProduct(product);
      afterMutation(context, created);
      return created;
    },
    async updateProduct(_, { id, input }, context) {
      const productId = requireId(id, 'id');
      const changes = productChanges(input);
      await requireCategory(context, changes.categoryId);
      const update = await context.repository.updateProduct(productId, changes);
      if (update === null) throw notFound(`no product ${productId}`);
      afterMutation(context, update.after);
      // The cache evicts the lists of the category the product leaves, not only the one it joins.
      return withPreviousVersion(update.after, update.before);
    },
    async deleteProduct(_, { id }, context) {
      const productId = requireId(id, 'id');
      const deletion = await context.repository.deleteProduct(productId);
      if (deletion === null) throw notFound(`no product ${productId}`);
      // The answer shows the product as it was, reviews included.
      afterMutation(context, deletion.product);
      context.loaders.reviewsByProductId.prime(productId, deletion.reviews);
      return deletion.product;
    },
    async addReview(_, { productId, input }, context) {
      const authorId = context.viewerId === null ? null : parseId(context.viewerId);
      const author = authorId === null ? null : await context.loaders.userById.load(authorId);
      if (author === null) throw unauthenticated('addReview requires a signed-in user');
      const product = requireId(productId, 'productId');
      const { rating, body } = reviewInput(input);
      const review = await context.repository.addReview({ productId: product, authorId: author.id, rating, body });
      if (review === null) throw notFound(`no product ${product}`);
      readAfterWrite(context).userById.prime(author.id, author);
      return review;
    },
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
    products: (category, { first, offset }, { loaders }) =>
      loaders.productsByCategory.load({ categoryId: category.id, ...pageArgs(first, offset) }),
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
