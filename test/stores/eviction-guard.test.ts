import { describe, expect, it, vi } from 'vitest';
import { createEvictionGuard } from '../../plugins/eviction-guard.ts';
import { createMemoryStore } from '../../plugins/memory-store.ts';
import { waitUntil } from '../helpers/redis.ts';
import { cacheEntry } from './entry.ts';

/** A memory store whose evictions can be made to fail, or held until released. */
function faultyStore() {
  const store = createMemoryStore();
  let mode: 'ok' | 'fail' | 'hold' = 'ok';
  let arrived!: () => void;
  let release!: () => void;
  const held: { reached: Promise<void>; released: Promise<void>; evicted?: Promise<number> } = {
    reached: new Promise((resolve) => (arrived = resolve)),
    released: new Promise((resolve) => (release = resolve)),
  };
  return {
    store,
    held,
    release: () => release(),
    setMode(next: typeof mode) {
      mode = next;
    },
    evictor: {
      evict(tags: readonly string[]): number | Promise<number> {
        if (mode === 'fail') throw new Error('injected: the store cannot be reached');
        if (mode === 'hold') {
          mode = 'ok';
          arrived();
          held.evicted = held.released.then(() => store.evict(tags));
          return held.evicted;
        }
        return store.evict(tags);
      },
    },
  };
}

describe('eviction guard', () => {
  it('keeps a failed eviction, reports each failed attempt and retries until it is applied', async () => {
    const faulty = faultyStore();
    const { store } = faulty;
    store.set('k', cacheEntry(['Product:1']), store.get('k').ticket);
    const errors: unknown[] = [];
    const guard = createEvictionGuard({ store: faulty.evictor, retryMs: 5, onError: (error) => errors.push(error) });

    faulty.setMode('fail');
    expect(await guard.evict(['Product:1'], 'mutation')).toEqual({ pending: true, evicted: 0 });
    expect(guard.degraded).toBe(true);
    await waitUntil(() => errors.length >= 2, 'a failed retry');
    expect(store.get('k').entry).toBeDefined();

    faulty.setMode('ok');
    await waitUntil(() => !guard.degraded, 'the retry to be applied');
    expect(store.get('k').entry).toBeUndefined();
    guard.close();
  });

  it('a tag whose eviction failed again while a retry of it ran stays pending after that retry succeeds', async () => {
    const faulty = faultyStore();
    const guard = createEvictionGuard({ store: faulty.evictor, retryMs: 5, onError: () => {} });
    faulty.setMode('fail');
    await guard.evict(['Product:1'], 'mutation');
    faulty.setMode('hold');
    await faulty.held.reached;

    // The retry has read what is pending and is in the store; the same tag fails again.
    faulty.setMode('fail');
    await guard.evict(['Product:1'], 'mutation');
    faulty.setMode('ok');
    faulty.release();
    await faulty.held.evicted;
    await new Promise((resolve) => setImmediate(resolve));
    expect(guard.degraded).toBe(true);

    await waitUntil(() => !guard.degraded, 'the second failure to be retried');
    guard.close();
  });

  it('stops retrying once closed, also when a retry in flight fails after', async () => {
    vi.useFakeTimers();
    try {
      let attempts = 0;
      let failRetry!: (error: Error) => void;
      const failing = {
        evict(): Promise<number> {
          attempts++;
          if (attempts === 1) throw new Error('injected: the store cannot be reached');
          return new Promise((_, reject) => (failRetry = reject));
        },
      };
      const guard = createEvictionGuard({ store: failing, retryMs: 5, onError: () => {} });
      await guard.evict(['Product:1'], 'mutation');
      await vi.advanceTimersByTimeAsync(5);
      expect(attempts).toBe(2);
      guard.close();
      failRetry(new Error('injected: the retry failed too'));
      await vi.advanceTimersByTimeAsync(1_000);
      expect(attempts).toBe(2);
      expect(guard.degraded).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps a failed clear pending, which makes tags that failed before it moot, and tells waiters when it is applied', async () => {
    const store = createMemoryStore();
    store.set('k', cacheEntry(['Product:1']), store.get('k').ticket);
    let failing = true;
    const events: unknown[] = [];
    const guard = createEvictionGuard({
      store: {
        evict: (tags) => (failing ? Promise.reject(new Error('injected')) : store.evict(tags)),
        clear: () => (failing ? Promise.reject(new Error('injected')) : store.clear()),
      },
      retryMs: 5,
      onError: () => {},
      onEvict: (event) => events.push(event),
    });
    await guard.evict(['Product:2'], 'mutation');
    expect(await guard.clear('purge')).toEqual({ pending: true, evicted: 0 });
    expect(guard.pending()).toEqual({ tags: 1, all: true });
    // While it fails, a waiter gives up at its deadline.
    expect(await guard.whenApplied(20)).toBe(false);

    const applied = guard.whenApplied(10_000);
    failing = false;
    expect(await applied).toBe(true);
    expect(guard.pending()).toEqual({ tags: 0, all: false });
    expect(store.get('k').entry).toBeUndefined();
    // One clear, and no separate eviction of the tag it made moot.
    expect(events).toEqual([{ all: true, reason: 'purge' }]);
    guard.close();
  });

  it('answers a waiter at once when nothing is pending, and false when closed while waiting', async () => {
    const guard = createEvictionGuard({ store: { evict: () => Promise.reject(new Error('injected')) }, retryMs: 1_000, onError: () => {} });
    expect(await guard.whenApplied(0)).toBe(true);
    await guard.evict(['Product:1'], 'purge');
    const waiting = guard.whenApplied(10_000);
    guard.close();
    expect(await waiting).toBe(false);
  });
});

