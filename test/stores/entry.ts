import type { CacheEntry } from '../../plugins/store.ts';

/** A cache entry produced at `createdAt` (default: now), fresh for 60 s, under `tags`. */
export function cacheEntry(tags: readonly string[], fields: Partial<CacheEntry> = {}): CacheEntry {
  return {
    body: '{"data":{"product":{"id":"7","name":"Lamp"}}}',
    createdAt: Date.now(),
    maxAgeMs: 60_000,
    swrMs: 0,
    scope: 'PUBLIC',
    etag: '"e-1"',
    tags,
    ...fields,
  };
}
