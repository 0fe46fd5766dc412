/**
 * The server's logs, captured from the real server: one JSON line per request at `info`
 * (method, path, status, duration, cache outcome, operation), hits the HTTP front answered
 * included; cache decisions and evictions at `debug`; and, at every level, nothing of a
 * PRIVATE session: not its token, cookie, variables or its user's email.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerLogger } from '../../server/logger.ts';
import { startCatalog, type TestCatalog } from '../helpers/catalog.ts';
import { getQuery, postQuery, sendRaw } from '../helpers/urql.ts';

/** A destination stream that keeps every line. */
function captureLines() {
  let text = '';
  return {
    destination: new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        text += chunk.toString();
        done();
      },
    }),
    text: () => text,
    lines: () => text.split('\n').filter((line) => line !== ''),
  };
}

type Line = Record<string, unknown> & { msg: string; level: number };

describe('the log of a PRIVATE session, at LOG_LEVEL=debug', () => {
  const log = captureLines();
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startCatalog('pglite', { env: { LOG_LEVEL: 'debug' }, logDestination: log.destination });
  });
  afterAll(() => catalog?.close());

  it('has a line per request, front hits included, and none of the session, its variables or its PRIVATE values', async () => {
    const token = 'token-7';
    const secrets = { authorization: `Bearer ${token}`, cookie: 'session=cookie-secret-4711' };
    const me = 'query Me($id: ID!) { me { email } product(id: $id) { name } }';
    // An id no product has: it appears nowhere else (its answer is null, tagged null:Product).
    const variables = { id: '987654' };
    const first = await postQuery(catalog.url, { query: me, variables, operationName: 'Me' }, secrets);
    const second = await postQuery(catalog.url, { query: me, variables, operationName: 'Me' }, secrets);
    const viaGet = await getQuery(catalog.url, { query: me, variables, operationName: 'Me' }, secrets);
    const email = (JSON.parse(first.body) as { data: { me: { email: string } } }).data.me.email;
    expect(email).toMatch(/@/);
    expect([first.headers.get('x-cache'), second.headers.get('x-cache'), viaGet.headers.get('x-cache')]).toEqual(['MISS', 'HIT', 'HIT']);
    await postQuery(catalog.url, { query: 'mutation Stock { updateProduct(id: "42", input: { stock: 3 }) { id } }', operationName: 'Stock' }, secrets);
    await catalog.server.close();

    const lines = log.lines().map((line) => JSON.parse(line) as Line);
    const requests = lines.filter((line) => line.msg === 'request').map(({ level, method, path, status, cache, operation }) => ({ level, method, path, status, cache, operation }));
    expect(requests).toEqual([
      { level: 30, method: 'POST', path: '/graphql', status: 200, cache: 'MISS', operation: 'Me' },
      { level: 30, method: 'POST', path: '/graphql', status: 200, cache: 'HIT', operation: 'Me' },
      { level: 30, method: 'GET', path: '/graphql', status: 200, cache: 'HIT', operation: 'Me' },
      { level: 30, method: 'POST', path: '/graphql', status: 200, cache: 'BYPASS', operation: 'Stock' },
    ]);
    for (const line of lines.filter((line) => line.msg === 'request')) expect(typeof line.ms).toBe('number');
    // Cache decisions and the mutation's eviction, at debug (20); here those of whole answers
    // (the loaders and fields the catalog caches log theirs too, with their own grain).
    const decisions = lines.filter((line) => line.level === 20 && line.msg.startsWith('cache ') && (line.grain === 'response' || line.msg === 'cache eviction'));
    expect(lines.some((line) => line.level === 20 && line.grain === 'function')).toBe(true);
    expect(decisions.map((line) => line.msg)).toEqual([
      'cache miss',
      'cache hit',
      'cache hit',
      // The eviction is applied before the mutation's response, whose bypass is counted as it is sent.
      'cache eviction',
      'cache bypass',
    ]);

    const text = log.text();
    for (const secret of [email, token, 'cookie-secret-4711', '987654']) expect(text, secret).not.toContain(secret);
  });
});

describe('log lines and levels', () => {
  it('are JSON in production and one readable line per request in development', async () => {
    const json = captureLines();
    createServerLogger({ logLevel: 'info', prettyLogs: false }, json.destination).info({ method: 'GET', path: '/graphql', status: 200 }, 'request');
    expect(JSON.parse(json.lines()[0])).toMatchObject({ level: 30, msg: 'request', method: 'GET', path: '/graphql', status: 200 });

    const pretty = captureLines();
    createServerLogger({ logLevel: 'info', prettyLogs: true }, pretty.destination).info({ method: 'GET', path: '/graphql', status: 200 }, 'request');
    expect(pretty.lines()).toHaveLength(1);
    expect(pretty.lines()[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: request \{"method":"GET","path":"\/graphql","status":200\}$/);
  });

  it('leave requests out below info (LOG_LEVEL=warn)', async () => {
    const log = captureLines();
    const catalog = await startCatalog('pglite', { env: { LOG_LEVEL: 'warn' }, logDestination: log.destination });
    try {
      expect((await sendRaw(new URL('/metrics', catalog.url).toString(), {})).status).toBe(200);
      await postQuery(catalog.url, { query: '{ product(id: "1") { name } }' });
    } finally {
      await catalog.close();
    }
    expect(log.text()).toBe('');
  });
});
