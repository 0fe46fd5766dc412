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
    expect(await guard.evict(['Product:1'])).toBe(0);
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
    await guard.evict(['Product:1']);
    faulty.setMode('hold');
    await faulty.held.reached;

    // The retry has read what is pending and is in the store; the same tag fails again.
    faulty.setMode('fail');
    await guard.evict(['Product:1']);
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
      await guard.evict(['Product:1']);
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
});
