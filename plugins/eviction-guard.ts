/**
 * Evictions that are never lost. An eviction the store could not apply (Redis unreachable,
 * after the store's own retry) is kept and retried until it succeeds. Until then the cache is
 * `degraded`: its owner must neither read nor write, because the store may still hold what the
 * eviction should have removed, and no tombstone stops a read begun before it from writing back.
 * A failed clear (`evictAll`) is kept the same way, and makes pending tags moot.
 */
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

export interface EvictionGuardOptions {
  /** Where evictions go. */
  store: Pick<CacheStore, 'evict'> & Partial<Pick<CacheStore, 'clear'>>;
  /** The longest wait between retries, in ms; the first retry comes sooner (100 ms at most). */
  retryMs: number;
  /** Receives each failed attempt, first ones and retries. */
  onError(error: unknown, operation: 'evict' | 'clear'): void;
  /** Told of each eviction the store applied. @default no-op */
  onEvict?(event: EvictEvent): void;
}

export interface EvictionGuard {
  /** Evicts `tags`. Never rejects: when the store fails, the tags wait for a retry. */
  evict(tags: readonly string[], reason: EvictionReason): Promise<EvictionOutcome>;
  /** Removes everything. Never rejects: when the store fails, the clear waits for a retry. */
  clear(reason: EvictionReason): Promise<EvictionOutcome>;
  /** Whether failed evictions wait for a retry. */
  readonly degraded: boolean;
  pending(): PendingEvictions;
  /** Resolves true once nothing is pending, or false when `timeoutMs` passes first. */
  whenApplied(timeoutMs: number): Promise<boolean>;
  /** Stops retrying. */
  close(): void;
}

const APPLIED_NOTHING: EvictionOutcome = { pending: true, evicted: 0 };
const noop = () => {};

export function createEvictionGuard({ store, retryMs, onError, onEvict = noop }: EvictionGuardOptions): EvictionGuard {
  /**
   * Tag → the number of the last failure that left it to evict, and its reason. A retry clears
   * only the tags whose number it saw: one whose eviction failed again while the retry was in
   * the store stays, as the retry may have run before that second write.
   */
  const pendingTags = new Map<string, { failure: number; reason: EvictionReason }>();
  let pendingClear: EvictionReason | undefined;
  let failures = 0;
  let retries = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let closed = false;
  const waiters = new Set<(applied: boolean) => void>();

  const isDegraded = () => pendingTags.size > 0 || pendingClear !== undefined;

  async function evict(tags: readonly string[], reason: EvictionReason): Promise<EvictionOutcome> {
    if (tags.length === 0) return { pending: false, evicted: 0 };
    try {
      const evicted = await store.evict(tags);
      onEvict({ all: false, tags, evicted, reason });
      return { pending: false, evicted };
    } catch (error) {
      failures++;
      for (const tag of tags) pendingTags.set(tag, { failure: failures, reason });
      onError(error, 'evict');
      scheduleRetry();
      return APPLIED_NOTHING;
    }
  }

  async function clear(reason: EvictionReason): Promise<EvictionOutcome> {
    const started = failures;
    try {
      await store.clear!();
      settleClear(reason, started);
      return { pending: false, evicted: 0 };
    } catch (error) {
      failures++;
      pendingClear ??= reason;
      onError(error, 'clear');
      scheduleRetry();
      return APPLIED_NOTHING;
    }
  }

  /** A clear removed everything stored before it: what failed before it began is moot. */
  function settleClear(reason: EvictionReason, failuresBefore: number) {
    pendingClear = undefined;
    for (const [tag, { failure }] of pendingTags) if (failure <= failuresBefore) pendingTags.delete(tag);
    onEvict({ all: true, reason });
  }

  async function retry(): Promise<void> {
    if (pendingClear !== undefined) {
      const started = failures;
      await store.clear!();
      settleClear(pendingClear, started);
      return;
    }
    const attempt = [...pendingTags];
    const evicted = await store.evict(attempt.map(([tag]) => tag));
    const byReason = new Map<EvictionReason, string[]>();
    for (const [tag, { failure, reason }] of attempt) {
      if (pendingTags.get(tag)?.failure === failure) pendingTags.delete(tag);
      byReason.set(reason, [...(byReason.get(reason) ?? []), tag]);
    }
    // The store counts the whole retry at once: the count goes with the first reason.
    let count = evicted;
    for (const [reason, group] of byReason) {
      onEvict({ all: false, tags: group, evicted: count, reason });
      count = 0;
    }
  }

  function scheduleRetry(): void {
    if (retryTimer || closed) return;
    // Soon at first (a mutation may be waiting on it), then backing off to retryMs.
    const delay = Math.min(retryMs, 100 * 2 ** retries);
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      retries++;
      retry().then(
        () => {
          if (isDegraded()) scheduleRetry();
          else {
            retries = 0;
            for (const wake of waiters) wake(true);
          }
        },
        (error: unknown) => {
          onError(error, pendingClear !== undefined ? 'clear' : 'evict');
          scheduleRetry();
        },
      );
    }, delay);
    retryTimer.unref();
  }

  return {
    evict,
    clear,
    get degraded() {
      return isDegraded();
    },
    pending: () => ({ tags: pendingTags.size, all: pendingClear !== undefined }),
    whenApplied(timeoutMs) {
      if (!isDegraded()) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const done = (applied: boolean) => {
          clearTimeout(timer);
          waiters.delete(done);
          resolve(applied);
        };
        const timer = setTimeout(() => done(false), timeoutMs);
        timer.unref();
        waiters.add(done);
      });
    },
    close() {
      closed = true;
      clearTimeout(retryTimer);
      retryTimer = undefined;
      for (const wake of waiters) wake(false);
    },
  };
}
