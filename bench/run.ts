/**
 * `npm run bench`: our server against its baselines, on loopback, bounded in time.
 *
 * Servers, each its own process on a free port (so CPU and RSS are read per server from /proc):
 *   raw            node:http sending the exact bytes of our hit (the upper bound)
 *   yoga-plugin    graphql-yoga + @graphql-yoga/plugin-response-cache, defaults, same schema and data
 *   ours-disabled  our server with CACHE_ENABLED=false
 *   ours-memory    our server, in-memory cache (the default: answers, loaders and cached fields)
 *   ours-response-only  the same, caching whole answers only (no loader, no field): varied and private only
 *   ours-redis     our server on a throw-away redis-server, in-process tier off (CACHE_MEMORY_BYTES=0)
 * All of them stay up for the whole run; only one is under load at a time. Scenarios (lib/load.ts),
 * autocannon with BENCH_CONNECTIONS connections:
 *   miss   a warm-up, then the same requests for every server, about 2 × BENCH_SECONDS' worth,
 *          in MISS_ROUNDS rounds (first: see missScenario)
 *   hit    a warm-up, then HIT_ROUNDS runs of BENCH_SECONDS per server
 *   mixed  one run of BENCH_SECONDS per server
 *   varied, varied-300, private  after every row they can reach was read once: a warm-up, then
 *          RESOLVER_ROUNDS runs of BENCH_SECONDS per server (ours only), counting the SQL
 *          statements each server sent (its bench-only `GET /bench/statements`)
 *   trpc-hit  as hit, for the catalog's tRPC `product.byId` (GET /trpc), on our servers: the
 *          same router with the cache middleware (memory, Redis) and without it (cache disabled)
 * Rounds alternate the order of the servers, so that a change in the machine's load (other
 * processes) falls on all of them rather than on one. Then the eviction cost of the memory and
 * Redis stores (eviction.ts).
 *
 * Writes bench/results/latest.{json,md,svg}. Every process it starts is stopped at the end, on
 * error, and on SIGINT/SIGTERM.
 *
 * Env: BENCH_SECONDS (default 5), BENCH_CONNECTIONS (default 50).
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { benchMemoryEviction, benchRedisEviction, type EvictionResult } from './eviction.ts';
// Types only: importing memory-bound.ts would run it.
import type { MemoryBoundResult } from './memory-bound.ts';
import type { CacheStats } from '../plugins/response-cache.ts';
import {
  HIT_BODY,
  HIT_ID,
  HIT_QUERY,
  MISS_KEYS,
  TRPC_HIT_PATH,
  missBody,
  mixedBody,
  primeRequests,
  privateRequest,
  probeRequests,
  run,
  runLoad,
  stopLoad,
  summarise,
  variedBody,
  variedKnownBody,
  type LoadResult,
  type Run,
  type ScenarioName,
  type ScenarioRequest,
} from './lib/load.ts';
import { HOST, freePort, memory, spawnChild, stopAll, waitFor, type Child } from './lib/processes.ts';
import { startRedis, type RedisHandle } from './lib/redis.ts';
import { positiveNumber } from './lib/env.ts';
import { currentMachine, writeResult } from './lib/results.ts';
import {
  describeMachine,
  mib,
  renderMarkdown,
  renderSvg,
  type BenchResults,
  type ServerId,
  type ServerResult,
  type Target,
} from './lib/report.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

const seconds = positiveNumber('BENCH_SECONDS', 5);
const connections = Math.round(positiveNumber('BENCH_CONNECTIONS', 50));
const warmupSeconds = Math.max(1, Math.round(seconds / 5));

// ── The servers ────────────────────────────────────────────────────────────────────────

interface ServerSpec {
  id: ServerId;
  label: string;
  scenarios: ScenarioName[];
  /** Ours with a cache: the second hit request must say `x-cache: HIT`. */
  expectsXCacheHit: boolean;
  start(port: number, context: { redisUrl: string; hitBody?: Hit }): Child;
}

interface Hit {
  body: string;
  contentType: string;
}

