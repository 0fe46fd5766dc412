import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { ClientError, GraphQLClient } from 'graphql-request';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { openPglite } from '../../schema/data/pglite.ts';
import { prepareDatabase } from '../../schema/data/migrate.ts';
import type { StatementEvent } from '../../schema/data/database.ts';
import { loadConfig } from '../../server/config.ts';
import { createCatalogServer, type CatalogServer, type CatalogServerOptions } from '../../server/create-server.ts';

export type Backend = 'pglite' | 'postgres';

/** PGlite always; PostgreSQL too when TEST_POSTGRES_URL points at a server we may create databases on. */
export const backends: Backend[] = process.env.TEST_POSTGRES_URL ? ['pglite', 'postgres'] : ['pglite'];

export interface TestCatalog {
  server: CatalogServer;
  /** The GraphQL endpoint, e.g. http://127.0.0.1:40123/graphql. */
  url: string;
  /** Signed out. */
  client: GraphQLClient;
  /** Signed in as user `userId` with the demo token. */
  clientAs(userId: number | string): GraphQLClient;
  /** The SQL statements the server sent while `fn` ran. */
  countStatements<T>(fn: () => Promise<T>): Promise<{ result: T; statements: StatementEvent[] }>;
  /** Closes the server, then drops its throw-away database if it had one. */
  close(): Promise<void>;
}

export interface StartOptions extends CatalogServerOptions {
  /** Extra environment for `loadConfig`, e.g. cache settings. */
  env?: Record<string, string>;
}

/**
 * Starts a catalog server on 127.0.0.1 and a free port over a fresh, seeded database:
 * in-memory PGlite (from a cached snapshot), or a throw-away PostgreSQL database created
 * from TEST_POSTGRES_URL.
 */
export async function startCatalog(backend: Backend = 'pglite', { env = {}, ...options }: StartOptions = {}): Promise<TestCatalog> {
  const throwaway = backend === 'postgres' ? await createThrowawayDatabase(requirePostgresUrl()) : undefined;
  try {
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      ...(throwaway && { DATABASE_URL: throwaway.url }),
      ...env,
    });
    const pgliteSnapshot = throwaway ? undefined : await seededPgliteSnapshot();
    const server = await createCatalogServer(config, { pgliteSnapshot, ...options });
    const { url } = await server.listen();
    return {
      server,
      url,
      client: new GraphQLClient(url),
      clientAs: (userId) => new GraphQLClient(url, { headers: { authorization: `Bearer token-${userId}` } }),
      async countStatements(fn) {
        const statements: StatementEvent[] = [];
        const unsubscribe = server.db.onStatement((event) => statements.push(event));
        try {
          return { result: await fn(), statements };
        } finally {
          unsubscribe();
        }
      },
      async close() {
        try {
          await server.close();
        } finally {
          await throwaway?.drop();
        }
      },
    };
  } catch (error) {
    await throwaway?.drop();
    throw error;
  }
}

/** A fresh PGlite catalog for the enclosing suite, started before its tests and closed after; `get()` is valid inside its tests. */
export function serverForSuite(options: StartOptions = {}): () => TestCatalog {
  let catalog: TestCatalog | undefined;
  beforeAll(async () => {
    catalog = await startCatalog('pglite', options);
  });
  afterAll(() => catalog?.close());
  return () => catalog!;
}

export function requirePostgresUrl(): string {
  const url = process.env.TEST_POSTGRES_URL;
  if (!url) throw new Error('TEST_POSTGRES_URL is not set');
  return url;
}

export interface ThrowawayDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

const THROWAWAY_NAME = /^gcl_test_[0-9a-f]+$/;

/** Creates an empty database with a random `gcl_test_…` name next to the one `baseUrl` names. */
export async function createThrowawayDatabase(baseUrl: string): Promise<ThrowawayDatabase> {
  const name = `gcl_test_${randomBytes(8).toString('hex')}`;
  await withAdminClient(baseUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    async drop() {
      // Only ever a database this helper created: the name pattern is the guard.
      if (dropped || !THROWAWAY_NAME.test(name)) return;
      dropped = true;
      await withAdminClient(baseUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

async function withAdminClient<T>(baseUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

let snapshot: Promise<Blob> | undefined;

/**
 * For the enclosing `describe`: a throw-away PostgreSQL database when TEST_POSTGRES_URL is set,
 * for instances that must see each other's writes; without it the getter answers undefined and
 * each instance runs on its own PGlite.
 */
export function throwawayDatabaseWhenAvailable(): () => ThrowawayDatabase | undefined {
  let database: ThrowawayDatabase | undefined;
  beforeAll(async () => {
    if (process.env.TEST_POSTGRES_URL) database = await createThrowawayDatabase(process.env.TEST_POSTGRES_URL);
  });
  afterAll(async () => {
    await database?.drop();
  });
  return () => database;
}

/**
 * A migrated and seeded PGlite data directory. initdb is most of a PGlite start, so it runs
 * once and the dump is kept under node_modules/.cache, keyed by the migration and seed
 * sources and the PGlite version, for every later test process to load instead.
 */
export function seededPgliteSnapshot(): Promise<Blob> {
  snapshot ??= loadOrBuildSnapshot();
  return snapshot;
}

async function loadOrBuildSnapshot(): Promise<Blob> {
  const sources = await Promise.all(
    ['../../schema/data/migrate.ts', '../../schema/data/seed.ts', '../../node_modules/@electric-sql/pglite/package.json'].map(
      (path) => readFile(new URL(path, import.meta.url)),
    ),
  );
  const key = createHash('sha256').update(Buffer.concat(sources)).digest('hex').slice(0, 16);
  const cacheDir = new URL('../../node_modules/.cache/graphql-cache-layer/', import.meta.url);
  const file = new URL(`pglite-seeded-${key}.tar`, cacheDir);
  try {
    return new Blob([await readFile(file)]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const db = await openPglite();
  try {
    await prepareDatabase(db);
    const dump = await db.dump();
    await mkdir(cacheDir, { recursive: true });
    // Another test process may be building the same snapshot: write aside, then rename atomically.
    const partial = new URL(`${file.pathname.split('/').pop()}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`, cacheDir);
    await writeFile(partial, Buffer.from(await dump.arrayBuffer()));
    await rename(partial, file);
    return dump;
  } finally {
    await db.close();
  }
}

export interface GraphQLErrorSummary {
  message: string;
  code: unknown;
  /** The HTTP status of the response that carried the error. */
  status: number;
  data: unknown;
}

/** The first GraphQL error a request failed with; fails when it succeeded. */
export async function graphQLError(request: Promise<unknown>): Promise<GraphQLErrorSummary> {
  try {
    await request;
  } catch (error) {
    if (!(error instanceof ClientError)) throw error;
    const [first] = error.response.errors ?? [];
    if (first === undefined) throw error;
    return { message: first.message, code: first.extensions?.code, status: error.response.status, data: error.response.data };
  }
  throw new Error('expected the request to fail with a GraphQL error, but it succeeded');
}
