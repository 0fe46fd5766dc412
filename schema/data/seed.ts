import type { Queryable } from './database.ts';

/**
 * The demo catalog, generated in SQL from fixed word lists so that every start produces the
 * same rows on PostgreSQL and PGlite alike, in a few statements.
 *
 * Category k sells nouns k and k + 20; product i is adjective ⌈i / 40⌉ with noun ((i - 1) mod 40) + 1,
 * so the 1000 names are distinct and each of the 20 categories holds 50 products.
 */
export const SEED_SIZE = {
  categories: 20,
  products: 1000,
  reviewsPerProduct: 5,
  users: 50,
} as const;

const categoryNames = [
  'Kitchen', 'Garden', 'Office', 'Audio', 'Lighting', 'Furniture', 'Outdoor', 'Sports', 'Toys', 'Books',
  'Bath', 'Travel', 'Tools', 'Pets', 'Bedding', 'Clothing', 'Footwear', 'Cycling', 'Music', 'Games',
];

const nouns = [
  'Kettle', 'Shovel', 'Stapler', 'Speaker', 'Lamp', 'Chair', 'Tent', 'Football', 'Puzzle', 'Novel',
  'Towel', 'Backpack', 'Hammer', 'Leash', 'Pillow', 'Jacket', 'Boot', 'Helmet', 'Guitar', 'Chess Set',
  'Skillet', 'Planter', 'Notebook', 'Headphones', 'Lantern', 'Table', 'Hammock', 'Racket', 'Kite', 'Atlas',
  'Bathrobe', 'Suitcase', 'Wrench', 'Collar', 'Blanket', 'Sweater', 'Sneaker', 'Bell', 'Ukulele', 'Dice Set',
];

const adjectives = [
  'Classic', 'Compact', 'Deluxe', 'Durable', 'Elegant', 'Essential', 'Everyday', 'Foldable', 'Handmade',
  'Heavy-Duty', 'Lightweight', 'Modern', 'Portable', 'Premium', 'Recycled', 'Rustic', 'Sleek', 'Smart',
  'Sturdy', 'Tiny', 'Vintage', 'Waterproof', 'Wooden', 'Cozy', 'Bold',
];

const firstNames = ['Alice', 'Bob', 'Carol', 'Dave', 'Erin', 'Frank', 'Grace', 'Heidi', 'Ivan', 'Judy'];
const lastNames = ['Smith', 'Jones', 'Garcia', 'Chen', 'Novak'];

/** Indexed by rating. */
const reviewBodies = [
  'Broke within a week.',
  'Not worth the price.',
  'Does the job.',
  'Very good, would buy again.',
  'Excellent, better than expected.',
];

/** Seeds the catalog when it holds no rows at all; returns whether it did. */
export async function seedIfEmpty(tx: Queryable): Promise<boolean> {
  const [{ empty }] = await tx.query<{ empty: boolean }>(
    `SELECT NOT (EXISTS (SELECT 1 FROM categories) OR EXISTS (SELECT 1 FROM products)
              OR EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM reviews)) AS empty`,
  );
  if (!empty) return false;

  await tx.query(
    `INSERT INTO categories (id, name)
     SELECT i, ($1::text[])[i] FROM generate_series(1, $2::int) AS i`,
    [categoryNames, SEED_SIZE.categories],
  );
  await tx.query(
    `INSERT INTO users (id, name, email)
     SELECT i, first || ' ' || last, lower(first) || '.' || lower(last) || '@example.com'
     FROM generate_series(1, $3::int) AS i,
          LATERAL (SELECT ($1::text[])[1 + (i - 1) % 10] AS first, ($2::text[])[1 + (i - 1) / 10] AS last) AS n`,
    [firstNames, lastNames, SEED_SIZE.users],
  );
  await tx.query(
    `INSERT INTO products (id, name, description, price, stock, category_id)
     SELECT i,
            adjective || ' ' || noun,
            adjective || ' ' || lower(noun) || ' from our ' || lower(($3::text[])[category]) || ' range.',
            round(((i * 37) % 9900 + 99) / 100.0, 2)::float8,
            (i * 13) % 101,
            category
     FROM generate_series(1, $4::int) AS i,
          LATERAL (SELECT ($1::text[])[1 + (i - 1) / 40] AS adjective,
                          ($2::text[])[1 + (i - 1) % 40] AS noun,
                          1 + (i - 1) % 20 AS category) AS w`,
    [adjectives, nouns, categoryNames, SEED_SIZE.products],
  );
  await tx.query(
    `INSERT INTO reviews (id, product_id, author_id, rating, body)
     SELECT (p - 1) * $3::int + k, p, 1 + (p * 7 + k * 11) % $4::int, rating, ($1::text[])[rating]
     FROM generate_series(1, $2::int) AS p,
          generate_series(1, $3::int) AS k,
          LATERAL (SELECT 1 + (p * 3 + k * 2) % 5 AS rating) AS r`,
    [reviewBodies, SEED_SIZE.products, SEED_SIZE.reviewsPerProduct, SEED_SIZE.users],
  );
  // The seed chose its ids itself, so the identity sequences must be moved past them:
  // the first product created afterwards gets id 1001.
  for (const table of ['categories', 'users', 'products', 'reviews']) {
    await tx.query(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), (SELECT max(id) FROM ${table}))`);
  }
  return true;
}
