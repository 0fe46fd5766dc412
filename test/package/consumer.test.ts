/**
 * Proof that a stranger can use the package: `npm pack`, then two throw-away projects that
 * install the tarball with npm and import nothing of this repository. One is a bookshop API in
 * plain JavaScript on plain node (no TypeScript, no tsx), checked over HTTP with the in-process
 * store and with Redis, once with this package's plugin and once under @envelop/response-cache's
 * own plugin with only its store swapped for ours; the other type-checks a strict TypeScript
 * consumer against the published .d.ts files.
 *
 * And the build `npm start` runs: the compiled catalog server on plain node. In this file
 * because `npm pack` cleans and rebuilds dist/plugins, which that build also writes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAll, installConsumer, installedCopies, packPackage } from '../helpers/packed-consumer.ts';
import { postGraphQL, startServerProcess } from '../helpers/processes.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./bookshop/${name}`, import.meta.url));
const START_DEADLINE_MS = 20_000;

let root: string;
let javascript: string;
let typescript: string;

beforeAll(async () => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'gcl-consumer-')));
  const tarball = await packPackage(join(root, 'pack'));
  javascript = join(root, 'bookshop-js');
  typescript = join(root, 'bookshop-ts');
  await Promise.all([
    installConsumer({
      directory: javascript,
      tarball,
      files: { [fixture('schema.js')]: 'schema.js', [fixture('server.js')]: 'server.js', [fixture('envelop-server.js')]: 'envelop-server.js' },
      dependencies: ['graphql', 'graphql-yoga', '@envelop/response-cache'],
    }),
    installConsumer({
      directory: typescript,
      tarball,
      files: { [fixture('check.ts')]: 'check.ts', [fixture('tsconfig.json')]: 'tsconfig.json' },
      dependencies: ['graphql', 'graphql-yoga', 'typescript', '@types/node'],
    }),
  ]);
}, 180_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

interface Running {
  url: string;
  output(): string;
  stop(): Promise<void>;
}

/** `node <script>` in the JavaScript project, with only PATH and what the test sets in its environment. */
async function startBookshop(env: Record<string, string> = {}, script = 'server.js'): Promise<Running> {
  const child = spawn(process.execPath, [script], {
    cwd: javascript,
    env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stop = () => stopChild(child);
  try {
    const port = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the bookshop did not listen within ${START_DEADLINE_MS} ms:\n${output}`)), START_DEADLINE_MS);
      child.stdout.on('data', () => {
        const match = /listening on (\d+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the bookshop exited with ${code} during start-up:\n${output}`));
      });
    });
    return { url: `http://127.0.0.1:${port}/graphql`, output: () => output, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

interface Answer {
  status: number;
  xCache: string | null;
  cacheControl: string | null;
  age: string | null;
  text: string;
  data: Record<string, any>;
}

async function post(url: string, query: string): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  const { headers } = response;
  return { status: response.status, xCache: headers.get('x-cache'), cacheControl: headers.get('cache-control'), age: headers.get('age'), text, data: JSON.parse(text).data };
}

const BOOK = '{ book(id: "1") { title author { name } } }';
const BOOKS = '{ books { id title } }';
const RENAME = 'mutation { renameBook(id: "1", title: "The Dispossessed: An Ambiguous Utopia") { id } }';

/**
 * Until its Redis client is connected a server answers without storing: asks a query of its own
 * until it is served from the cache, so the checks start on a connected store.
 */
async function untilCaching(url: string): Promise<void> {
  const deadline = Date.now() + START_DEADLINE_MS;
  while ((await post(url, '{ book(id: "3") { id } }')).xCache !== 'HIT') {
    if (Date.now() > deadline) throw new Error(`no answer was served from the cache within ${START_DEADLINE_MS} ms`);
  }
}

