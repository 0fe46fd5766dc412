/**
 * The consistency checker: concurrent clients send reads and price-raising mutations on a small
 * set of products, through one or more instances, and every read is checked against the rule the
 * cache promises: a read that starts after a mutation's response was received sees a price at
 * least that mutation's.
 *
 * Mutations of one product are sent one at a time, each with a higher price than the last, so
 * the database's price of a product only ever rises and "at least" is exact: a read below the
 * last acknowledged price saw data older than an answered mutation. Mutations of different
 * products, and reads of everything, run concurrently.
 *
 * Every operation is kept (kind, instance, times, outcome, X-Cache), so that a run can be
 * summarised as a whole or by time window (the fault runs do). Which client does what is drawn
 * from a seeded generator: the same seed gives each client the same sequence of choices,
 * although the interleaving of clients is up to the machine.
 */
import type { ReadKind, ReadResult } from './read-kinds.ts';
import { requestGraphQL, trpcUrl } from './read-kinds.ts';

export interface Target {
  /** What reports call it, e.g. "A". */
  name: string;
  /** Its GraphQL endpoint. */
  url: string;
}

export interface CheckOptions {
  /** The instances; each operation goes to one drawn at random. */
  targets: readonly Target[];
  readKinds: readonly ReadKind[];
  /** The products whose prices the mutations raise, with their categories; reads are about these. */
  products: readonly { id: string; category: string }[];
  /** Concurrent clients, each sending one operation at a time. */
  clients: number;
  /** Share of operations that are mutations. @default 0.15 */
  mutationShare?: number;
  /** The APIs the mutations write through, taken in turn: GraphQL's `updateProduct`, tRPC's `product.update`. @default ['graphql'] */
  writeThrough?: readonly WriteApi[];
  seed: number;
  /** The run ends after this many operations… */
  maxOperations: number;
  /** …or after this long, or when `signal` aborts, whichever comes first. */
  maxDurationMs: number;
  signal?: AbortSignal;
  /** Called with each operation as it ends (the fault runs watch for hits coming back). @default none */
  onOperation?: (operation: Operation) => void;
}

/** The price the first mutation writes; each later one writes one more. Above every seeded price (at most 100). */
const FIRST_PRICE = 10_000;

export type OperationKind = 'read' | 'mutation';

export type WriteApi = 'graphql' | 'trpc';

export interface Operation {
  kind: OperationKind;
  /** The read kind's name, or "updateProduct". */
  name: string;
  target: string;
  /** ms on the checker's clock (performance.now()). */
  startedAt: number;
  endedAt: number;
  ok: boolean;
  error?: string;
  /** X-Cache of a read, when stated. */
  cache?: string;
  /** A read's answer (see `ReadResult.answer`). */
  answer?: string;
  /** Whether a mutation of a product this read saw was in flight at some time during it. */
  overlapped?: boolean;
  /** Whether a product this read saw had an acknowledged mutation before it started (so the check had a floor to hold it to). */
  constrained?: boolean;
  /** A mutation answered with its data and `CACHE_EVICTION_PENDING`: written, but not yet evicted everywhere. */
  evictionPending?: boolean;
}

/** A read that saw a price below a mutation answered before it started. */
export interface StaleRead {
  readKind: string;
  target: string;
  read: { startedAt: number; endedAt: number; cache?: string };
  /** Each product it saw too old: the price seen, and the last mutation of it answered before the read started. */
  products: {
    id: string;
    sawPrice: number;
    expectedAtLeast: number;
    mutation: { target: string; startedAt: number; endedAt: number };
  }[];
  /** The checker's seed, and the client whose read it was (its `index`-th operation). */
  seed: number;
  client: number;
  index: number;
}

export interface CheckRecord {
  operations: Operation[];
  staleReads: StaleRead[];
  startedAt: number;
  endedAt: number;
}

