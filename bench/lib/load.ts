/**
 * The scenarios and one load run: autocannon against one server process, with that process's
 * CPU time read from /proc before and after, and latencies kept at sub-millisecond resolution
 * (autocannon's own histogram rounds to whole milliseconds, too coarse for a p99 ratio).
 */
import autocannon from 'autocannon';
import { cpuMicros } from './processes.ts';

// ── Scenarios ──────────────────────────────────────────────────────────────────────────

export type ScenarioName = 'hit' | 'miss' | 'mixed' | 'varied' | 'varied-300' | 'private' | 'trpc-hit';

/** One request of a scenario: its body, and headers of its own (a session). */
export interface ScenarioRequest {
  body: string;
  headers?: Record<string, string>;
}

/** The fixed query of the hit scenario (the query), always for product "7". */
export const HIT_QUERY = 'query($id: ID!){ product(id: $id){ id name price category { id name } reviews { id rating body } } }';
export const HIT_ID = '7';
export const HIT_BODY = JSON.stringify({ query: HIT_QUERY, variables: { id: HIT_ID } });

/** The tRPC hit: `product.byId` of the same product, with category and reviews, as a GET (`httpLink`'s form of a query). */
export const TRPC_HIT_PATH = `/trpc/product.byId?input=${encodeURIComponent(JSON.stringify({ id: HIT_ID }))}`;

const MISS_QUERY = 'query($first: Int, $offset: Int){ products(first: $first, offset: $offset){ id name price } }';
const UPDATE_MUTATION = 'mutation($id: ID!, $stock: Int!){ updateProduct(id: $id, input: { stock: $stock }) { id } }';

/** first 1..100 × offset 0..999: the miss scenario's distinct keys. */
export const MISS_KEYS = 100_000;
/** Hot ids of the mixed scenario: 1..1000. */
export const MIXED_IDS = 1_000;
/** Coprime with 100 000 and 1 000: i ↦ i·STRIDE mod n visits every key once per n requests, scattered. */
const STRIDE = 7_919;

/** The i-th miss request: a (first, offset) pair no earlier request of the run used (i < MISS_KEYS). */
export function missBody(i: number): string {
  const k = (i * STRIDE) % MISS_KEYS;
  return JSON.stringify({ query: MISS_QUERY, variables: { first: 1 + (k % 100), offset: Math.floor(k / 100) } });
}

/** The i-th mixed request: every tenth an `updateProduct` of a stock, the rest reads of a hot id. */
export function mixedBody(i: number): string {
  const id = String(1 + ((i * STRIDE) % MIXED_IDS));
  if (i % 10 === 9) return JSON.stringify({ query: UPDATE_MUTATION, variables: { id, stock: i % 997 } });
  return JSON.stringify({ query: HIT_QUERY, variables: { id } });
}

/** The parts a varied document selects on a product, each in or out: 255 subsets. */
const PRODUCT_PARTS = [
  'name',
  'description',
  'price',
  'stock',
  'category { id name }',
  'category { name products(first: 3) { id name } }',
  'reviews { id rating }',
  'reviews { rating body author { name } }',
];
/** Signed-in users of the private mix (the seed has users 1 to 50). */
export const PRIVATE_USERS = 50;
const PRIVATE_QUERY = 'query($id: ID!){ me { name email } product(id: $id){ name price category { name } reviews { rating author { name } } } }';

/** mulberry32: a small seeded generator, so that the i-th request is the same in every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One varied document's shape: which parts, through which root field, over how many products. */
interface Shape {
  selection: string;
  /** 0: aliases of `product`; 1: an inline fragment on `node`; 2: a named fragment. */
  form: number;
  count: number;
}

function randomShape(random: () => number): Shape {
  const parts = PRODUCT_PARTS.filter(() => random() < 0.5);
  return {
    selection: `id ${(parts.length > 0 ? parts : ['name']).join(' ')}`,
    form: Math.floor(random() * 3),
    count: 1 + Math.floor(random() * 3),
  };
}

/** The document of a shape over `ids` (each a literal, or a variable name such as `$id0`). */
function shapeDocument(name: string, { selection, form, count }: Shape, ids: (k: number) => string, variables = ''): string {
  const roots: string[] = [];
  for (let k = 0; k < count; k++) {
    if (form === 0) roots.push(`p${k}: product(id: ${ids(k)}) { ${selection} }`);
    else if (form === 1) roots.push(`n${k}: node(id: ${ids(k)}) { ... on Product { ${selection} } }`);
    else roots.push(`f${k}: product(id: ${ids(k)}) { ...P }`);
  }
  const fragment = form === 2 ? ` fragment P on Product { ${selection} }` : '';
  return `query ${name}${variables} { ${roots.join(' ')} }${fragment}`;
}

