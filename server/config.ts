import type { LogLevel } from 'graphql-yoga';
import { loadCacheConfig, type CacheConfig } from './cache-config.ts';
import { createEnvReader, redactPassword, type Env } from './env.ts';
import type { QueryLimits } from './limits.ts';

export interface ServerConfig {
  /** 0 picks a free port (tests). @default 4000 */
  port: number;
  /** @default "0.0.0.0" */
  host: string;
  /** PostgreSQL connection URL; without it an embedded PGlite database is used. */
  databaseUrl?: string;
  /** Where PGlite keeps its files; in memory when absent. Only without `databaseUrl`. */
  pgliteDataDir?: string;
  /** @default "info" */
  logLevel: LogLevel | 'silent';
  /** How long a graceful close waits for in-flight requests before cutting connections. @default 10000 */
  shutdownTimeoutMs: number;
  /** Readable log lines (pino-pretty) instead of JSON: NODE_ENV=development. @default false */
  prettyLogs: boolean;
  /** Bearer token of `GET /metrics`; unset leaves it open (serve it on an internal network only). */
  metricsToken?: string;

  /** The response cache: CACHE_ENABLED, REDIS_URL, REDIS_CLUSTER_NODES, CACHE_PURGE_TOKEN, … */
  cache: CacheConfig;
  /** Limits against hostile requests: MAX_QUERY_DEPTH, MAX_QUERY_COST, MAX_BODY_BYTES, … */
  limits: RequestLimits;
}

export interface RequestLimits extends QueryLimits {
  /** Operations in one batched request (a JSON array body). */
  maxBatchSize: number;
  /** Bytes of a request body; larger ones are answered 413. */
  maxBodyBytes: number;
}

export const defaultConfig = {
  port: 4000,
  host: '0.0.0.0',
  logLevel: 'info',
  shutdownTimeoutMs: 10_000,
  prettyLogs: false,
} as const satisfies Partial<ServerConfig>;

/**
 * Defaults the catalog's real queries pass with room to spare (the deepest is 5 levels, a full
 * page of products with their reviews and authors costs about 1,000), and that refuse a query
 * built to exhaust the server.
 */
export const defaultLimits = {
  maxDepth: 8,
  maxAliases: 15,
  maxDirectives: 50,
  maxTokens: 1000,
  maxCost: 5000,
  maxBatchSize: 10,
  maxBodyBytes: 1024 * 1024,
} as const satisfies RequestLimits;

/** Each limit's environment variable. */
const LIMIT_VARIABLES: Record<keyof RequestLimits, string> = {
  maxDepth: 'MAX_QUERY_DEPTH',
  maxAliases: 'MAX_QUERY_ALIASES',
  maxDirectives: 'MAX_QUERY_DIRECTIVES',
  maxTokens: 'MAX_QUERY_TOKENS',
  maxCost: 'MAX_QUERY_COST',
  maxBatchSize: 'MAX_BATCH_SIZE',
  maxBodyBytes: 'MAX_BODY_BYTES',
};

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;

/**
 * Reads and validates the configuration once, at start-up. Throws one Error that lists every
 * bad variable with the value it had, so a misconfigured deployment is fixed in one round.
 * An empty variable counts as unset.
 */
export function loadConfig(env: Env = process.env): ServerConfig {
  const problems: string[] = [];
  const read = createEnvReader(env, problems);

  const port = read.integer('PORT', { min: 0, max: 65_535, fallback: defaultConfig.port });
  const host = read.string('HOST') ?? defaultConfig.host;
  const databaseUrl = read.string('DATABASE_URL');
  if (databaseUrl !== undefined && !isPostgresUrl(databaseUrl)) {
    read.problem(`expected DATABASE_URL to be a postgres:// or postgresql:// URL, got ${JSON.stringify(redactPassword(databaseUrl))}`);
  }
  const pgliteDataDir = read.string('PGLITE_DATA_DIR');
  if (pgliteDataDir !== undefined && databaseUrl !== undefined) {
    read.problem(`expected PGLITE_DATA_DIR to be unset when DATABASE_URL is set, got ${JSON.stringify(pgliteDataDir)}`);
  }
  const logLevel = read.oneOf('LOG_LEVEL', LOG_LEVELS, defaultConfig.logLevel);
  const shutdownTimeoutMs = read.integer('SHUTDOWN_TIMEOUT_MS', { min: 0, max: 3_600_000, fallback: defaultConfig.shutdownTimeoutMs });
  const prettyLogs = read.string('NODE_ENV') === 'development';
  const metricsToken = read.token('METRICS_TOKEN');

  const cache = loadCacheConfig(read);
  const limits: RequestLimits = { ...defaultLimits };
  for (const [name, variable] of Object.entries(LIMIT_VARIABLES) as [keyof RequestLimits, string][]) {
    limits[name] = read.integer(variable, { min: 1, max: 1_000_000_000, fallback: defaultLimits[name] });
  }

  if (problems.length > 0) {
    throw new Error(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
  return {
    port,
    host,
    ...(databaseUrl !== undefined && { databaseUrl }),
    ...(pgliteDataDir !== undefined && { pgliteDataDir }),
    logLevel,
    shutdownTimeoutMs,
    prettyLogs,
    ...(metricsToken !== undefined && { metricsToken }),
    cache,
    limits,
  };
}

function isPostgresUrl(raw: string): boolean {
  try {
    const url = new URL(raw);
    return url.protocol === 'postgres:' || url.protocol === 'postgresql:';
  } catch {
    return false;
  }
}