/** The environment every server gets: the caller's, minus anything that would change what runs. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(CACHE_|REDIS_)/.test(name)) delete env[name];
  }
  // Each server gets its own embedded database, so one server's mutations never reach another's.
  for (const name of ['DATABASE_URL', 'PGLITE_DATA_DIR', 'PORT', 'HOST', 'DEBUG']) delete env[name];
  // As in production: JSON logs with a line per request (written to nowhere, see `tsx`), and
  // metrics counted on every request.
  return { ...env, NODE_ENV: 'production', LOG_LEVEL: 'info' };
}

function tsx(name: string, file: string, env: NodeJS.ProcessEnv): Child {
  // `node --import tsx` rather than `npx tsx`/`npm start`: the pid is the server itself. Its
  // stdout (the request lines) is discarded, as if a log shipper took it off this host.
  return spawnChild(name, process.execPath, ['--import', 'tsx', file], env, root, true);
}

/** Opens our servers' operator endpoints, for `GET /cache/stats`. */
const OPERATOR_TOKEN = 'bench-operator-token-0123456789';

function ours(name: string, port: number, extra: NodeJS.ProcessEnv): Child {
  return tsx(name, 'bench/servers/ours.ts', {
    ...baseEnv(),
    PORT: String(port),
    HOST,
    SHUTDOWN_TIMEOUT_MS: '1000',
    CACHE_PURGE_TOKEN: OPERATOR_TOKEN,
    ...extra,
  });
}

const ALL: ScenarioName[] = ['hit', 'miss', 'mixed'];
/** The scenarios that compare caching whole answers with caching resolvers too. */
const RESOLVER_SCENARIOS: ScenarioName[] = ['varied', 'varied-300', 'private'];
/** Our servers run the catalog's tRPC router too. */
const OURS: ScenarioName[] = [...ALL, 'trpc-hit'];

const SPECS: Record<ServerId, ServerSpec> = {
  raw: {
    id: 'raw',
    label: 'raw node:http, same bytes',
    scenarios: ['hit'],
    expectsXCacheHit: false,
    start: (port, { hitBody }) => {
      if (hitBody === undefined) throw new Error('raw server: no hit body to serve');
      return tsx('raw', 'bench/servers/raw.ts', {
        ...baseEnv(),
        PORT: String(port),
        BENCH_RAW_BODY: hitBody.body,
        BENCH_RAW_CONTENT_TYPE: hitBody.contentType,
      });
    },
  },
  'yoga-plugin': {
    id: 'yoga-plugin',
    label: 'graphql-yoga + plugin-response-cache',
    scenarios: ALL,
    expectsXCacheHit: false,
    start: (port) => tsx('yoga-plugin', 'bench/servers/yoga-response-cache.ts', { ...baseEnv(), PORT: String(port) }),
  },
  'ours-disabled': {
    id: 'ours-disabled',
    label: 'ours, cache disabled',
    scenarios: [...OURS, ...RESOLVER_SCENARIOS],
    expectsXCacheHit: false,
    start: (port) => ours('ours-disabled', port, { CACHE_ENABLED: 'false' }),
  },
  'ours-response-only': {
    id: 'ours-response-only',
    label: 'ours, in-memory, response cache only',
    scenarios: RESOLVER_SCENARIOS,
    expectsXCacheHit: true,
    start: (port) => ours('ours-response-only', port, { BENCH_RESOLVER_CACHING: 'false' }),
  },
  'ours-memory': {
    id: 'ours-memory',
    label: 'ours, in-memory cache',
    scenarios: [...OURS, ...RESOLVER_SCENARIOS],
    expectsXCacheHit: true,
    start: (port) => ours('ours-memory', port, {}),
  },
  'ours-redis': {
    id: 'ours-redis',
    label: 'ours, Redis (in-process tier off)',
    scenarios: OURS,
    expectsXCacheHit: true,
    start: (port, { redisUrl }) => ours('ours-redis', port, { REDIS_URL: redisUrl, CACHE_MEMORY_BYTES: '0' }),
  },
};

/** The GraphQL servers, started together; raw starts after them, with the bytes of ours-memory's hit. */
const GRAPHQL_SERVERS: ServerId[] = ['yoga-plugin', 'ours-disabled', 'ours-response-only', 'ours-memory', 'ours-redis'];
/** The order of the table and of the first round of each scenario. */
const TABLE_ORDER: ServerId[] = ['raw', 'yoga-plugin', 'ours-disabled', 'ours-response-only', 'ours-memory', 'ours-redis'];

/** Hit rounds of BENCH_SECONDS per server. */
const HIT_ROUNDS = 2;
/** Rounds of BENCH_SECONDS per server of the varied and private scenarios. */
const RESOLVER_ROUNDS = 2;
/** Miss rounds per server (even, so each server runs first as often as last); the miss requests are split evenly between them. */
const MISS_ROUNDS = 6;
/**
 * The measured miss requests take about this many times BENCH_SECONDS per server: a miss costs
 * milliseconds of CPU that vary from one request to the next, so its ratio needs more samples.
 */
