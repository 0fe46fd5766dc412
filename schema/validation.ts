import { badUserInput } from './errors.ts';
import { parseId } from './ids.ts';
import type { NewProduct, ProductChanges } from './data/catalog-repository.ts';
import type { InputMaybe, ProductInput, ReviewInput } from './generated/resolvers-types.ts';

/** The most items one list field returns; a larger `first` is lowered to it. */
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

export interface Page {
  first: number;
  offset: number;
}

/** `first`/`offset` arguments; an explicit null means the default. */
export function pageArgs(first: InputMaybe<number> | undefined, offset: InputMaybe<number> | undefined): Page {
  const page = { first: first ?? DEFAULT_PAGE_SIZE, offset: offset ?? 0 };
  if (page.first < 0) throw badUserInput(`expected first to be 0 or more, got ${page.first}`);
  if (page.offset < 0) throw badUserInput(`expected offset to be 0 or more, got ${page.offset}`);
  return { first: Math.min(page.first, MAX_PAGE_SIZE), offset: page.offset };
}

/** An id argument of a mutation: a malformed one is the client's mistake, not a missing row. */
export function requireId(raw: string, argument: string): number {
  const id = parseId(raw);
  if (id === null) throw badUserInput(`expected ${argument} to be a database id such as "7", got ${JSON.stringify(raw)}`);
  return id;
}

/** Checks the fields given; null or absent fields are left out (they keep their value). */
export function productChanges(input: ProductInput): ProductChanges {
  const changes: ProductChanges = {};
  if (input.name != null) {
    changes.name = input.name.trim();
    if (changes.name === '') throw badUserInput('expected name to be non-empty');
  }
  if (input.description != null) changes.description = input.description;
  if (input.price != null) {
    if (!(input.price >= 0)) throw badUserInput(`expected price to be 0 or more, got ${input.price}`);
    changes.price = input.price;
  }
  if (input.stock != null) {
    if (input.stock < 0) throw badUserInput(`expected stock to be 0 or more, got ${input.stock}`);
    changes.stock = input.stock;
  }
  if (input.categoryId != null) changes.categoryId = requireId(input.categoryId, 'categoryId');
  return changes;
}

/** A complete new product: name, price and categoryId are required, the rest defaults. */
export function newProduct(input: ProductInput): NewProduct {
  const { name, price, categoryId, description = '', stock = 0 } = productChanges(input);
  if (name === undefined || price === undefined || categoryId === undefined) {
    const missing = Object.entries({ name, price, categoryId }).filter(([, value]) => value === undefined);
    throw badUserInput(`createProduct requires ${missing.map(([field]) => field).join(', ')}`);
  }
  return { name, price, categoryId, description, stock };
}

export function reviewInput(input: ReviewInput): ReviewInput {
  if (input.rating < 1 || input.rating > 5) throw badUserInput(`expected rating to be from 1 to 5, got ${input.rating}`);
  return input;
}
