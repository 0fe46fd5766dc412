/**
 * The inputs of the catalog's procedures, checked by zod for their shape and types. What they
 * mean (ranges, required fields, known categories) is checked by the operations (catalog.ts,
 * validation.ts), so tRPC and GraphQL refuse the same values with the same message.
 */
import { z } from 'zod';

export const byId = z.object({ id: z.string() });

export const productList = z
  .object({
    categoryId: z.string().nullish(),
    first: z.number().int().nullish(),
    offset: z.number().int().nullish(),
  })
  .default({});

export const searchText = z.object({ text: z.string() });

/** As GraphQL's `ProductInput`: absent or null fields keep their value (or are required on create). */
const productInput = z.object({
  name: z.string().nullish(),
  description: z.string().nullish(),
  price: z.number().nullish(),
  stock: z.number().int().nullish(),
  categoryId: z.string().nullish(),
});

export const productCreate = productInput;
export const productUpdate = z.object({ id: z.string(), input: productInput });
export const reviewAdd = z.object({
  productId: z.string(),
  input: z.object({ rating: z.number().int(), body: z.string() }),
});