const MISS_SECONDS_FACTOR = 2;
const MIN_MISS_REQUESTS = 500;
const MAX_MISS_REQUESTS = 40_000;
/** Where in the miss key sequence the warm-up takes its keys (never measured). */
const MISS_WARMUP_FIRST_INDEX = 50_000;
/** A miss round may take this many times its share of BENCH_SECONDS before it is cut short. */
const MISS_CAP_FACTOR = 4;

// ── HTTP helpers ───────────────────────────────────────────────────────────────────────

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

function graphqlErrors(answer: Answer): string | undefined {
  if (answer.status !== 200) return `HTTP ${answer.status}: ${answer.text.slice(0, 300)}`;
  try {
    const parsed = JSON.parse(answer.text) as { data?: unknown; errors?: unknown };
    if (parsed.errors !== undefined) return JSON.stringify(parsed.errors).slice(0, 300);
    if (parsed.data === undefined || parsed.data === null) return `no data: ${answer.text.slice(0, 300)}`;
    return undefined;
  } catch {
    return `not JSON: ${answer.text.slice(0, 300)}`;
  }
}

// ── Servers running ────────────────────────────────────────────────────────────────────

const warnings: string[] = [];
const warn = (message: string) => {
  warnings.push(message);
  console.log(`  ! ${message}`);
};

interface Running {
  spec: ServerSpec;
  child: Child;
  url: string;
  result: ServerResult;
}

async function launch(spec: ServerSpec, context: { redisUrl: string; hitBody?: Hit }): Promise<Running> {
  const port = await freePort();
  const url = `http://${HOST}:${port}/graphql`;
  const startedAt = performance.now();
  const child = spec.start(port, context);
  await waitFor(child, 'its first answer', async () => {
    const answer = await post(url, JSON.stringify({ query: '{ __typename }' }));
    return answer.status === 200 && (spec.id === 'raw' || answer.text.includes('"Query"'));
  });
  console.log(`  ${spec.label.padEnd(LABEL_WIDTH)} pid ${child.pid}, port ${port}, ready in ${Math.round(performance.now() - startedAt)} ms`);
  return { spec, child, url, result: { id: spec.id, label: spec.label, pid: child.pid, scenarios: {} } };
}

/** Warms the cache with one request; on ours the next must say `x-cache: HIT`. Returns that answer. */
async function warmHit(server: Running, reference?: Hit): Promise<Hit> {
  const { spec, url, result } = server;
  const problem = graphqlErrors(await post(url, HIT_BODY));
  if (problem !== undefined) throw new Error(`${spec.id}: the hit query failed: ${problem}`);
  let second = await post(url, HIT_BODY);
  // A store written after the answer was sent (Redis) may need a moment.
  for (let attempt = 1; spec.expectsXCacheHit && second.headers.get('x-cache')?.toUpperCase() !== 'HIT' && attempt < 10; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    second = await post(url, HIT_BODY);
  }
  result.hitXCache = second.headers.get('x-cache') ?? undefined;
  result.hitBodyBytes = Buffer.byteLength(second.text);
  if (spec.expectsXCacheHit && result.hitXCache?.toUpperCase() !== 'HIT') {
    warn(`${spec.id}: x-cache is ${JSON.stringify(result.hitXCache ?? null)} on the second identical request, not HIT: its "hit" figures are not cache hits`);
  }
  if (reference !== undefined && second.text !== reference.body) {
    warn(`${spec.id}: its hit body (${result.hitBodyBytes} bytes) differs from ours-memory's (${Buffer.byteLength(reference.body)} bytes)`);
  }
  return { body: second.text, contentType: second.headers.get('content-type') ?? 'application/json; charset=utf-8' };
}

async function send(server: Running, scenario: string, { body, headers }: ScenarioRequest): Promise<void> {
  const failed = graphqlErrors(await post(server.url, body, headers));
  if (failed !== undefined) throw new Error(`${server.spec.id}: a ${scenario} request failed: ${failed}\n  request: ${body}`);
}

async function probe(server: Running, scenario: ScenarioName): Promise<void> {
  for (const request of probeRequests(scenario)) await send(server, scenario, request);
}

/** Round r runs the servers in table order, round r + 1 in reverse, so drift in the machine's load cancels out. */
function inRoundOrder<T>(items: T[], round: number): T[] {
  return round % 2 === 0 ? items : [...items].reverse();
}

