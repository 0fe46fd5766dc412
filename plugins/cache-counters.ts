/**
 * What the cache did, counted per grain (whole responses, GraphQL fields, functions, tRPC
 * procedures) and outcome: the numbers `stats()` reports, and the events metrics attach to.
 */
import type { CacheScope } from './store.ts';

/** The grain an outcome is of: a whole GraphQL response, a field's value, a function's result, a tRPC procedure's output. */
export type CacheGrain = 'response' | 'field' | 'function' | 'trpc';

/**
 * How a request for a cached value ended: served fresh (`hit`) or stale while one refresh runs
 * (`stale`), executed after a lookup (`miss`), given another identical request's execution
 * (`coalesced`), or neither read nor written (`bypass`: not cacheable, or the cache degraded).
 */
export type CacheOutcomeKind = 'hit' | 'stale' | 'miss' | 'coalesced' | 'bypass';

/** One outcome, as `onHit`, `onMiss` and `onBypass` receive it. */
export interface CacheEvent {
  grain: CacheGrain;
  kind: CacheOutcomeKind;
  /**
   * What was asked for: the GraphQL operation's name ('' when it has none), a field's coordinate
   * (`Query.search`), a function's name, a procedure's path.
   */
  operation: string;
  /** The cache key (a hash: it reveals nothing of a session); absent when there was none. */
  key?: string;
  /** Seconds the value stays fresh from now; absent for a bypass. */
  ttl?: number;
  /** Absent for a bypass. */
  scope?: CacheScope;
}

export interface GrainCounts {
  /** Served from the cache, stale ones included. */
  hits: number;
  /** Of the hits, stale values served while one refresh ran. */
  stale: number;
  /** Looked up, not found, and executed. */
  misses: number;
  /** Given another identical request's execution. */
  coalesced: number;
  /** Neither read nor written. */
  bypassed: number;
}

export type CountsByGrain = Partial<Record<CacheGrain, GrainCounts>>;

export interface CacheCounters {
  record(grain: CacheGrain, kind: CacheOutcomeKind): void;
  /** Totals over every grain, and each grain that has counted something. */
  snapshot(): GrainCounts & { grains: CountsByGrain };
}

const FIELD: Record<CacheOutcomeKind, keyof GrainCounts> = {
  hit: 'hits',
  stale: 'stale',
  miss: 'misses',
  coalesced: 'coalesced',
  bypass: 'bypassed',
};

const zero = (): GrainCounts => ({ hits: 0, stale: 0, misses: 0, coalesced: 0, bypassed: 0 });

export function createCacheCounters(): CacheCounters {
  const grains: CountsByGrain = {};
  return {
    record(grain, kind) {
      const counts = (grains[grain] ??= zero());
      counts[FIELD[kind]]++;
      // A stale answer is a hit too.
      if (kind === 'stale') counts.hits++;
    },
    snapshot() {
      const total = zero();
      const copy: CountsByGrain = {};
      for (const [grain, counts] of Object.entries(grains) as [CacheGrain, GrainCounts][]) {
        copy[grain] = { ...counts };
        for (const field of Object.keys(total) as (keyof GrainCounts)[]) total[field] += counts[field];
      }
      return { ...total, grains: copy };
    },
  };
}
