/**
 * Isolation fuzz (issue 14, item 2): random valid queries generated from the catalog's schema
 * (aliases, named and inline fragments, `Node`, `SearchResult`, `@include`/`@skip`, variables,
 * several operations per document, PRIVATE fields reached as `me` or as any user's `email`),
 * sent as GET, POST and batched POST by signed-in users and anonymous clients, in waves of
 * concurrent requests, against the real catalog server over HTTP. Every answer is checked
 * against the same catalog with its cache off (isolation-checks.ts lists the rules): no answer
 * carrying one session's PRIVATE data ever reaches another session or a signed-out client.
 *
 * Environment:
 * - FUZZ_RUNS   campaigns to run (default 40: about 600 requests and 900 operations).
 *               `npm run check:isolation` runs 3,000 (about 45,000 requests) with a random seed
 *               and writes its figures to bench/results/isolation.json.
 * - FUZZ_SEED   the seed, or `random` (default fixed, so `npm test` replays the same campaigns).
 * - FUZZ_PATH   with FUZZ_SEED, replays just the failing campaign (a failure prints both).
 * - FUZZ_REPORT a file to write the run's figures to, as JSON.
 */
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { buildSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCatalog, type TestCatalog } from '../helpers/catalog.ts';
import { attachResolvers } from '../helpers/resolvers.ts';
import { defaultBuildCacheKey, type BuildCacheKey } from '../../plugins/cache-key.ts';
import { userIdFromAuthorization } from '../../schema/auth.ts';
import { catalogResolvers } from '../../schema/index.ts';
import { sendCampaign, type Campaign } from './campaign.ts';
import { catalogSDLWithHintsOnExtensions, catalogSchema } from './catalog-fuzz.ts';
import { startCatalogWithCache } from './catalog-with-cache.ts';
import { fuzzIsolation } from './fuzz.ts';
import { checkCampaign, createOracle, type Oracle } from './isolation-checks.ts';
import { privateCoordinates } from './private-fields.ts';
import { createWaveGate } from './wave-gate.ts';

const runs = Number(process.env.FUZZ_RUNS ?? 40);
const seed = process.env.FUZZ_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FUZZ_SEED ?? 14_002);
const path = process.env.FUZZ_PATH;
const report = process.env.FUZZ_REPORT;

const catalogSession = (request: { headers: { get(name: string): string | null | undefined } }) =>
  userIdFromAuthorization(request.headers.get('authorization'));

/** A cache whose keys leave the session out: PRIVATE answers are shared by every session. */
const keyWithoutSession: BuildCacheKey = (input) => defaultBuildCacheKey({ ...input, session: null });

