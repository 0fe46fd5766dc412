/**
 * A checker that never reports anything proves nothing: run against a store broken on purpose,
 * the consistency checker reports stale reads. `evict-nothing` is caught by any read after a
 * write; `ignore-tickets` (a slow read writes its older answer back after the eviction) only
 * when a read is slow enough to straddle a write, which is what the data layer's delay is for.
 */
import { describe, expect, it } from 'vitest';
import { BREAKAGES, type Breakage } from './broken-stores.ts';
import { startDeployment } from './deployment.ts';
import { READ_DELAY_MS, SHORT_CHECK_TIMEOUT_MS, shortCheck } from './settings.ts';
import { summarise } from './summary.ts';

describe('the checker can fail', () => {
  it.each(Object.keys(BREAKAGES) as Breakage[])('store broken with %s: stale reads are reported', async (breakage) => {
    const deployment = await startDeployment({ instances: 1, cache: 'memory', readDelayMs: READ_DELAY_MS, breakage });
    try {
      const summary = summarise(await shortCheck(deployment));
      expect(summary.staleReads, BREAKAGES[breakage]).toBeGreaterThan(0);
    } finally {
      await deployment.close();
    }
  }, SHORT_CHECK_TIMEOUT_MS);
});
