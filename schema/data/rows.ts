/**
 * Rows as the repository returns them: plain objects, camelCase, numeric ids.
 * codegen.yml maps the GraphQL object types to these, so resolvers receive them as parents.
 */

export interface ProductRow {
  id: number;
  name: string;
  description: string;
  price: number;
  stock: number;
  categoryId: number;
}

export interface CategoryRow {
  id: number;
  name: string;
}

export interface ReviewRow {
  id: number;
  productId: number;
  authorId: number;
  rating: number;
  body: string;
}

export interface UserRow {
  id: number;
  name: string;
  email: string;
}