const LABEL_WIDTH = 36;

function summary(result: LoadResult): string {
  return (
    `${Math.round(result.reqPerSec).toLocaleString('en-US').padStart(7)} req/s  ` +
    `p50 ${result.latencyMs.p50.toFixed(2)} ms  p99 ${result.latencyMs.p99.toFixed(2)} ms  ` +
    `server CPU ${Math.round(result.cpuMicrosPerRequest)} µs/req (${Math.round(result.serverCpuPercent)}% of a core)  ` +
    `load generator ${Math.round(result.loadgenCpuPercent)}%`
  );
}

function record(server: Running, scenario: ScenarioName, result: LoadResult): void {
  server.result.scenarios[scenario] = result;
  console.log(`  ${server.spec.label.padEnd(LABEL_WIDTH)} ${summary(result)}`);
  if (result.non2xx > 0 || result.errors > 0) {
    warn(`${server.spec.id} ${scenario}: ${result.non2xx} non-2xx responses and ${result.errors} errors/timeouts`);
  }
  if (result.requests === 0) warn(`${server.spec.id} ${scenario}: no successful responses`);
  if (result.cutShort) warn(`${server.spec.id} ${scenario}: a round ran out of time before its requests were answered`);
}

/** The URL and body of a hit scenario's request: GraphQL's POST, or tRPC's GET beside it. */
const HIT_REQUESTS = {
  hit: (server: Running) => ({ url: server.url, body: HIT_BODY }),
  'trpc-hit': (server: Running) => ({ url: server.url.replace(/\/graphql$/, TRPC_HIT_PATH), body: undefined }),
};

/** A hit scenario: a warm-up, then HIT_ROUNDS rounds of BENCH_SECONDS per server. */
async function hitScenario(servers: Running[], scenario: keyof typeof HIT_REQUESTS): Promise<void> {
  console.log(`
${scenario}: warm-up ${warmupSeconds} s each, then ${HIT_ROUNDS} rounds of ${seconds} s each, alternating order`);
  for (const server of servers) {
    await run({ ...HIT_REQUESTS[scenario](server), pid: server.child.pid, seconds: warmupSeconds, connections });
  }
  const runs = new Map<Running, Run[]>(servers.map((server) => [server, []]));
  for (let round = 0; round < HIT_ROUNDS; round++) {
    for (const server of inRoundOrder(servers, round)) {
      runs.get(server)?.push(await run({ ...HIT_REQUESTS[scenario](server), pid: server.child.pid, seconds, connections }));
    }
  }
  for (const server of servers) {
    record(server, scenario, summarise(runs.get(server) ?? []));
    if (scenario === 'hit') server.result.rssAfterHitBytes = memory(server.child.pid).rssBytes;
  }
}

/** Ours with a cache must answer the tRPC hit from it: a warm-up call, then `x-cache: HIT`. */
async function warmTrpcHit(server: Running): Promise<void> {
  const { url } = HIT_REQUESTS['trpc-hit'](server);
  const first = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (first.status !== 200) throw new Error(`${server.spec.id}: the tRPC hit call failed: HTTP ${first.status}: ${(await first.text()).slice(0, 300)}`);
  await first.text();
  const second = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  await second.text();
  if (server.spec.expectsXCacheHit && second.headers.get('x-cache') !== 'HIT') {
    warn(`${server.spec.id}: x-cache is ${JSON.stringify(second.headers.get('x-cache'))} on the second tRPC call, not HIT: its "trpc-hit" figures are not cache hits`);
  }
}

/**
 * The miss scenario, run first, while every server's database has done the same work: a hit run
 * on a server without a cache executes thousands of queries, and that warms its embedded
 * database's WebAssembly, while a caching server answers its hits without the database. Measured
 * after the hit runs, a caching server's misses cost up to 1.5× the CPU of the uncached server's;
 * with equal warm-ups the two were within noise of each other.
 *
 * Every server first warms up for BENCH_SECONDS on keys that are never measured, then answers the
 * same requests: MISS_SECONDS_FACTOR times as many as the slowest server answered in its warm-up,
 * in MISS_ROUNDS rounds of alternating order, each round the same key range on every server.
 */