/** Runs the clients until a limit is reached; resolves with everything they did. */
export async function runCheck(options: CheckOptions): Promise<CheckRecord> {
  const { targets, readKinds, products, clients, mutationShare = 0.15, writeThrough = ['graphql'], seed, maxOperations, maxDurationMs, signal, onOperation } = options;
  if (targets.length === 0 || readKinds.length === 0 || products.length === 0) throw new Error('runCheck: needs targets, read kinds and products');
  const index = new Map(products.map(({ id }, i) => [id, i] as const));
  const ledger = createLedger(products.length);
  const operations: Operation[] = [];
  const staleReads: StaleRead[] = [];
  let nextPrice = FIRST_PRICE;
  let started = 0;
  const startedAt = performance.now();
  const deadline = startedAt + maxDurationMs;
  const more = () => started < maxOperations && performance.now() < deadline && !signal?.aborted;

  async function mutate(target: Target, product: number): Promise<void> {
    await ledger.writeTurn(product, async () => {
      const price = nextPrice++;
      const id = products[product].id;
      const began = ledger.mutationStarted(product);
      const api = writeThrough[price % writeThrough.length];
      const operation: Operation = { kind: 'mutation', name: api === 'trpc' ? 'product.update' : 'updateProduct', target: target.name, startedAt: began, endedAt: began, ok: false };
      try {
        const { updated, evictionPending } = api === 'trpc' ? await raisePriceOverTrpc(target.url, id, price) : await raisePriceOverGraphQL(target.url, id, price);
        if (updated?.id !== id || updated.price !== price) throw new Error(`answered ${JSON.stringify(updated)} for price ${price}`);
        operation.ok = true;
        operation.evictionPending = evictionPending;
      } catch (error) {
        operation.error = messageOf(error);
      } finally {
        operation.endedAt = performance.now();
        // Only a mutation answered without reserve sets a floor: one that failed may or may not
        // have committed, and one whose eviction is pending says reads may not see it yet.
        const promised = operation.ok && !operation.evictionPending;
        ledger.mutationEnded(product, promised ? { price, target: target.name, startedAt: operation.startedAt, endedAt: operation.endedAt } : undefined);
        operations.push(operation);
        onOperation?.(operation);
      }
    });
  }

  async function read(target: Target, kind: ReadKind, product: number, client: number, at: number): Promise<void> {
    const before = ledger.snapshot();
    const operation: Operation = { kind: 'read', name: kind.name, target: target.name, startedAt: before.at, endedAt: before.at, ok: false };
    let result: ReadResult | undefined;
    try {
      result = await kind.read({ url: target.url, product: products[product].id, category: products[product].category });
      operation.ok = true;
      operation.cache = result.cache;
      operation.answer = result.answer;
    } catch (error) {
      operation.error = messageOf(error);
    }
    operation.endedAt = performance.now();
    operations.push(operation);
    if (!result) return onOperation?.(operation);
    const after = ledger.snapshot();
    operation.overlapped = false;
    operation.constrained = false;
    const stale: StaleRead['products'] = [];
    for (const [id, price] of result.prices) {
      const i = index.get(id);
      if (i === undefined) continue;
      if (before.inFlight[i] || after.started[i] !== before.started[i]) operation.overlapped = true;
      const floor = before.floors[i];
      if (floor === undefined) continue;
      operation.constrained = true;
      if (price < floor.price) {
        const { target: by, startedAt, endedAt } = floor;
        stale.push({ id, sawPrice: price, expectedAtLeast: floor.price, mutation: { target: by, startedAt, endedAt } });
      }
    }
    if (stale.length > 0) {
      const { startedAt, endedAt, cache } = operation;
      staleReads.push({ readKind: kind.name, target: target.name, read: { startedAt, endedAt, cache }, products: stale, seed, client, index: at });
    }
    onOperation?.(operation);
  }

  async function client(number: number): Promise<void> {
    const random = seededRandom(seed * 1_000 + number);
    for (let at = 0; more(); at++) {
      started++;
      const target = targets[Math.floor(random() * targets.length)];
      const product = Math.floor(random() * products.length);
      if (random() < mutationShare) await mutate(target, product);
      else await read(target, readKinds[Math.floor(random() * readKinds.length)], product, number, at);
    }
  }

  await Promise.all(Array.from({ length: clients }, (_, number) => client(number)));
  return { operations, staleReads, startedAt, endedAt: performance.now() };
}

interface Floor {
  price: number;
  target: string;
  startedAt: number;
  endedAt: number;
}

/**
 * What the checker knows of each product's mutations: the last answered one (the floor every
 * later read is held to), whether one is in flight, and how many have started. Mutations of one
 * product take turns.
 */
function createLedger(size: number) {
  const floors: (Floor | undefined)[] = new Array(size).fill(undefined);
  const inFlight = new Uint8Array(size);
  const started = new Uint32Array(size);
  const turns: Promise<void>[] = new Array(size).fill(Promise.resolve());
  return {
    /** Runs `write` once every earlier write of `product` has ended. */
    writeTurn(product: number, write: () => Promise<void>): Promise<void> {
      const turn = turns[product].then(write);
      turns[product] = turn;
      return turn;
    },
    mutationStarted(product: number): number {
      inFlight[product] = 1;
      started[product]++;
      return performance.now();
    },
    mutationEnded(product: number, answered: Floor | undefined): void {
      inFlight[product] = 0;
      if (answered) floors[product] = answered;
    },
    /** The state as a read starts or ends; the time is taken after it, so nothing it holds is later than `at`. */
    snapshot() {
      return { floors: floors.slice(), inFlight: inFlight.slice(), started: started.slice(), at: performance.now() };
    },
  };
}

/** mulberry32: a small, fast generator; a seed gives the same sequence on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

interface RaisedPrice {
  updated: { id?: unknown; price?: unknown } | null;
  /** The write was applied, but the answer says reads elsewhere may not see it yet. */
  evictionPending: boolean;
}

async function raisePriceOverGraphQL(url: string, id: string, price: number): Promise<RaisedPrice> {
  const answer = await requestGraphQL(
    url,
    { method: 'POST', query: 'mutation RaisePrice($id: ID!, $price: Float!) { updateProduct(id: $id, input: { price: $price }) { id price } }', variables: { id, price } },
    ['CACHE_EVICTION_PENDING'],
  );
  return { updated: answer.data.updateProduct as RaisedPrice['updated'], evictionPending: answer.tolerated.length > 0 };
}

/** tRPC answers data or an error: a write whose eviction is pending is an error saying so, the write applied. */
async function raisePriceOverTrpc(graphqlUrl: string, id: string, price: number): Promise<RaisedPrice> {
  const response = await fetch(trpcUrl(graphqlUrl, 'product.update'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ id, input: { price } }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  const body = JSON.parse(text) as { result?: { data?: RaisedPrice['updated'] }; error?: { message?: string } };
  if (body.error?.message?.startsWith('CACHE_EVICTION_PENDING')) return { updated: { id, price }, evictionPending: true };
  if (response.status !== 200 || !body.result) throw new Error(`HTTP ${response.status}: ${text.slice(0, 300)}`);
  return { updated: body.result.data ?? null, evictionPending: false };
}

