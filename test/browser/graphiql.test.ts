/**
 * GraphiQL in a real browser: Debian's Chromium, headless, driven by playwright-core, against
 * the real catalog server. It opens GraphiQL on its default query, runs it twice, and reads the
 * cache's answer in the browser's own network log. Chromium must be installed (`.ci/run`
 * installs it); without it the test fails and says so.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripIgnoredCharacters } from 'graphql';
import { chromium, type BrowserContext, type Page, type Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogDefaultQuery } from '../../server/graphiql.ts';
import { startCatalog, type TestCatalog } from '../helpers/catalog.ts';
import { createExecutionSpy } from '../helpers/urql.ts';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = fileURLToPath(new URL('../../test-results/graphiql/', import.meta.url));

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  // No connections of Chromium's own (QUIC probes, field trials, component updates, sync):
  // without a network they are refused, and the page must need nothing but the server.
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Headless Chromium on a fresh profile (so GraphiQL has no stored tabs and opens on its default query). */
async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium), as .ci/run does`);
  }
  const profile = await mkdtemp(join(tmpdir(), 'gcl-chromium-'));
  try {
    // playwright-core passes --headless and --user-data-dir itself.
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1440, height: 900 },
    });
    return {
      context,
      async close() {
        try {
          await context.close();
        } finally {
          await rm(profile, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
}

/** The next response to a POST /graphql of the operation so named. */
function nextGraphQLResponse(page: Page, operationName: string): Promise<Response> {
  return page.waitForResponse((response) => {
    const request = response.request();
    if (request.method() !== 'POST' || new URL(request.url()).pathname !== '/graphql') return false;
    return (request.postDataJSON() as { operationName?: string } | null)?.operationName === operationName;
  });
}

describe('GraphiQL in headless Chromium', () => {
  let catalog: TestCatalog;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  const spy = createExecutionSpy();
  beforeAll(async () => {
    catalog = await startCatalog('pglite', { plugins: [spy.plugin] });
  });
  afterAll(async () => {
    try {
      await browser?.close();
    } finally {
      await catalog?.close();
    }
  });

  it('runs the default query twice: MISS, then a HIT in the network log; every asset comes from the server', { timeout: 60_000 }, async () => {
    // Launched in the test, not in a hook, so that a missing Chromium fails the test rather than skipping it.
    browser = await launchChromium();
    const { context } = browser;
    const page = context.pages()[0] ?? (await context.newPage());
    const origin = new URL(catalog.url).origin;
    const requested: string[] = [];
    const failed: string[] = [];
    const pageErrors: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    page.on('requestfailed', (request) => failed.push(`${request.url()}: ${request.failure()?.errorText}`));
    page.on('pageerror', (error) => pageErrors.push(error.message));

    await page.goto(catalog.url);
    const run = page.getByRole('button', { name: /execute query/i });
    await run.waitFor().catch((error: Error) => {
      throw new Error(`GraphiQL did not render (failed requests: ${JSON.stringify(failed)}; page errors: ${JSON.stringify(pageErrors)})`, {
        cause: error,
      });
    });
    // The editor holds the default query once GraphiQL has mounted it.
    await page.locator('.graphiql-query-editor').getByText('query Catalog').waitFor();

    // Each run: the response in the browser's network log, then GraphiQL done with it (while a
    // run is in flight its button is a stop button).
    const runOnce = async () => {
      const [response] = await Promise.all([nextGraphQLResponse(page, 'Catalog'), run.click()]);
      await run.waitFor();
      return response;
    };
    const miss = await runOnce();
    const hit = await runOnce();
    // The answer's first lines, in GraphiQL's result pane (it renders only the lines in view).
    await page.locator('.graphiql-response').getByText('"Classic Tent"').waitFor();

    // GraphiQL sends the editor's document with comments and spacing stripped.
    expect(miss.request().postDataJSON()).toMatchObject({ query: stripIgnoredCharacters(catalogDefaultQuery), operationName: 'Catalog' });
    expect([miss.status(), await miss.headerValue('x-cache'), await miss.headerValue('cache-control')]).toEqual([200, 'MISS', 'max-age=60, public']);
    expect([hit.status(), await hit.headerValue('x-cache')]).toEqual([200, 'HIT']);
    expect(await hit.headerValue('age')).toMatch(/^\d+$/);
    expect(await hit.text()).toBe(await miss.text());
    expect(spy.executions('Catalog')).toBe(1);

    await mkdir(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'graphiql-hit.png') });

    // Offline: the page asked nothing of any other host (scripts, styles and workers are inlined).
    expect(requested.filter((url) => !url.startsWith(`${origin}/`) && !/^(data|blob):/.test(url))).toEqual([]);
    expect(failed).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