async function missScenario(servers: Running[]): Promise<number> {
  for (const server of servers) await probe(server, 'miss');
  console.log(`\nmiss: warm-up ${seconds} s each on other keys, then the same requests for every server in ${MISS_ROUNDS} rounds, alternating order`);
  let slowest = Infinity;
  for (const server of servers) {
    const warm = await run({ url: server.url, pid: server.child.pid, seconds, connections, body: missBody, firstIndex: MISS_WARMUP_FIRST_INDEX });
    if (warm.bodiesBuilt > MISS_KEYS - MISS_WARMUP_FIRST_INDEX) warn(`${server.spec.id} miss warm-up: ${warm.bodiesBuilt} requests, so it reused keys`);
    slowest = Math.min(slowest, warm.requests / warm.elapsedSeconds);
  }
  const perRound = Math.max(
    Math.ceil(MIN_MISS_REQUESTS / MISS_ROUNDS),
    Math.min(Math.floor(MAX_MISS_REQUESTS / MISS_ROUNDS), Math.round((slowest * seconds * MISS_SECONDS_FACTOR) / MISS_ROUNDS)),
  );
  const total = perRound * MISS_ROUNDS;
  // Each round's keys start past everything the previous round could have built (autocannon builds
  // one request ahead per connection), so no key is ever sent twice.
  const roundStride = perRound + 2 * connections;
  const roundCapSeconds = Math.max(5, ((seconds * MISS_SECONDS_FACTOR) / MISS_ROUNDS) * MISS_CAP_FACTOR);
  console.log(`  ${total} requests per server (${MISS_ROUNDS} × ${perRound}; the slowest warm-up ran at ${Math.round(slowest)} req/s)`);

  const runs = new Map<Running, Run[]>(servers.map((server) => [server, []]));
  for (let round = 0; round < MISS_ROUNDS; round++) {
    for (const server of inRoundOrder(servers, round)) {
      runs.get(server)?.push(
        await run({
          url: server.url,
          pid: server.child.pid,
          seconds: roundCapSeconds,
          connections,
          body: missBody,
          firstIndex: round * roundStride,
          amount: perRound,
        }),
      );
    }
  }
  for (const server of servers) {
    const result = summarise(runs.get(server) ?? []);
    record(server, 'miss', result);
    await recordTier(server);
  }
  return total;
}

/** Our servers' in-process tier and RSS after the miss runs, from `GET /cache/stats` and /proc. */
async function recordTier(server: Running): Promise<void> {
  server.result.rssAfterMissBytes = memory(server.child.pid).rssBytes;
  if (!server.spec.expectsXCacheHit) return;
  const response = await fetch(new URL('/cache/stats', server.url), {
    headers: { authorization: `Bearer ${OPERATOR_TOKEN}` },
    signal: AbortSignal.timeout(10_000),
  });
  if (response.status !== 200) {
    warn(`${server.spec.id}: GET /cache/stats answered ${response.status}`);
    return;
  }
  const { local, misses } = (await response.json()) as CacheStats;
  server.result.cacheAfterMiss = { misses, local };
  const tier = local === null ? 'no in-process tier' : `in-process tier ${mib(local.bytes)} of its ${mib(local.maxBytes)} bound, ${local.entries.toLocaleString('en-US')} entries`;
  console.log(`  ${server.spec.label.padEnd(LABEL_WIDTH)} after ${misses.toLocaleString('en-US')} misses: ${tier}; RSS ${mib(server.result.rssAfterMissBytes)}`);
  if (local !== null && local.bytes > local.maxBytes) warn(`${server.spec.id}: its in-process tier holds ${local.bytes} bytes, over its bound of ${local.maxBytes}`);
}

