/**
 * A store whose every operation is timed, for the store-duration histogram. It wraps whatever
 * operations the store has (`get`, `set`, `evict`, `clear`, `ticket`, and any a store adds
 * later), so a new operation is timed without a change here; `close` and `stats` are not timed.
 * Everything else (a Redis store's `redis`, a tiered store's `remote`…) is read through to the
 * store, which runs each operation as itself.
 */
import { isPromise, type CacheStore } from './store.ts';

const UNTIMED = new Set(['close', 'stats', 'constructor']);

/** `store` with each operation's duration (in seconds, failures included) reported to `observe`. */
export function timeStore<T extends CacheStore>(store: T, observe: (operation: string, seconds: number) => void): T {
  const timed = Object.create(store) as Record<string, unknown>;
  for (const name of operationNames(store)) {
    timed[name] = timedOperation(store, name, (store as unknown as Record<string, Operation>)[name], observe);
  }
  return timed as unknown as T;
}

type Operation = (a?: unknown, b?: unknown, c?: unknown) => unknown;

/**
 * One operation, timed. Made once per operation: a call makes no closure of its own unless the
 * store answers with a promise (a synchronous memory hit costs two clock reads), and store
 * operations take three arguments at most.
 */
function timedOperation(store: CacheStore, name: string, operation: Operation, observe: (operation: string, seconds: number) => void): Operation {
  return (a, b, c) => {
    const started = performance.now();
    let result: unknown;
    try {
      result = operation.call(store, a, b, c);
    } catch (error) {
      observe(name, (performance.now() - started) / 1000);
      throw error;
    }
    if (!isPromise(result)) {
      observe(name, (performance.now() - started) / 1000);
      return result;
    }
    return result.then(
      (value) => {
        observe(name, (performance.now() - started) / 1000);
        return value;
      },
      (error: unknown) => {
        observe(name, (performance.now() - started) / 1000);
        throw error;
      },
    );
  };
}

/** The store's methods, its own and its prototypes' (a class-based store), but Object's. */
function operationNames(store: object): string[] {
  const names = new Set<string>();
  for (let at: object | null = store; at !== null && at !== Object.prototype; at = Object.getPrototypeOf(at)) {
    for (const name of Object.getOwnPropertyNames(at)) {
      if (UNTIMED.has(name)) continue;
      const descriptor = Object.getOwnPropertyDescriptor(at, name);
      if (typeof descriptor?.value === 'function') names.add(name);
    }
  }
  return [...names];
}
