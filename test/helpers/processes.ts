/**
 * The real server as a child process (`node --import tsx server/main.ts`, or the compiled
 * `node dist/server/main.js` that `npm start` runs): its own event loop, its own Redis clients,
 * configured by environment alone. Used by the multi-instance and fault tests, which need
 * several instances that share nothing but Redis and the database.
 *
 * Also: databases for such instances, and a GraphQL-over-HTTP call that keeps the cache headers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openPglite } from '../../schema/data/pglite.ts';
import { createThrowawayDatabase, seededPgliteSnapshot } from './catalog.ts';
import { freePort } from './redis.ts';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HOST = '127.0.0.1';
/** tsx compiles the server on start: seconds on a busy 2-core machine. */
const START_DEADLINE_MS = 45_000;
const STOP_DEADLINE_MS = 15_000;
/** Output kept per process: enough for every warning a fault test provokes. */
const OUTPUT_LIMIT = 256 * 1024;

/** Variables the server reads: the parent's values never leak into a child. */
const SERVER_VARIABLES = /^(PORT|HOST|DATABASE_URL|PGLITE_DATA_DIR|LOG_LEVEL|SHUTDOWN_TIMEOUT_MS|NODE_ENV|CACHE_.*|REDIS_.*|MAX_.*|VITEST.*)$/;

export interface ServerProcess {
  /** What the tests call it in messages, e.g. "A". */
  readonly name: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>/graphql` */
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Sends SIGTERM and resolves with the exit code once it has exited (null: killed by a signal). */
  stop(): Promise<number | null>;
  /** SIGKILL, for teardown; resolves once it has exited. */
  kill(): Promise<void>;
}

export interface StartServerOptions {
  name: string;
  /** The server's configuration, over HOST=127.0.0.1, LOG_LEVEL=warn and a free PORT. */
  env: Record<string, string>;
  /** Run the build in dist/ (which must be current) rather than the sources. @default false */
  compiled?: boolean;
}

const FROM_SOURCES = ['--import', 'tsx', 'server/main.ts'];
const COMPILED = ['--enable-source-maps', 'dist/server/main.js'];

// Safety net for a worker that dies without its teardown: no server outlives it.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function whenExited(child: ChildProcess): Promise<void> {
  if (exited(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function spawnServer(name: string, port: number, env: Record<string, string>, args: string[]) {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !SERVER_VARIABLES.test(key)));
  const child = spawn(process.execPath, args, {
    cwd: PROJECT_ROOT,
    env: { ...inherited, PORT: String(port), HOST, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  const keep = (chunk: Buffer): void => {
    output += chunk.toString();
    if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => output, describe: () => `server ${name} (port ${port})` };
}

/** Starts the server and resolves once it answers `{ __typename }`. */
export async function startServerProcess({ name, env, compiled = false }: StartServerOptions): Promise<ServerProcess> {
  // Another process may take the free port before the server binds it: try a few ports.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const spawned = spawnServer(name, port, env, compiled ? COMPILED : FROM_SOURCES);
    const url = `http://${HOST}:${port}/graphql`;
    try {
      await waitForAnswer(url, spawned);
    } catch (error) {
      spawned.child.kill('SIGKILL');
      await whenExited(spawned.child);
      if (attempt < 3 && /Could not listen/.test(spawned.output())) continue;
      throw error;
    }
    const { child } = spawned;
    return {
      name,
      port,
      url,
      child,
      output: spawned.output,
      async stop() {
        if (!exited(child)) {
          child.kill('SIGTERM');
          let timer: NodeJS.Timeout | undefined;
          const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_DEADLINE_MS)));
          const outcome = await Promise.race([whenExited(child), late]);
          clearTimeout(timer);
          if (outcome === 'late') {
            child.kill('SIGKILL');
            await whenExited(child);
            throw new Error(`${spawned.describe()} did not exit within ${STOP_DEADLINE_MS} ms of SIGTERM:\n${spawned.output()}`);
          }
        }
        return child.exitCode;
      },
      async kill() {
        if (!exited(child)) child.kill('SIGKILL');
        await whenExited(child);
      },
    };
  }
}