/** The default memory store alone, given 100k distinct answers, in a process of its own (memory-bound.ts). */
async function memoryBound(): Promise<MemoryBoundResult> {
  const child = spawnChild('memory-bound', process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/memory-bound.ts'], baseEnv(), root);
  const [code] = (await once(child.process, 'exit')) as [number | null];
  const line = child.output().trim().split('\n').pop() ?? '';
  if (code !== 0) throw new Error(`memory-bound exited with ${code}: ${child.output()}`);
  await child.stop();
  return JSON.parse(line) as MemoryBoundResult;
}

/** The mixed scenario: one run of BENCH_SECONDS per server (its mutations change the data, so no rounds). */
async function mixedScenario(servers: Running[]): Promise<void> {
  console.log(`
mixed: ${seconds} s each`);
  for (const server of servers) {
    await probe(server, 'mixed');
    record(server, 'mixed', await runLoad({ url: server.url, pid: server.child.pid, seconds, connections, body: mixedBody }));
  }
}

/** SQL statements the server has sent so far (ours, from its bench-only endpoint). */
async function statementsSent(server: Running): Promise<number> {
  const response = await fetch(new URL('/bench/statements', server.url), { signal: AbortSignal.timeout(10_000) });
  if (response.status !== 200) throw new Error(`${server.spec.id}: GET /bench/statements answered ${response.status}`);
  return ((await response.json()) as { statements: number }).statements;
}

const RESOLVER_BODIES: Record<string, (i: number) => string | ScenarioRequest> = { varied: variedBody, 'varied-300': variedKnownBody, private: privateRequest };
/** Where the warm-ups take their requests: past anything the measured rounds reach. */
const RESOLVER_WARMUP_FIRST_INDEX = 50_000_000;

/**
 * The varied and private scenarios. Every row they can reach is read once first, so that what is
 * measured is the steady state; then a warm-up, and RESOLVER_ROUNDS rounds of BENCH_SECONDS per
 * server in alternating order, each on requests no earlier round sent, with the statements the
 * server sent during the rounds.
 */
async function resolverScenarios(servers: Running[]): Promise<void> {
  const primes = primeRequests();
  console.log(`\nvaried and private: ${primes.length} requests first read every row they reach, on each server`);
  for (const server of servers) for (const request of primes) await send(server, 'priming', request);
  for (const scenario of RESOLVER_SCENARIOS) {
    const body = RESOLVER_BODIES[scenario];
    console.log(`\n${scenario}: warm-up ${warmupSeconds} s each, then ${RESOLVER_ROUNDS} rounds of ${seconds} s each, alternating order`);
    for (const server of servers) {
      await probe(server, scenario);
      await run({ url: server.url, pid: server.child.pid, seconds: warmupSeconds, connections, body, firstIndex: RESOLVER_WARMUP_FIRST_INDEX });
    }
    const runs = new Map<Running, Run[]>(servers.map((server) => [server, []]));
    const statements = new Map<Running, number>(servers.map((server) => [server, 0]));
    for (let round = 0; round < RESOLVER_ROUNDS; round++) {
      for (const server of inRoundOrder(servers, round)) {
        const before = await statementsSent(server);
        runs.get(server)?.push(await run({ url: server.url, pid: server.child.pid, seconds, connections, body, firstIndex: round * 10_000_000 }));
        statements.set(server, (statements.get(server) ?? 0) + (await statementsSent(server)) - before);
      }
    }
    for (const server of servers) {
      const result = summarise(runs.get(server) ?? []);
      record(server, scenario, result);
      const perRequest = (statements.get(server) ?? 0) / result.requests;
      (server.result.statementsPerRequest ??= {})[scenario] = perRequest;
      console.log(`  ${server.spec.label.padEnd(LABEL_WIDTH)} ${perRequest.toFixed(3)} SQL statements per request`);
    }
  }
}

// ── Results ────────────────────────────────────────────────────────────────────────────

function computeRatios(servers: ServerResult[]): { ratios: BenchResults['ratios']; targets: Target[] } {
  const by = (id: ServerId) => servers.find((server) => server.id === id);
  const hitRps = (id: ServerId) => by(id)?.scenarios.hit?.reqPerSec;
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? undefined : a / b;

  const hitVsRaw: BenchResults['ratios']['hitVsRaw'] = {};
  const hitVsYogaPlugin: BenchResults['ratios']['hitVsYogaPlugin'] = {};
  for (const server of servers) {
    const value = ratio(hitRps(server.id), hitRps('raw'));
    if (value !== undefined) hitVsRaw[server.id] = value;
    const vsYoga = ratio(hitRps(server.id), hitRps('yoga-plugin'));
    if (vsYoga !== undefined) hitVsYogaPlugin[server.id] = vsYoga;
  }
  const rawP99 = by('raw')?.scenarios.hit?.latencyMs.p99;
  const ratios: BenchResults['ratios'] = {
    hitVsRaw,
    hitVsYogaPlugin,
    missCpuOursMemoryVsDisabled: ratio(
      by('ours-memory')?.scenarios.miss?.cpuMicrosPerRequest,
      by('ours-disabled')?.scenarios.miss?.cpuMicrosPerRequest,
    ),
    missCpuOursMemoryVsDisabledPerRound: (by('ours-memory')?.scenarios.miss?.roundCpuMicrosPerRequest ?? []).map(
      (micros, round) => micros / (by('ours-disabled')?.scenarios.miss?.roundCpuMicrosPerRequest[round] ?? NaN),
    ),
    hitP99OursMemoryVsRaw: ratio(by('ours-memory')?.scenarios.hit?.latencyMs.p99, rawP99),
    hitP99OursRedisVsRaw: ratio(by('ours-redis')?.scenarios.hit?.latencyMs.p99, rawP99),
    trpcHitVsUncached: {
      'ours-memory': ratio(by('ours-memory')?.scenarios['trpc-hit']?.reqPerSec, by('ours-disabled')?.scenarios['trpc-hit']?.reqPerSec),
      'ours-redis': ratio(by('ours-redis')?.scenarios['trpc-hit']?.reqPerSec, by('ours-disabled')?.scenarios['trpc-hit']?.reqPerSec),
    },
  };

  const targets: Target[] = [];
  const target = (name: string, measured: number | undefined, direction: Target['direction'], goal: number, detail?: string) => {
    if (measured === undefined) return;
    const met = direction === '>=' ? measured >= goal : measured <= goal;
    targets.push({ name, measured, goal, direction, met, ...(detail !== undefined && { detail }) });
  };
  const perRound = ratios.missCpuOursMemoryVsDisabledPerRound.filter(Number.isFinite);
  const spread = perRound.length > 1 ? `rounds ${Math.min(...perRound).toFixed(2)}–${Math.max(...perRound).toFixed(2)}` : undefined;
  target('in-memory hit req/s ÷ raw node:http', hitVsRaw['ours-memory'], '>=', 0.7);
  target('Redis hit (in-process tier off) req/s ÷ raw node:http', hitVsRaw['ours-redis'], '>=', 0.4);
  target('miss CPU per request, in-memory ÷ cache disabled', ratios.missCpuOursMemoryVsDisabled, '<=', 1.1, spread);
  target('in-memory hit p99 ÷ raw p99', ratios.hitP99OursMemoryVsRaw, '<=', 2);
  const scenarioRps = (id: ServerId, scenario: ScenarioName) => by(id)?.scenarios[scenario]?.reqPerSec;
  target('varied req/s, response + resolver caching ÷ response cache only', ratio(scenarioRps('ours-memory', 'varied'), scenarioRps('ours-response-only', 'varied')), '>=', 3);
  target('varied SQL statements per request, response + resolver caching', by('ours-memory')?.statementsPerRequest?.varied, '<=', 0.2);
  target('private mix req/s, response + resolver caching ÷ response cache only', ratio(scenarioRps('ours-memory', 'private'), scenarioRps('ours-response-only', 'private')), '>=', 3);
  return { ratios, targets };
}

function autocannonVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../node_modules/autocannon/package.json', import.meta.url), 'utf8')) as { version: string };
    return `autocannon ${pkg.version}`;
  } catch {
    return 'autocannon';
  }
}

