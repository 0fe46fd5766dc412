import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCatalogRepository } from '../../schema/data/catalog-repository.ts';
import { openDatabase, type Database } from '../../schema/data/database.ts';
import { prepareDatabase } from '../../schema/data/migrate.ts';
import { openPglite, type PgliteDatabase } from '../../schema/data/pglite.ts';
import { loadConfig } from '../../server/config.ts';
import {
  backends,
  createThrowawayDatabase,
  requirePostgresUrl,
  seededPgliteSnapshot,
  type Backend,
} from '../helpers/catalog.ts';

/** md5 of every seeded table as PostgreSQL prints its rows: pins the seed, byte for byte, on both backends. */
const SEED_FINGERPRINT = {
  categories: '30b31d8203258503fdec7c8aa1fc535c',
  users: '547c1c233fc0d83ed09084c70bd3a3f8',
  products: '9c2168b47d23cb0708079092912a7fc3',
  reviews: 'bb53ab6c3dccd55badb1f032c6356c8b',
};

async function fingerprint(db: Database) {
  const [row] = await db.query<typeof SEED_FINGERPRINT>(
    `SELECT ${Object.keys(SEED_FINGERPRINT)
      .map((table) => `(SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM ${table} t) AS ${table}`)
      .join(', ')}`,
  );
  return row;
}

async function counts(db: Database) {
  const [row] = await db.query<Record<string, number>>(
    `SELECT (SELECT count(*)::int FROM products) AS products,
            (SELECT count(*)::int FROM categories) AS categories,
            (SELECT count(*)::int FROM reviews) AS reviews,
            (SELECT count(*)::int FROM users) AS users,
            (SELECT count(*)::int FROM (SELECT 1 FROM products GROUP BY category_id HAVING count(*) = 50) c) AS "categoriesWith50",
            (SELECT count(*)::int FROM (SELECT 1 FROM reviews GROUP BY product_id HAVING count(*) = 5) p) AS "productsWith5Reviews"`,
  );
  return row;
}

const newProduct = (name: string) => ({ name, description: '', price: 1, stock: 1, categoryId: 1 });

describe.each(backends)('database start-up on %s', (backend) => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    // Every cleanup runs, last registered first, even when an earlier one fails.
    const errors: unknown[] = [];
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => errors.push(error));
    if (errors.length > 0) throw errors[0];
  });

  /** Closes the database after the test, whatever happens. */
  async function track<T extends Database>(opening: Promise<T>): Promise<T> {
    const db = await opening;
    cleanups.push(() => db.close());
    return db;
  }

  /**
   * An empty database, and a restart of it: a throw-away PostgreSQL database opened again,
   * or an in-memory PGlite reopened from a dump of its data directory (initdb onto disk is
   * three times slower; the data-directory test below covers disk).
   */
  async function openRestartable(): Promise<{ db: Database; restart(): Promise<Database> }> {
    if (backend === 'postgres') {
      const database = await createThrowawayDatabase(requirePostgresUrl());
      cleanups.push(database.drop);
      const db = await track(openDatabase({ databaseUrl: database.url }));
      return {
        db,
        async restart() {
          await db.close();
          return track(openDatabase({ databaseUrl: database.url }));
        },
      };
    }
    const db: PgliteDatabase = await track(openPglite());
    return {
      db,
      async restart() {
        const dump = await db.dump();
        await db.close();
        return track(openPglite({ snapshot: dump }));
      },
    };
  }

  it('migrates and seeds an empty database deterministically, and never again', async () => {
    const { db: first, restart } = await openRestartable();
    expect(await prepareDatabase(first)).toEqual({ seeded: true, applied: [1] });
    expect(await counts(first)).toEqual({
      products: 1000,
      categories: 20,
      reviews: 5000,
      users: 50,
      categoriesWith50: 20,
      productsWith5Reviews: 1000,
    });
    expect(await fingerprint(first)).toEqual(SEED_FINGERPRINT);
    const created = await createCatalogRepository(first).createProduct(newProduct('Kept'));
    expect(created.id).toBe(1001);

    const second = await restart();
    expect(await prepareDatabase(second)).toEqual({ seeded: false, applied: [] });
    expect((await counts(second)).products).toBe(1001);
    const repository = createCatalogRepository(second);
    expect(await repository.productsByIds([1001])).toEqual([created]);
    // Past every existing id; a sequence may skip ahead after a restart (PostgreSQL logs 32 values ahead).
    expect((await repository.createProduct(newProduct('Next'))).id).toBeGreaterThan(1001);
  });

  const backendOnly: Record<Backend, () => void> = {
    pglite() {
      it('keeps its data in PGLITE_DATA_DIR across restarts', async () => {
        const dataDir = await mkdtemp(join(tmpdir(), 'gcl-pglite-'));
        cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
        // Starting from the seeded snapshot spares the slow initdb onto disk.
        const first = await track(openPglite({ dataDir, snapshot: await seededPgliteSnapshot() }));
        const created = await createCatalogRepository(first).createProduct(newProduct('On disk'));
        await first.close();

        const second = await track(openDatabase(loadConfig({ PGLITE_DATA_DIR: dataDir })));
        expect(await prepareDatabase(second)).toEqual({ seeded: false, applied: [] });
        expect(await createCatalogRepository(second).productsByIds([created.id])).toEqual([created]);
      });
    },
    postgres() {
      it('seeds once when two instances start on one fresh database at the same time', async () => {
        const database = await createThrowawayDatabase(requirePostgresUrl());
        cleanups.push(database.drop);
        const [a, b] = await Promise.all([
          track(openDatabase({ databaseUrl: database.url })),
          track(openDatabase({ databaseUrl: database.url })),
        ]);
        const results = await Promise.all([prepareDatabase(a), prepareDatabase(b)]);
        expect(results.map((result) => result.seeded).sort()).toEqual([false, true]);
        expect(results.flatMap((result) => result.applied)).toEqual([1]);
        expect(await counts(a)).toMatchObject({ products: 1000, reviews: 5000, users: 50, categories: 20 });
      });
    },
  };
  backendOnly[backend]();
});
