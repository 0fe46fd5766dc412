/**
 * The catalog's operations, shared by its two APIs: the GraphQL resolvers (resolvers.ts) and the
 * tRPC procedures (trpc/). Each validates its arguments (validation.ts) and throws the catalog's
 * errors (errors.ts), so both APIs refuse the same input with the same message.
 */
import { readAfterWrite, type CatalogContext } from './context.ts';
import type { CategoryRow, ProductRow, ReviewRow, UserRow } from './data/rows.ts';
import { badUserInput, notFound, unauthenticated } from './errors.ts';
import type { InputMaybe, ProductInput, ReviewInput } from './generated/resolvers-types.ts';
import { parseId } from './ids.ts';
import { newProduct, pageArgs, productChanges, requireId, reviewInput } from './validation.ts';
import { withPreviousVersion } from '../plugins/index.ts';

/** What the operations use of a request's context: the same for GraphQL and tRPC requests. */
export type CatalogServicesContext = Pick<CatalogContext, 'db' | 'repository' | 'loaders' | 'viewerId'>;

export interface ProductListArgs {
  categoryId?: InputMaybe<string>;
  first?: InputMaybe<number>;
  offset?: InputMaybe<number>;
}

/** Lookups by an id the client wrote: one that cannot name a row finds nothing. */
async function loadById<T>(raw: string, load: (id: number) => Promise<T | null>): Promise<T | null> {
  const id = parseId(raw);
  return id === null ? null : load(id);
}

export const productById = ({ loaders }: CatalogServicesContext, id: string): Promise<ProductRow | null> =>
  loadById(id, (productId) => loaders.productById.load(productId));

export const categoryById = ({ loaders }: CatalogServicesContext, id: string): Promise<CategoryRow | null> =>
  loadById(id, (categoryId) => loaders.categoryById.load(categoryId));

/** The signed-in user; null without a valid token. */
export const viewer = ({ loaders, viewerId }: CatalogServicesContext): Promise<UserRow | null> =>
  viewerId === null ? Promise.resolve(null) : loadById(viewerId, (userId) => loaders.userById.load(userId));

/** Products ordered by id, optionally in one category; `first` is capped at 100. */
export async function listProducts({ repository, loaders }: CatalogServicesContext, { categoryId, first, offset }: ProductListArgs): Promise<ProductRow[]> {
  const page = pageArgs(first, offset);
  if (categoryId == null) {
    const products = await repository.listProducts(page);
    for (const product of products) loaders.productById.prime(product.id, product);
    return products;
  }
  const category = parseId(categoryId);
  return category === null ? [] : loaders.productsByCategory.load({ categoryId: category, ...page });
}

/** One page of a category's products. */
export const categoryProducts = ({ loaders }: CatalogServicesContext, category: CategoryRow, first?: InputMaybe<number>, offset?: InputMaybe<number>): Promise<ProductRow[]> =>
  loaders.productsByCategory.load({ categoryId: category.id, ...pageArgs(first, offset) });

export async function listCategories({ repository, loaders }: CatalogServicesContext): Promise<CategoryRow[]> {
  const categories = await repository.listCategories();
  for (const category of categories) loaders.categoryById.prime(category.id, category);
  return categories;
}

/** Products and categories whose name contains `text` (case-insensitive). */
export async function search({ repository }: CatalogServicesContext, text: string): Promise<(ProductRow | CategoryRow)[]> {
  const { products, categories } = await repository.search(text);
  return [...products, ...categories];
}

async function requireCategory(context: CatalogServicesContext, categoryId: number | undefined): Promise<void> {
  if (categoryId === undefined) return;
  const category = await context.loaders.categoryById.load(categoryId);
  if (category === null) throw badUserInput(`unknown category ${categoryId}`);
}

/**
 * After a mutation every loaded row may be stale: read the database alone from now on, and
 * remember the rows the mutation returned so that what reads them next needs no other statement.
 */
function afterMutation(context: CatalogServicesContext, product: ProductRow): void {
  readAfterWrite(context).productById.prime(product.id, product);
}

export async function createProduct(context: CatalogServicesContext, input: ProductInput): Promise<ProductRow> {
  const product = newProduct(input);
  await requireCategory(context, product.categoryId);
  const created = await context.repository.createProduct(product);
  afterMutation(context, created);
  return created;
}

/** The product as updated, carrying the product as it was (`withPreviousVersion`): a move evicts the list it leaves too. */
export async function updateProduct(context: CatalogServicesContext, id: string, input: ProductInput): Promise<ProductRow> {
  const productId = requireId(id, 'id');
  const changes = productChanges(input);
  await requireCategory(context, changes.categoryId);
  const update = await context.repository.updateProduct(productId, changes);
  if (update === null) throw notFound(`no product ${productId}`);
  afterMutation(context, update.after);
  return withPreviousVersion(update.after, update.before);
}

/** Deletes a product and its reviews; returns it as it was, its reviews primed for whoever reads them. */
export async function deleteProduct(context: CatalogServicesContext, id: string): Promise<ProductRow> {
  const productId = requireId(id, 'id');
  const deletion = await context.repository.deleteProduct(productId);
  if (deletion === null) throw notFound(`no product ${productId}`);
  afterMutation(context, deletion.product);
  context.loaders.reviewsByProductId.prime(productId, deletion.reviews);
  return deletion.product;
}

/** Adds a review by the signed-in user. */
export async function addReview(context: CatalogServicesContext, productId: string, input: ReviewInput): Promise<ReviewRow> {
  const authorId = context.viewerId === null ? null : parseId(context.viewerId);
  const author = authorId === null ? null : await context.loaders.userById.load(authorId);
  if (author === null) throw unauthenticated('addReview requires a signed-in user');
  const product = requireId(productId, 'productId');
  const { rating, body } = reviewInput(input);
  const review = await context.repository.addReview({ productId: product, authorId: author.id, rating, body });
  if (review === null) throw notFound(`no product ${product}`);
  readAfterWrite(context).userById.prime(author.id, author);
  return review;
}