describe('isolation fuzz', () => {
  let oracleServer: TestCatalog;
  let oracle: Oracle;
  let catalog: TestCatalog;
  const gate = createWaveGate();
  beforeAll(async () => {
    [oracleServer, catalog] = await Promise.all([
      startCatalog('pglite', { env: { CACHE_ENABLED: 'false' } }),
      startCatalog('pglite', { plugins: [gate.plugin] }),
    ]);
    gate.watch(catalog.server.cache!);
    oracle = createOracle(oracleServer.url, { viewerFields: ['Query.me'] });
  });
  afterAll(async () => {
    await Promise.all([oracleServer?.close(), catalog?.close()]);
  });

  it('generates from the PRIVATE fields the SDL declares: me, and email through any User', () => {
    expect([...privateCoordinates(catalogSchema)].sort()).toEqual(['Query.me', 'User.email']);
  });

  it(
    "never serves one session's PRIVATE answer to another session or a signed-out client",
    async () => {
      const started = Date.now();
      const result = await fuzzIsolation({ url: catalog.url, reset: () => catalog.server.cache!.evictAll(), gate }, oracle, { runs, seed, path });
      const seconds = Math.round((Date.now() - started) / 100) / 10;
      console.log(`isolation fuzz: seed ${seed}, ${runs} campaigns, ${seconds} s: ${JSON.stringify(result.stats)}`);
      if (report) {
        const cores = cpus();
        const machine = `${cores.length} × ${cores[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
        const figures = { date: new Date().toISOString(), machine, seed, campaigns: runs, seconds, failed: result.failed, ...result.stats };
        await writeFile(report, `${JSON.stringify(figures, null, 2)}\n`);
      }
      if (result.failed) throw new Error(result.message);
      // The campaigns must reach what they are meant to test, or passing proves nothing.
      const { stats } = result;
      expect(stats.privateAnswers).toBeGreaterThan(0);
      expect(stats.privateFromCache).toBeGreaterThan(0);
      expect(stats.privateAskedByOthers).toBeGreaterThan(0);
      expect(stats.coalesced).toBeGreaterThan(0);
      expect(stats.notModified).toBeGreaterThan(0);
      expect(stats.anonymous).toBeGreaterThan(0);
      expect(stats.get).toBeGreaterThan(0);
      expect(stats.batches).toBeGreaterThan(0);
    },
    Math.max(60_000, runs * 2_000),
  );

  it('keeps PRIVATE answers apart on the catalog rebuilt with every cache hint on a type extension (buildSchema)', async () => {
    const extensionGate = createWaveGate();
    const schema = attachResolvers(buildSchema(catalogSDLWithHintsOnExtensions()), catalogResolvers);
    const rebuilt = await startCatalogWithCache({ session: catalogSession }, { plugins: [extensionGate.plugin], schema });
    extensionGate.watch(rebuilt.cache);
    try {
      const result = await fuzzIsolation({ url: rebuilt.url, reset: () => rebuilt.cache.evictAll(), gate: extensionGate }, oracle, {
        runs: Math.ceil(runs / 4),
        seed,
      });
      if (result.failed) throw new Error(result.message);
      expect(result.stats.privateFromCache).toBeGreaterThan(0);
    } finally {
      await rebuilt.close();
    }
  });

  describe('finds the leak of a cache wired wrongly through its public options', () => {
    // Shrinking is slow (each step runs a campaign again): one case shows it, the other stops at the first failure.
    it.each([
      ['whose keys leave the session out', { session: catalogSession, buildKey: keyWithoutSession }, true],
      ['whose session function names one session for everyone', { session: () => 'everyone' }, false],
    ])('a cache %s', async (_, options, shrink) => {
      const brokenGate = createWaveGate();
      const broken = await startCatalogWithCache(options, { plugins: [brokenGate.plugin] });
      brokenGate.watch(broken.cache);
      try {
        const result = await fuzzIsolation({ url: broken.url, reset: () => broken.cache.evictAll(), gate: brokenGate }, oracle, { runs, seed, shrink });
        if (!result.failed) throw new Error('the fuzz did not find the leak');
        // Found as a leak, not as some other failure of the run, and reported so that it can be replayed.
        expect(result.violations.length).toBeGreaterThan(0);
        expect(result.message).toMatch(/seed \d+, path [\d:]+ \(replay: FUZZ_SEED=\d+ FUZZ_PATH=[\d:]+\)/);
        expect(result.message).toMatch(/request \d+\.\d+ \(wave\.position\): (GET|POST|BATCH) as user \d+/);
        expect(result.message).toContain('\nquery: ');
      } finally {
        await broken.close();
      }
    });

    it('a shared entry, even when both sessions would get the same bytes (another user\'s email)', async () => {
      // Who wrote a review does not depend on who asks: the bodies are equal, and only the
      // "served from the cache without executing it itself" rule can see the leak.
      const broken = await startCatalogWithCache({ session: catalogSession, buildKey: keyWithoutSession });
      try {
        const operation = {
          query: '{ product(id: "3") { reviews { author { email } } } }',
          variables: {},
          privateKeys: ['email'],
          coordinates: ['Query.product', 'Product.reviews', 'Review.author', 'User.email'],
        };
        const request = { operation: 0, transport: 'POST' as const, batchWith: [], accept: 0, revalidate: false, noCache: false };
        const campaign: Campaign = {
          operations: [operation],
          clients: [
            { label: 'user 1', authorization: 'Bearer token-1', session: '1' },
            { label: 'user 2', authorization: 'Bearer token-2', session: '2' },
          ],
          waves: [
            { held: false, requests: [{ ...request, client: 0 }] },
            { held: false, requests: [{ ...request, client: 1 }] },
          ],
        };
        const { violations } = await checkCampaign(await sendCampaign(broken.url, campaign), oracle);
        expect(violations.map((v) => [v.rule, v.exchange.client.label, v.exchange.headers.get('x-cache')])).toEqual([
          ['PRIVATE data served from the cache to a session that never executed the request', 'user 2', 'HIT'],
        ]);
        // The catalog's own cache keeps them apart: user 2 executes it.
        await catalog.server.cache!.evictAll();
        const healthy = await sendCampaign(catalog.url, campaign);
        expect(healthy.map((exchange) => exchange.headers.get('x-cache'))).toEqual(['MISS', 'MISS']);
        expect((await checkCampaign(healthy, oracle)).violations).toEqual([]);
      } finally {
        await broken.close();
      }
    });
  });
});
