/**
 * A memo of values worked out from what clients send (bodies, header values, operations): when
 * it holds `max` entries it starts again empty. Clients cannot grow it without bound, the hot
 * values come back at once, and a lookup costs one map read, with no LRU bookkeeping on a hit.
 */
export class BoundedMemo<K, V> {
  readonly #entries = new Map<K, V>();
  constructor(private readonly max: number) {}

  get(key: K): V | undefined {
    return this.#entries.get(key);
  }

  has(key: K): boolean {
    return this.#entries.has(key);
  }

  /** Remembers `value` under `key` and returns it. */
  set(key: K, value: V): V {
    if (this.#entries.size >= this.max) this.#entries.clear();
    this.#entries.set(key, value);
    return value;
  }

  get size(): number {
    return this.#entries.size;
  }
}