async function waitForAnswer(url: string, spawned: ReturnType<typeof spawnServer>): Promise<void> {
  const deadline = Date.now() + START_DEADLINE_MS;
  for (;;) {
    if (exited(spawned.child)) {
      throw new Error(`${spawned.describe()} exited during start-up with ${spawned.child.exitCode ?? spawned.child.signalCode}:\n${spawned.output()}`);
    }
    const answered = await postGraphQL(url, '{ __typename }', undefined, { timeoutMs: 1_000 }).then(
      (answer) => answer.status === 200,
      () => false,
    );
    if (answered) return;
    if (Date.now() > deadline) throw new Error(`${spawned.describe()} did not answer within ${START_DEADLINE_MS} ms:\n${spawned.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Lines of a server's output that tell of a crash or a leaked rejection: Node's report of an
 * uncaught error ends with its version line. Warnings the server logs about Redis failures it
 * absorbed are expected in fault tests and are not listed.
 */
export function crashSigns(output: string): string[] {
  return output
    .split('\n')
    .filter((line) => /unhandled|uncaught|fatal|segmentation fault|out of memory|^Node\.js v\d/i.test(line));
}

export interface GraphQLAnswer<T = Record<string, unknown>> {
  status: number;
  /** The X-Cache header: HIT, MISS or BYPASS. */
  xCache: string | null;
  data: T | null | undefined;
  errors: unknown[] | undefined;
  /** Milliseconds from sending the request to having read the whole answer. */
  ms: number;
}

/** One GraphQL request over HTTP POST, as any client sends it. Rejects only on network failure. */
export async function postGraphQL<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  { timeoutMs = 10_000, headers = {} }: { timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<GraphQLAnswer<T>> {
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let body: { data?: T | null; errors?: unknown[] } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new Error(`expected a JSON answer from ${url}, got ${response.status}: ${text.slice(0, 200)}`);
  }
  return { status: response.status, xCache: response.headers.get('x-cache'), data: body.data, errors: body.errors, ms: performance.now() - started };
}

/**
 * The databases for `count` server processes. With TEST_POSTGRES_URL: one throw-away PostgreSQL
 * database that they all share (`shared`), as instances of one deployment do. Without it: a
 * seeded PGlite data directory each (PGlite is in-process, nothing can share it), copied from
 * the test snapshot so that no child runs initdb.
 */
export interface InstanceDatabases {
  /** Whether the instances see each other's writes. */
  readonly shared: boolean;
  /** Environment for instance `index`: DATABASE_URL or PGLITE_DATA_DIR. */
  envFor(index: number): Record<string, string>;
  /** Drops the database or removes the directories. */
  remove(): Promise<void>;
}

export async function createInstanceDatabases(count: number): Promise<InstanceDatabases> {
  const postgresUrl = process.env.TEST_POSTGRES_URL;
  if (postgresUrl) {
    const database = await createThrowawayDatabase(postgresUrl);
    return { shared: true, envFor: () => ({ DATABASE_URL: database.url }), remove: () => database.drop() };
  }
  const root = mkdtempSync(join(tmpdir(), 'gcl-pglite-'));
  const remove = async () => rmSync(root, { recursive: true, force: true });
  try {
    const first = join(root, '0');
    const db = await openPglite({ dataDir: first, snapshot: await seededPgliteSnapshot() });
    await db.close();
    for (let index = 1; index < count; index++) cpSync(first, join(root, String(index)), { recursive: true });
    return { shared: false, envFor: (index) => ({ PGLITE_DATA_DIR: join(root, String(index)) }), remove };
  } catch (error) {
    await remove();
    throw error;
  }
}