// ── Main ───────────────────────────────────────────────────────────────────────────────

let redis: RedisHandle | undefined;
let interrupted = false;

async function shutdown(): Promise<void> {
  stopLoad();
  await stopAll();
  await redis?.stop();
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`\n${signal}: stopping every process the bench started…`);
    void shutdown().finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const machine = currentMachine();
  // A safety net far above a normal run: a hung server cannot keep the bench (and its children) alive.
  const budgetSeconds = 10 * (2 * HIT_ROUNDS + 3 + 2 * RESOLVER_ROUNDS) * seconds + 600;
  const watchdog = setTimeout(() => {
    console.error(`\nbench: still running after ${budgetSeconds} s; stopping everything.`);
    void shutdown().finally(() => process.exit(1));
  }, budgetSeconds * 1000);
  watchdog.unref();

  const loadAtStart = os.loadavg();
  console.log(`Machine: ${describeMachine(machine)}`);
  console.log(`${autocannonVersion()}, ${connections} connections, BENCH_SECONDS=${seconds}, loopback only`);
  if (loadAtStart[0] > 0.5) {
    warn(`the 1-minute load average was ${loadAtStart[0].toFixed(2)} at the start: other processes are busy, and every figure is noisier for it`);
  }

  redis = await startRedis();
  console.log(`\nstarting: redis-server pid ${redis.child.pid}, port ${redis.port}`);
  const redisUrl = redis.url;
  const servers = new Map<ServerId, Running>();
  await Promise.all(GRAPHQL_SERVERS.map(async (id) => servers.set(id, await launch(SPECS[id], { redisUrl }))));
  const oursMemory = servers.get('ours-memory') as Running;
  const hitBody = await warmHit(oursMemory);
  for (const id of GRAPHQL_SERVERS) if (id !== 'ours-memory') await warmHit(servers.get(id) as Running, hitBody);
  servers.set('raw', await launch(SPECS.raw, { redisUrl, hitBody }));
  const rawHit = await post((servers.get('raw') as Running).url, HIT_BODY);
  if (rawHit.text !== hitBody.body) throw new Error('raw: does not serve the bytes of our hit');

  const all = TABLE_ORDER.map((id) => servers.get(id) as Running);
  const withScenario = (scenario: ScenarioName) => all.filter((server) => server.spec.scenarios.includes(scenario));
  // Miss first: see missScenario.
  const missRequests = await missScenario(withScenario('miss'));
  await hitScenario(withScenario('hit'), 'hit');
  for (const server of withScenario('trpc-hit')) await warmTrpcHit(server);
  await hitScenario(withScenario('trpc-hit'), 'trpc-hit');
  await mixedScenario(withScenario('mixed'));
  await resolverScenarios(withScenario('varied'));
  for (const server of all) server.result.peakRssBytes = memory(server.child.pid).peakRssBytes;
  await Promise.all(all.map((server) => server.child.stop()));

  console.log('\nmemory bound: the default memory store given 100k distinct answers, in a process of its own');
  const bound = await memoryBound();
  console.log(
    `  offered ${mib(bound.offeredBytes)}; holds ${bound.entries.toLocaleString('en-US')} entries, ${mib(bound.bytes)} of its ${mib(bound.maxBytes)} bound; ` +
      `heap grew ${mib(bound.heapGrowthBytes)}; RSS ${mib(bound.rssBytes)}`,
  );
  if (bound.bytes > bound.maxBytes) warn(`the memory store holds ${bound.bytes} bytes, over its bound of ${bound.maxBytes}`);

  console.log('\neviction cost, 100k cached answers, evict([\'Product:n\']) on 9 different products');
  const eviction: EvictionResult[] = [];
  const memoryEviction = await benchMemoryEviction();
  eviction.push(memoryEviction);
  console.log(`  memory store: median ${Math.round(memoryEviction.medianMicros)} µs (fill ${(memoryEviction.fillMs / 1000).toFixed(1)} s)`);
  const redisEviction = await benchRedisEviction(redis.url);
  eviction.push(redisEviction);
  console.log(`  Redis store:  median ${(redisEviction.medianMicros / 1000).toFixed(2)} ms (fill ${(redisEviction.fillMs / 1000).toFixed(1)} s)`);
  for (const e of eviction) {
    if (e.removed.some((n) => n !== e.entriesPerEvictedTag)) warn(`${e.store} eviction removed ${e.removed.join(', ')} entries, expected ${e.entriesPerEvictedTag} each`);
  }

  const raw = servers.get('raw')?.result.scenarios.hit;
  if (raw !== undefined && raw.loadgenCpuPercent > 90) {
    warn(`the load generator used ${Math.round(raw.loadgenCpuPercent)}% of a core during raw's hit runs: raw's figure may be bounded by autocannon, which flatters every ratio to raw`);
  }

  const results = all.map((server) => server.result);
  const { ratios, targets } = computeRatios(results);
  const report: BenchResults = {
    startedAt: startedAt.toISOString(),
    durationSeconds: (Date.now() - startedAt.getTime()) / 1000,
    machine,
    settings: {
      secondsPerRun: seconds,
      warmupSeconds,
      hitRounds: HIT_ROUNDS,
      missRounds: MISS_ROUNDS,
      resolverRounds: RESOLVER_ROUNDS,
      connections,
      pipelining: 1,
      loadGenerator: autocannonVersion(),
      database: 'embedded PGlite, one per server, seeded with the demo catalog',
      hitQuery: HIT_QUERY,
      hitId: HIT_ID,
      missRequestsPerServer: missRequests,
      loadAverageAtStart: loadAtStart,
      loadAverageAtEnd: os.loadavg(),
    },
    servers: results,
    ratios,
    targets,
    eviction,
    memoryBound: bound,
    warnings,
  };

  const markdown = renderMarkdown(report);
  writeResult('latest.json', `${JSON.stringify(report, null, 2)}\n`);
  writeResult('latest.md', markdown);
  writeResult('latest.svg', renderSvg(report));
  console.log(`\n${markdown}`);
  console.log('Written: bench/results/latest.json, latest.md, latest.svg');
}

try {
  await main();
} catch (error) {
  // After SIGINT the children die under the runs: that is not a failure worth a stack trace.
  if (!interrupted) console.error(`\nbench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await shutdown();
}
