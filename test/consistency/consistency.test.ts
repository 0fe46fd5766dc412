/**
 * The consistency checker, short (the long run is `npm run check:consistency`): concurrent
 * clients read prices and raise them through one instance, and through two sharing Redis and
 * PostgreSQL (with TEST_POSTGRES_URL, which CI sets when PostgreSQL answers locally). No read
 * that starts after a mutation's answer may see an older price, and the run must have exercised
 * what it claims to check: reads that overlapped mutations, reads held to a floor, and hits.
 * That the checker can fail at all is proven in checker-can-fail.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckRecord } from './checker.ts';
import { CACHE_SETUPS, startDeployment, type Deployment } from './deployment.ts';
import { CONSISTENCY_MODES, READ_DELAY_MS, SHORT_CHECK_TIMEOUT_MS, shortCheck } from './settings.ts';
import { summarise } from './summary.ts';

const postgresUrl = process.env.TEST_POSTGRES_URL;

/** The first stale reads, for the failure message: enough to reproduce and reason about. */
const firstStale = (record: CheckRecord) => JSON.stringify(record.staleReads.slice(0, 3), null, 2);

const modes = CONSISTENCY_MODES.filter((mode) => !mode.postgres || postgresUrl !== undefined);

for (const mode of modes) describe(`${mode.instances} instance(s), ${CACHE_SETUPS[mode.cache]}`, () => {
  let deployment: Deployment;
  beforeAll(async () => {
    deployment = await startDeployment({ ...mode, postgresUrl: mode.postgres ? postgresUrl : undefined, readDelayMs: READ_DELAY_MS });
  });
  afterAll(async () => {
    await deployment?.close();
  });

  it(`no read started after a mutation's answer sees an older price (reads slowed up to ${READ_DELAY_MS} ms)`, async () => {
    const record = await shortCheck(deployment);
    const summary = summarise(record);
    expect(summary.staleReads, firstStale(record)).toBe(0);
    expect({ failedReads: summary.failedReads, failedMutations: summary.failedMutations, errors: summary.errors }).toEqual({
      failedReads: 0,
      failedMutations: 0,
      errors: [],
    });
    // What makes the zero mean something: races happened, the rule had floors to hold reads to,
    // and the cache answered some of them.
    expect(summary.mutations).toBeGreaterThan(60);
    expect(summary.overlappingReads).toBeGreaterThan(30);
    expect(summary.constrainedReads).toBeGreaterThan(300);
    expect(summary.hits).toBeGreaterThan(30);
  }, SHORT_CHECK_TIMEOUT_MS);
});
