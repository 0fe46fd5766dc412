/**
 * Evictions that are never lost. An eviction the store failed (Redis unreachable, after the
 * store's own retry) is kept and retried until it succeeds. Until then the cache is `degraded`:
 * its owner must neither read nor write, because the store may still hold what the eviction
 * should have removed, and no tombstone stops a read begun before it from writing back.
 */
import type { CacheStore } from './store.ts';

export interface EvictionGuardOptions {
  /** Where evictions go. */
  store: Pick<CacheStore, 'evict'>;
  /** How long after a failure the failed evictions are tried again, in ms. */
  retryMs: number;
  /** Receives each failed attempt, first and retries. */
  onError(error: unknown): void;
}

export interface EvictionGuard {
  /**
   * Evicts `tags`. Never rejects: resolves how many entries went, or 0 when the store failed
   * and the tags now wait for a retry. The store is called before this returns.
   */
  evict(tags: readonly string[]): Promise<number>;
  /** Whether failed evictions wait for a retry. */
  readonly degraded: boolean;
  /** Stops retrying. */
  close(): void;
}

export function createEvictionGuard({ store, retryMs, onError }: EvictionGuardOptions): EvictionGuard {
  /** Tag → the number of the last failure that left it to evict, counted over all failures. */
  const pending = new Map<string, number>();
  let failures = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let closed = false;

  function scheduleRetry(): void {
    if (retryTimer || closed) return;
    retryTimer = setTimeout(async () => {
      retryTimer = undefined;
      const attempt = [...pending];
      try {
        await store.evict(attempt.map(([tag]) => tag));
        // Only what this attempt covered: a tag whose eviction failed again meanwhile stays.
        for (const [tag, failure] of attempt) if (pending.get(tag) === failure) pending.delete(tag);
      } catch (error) {
        onError(error);
        scheduleRetry();
      }
    }, retryMs);
    retryTimer.unref();
  }

  return {
    async evict(tags) {
      if (tags.length === 0) return 0;
      try {
        return await store.evict(tags);
      } catch (error) {
        failures++;
        for (const tag of tags) pending.set(tag, failures);
        onError(error);
        scheduleRetry();
        return 0;
      }
    },
    get degraded() {
      return pending.size > 0;
    },
    close() {
      closed = true;
      clearTimeout(retryTimer);
      retryTimer = undefined;
    },
  };
}
