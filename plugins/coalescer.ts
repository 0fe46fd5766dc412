/**
 * Concurrent identical misses share one execution. The first miss for a key leads; identical
 * requests that arrive while it runs follow it and are handed what it settles with. A leader
 * that ends without something to share (an error, an uncacheable answer, a refused store)
 * settles with null, and its followers execute themselves. Per process: instances sharing
 * Redis coalesce each on their own.
 */

export interface Lead<T> {
  readonly key: string;
  readonly promise: Promise<T | null>;
}

export interface Coalescer<T> {
  /** What the leader in flight for `key` will settle with, when there is one. */
  follow(key: string): Promise<T | null> | undefined;
  /** Makes the caller the leader for `key`; undefined when another leader is in flight. */
  lead(key: string): Lead<T> | undefined;
  /** Ends a leader's turn: its followers get `value`. Settling twice does nothing. */
  settle(lead: Lead<T>, value: T | null): void;
}

interface Flight<T> extends Lead<T> {
  resolve(value: T | null): void;
}

export function createCoalescer<T>(): Coalescer<T> {
  const inflight = new Map<string, Flight<T>>();
  return {
    follow: (key) => inflight.get(key)?.promise,
    lead(key) {
      if (inflight.has(key)) return undefined;
      let resolve!: (value: T | null) => void;
      const promise = new Promise<T | null>((settle) => (resolve = settle));
      const flight: Flight<T> = { key, promise, resolve };
      inflight.set(key, flight);
      return flight;
    },
    settle(lead, value) {
      const flight = lead as Flight<T>;
      if (inflight.get(flight.key) !== flight) return;
      inflight.delete(flight.key);
      flight.resolve(value);
    },
  };
}
