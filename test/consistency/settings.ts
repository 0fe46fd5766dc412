/** The settings the short checks (in `npm test`) and the long ones (bench/) share. */
import { runCheck, type CheckRecord } from './checker.ts';
import { hotProducts, type Deployment, type DeploymentSpec } from './deployment.ts';
import { allReadKinds } from './read-kinds.ts';

/** A PostgreSQL server the long checks use when TEST_POSTGRES_URL is unset. */
export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface Mode extends Omit<DeploymentSpec, 'readDelayMs' | 'postgresUrl' | 'breakage'> {
  /** Whether the mode needs PostgreSQL (several instances share its data). */
  postgres: boolean;
}

/** One instance on its own, and two sharing Redis and PostgreSQL, with and without the in-process tier. */
export const CONSISTENCY_MODES: readonly Mode[] = [
  { instances: 1, cache: 'memory', postgres: false },
  { instances: 2, cache: 'tiered', postgres: true },
  { instances: 2, cache: 'redis', postgres: true },
];

/** Redis must be shared to be failed: two instances on PostgreSQL, or one on PGlite when there is no PostgreSQL. */
export const FAULT_MODES: readonly Mode[] = [
  { instances: 2, cache: 'tiered', postgres: true },
  { instances: 2, cache: 'redis', postgres: true },
];
export const FAULT_MODE_WITHOUT_POSTGRES: Mode = { instances: 1, cache: 'tiered', postgres: false };

/** Mutations alternate between GraphQL's `updateProduct` and tRPC's `product.update`. */
export const WRITE_THROUGH = ['graphql', 'trpc'] as const;

/** How many products the mutations write. Few, so that reads and writes overlap. */
export const HOT_PRODUCTS = 10;
/** The default delay of product reads, in ms: enough for a stale write-back to be caught (a store that ignores tickets is). */
export const READ_DELAY_MS = 5;

/**
 * The check as `npm test` runs it: a few seconds, bounded by count (the time limit is a safety
 * net far above what the count takes), with a fixed seed.
 */
export function shortCheck(deployment: Deployment): Promise<CheckRecord> {
  return runCheck({
    targets: deployment.targets,
    readKinds: allReadKinds,
    writeThrough: WRITE_THROUGH,
    products: hotProducts(HOT_PRODUCTS),
    clients: 12,
    seed: 1,
    maxOperations: 800,
    maxDurationMs: 25_000,
  });
}

/** Vitest's limit for one short check: a few seconds alone, many times that on a machine shared with other work. */
export const SHORT_CHECK_TIMEOUT_MS = 60_000;
