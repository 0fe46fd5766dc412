/**
 * Fault runs, short (the long run is `npm run check:faults`): the checker's load on instances
 * sharing a Redis while that Redis is killed and restarted, then paused. Every valid request
 * still gets a successful answer, no read sees a price older than an answered mutation, and
 * caching comes back by itself after each fault.
 *
 * Two instances on one PostgreSQL database with TEST_POSTGRES_URL (CI sets it when PostgreSQL
 * answers locally); without it, one instance on PGlite, as instances on PGlite cannot share data.
 *
 * Each fault lasts less than CACHE_EVICTION_WAIT_MS (2 s), so a mutation whose eviction Redis
 * cannot take waits for it, and is answered once every instance can be told.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CACHE_SETUPS, hotProducts, startDeployment, type Deployment } from './deployment.ts';
import { runFaults, type Fault } from './faults.ts';
import { allReadKinds } from './read-kinds.ts';
import { FAULT_MODES, FAULT_MODE_WITHOUT_POSTGRES, HOT_PRODUCTS, READ_DELAY_MS, SHORT_CHECK_TIMEOUT_MS, WRITE_THROUGH, type Mode } from './settings.ts';

const postgresUrl = process.env.TEST_POSTGRES_URL;
const [tiered, redisAlone] = FAULT_MODES;
const CASES: { mode: Mode; faults: Fault[] }[] = postgresUrl
  ? [
      { mode: tiered, faults: ['kill', 'pause'] },
      { mode: redisAlone, faults: ['kill', 'pause'] },
    ]
  : [{ mode: FAULT_MODE_WITHOUT_POSTGRES, faults: ['kill', 'pause'] }];

const SAID: Record<Fault, string> = { kill: 'killed and restarted', pause: 'paused' };

for (const { mode, faults } of CASES) describe(`${mode.instances} instance(s), ${CACHE_SETUPS[mode.cache]}`, () => {
  let deployment: Deployment;
  beforeAll(async () => {
    deployment = await startDeployment({ ...mode, postgresUrl: mode.postgres ? postgresUrl : undefined, readDelayMs: READ_DELAY_MS });
  });
  afterAll(async () => {
    await deployment?.close();
  });

  it(`Redis ${faults.map((fault) => SAID[fault]).join(', then ')} under load: no failed request, no stale read, caching comes back`, async () => {
    const result = await runFaults({
      deployment,
      faults,
      faultMs: 1_500,
      settleMs: 1_000,
      recoveryTimeoutMs: 10_000,
      // Twice the long run's share of writes: a mutation waits out its eviction through a fault, so
      // with few writes a short fault window could pass without one.
      load: { readKinds: allReadKinds, writeThrough: WRITE_THROUGH, products: hotProducts(HOT_PRODUCTS), clients: 8, mutationShare: 0.3, seed: 1 },
    });
    const { overall, before } = result;
    expect(overall.staleReads, JSON.stringify(result.record.staleReads.slice(0, 3), null, 2)).toBe(0);
    expect({ failedReads: overall.failedReads, failedMutations: overall.failedMutations, errors: overall.errors }).toEqual({
      failedReads: 0,
      failedMutations: 0,
      errors: [],
    });
    expect(before.hits, 'hits before the first fault').toBeGreaterThan(0);
    for (const fault of result.faults) {
      // The load went on through the fault, writes included, and caching came back on every instance.
      expect(fault.during.reads, fault.fault).toBeGreaterThan(0);
      expect(fault.during.mutations, fault.fault).toBeGreaterThan(0);
      expect(fault.recoveryMs, `${fault.fault}: ${JSON.stringify(fault.recoveryMsByTarget)}`).not.toBeNull();
    }
  }, SHORT_CHECK_TIMEOUT_MS);
});
