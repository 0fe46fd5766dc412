/**
 * Catalog servers in this process on a Redis the test file started: each with its own key
 * prefix (unless given), all closed after every test, and no unhandled rejection allowed (a
 * Redis fault must never leak one). Registers its hooks where it is called.
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { startCatalog, type TestCatalog } from './catalog.ts';
import { watchUnhandledRejections } from './unhandled-rejections.ts';

export interface RedisInstancesOptions {
  /** Key prefixes are `<prefixBase><n>`. */
  prefixBase: string;
  /** The Redis settings of every instance (REDIS_URL or REDIS_CLUSTER_NODES), read as it starts. */
  redisEnv(): Record<string, string>;
  /** Runs after each test's clean-ups, even when one of them failed. */
  afterCleanup?(): Promise<void>;
}

export function redisInstances({ prefixBase, redisEnv, afterCleanup }: RedisInstancesOptions) {
  let prefixes = 0;
  const cleanups: (() => unknown)[] = [];
  const rejections = watchUnhandledRejections();
  beforeAll(rejections.start);
  afterEach(async () => {
    try {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    } finally {
      await afterCleanup?.();
    }
    expect(rejections.reasons.splice(0), 'unhandled rejections').toEqual([]);
  });
  afterAll(rejections.stop);

  const nextPrefix = () => `${prefixBase}${++prefixes}`;
  return {
    nextPrefix,
    /** Runs `cleanup` after this test; clean-ups run last registered first. */
    onCleanup(cleanup: () => unknown): void {
      cleanups.push(cleanup);
    },
    /** A server on its own seeded PGlite (or `databaseUrl`, for instances that must share writes). */
    async start(
      env: Record<string, string> = {},
      { prefix = nextPrefix(), databaseUrl }: { prefix?: string; databaseUrl?: string } = {},
    ): Promise<TestCatalog> {
      const catalog = await startCatalog('pglite', {
        env: { ...redisEnv(), REDIS_KEY_PREFIX: prefix, ...(databaseUrl && { DATABASE_URL: databaseUrl }), ...env },
      });
      cleanups.push(() => catalog.close());
      return catalog;
    },
  };
}
