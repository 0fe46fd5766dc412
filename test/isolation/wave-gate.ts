/**
 * Makes a wave's requests meet in the cache: every query execution is held until each request
 * of the wave has reached the cache (looked up, or handed to yoga without a lookup), so that
 * identical requests of one wave deterministically find the first one's execution in flight
 * and coalesce with it, instead of depending on how fast the first one ran. Requests carry
 * their number in a header that nothing else reads.
 */
import type { Plugin } from 'graphql-yoga';
import { engineOf, type CacheEngine, type ResponseCache } from '../../plugins/response-cache.ts';

export const REQUEST_NUMBER_HEADER = 'x-fuzz-request';

/** How long a held wave waits for its requests to arrive before its executions go on anyway. */
const ARRIVAL_TIMEOUT_MS = 20_000;

export interface WaveGate {
  /** Add to the server's plugins: it holds executions and sees requests that skip the lookup. */
  plugin: Plugin;
  /** Watches the server's cache lookups (once the server, and so its cache, exists). */
  watch(cache: ResponseCache): void;
  /** Holds executions until the requests numbered `numbers` have all arrived; `send` sends them. */
  hold<T>(numbers: readonly string[], send: () => Promise<T>): Promise<T>;
}

export function createWaveGate(): WaveGate {
  let gate: Promise<void> = Promise.resolve();
  /** The held wave: the requests it waits for, and those that arrived. */
  let wave: { numbers: readonly string[]; arrived: Set<string>; open: () => void } | undefined;

  const arrive = (number: string | null | undefined) => {
    if (!wave || !number) return;
    wave.arrived.add(number);
    if (wave.numbers.every((n) => wave!.arrived.has(n))) wave.open();
  };

  return {
    plugin: {
      onRequest: ({ request }) => arrive(request.headers.get(REQUEST_NUMBER_HEADER)),
      onExecute({ executeFn, setExecuteFn }) {
        const held = gate;
        setExecuteFn(async (args) => {
          await held;
          return executeFn(args);
        });
      },
    },
    watch(cache) {
      const engine = engineOf(cache);
      const lookup = engine.lookup;
      (engine as { lookup: CacheEngine['lookup'] }).lookup = (state) => {
        const result = lookup.call(engine, state);
        arrive(state.input.request.headers.get(REQUEST_NUMBER_HEADER));
        return result;
      };
    },
    async hold(numbers, send) {
      let open!: () => void;
      gate = new Promise<void>((resolve) => (open = resolve));
      const held = { numbers, arrived: new Set<string>(), open };
      wave = held;
      // Never hang: past the timeout the executions go on, and the missing requests are reported.
      const timer = setTimeout(open, ARRIVAL_TIMEOUT_MS);
      try {
        const result = await send();
        const missing = numbers.filter((n) => !held.arrived.has(n));
        if (missing.length > 0) throw new Error(`requests ${missing.join(', ')} of a held wave never reached the cache`);
        return result;
      } finally {
        clearTimeout(timer);
        open();
        wave = undefined;
        gate = Promise.resolve();
      }
    },
  };
}