/** MISS then HIT with Cache-Control, and a mutation evicting the answers that hold the book. */
async function checkCaching(bookshop: Running): Promise<void> {
  const { url } = bookshop;
  await untilCaching(url);
  const warmedUp = bookshop.output().length;
  const miss = await post(url, BOOK);
  expect(miss).toMatchObject({ status: 200, xCache: 'MISS', cacheControl: 'max-age=60, public' });
  expect(miss.data).toEqual({ book: { title: 'The Dispossessed', author: { name: 'Ursula K. Le Guin' } } });
  const hit = await post(url, BOOK);
  expect(hit).toMatchObject({ status: 200, xCache: 'HIT', text: miss.text });
  expect(hit.cacheControl).toMatch(/^max-age=(60|59), public$/);
  expect(hit.age).toMatch(/^[01]$/);
  expect((await post(url, BOOKS)).xCache).toBe('MISS');
  expect((await post(url, BOOKS)).xCache).toBe('HIT');

  const rename = await post(url, RENAME);
  expect(rename).toMatchObject({ status: 200, cacheControl: 'no-store', data: { renameBook: { id: '1' } } });

  const fresh = await post(url, BOOK);
  expect(fresh).toMatchObject({ xCache: 'MISS', data: { book: { title: 'The Dispossessed: An Ambiguous Utopia' } } });
  const list = await post(url, BOOKS);
  expect(list.xCache).toBe('MISS');
  expect(list.data.books[0]).toEqual({ id: '1', title: 'The Dispossessed: An Ambiguous Utopia' });
  expect((await post(url, BOOK)).xCache).toBe('HIT');
  // No failure was absorbed once the store was connected.
  expect(bookshop.output().slice(warmedUp)).toBe('');
}

interface EnvelopAnswer {
  status: number;
  data: Record<string, any>;
  /** envelop's `extensions.responseCache.hit`. */
  hit: boolean | undefined;
}

async function postToEnvelop(url: string, query: string): Promise<EnvelopAnswer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json()) as { data: Record<string, any>; extensions?: { responseCache?: { hit?: boolean } } };
  return { status: response.status, data: body.data, hit: body.extensions?.responseCache?.hit };
}

/** envelop's plugin on our store: a hit, and a mutation evicting the answers that hold the book. */
async function checkEnvelopCaching(bookshop: Running): Promise<void> {
  const { url } = bookshop;
  const deadline = Date.now() + START_DEADLINE_MS;
  while ((await postToEnvelop(url, '{ book(id: "3") { id } }')).hit !== true) {
    if (Date.now() > deadline) throw new Error(`no answer was served from the cache within ${START_DEADLINE_MS} ms`);
  }
  const warmedUp = bookshop.output().length;
  expect(await postToEnvelop(url, BOOK)).toMatchObject({ status: 200, hit: false, data: { book: { title: 'The Dispossessed' } } });
  expect(await postToEnvelop(url, BOOK)).toMatchObject({ status: 200, hit: true, data: { book: { title: 'The Dispossessed' } } });
  expect((await postToEnvelop(url, RENAME)).data).toEqual({ renameBook: { id: '1' } });
  expect(await postToEnvelop(url, BOOK)).toMatchObject({ hit: false, data: { book: { title: 'The Dispossessed: An Ambiguous Utopia' } } });
  expect((await postToEnvelop(url, BOOK)).hit).toBe(true);
  expect(bookshop.output().slice(warmedUp)).toBe('');
}

