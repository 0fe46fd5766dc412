import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import { gql, GraphQLClient } from 'graphql-request';
import type { Plugin } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { createCatalogServer } from '../../server/create-server.ts';
import {
  backends,
  createThrowawayDatabase,
  requirePostgresUrl,
  seededPgliteSnapshot,
  startCatalog,
} from '../helpers/catalog.ts';

const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

/** A plugin that holds every execution until released, to have a request in flight on demand. */
function createGate() {
  let arrive!: () => void;
  let release!: () => void;
  const arrived = new Promise<void>((resolve) => (arrive = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  const plugin: Plugin = {
    async onExecute() {
      arrive();
      await released;
    },
  };
  return { plugin, arrived, release };
}

describe('graceful close', () => {
  it('refuses new connections, finishes the request in flight, then closes the database', async () => {
    const gate = createGate();
    const catalog = await startCatalog('pglite', { plugins: [gate.plugin] });
    const inFlight = fetch(catalog.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ product(id: "7") { name } }' }),
    });
    await gate.arrived;

    let closed = false;
    const closing = catalog.close().then(() => (closed = true));
    await expect(fetch(catalog.url, { method: 'POST' })).rejects.toThrow();
    expect(closed).toBe(false);

    gate.release();
    const response = await inFlight;
    expect(await response.json()).toEqual({ data: { product: { name: 'Classic Tent' } } });
    // Its keep-alive connection ends with it instead of holding the close up until it times out.
    expect(response.headers.get('connection')).toBe('close');
    await closing;
    await expect(catalog.server.db.query('SELECT 1')).rejects.toThrow();
  });

  it('ends the connection of a cache hit the HTTP front answers while closing', async () => {
    const catalog = await startCatalog('pglite');
    const body = JSON.stringify({ query: '{ product(id: "7") { name } }' });
    const post = () => fetch(catalog.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await post();
    expect((await post()).headers.get('x-cache')).toBe('HIT');

    // The request's head arrives before the close, its body after: the front answers the hit then.
    const request = httpRequest(catalog.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
    });
    const answered = new Promise<IncomingMessage>((resolve, reject) => {
      request.once('response', resolve);
      request.once('error', reject);
    });
    const arrived = once(catalog.server.httpServer, 'request');
    request.write(body.slice(0, 10));
    await arrived;
    const closing = catalog.close();
    request.end(body.slice(10));
    const response = await answered;
    const text = (await response.toArray()).join('');
    expect([response.headers['x-cache'], JSON.parse(text)]).toEqual(['HIT', { data: { product: { name: 'Classic Tent' } } }]);
    expect(response.headers.connection).toBe('close');
    await closing;
  });

  it('closes the database when closed before it ever listened, and may be closed twice', async () => {
    const server = await createCatalogServer(loadConfig({ LOG_LEVEL: 'silent' }), {
      pgliteSnapshot: await seededPgliteSnapshot(),
    });
    await Promise.all([server.close(), server.close()]);
    await expect(server.db.query('SELECT 1')).rejects.toThrow();
  });
});

/** Runs `npm start`'s entry point as a child process and collects its output. */
function startMain(env: Record<string, string | undefined>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: projectRoot,
    env: { ...process.env, DATABASE_URL: undefined, PGLITE_DATA_DIR: undefined, ...env },
  });
  let output = '';
  const waiters = new Set<() => void>();
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    for (const waiter of waiters) waiter();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const seen = (pattern: RegExp) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = output.match(pattern);
        if (match) {
          waiters.delete(check);
          resolve(match);
        }
      };
      waiters.add(check);
      child.once('exit', (code) => reject(new Error(`exited with ${code} before printing ${pattern}:\n${output}`)));
      check();
    });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, seen, exited, output: () => output };
}

describe.each(backends)('server/main.ts on %s', (backend) => {
  it('serves GraphiQL, answers queries, and exits 0 on SIGTERM', { timeout: 90_000 }, async () => {
    const database = backend === 'postgres' ? await createThrowawayDatabase(requirePostgresUrl()) : undefined;
    const main = startMain({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', DATABASE_URL: database?.url });
    try {
      const [, url] = await main.seen(/GraphiQL at (http:\/\/127\.0\.0\.1:\d+\/graphql)/);
      const data = await new GraphQLClient(url).request(gql`{ product(id: "7") { name category { name } } }`);
      expect(data).toEqual({ product: { name: 'Classic Tent', category: { name: 'Outdoor' } } });
      main.child.kill('SIGTERM');
      expect(await main.exited).toBe(0);
      expect(main.output()).toContain('SIGTERM received, shutting down');
    } finally {
      main.child.kill('SIGKILL');
      await database?.drop();
    }
  });
});

describe('server/main.ts with a bad configuration', () => {
  it('prints every bad value and exits 1 without starting', async () => {
    const main = startMain({ PORT: 'abc', LOG_LEVEL: 'loud' });
    expect(await main.exited).toBe(1);
    expect(main.output()).toContain('expected PORT to be an integer from 0 to 65535, got "abc"');
    expect(main.output()).toContain('expected LOG_LEVEL to be one of debug, info, warn, error, silent, got "loud"');
  });
});