/**
 * The i-th varied request: a document no other request sends (its operation is named after i),
 * over 1 to 3 of the 1,000 hot products written in it, each with a random subset of
 * PRODUCT_PARTS, through aliases of `product`, an inline fragment on `node`, or a named
 * fragment: 765 shapes.
 */
export function variedBody(i: number): string {
  const random = seeded(i + 1);
  const shape = randomShape(random);
  return JSON.stringify({ query: shapeDocument(`V${i}`, shape, () => `"${1 + Math.floor(random() * MIXED_IDS)}"`) });
}

/** 300 varied documents, ids as variables: what an application with a fixed set of operations sends. */
const KNOWN_DOCUMENTS = Array.from({ length: 300 }, (_, d) => {
  const shape = randomShape(seeded(1_000_003 + d));
  const variables = `(${Array.from({ length: shape.count }, (_, k) => `$id${k}: ID!`).join(', ')})`;
  return { count: shape.count, query: shapeDocument(`Varied${d}`, shape, (k) => `$id${k}`, variables) };
});

/** The i-th request of varied-300: one of the 300 documents at random, over products at random. */
export function variedKnownBody(i: number): string {
  const random = seeded(i + 1);
  const { count, query } = KNOWN_DOCUMENTS[Math.floor(random() * KNOWN_DOCUMENTS.length)];
  const variables: Record<string, string> = {};
  for (let k = 0; k < count; k++) variables[`id${k}`] = String(1 + Math.floor(random() * MIXED_IDS));
  return JSON.stringify({ query, variables });
}

/** The i-th request of the private mix: `me` and a product's data, for one of 50 users and one of 1,000 products, at random. */
export function privateRequest(i: number): ScenarioRequest {
  const random = seeded(i + 1);
  const user = 1 + Math.floor(random() * PRIVATE_USERS);
  const id = 1 + Math.floor(random() * MIXED_IDS);
  return { body: JSON.stringify({ query: PRIVATE_QUERY, variables: { id: String(id) } }), headers: { authorization: `Bearer token-${user}` } };
}

/**
 * Requests that read every row the varied and private scenarios can reach, once: every product
 * with all its parts, ten at a time, and every user's `me`. Sent before those scenarios, so that
 * what they measure is the steady state.
 */
export function primeRequests(): ScenarioRequest[] {
  const requests: ScenarioRequest[] = [];
  for (let first = 1; first <= MIXED_IDS; first += 10) {
    const roots = Array.from({ length: 10 }, (_, k) => `p${k}: product(id: "${first + k}") { id ${PRODUCT_PARTS.join(' ')} }`);
    requests.push({ body: JSON.stringify({ query: `{ ${roots.join(' ')} }` }) });
  }
  for (let user = 1; user <= PRIVATE_USERS; user++) {
    requests.push({ body: JSON.stringify({ query: '{ me { name email } }' }), headers: { authorization: `Bearer token-${user}` } });
  }
  return requests;
}

/** A request of each kind the scenario sends, from indices the run itself is unlikely to reach. */
export function probeRequests(scenario: ScenarioName): ScenarioRequest[] {
  if (scenario === 'hit') return [{ body: HIT_BODY }];
  if (scenario === 'miss') return [{ body: missBody(MISS_KEYS - 1) }];
  if (scenario === 'varied') return Array.from({ length: 6 }, (_, k) => ({ body: variedBody(9_000_000 + k) }));
  if (scenario === 'varied-300') return Array.from({ length: 6 }, (_, k) => ({ body: variedKnownBody(9_000_000 + k) }));
  if (scenario === 'private') return [privateRequest(9_000_000)];
  return [{ body: mixedBody(MIXED_IDS * 1000 + 8) }, { body: mixedBody(MIXED_IDS * 1000 + 9) }];
}

// ── One run ────────────────────────────────────────────────────────────────────────────

export interface LoadOptions {
  url: string;
  /** The server process whose CPU time is measured. */
  pid: number;
  /** How long the run lasts; with `amount`, the most it may last (then it is cut short). */
  seconds: number;
  connections: number;
  /** A fixed body, or the i-th request of the run (counted across all connections): its body, or its body and headers; none: a GET. */
  body?: string | ((i: number) => string | ScenarioRequest);
  /** The index of the run's first request in `body`'s sequence. @default 0 */
  firstIndex?: number;
  /** Send this many requests instead of running for `seconds`, so that two servers do the same work. */
  amount?: number;
}

/** One autocannon run, before summarising: runs of the same server and scenario can be combined. */
export interface Run {
  /** Responses with a 2xx status, and their latencies in ms. */
  requests: number;
  latencies: Float64Array;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** How many bodies the generator produced (≥ requests: a few are built and never sent). */
  bodiesBuilt: number;
  /** The run had an `amount` and reached `seconds` first. */
  cutShort: boolean;
  elapsedSeconds: number;
  serverCpuMicros: number;
  loadgenCpuMicros: number;
}

