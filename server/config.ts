import type { LogLevel } from 'graphql-yoga';
import { loadCacheConfig, type CacheConfig } from './cache-config.ts';
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

type Env = Record<string, string | undefined>;

/**
 * Reads and validates the configuration once, at start-up. Throws one Error that lists every
 * bad variable with the value it had, so a misconfigured deployment is fixed in one round.
 * An empty variable counts as unset.
 */
export function loadConfig(env: Env = process.env): ServerConfig {
  const problems: string[] = [];
  const read = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);

  const port = integerIn(read('PORT'), 0, 65_535, defaultConfig.port, 'PORT', problems);
  const host = read('HOST') ?? defaultConfig.host;
  const databaseUrl = read('DATABASE_URL');
  if (databaseUrl !== undefined && !isPostgresUrl(databaseUrl)) {
    problems.push(`expected DATABASE_URL to be a postgres:// or postgresql:// URL, got ${quote(redactPassword(databaseUrl))}`);
  }
  const pgliteDataDir = read('PGLITE_DATA_DIR');
  if (pgliteDataDir !== undefined && databaseUrl !== undefined) {
    problems.push(`expected PGLITE_DATA_DIR to be unset when DATABASE_URL is set, got ${quote(pgliteDataDir)}`);
  }
  const logLevel = oneOf(read('LOG_LEVEL'), LOG_LEVELS, defaultConfig.logLevel, 'LOG_LEVEL', problems);
  const shutdownTimeoutMs = integerIn(
    read('SHUTDOWN_TIMEOUT_MS'),
    0,
    3_600_000,
    defaultConfig.shutdownTimeoutMs,
    'SHUTDOWN_TIMEOUT_MS',
    problems,
  );

  const cache = loadCacheConfig(env, problems);
  const limits: RequestLimits = { ...defaultLimits };
  for (const [name, variable] of Object.entries(LIMIT_VARIABLES) as [keyof RequestLimits, string][]) {
    limits[name] = integerIn(read(variable), 1, 1_000_000_000, defaultLimits[name], variable, problems);
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
    cache,
    limits,
  };
}

function integerIn(raw: string | undefined, min: number, max: number, fallback: number, name: string, problems: string[]) {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^[0-9]+$/.test(raw) || value < min || value > max) {
    problems.push(`expected ${name} to be an integer from ${min} to ${max}, got ${quote(raw)}`);
    return fallback;
  }
  return value;
}

function isPostgresUrl(raw: string): boolean {
  try {
    const url = new URL(raw);
    return url.protocol === 'postgres:' || url.protocol === 'postgresql:';
  } catch {
    return false;
  }
}

/** Config errors end up in logs: never print a password. */
export function redactPassword(raw: string): string {
  return raw.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}

function oneOf<T extends string>(raw: string | undefined, options: readonly T[], fallback: T, name: string, problems: string[]): T {
  if (raw === undefined) return fallback;
  const option = options.find((candidate) => candidate === raw);
  if (option === undefined) problems.push(`expected ${name} to be one of ${options.join(', ')}, got ${quote(raw)}`);
  return option ?? fallback;
}

function quote(value: string): string {
  return JSON.stringify(value);
}
