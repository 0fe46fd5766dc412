/**
 * Evictions, and what happens when the store cannot apply one. An eviction that failed (the
 * store was unreachable) is kept pending: until a retry applies it, nothing may be read from or
 * written to the store, because what it should have removed may still be there, and serving it
 * would be serving stale data. Retries run every `retryMs`. A failed clear (`evictAll`) is
 * pending the same way, and a pending clear makes pending tags moot.
 */
import type { CacheLogger } from './response-cache.ts';
import type { CacheStore } from './store.ts';

/** Why entries were evicted: a mutation's writes, or an operator's (or code's) purge. */
export type EvictionReason = 'mutation' | 'purge';

/** What became of an eviction: applied by the store, or pending (the cache is bypassed meanwhile). */
export type EvictionOutcome = { pending: false; evicted: number } | { pending: true; evicted: 0 };

/** Told of every eviction once the store has applied it (a retried one when the retry succeeds). */
export type EvictEvent =
  | { all: false; tags: readonly string[]; evicted: number; reason: EvictionReason }
  | { all: true; reason: EvictionReason };

export interface PendingEvictions {
  /** Tags whose eviction is waiting for a retry. */
  tags: number;
  /** Whether a clear is waiting for a retry. */
  all: boolean;
}

export interface EvictionGuard {
  evict(tags: readonly string[], reason: EvictionReason): Promise<EvictionOutcome>;
  clear(reason: EvictionReason): Promise<EvictionOutcome>;
  /** True while an eviction is pending: the store must be neither read nor written. */
  readonly degraded: boolean;
  pending(): PendingEvictions;
  close(): void;
}

export interface EvictionGuardOptions {
  store: CacheStore;
  retryMs: number;
  logger: CacheLogger;
  onEvict: (event: EvictEvent) => void;
}

const APPLIED_NOTHING: EvictionOutcome = { pending: true, evicted: 0 };

export function createEvictionGuard({ store, retryMs, logger, onEvict }: EvictionGuardOptions): EvictionGuard {
  /** Pending tags, each with the reason of its first failed eviction. */
  const pendingTags = new Map<string, EvictionReason>();
  let pendingClear: EvictionReason | undefined;
  let retryTimer: NodeJS.Timeout | undefined;

  async function evict(tags: readonly string[], reason: EvictionReason): Promise<EvictionOutcome> {
    if (tags.length === 0) return { pending: false, evicted: 0 };
    try {
      const evicted = await store.evict(tags);
      onEvict({ all: false, tags, evicted, reason });
      return { pending: false, evicted };
    } catch (error) {
      for (const tag of tags) if (!pendingTags.has(tag)) pendingTags.set(tag, reason);
      logger.error('response cache: eviction failed; the cache is bypassed until it succeeds', error);
      scheduleRetry();
      return APPLIED_NOTHING;
    }
  }

  async function clear(reason: EvictionReason): Promise<EvictionOutcome> {
    try {
      await store.clear();
      // Whatever was pending went with everything else.
      pendingTags.clear();
      pendingClear = undefined;
      onEvict({ all: true, reason });
      return { pending: false, evicted: 0 };
    } catch (error) {
      pendingClear ??= reason;
      logger.error('response cache: clearing failed; the cache is bypassed until it succeeds', error);
      scheduleRetry();
      return APPLIED_NOTHING;
    }
  }

  async function retry(): Promise<void> {
    if (pendingClear !== undefined) {
      const reason = pendingClear;
      await store.clear();
      pendingClear = undefined;
      pendingTags.clear();
      onEvict({ all: true, reason });
      return;
    }
    const tags = [...pendingTags.keys()];
    const evicted = await store.evict(tags);
    const byReason = new Map<EvictionReason, string[]>();
    for (const tag of tags) {
      const reason = pendingTags.get(tag)!;
      byReason.set(reason, [...(byReason.get(reason) ?? []), tag]);
      pendingTags.delete(tag);
    }
    // The store reports one count for the whole retry: it goes with the first reason.
    let left = evicted;
    for (const [reason, group] of byReason) {
      onEvict({ all: false, tags: group, evicted: left, reason });
      left = 0;
    }
  }

  function scheduleRetry() {
    if (retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      retry().then(
        () => {
          if (pendingTags.size > 0 || pendingClear !== undefined) scheduleRetry();
          else logger.warn('response cache: pending evictions applied; caching resumes');
        },
        () => scheduleRetry(),
      );
    }, retryMs);
    retryTimer.unref();
  }

  return {
    evict,
    clear,
    get degraded() {
      return pendingTags.size > 0 || pendingClear !== undefined;
    },
    pending: () => ({ tags: pendingTags.size, all: pendingClear !== undefined }),
    close() {
      if (retryTimer) clearTimeout(retryTimer);
    },
  };
}