export interface LoadResult {
  /** How many runs (rounds) this combines. */
  rounds: number;
  /** Responses with a 2xx status. */
  requests: number;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** Some round had an `amount` and ran out of time first. */
  cutShort: boolean;
  elapsedSeconds: number;
  reqPerSec: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  /** Server CPU (user + system) during the runs, in µs, and per 2xx response. */
  serverCpuMicros: number;
  cpuMicrosPerRequest: number;
  /** CPU per 2xx response of each round, in µs. */
  roundCpuMicrosPerRequest: number[];
  /** Server CPU during the runs as a share of one core (100 = one core busy). */
  serverCpuPercent: number;
  /** The load generator's own CPU as a share of one core: near 100, it may be the bottleneck. */
  loadgenCpuPercent: number;
}

let current: autocannon.Instance | undefined;

/** Stops a run in progress (SIGINT). */
export function stopLoad(): void {
  current?.stop();
}

/** One run, summarised. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  return summarise([await run(options)]);
}

export async function run({ url, pid, seconds, connections, body, firstIndex = 0, amount }: LoadOptions): Promise<Run> {
  let built = 0;
  const request: autocannon.Request =
    body === undefined
      ? { method: 'GET', headers: { accept: 'application/json' } }
      : typeof body === 'string'
        ? { body }
        : {
            setupRequest: (req) => {
              const made = body(firstIndex + built++);
              return typeof made === 'string' ? { ...req, body: made } : { ...req, body: made.body, headers: { ...req.headers, ...made.headers } };
            },
          };

  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let lastResponseAt = process.hrtime.bigint();
  const record = (_client: unknown, statusCode: number, _bytes: number, ms: number) => {
    lastResponseAt = process.hrtime.bigint();
    if (statusCode < 200 || statusCode >= 300) return;
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = ms;
  };

  const cpuBefore = cpuMicros(pid);
  const loadgenBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  let cutShort = false;
  let deadline: NodeJS.Timeout | undefined;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    current = autocannon(
      {
        url,
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        connections,
        pipelining: 1,
        ...(amount === undefined ? { duration: seconds } : { amount }),
        timeout: 10,
        requests: [request],
      },
      (error, finished) => (error ? reject(error) : resolve(finished)),
    );
    current.on('response', record);
    if (amount !== undefined) {
      deadline = setTimeout(() => {
        cutShort = true;
        current?.stop();
      }, seconds * 1000);
    }
  }).finally(() => {
    clearTimeout(deadline);
    current = undefined;
  });
  // autocannon notices that an `amount` is done only at its next one-second tick: the time after
  // the last response is idle, not load.
  const elapsedSeconds = Number((amount === undefined ? process.hrtime.bigint() : lastResponseAt) - started) / 1e9;
  const serverCpuMicros = cpuMicros(pid) - cpuBefore;
  const loadgen = process.cpuUsage(loadgenBefore);
  return {
    requests: count,
    latencies: latencies.subarray(0, count),
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    bodiesBuilt: typeof body === 'function' ? built : count,
    cutShort,
    elapsedSeconds,
    serverCpuMicros,
    loadgenCpuMicros: loadgen.user + loadgen.system,
  };
}

/** Combines runs of one server and scenario: totals, and percentiles over every latency. */
export function summarise(runs: Run[]): LoadResult {
  const sum = (pick: (run: Run) => number) => runs.reduce((total, run) => total + pick(run), 0);
  const requests = sum((run) => run.requests);
  const all = new Float64Array(requests);
  let offset = 0;
  for (const run of runs) {
    all.set(run.latencies, offset);
    offset += run.latencies.length;
  }
  all.sort();
  const at = (q: number) => (requests === 0 ? NaN : all[Math.min(requests - 1, Math.max(0, Math.ceil(q * requests) - 1))]);
  let total = 0;
  for (let i = 0; i < requests; i++) total += all[i];
  const elapsedSeconds = sum((run) => run.elapsedSeconds);
  const serverCpuMicros = sum((run) => run.serverCpuMicros);
  return {
    rounds: runs.length,
    requests,
    non2xx: sum((run) => run.non2xx),
    errors: sum((run) => run.errors),
    cutShort: runs.some((run) => run.cutShort),
    elapsedSeconds,
    reqPerSec: requests / elapsedSeconds,
    latencyMs: { mean: requests ? total / requests : NaN, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) },
    serverCpuMicros,
    cpuMicrosPerRequest: requests ? serverCpuMicros / requests : NaN,
    roundCpuMicrosPerRequest: runs.map((run) => (run.requests ? run.serverCpuMicros / run.requests : NaN)),
    serverCpuPercent: (serverCpuMicros / (elapsedSeconds * 1e6)) * 100,
    loadgenCpuPercent: (sum((run) => run.loadgenCpuMicros) / (elapsedSeconds * 1e6)) * 100,
  };
}