describe('the packed package, installed from its tarball', () => {
  it('resolves graphql-cache-layer from the tarball, with one graphql, and without TypeScript or tsx', () => {
    expect(realpathSync(join(javascript, 'node_modules/graphql-cache-layer'))).toBe(join(javascript, 'node_modules/graphql-cache-layer'));
    expect(existsSync(join(javascript, 'node_modules/graphql-cache-layer/dist/plugins/index.js'))).toBe(true);
    expect(installedCopies(javascript, 'graphql')).toEqual([join(javascript, 'node_modules/graphql')]);
    expect(installedCopies(typescript, 'graphql')).toEqual([join(typescript, 'node_modules/graphql')]);
    for (const tool of ['typescript', 'tsx']) expect(installedCopies(javascript, tool)).toEqual([]);
  });

  it('imports, in its JavaScript and its .d.ts files, only node built-ins and packages it declares', () => {
    const installed = join(javascript, 'node_modules/graphql-cache-layer');
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    const declared = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies)]);
    const imported = new Set<string>();
    const files = readdirSync(join(installed, 'dist/plugins')).filter((name) => /\.(js|d\.ts)$/.test(name));
    for (const name of files) {
      const text = readFileSync(join(installed, 'dist/plugins', name), 'utf8');
      for (const [, specifier] of text.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) {
        if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
        imported.add(specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/'));
      }
    }
    expect(files.length).toBeGreaterThan(10);
    expect([...imported].filter((name) => !declared.has(name))).toEqual([]);
    // The scan finds what the package is known to import.
    expect([...imported]).toEqual(expect.arrayContaining(['graphql', 'graphql-yoga', 'ioredis']));
  });

  it('caches a plain JavaScript server in memory: MISS, HIT, Cache-Control, eviction by a mutation', async () => {
    const bookshop = await startBookshop();
    try {
      await checkCaching(bookshop);
    } finally {
      await bookshop.stop();
    }
  });

  it("serves @envelop/response-cache's own plugin from our memory store: hit, and eviction by a mutation", async () => {
    const bookshop = await startBookshop({}, 'envelop-server.js');
    try {
      await checkEnvelopCaching(bookshop);
    } finally {
      await bookshop.stop();
    }
  });

  describe('with Redis', () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      await redis?.stop();
    });

    it('caches the same server in a throw-away redis-server', async () => {
      const bookshop = await startBookshop({ REDIS_URL: redis.url });
      try {
        await checkCaching(bookshop);
        // The answers live in Redis, under the bookshop's prefix.
        const entries = (await redis.command('KEYS', '{bookshop}:e:*')) as string[];
        expect(entries.length).toBeGreaterThan(0);
      } finally {
        await bookshop.stop();
      }
    });

    it("serves @envelop/response-cache's own plugin from our Redis store, without KEYS, SCAN or FLUSH", async () => {
      // This file's own check of the other bookshop used KEYS: count from here.
      const keysCalls = async () => Number(/cmdstat_keys:calls=(\d+)/.exec(String(await redis.command('INFO', 'commandstats')))?.[1] ?? 0);
      const keysBefore = await keysCalls();
      const bookshop = await startBookshop({ REDIS_URL: redis.url }, 'envelop-server.js');
      try {
        await checkEnvelopCaching(bookshop);
        const stats = String(await redis.command('INFO', 'commandstats'));
        expect(stats).toMatch(/cmdstat_evalsha:calls=[1-9]/);
        expect(stats.match(/cmdstat_(scan|flushall|flushdb):/g)).toBeNull();
        expect(await keysCalls()).toBe(keysBefore);
      } finally {
        await bookshop.stop();
      }
    });
  });

  it('type-checks a strict TypeScript consumer against the published .d.ts', async () => {
    const tsc = spawn(process.execPath, [join(typescript, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
      cwd: typescript,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    tsc.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    tsc.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => tsc.once('exit', resolve));
    expect(output).toBe('');
    expect(code).toBe(0);
  }, 60_000);
});

describe('npm start', () => {
  it('runs the compiled catalog server on plain node', async () => {
    await buildAll();
    const server = await startServerProcess({ name: 'compiled', env: {}, compiled: true });
    try {
      const query = '{ product(id: "7") { name } }';
      expect(await postGraphQL(server.url, query)).toMatchObject({ status: 200, xCache: 'MISS', data: { product: { name: expect.any(String) } } });
      expect((await postGraphQL(server.url, query)).xCache).toBe('HIT');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 120_000);
});
