/**
 * `npm run check:faults`: fault runs, long. Two instances sharing a throw-away redis-server and a
 * throw-away PostgreSQL database (with the in-process tier, then with Redis alone) run the
 * consistency checker's load while Redis is killed and restarted empty, then paused with
 * `CLIENT PAUSE`. For each fault: failed requests (the target is 0: every request is valid),
 * latency while it lasts against the steady state before, the time until caching is back on
 * every instance, and stale reads (0) over the whole run.
 *
 * Without PostgreSQL, instances cannot share data: the run says so and fails one instance on
 * PGlite instead.
 *
 * Writes bench/results/faults.json. Exits 1 when a request failed, a read was stale, or caching
 * did not come back.
 *
 * Env: FAULT_MS (how long Redis stays down or paused, default 3000), FAULT_SETTLE_MS (load
 * before each fault and after the last, default 3000), FAULT_RECOVERY_TIMEOUT_MS (default
 * 15000), CHECK_CLIENTS (default 8), CHECK_DELAY_MS (default 5), CHECK_SEED, TEST_POSTGRES_URL.
 */
import { hotProducts, startDeployment } from '../test/consistency/deployment.ts';
import { FAULTS, runFaults, type Fault, type FaultWindow } from '../test/consistency/faults.ts';
import { allReadKinds } from '../test/consistency/read-kinds.ts';
import { FAULT_MODES, FAULT_MODE_WITHOUT_POSTGRES, HOT_PRODUCTS, READ_DELAY_MS, WRITE_THROUGH, type Mode } from '../test/consistency/settings.ts';
import type { CheckSummary } from '../test/consistency/summary.ts';
import type { StaleRead } from '../test/consistency/checker.ts';
import { choosePostgres, describeSummary, ms, percent, problemsOf, runCheckScript, seedFromEnv, withDeployment, withoutPostgres } from './lib/checks.ts';
import { positiveNumber, wholeNumber } from './lib/env.ts';

const FAULT_ORDER: Fault[] = ['kill', 'pause'];

const settings = {
  faultMs: Math.round(positiveNumber('FAULT_MS', 3_000)),
  settleMs: Math.round(positiveNumber('FAULT_SETTLE_MS', 3_000)),
  recoveryTimeoutMs: Math.round(positiveNumber('FAULT_RECOVERY_TIMEOUT_MS', 15_000)),
  clients: Math.round(positiveNumber('CHECK_CLIENTS', 8)),
  readDelayMs: wholeNumber('CHECK_DELAY_MS', READ_DELAY_MS),
  seed: seedFromEnv(),
  hotProducts: HOT_PRODUCTS,
  faults: FAULT_ORDER.map((fault) => FAULTS[fault]),
};

interface ModeResult {
  description: string;
  overall: CheckSummary;
  before: CheckSummary;
  faults: FaultWindow[];
  staleReads: StaleRead[];
}

async function main() {
  console.log(
    `Seed ${settings.seed}; ${settings.clients} clients; each fault lasts ${settings.faultMs} ms after ${settings.settleMs} ms of steady load; ` +
      `product reads slowed by up to ${settings.readDelayMs} ms`,
  );
  const postgres = await choosePostgres();
  const notRun: string[] = [];
  let modes: readonly Mode[] = FAULT_MODES;
  if (postgres.url === undefined) {
    notRun.push(withoutPostgres(postgres, 'two instances'));
    console.log(`\n! ${notRun[0]} Failing one instance on PGlite instead.`);
    modes = [FAULT_MODE_WITHOUT_POSTGRES];
  }

  const results: ModeResult[] = [];
  for (const { postgres: needsPostgres, ...spec } of modes) {
    const result = await withDeployment(
      () => startDeployment({ ...spec, postgresUrl: needsPostgres ? postgres.url : undefined, readDelayMs: settings.readDelayMs }),
      async (deployment) => {
        console.log(`\n${deployment.description}`);
        const run = await runFaults({
          deployment,
          faults: FAULT_ORDER,
          faultMs: settings.faultMs,
          settleMs: settings.settleMs,
          recoveryTimeoutMs: settings.recoveryTimeoutMs,
          load: { readKinds: allReadKinds, writeThrough: WRITE_THROUGH, products: hotProducts(settings.hotProducts), clients: settings.clients, seed: settings.seed },
        });
        const { overall, before, faults } = run;
        return { description: deployment.description, overall, before, faults, staleReads: run.record.staleReads.slice(0, 10) };
      },
    );
    console.log(`  whole run:\n${describeSummary(result.overall, '    ')}`);
    console.log(`  steady, before the first fault: read p99 ${ms(result.before.latencyMs.reads.p99)}, mutation p99 ${ms(result.before.latencyMs.mutations.p99)}, hit ratio ${percent(result.before.hitRatio)}`);
    for (const fault of result.faults) {
      const recovery = fault.recoveryMs === null ? `not within ${settings.recoveryTimeoutMs} ms` : ms(fault.recoveryMs);
      const byTarget = Object.entries(fault.recoveryMsByTarget).map(([name, at]) => `${name} ${at === null ? 'never' : ms(at)}`);
      console.log(`  ${fault.fault} (${fault.description}): lasted ${ms(fault.ended - fault.began)}, from ${ms(fault.began)} into the run; caching back after ${recovery} (${byTarget.join(', ')})`);
      console.log(describeSummary(fault.during, '    during: '));
    }
    for (const stale of result.staleReads.slice(0, 3)) console.log(`  stale: ${JSON.stringify(stale)}`);
    results.push(result);
  }

  return {
    results: { settings: { ...settings, postgres: postgres.shown }, notRun, modes: results },
    problems: verdict(results),
    allWell: 'No failed request, no stale read; caching came back after every fault.',
  };
}

function verdict(results: ModeResult[]): string[] {
  const problems: string[] = [];
  for (const { description, overall, faults } of results) {
    problems.push(...problemsOf(description, overall, settings.seed));
    for (const fault of faults) {
      if (fault.recoveryMs === null) problems.push(`${description}: caching not back within ${settings.recoveryTimeoutMs} ms of: ${fault.description}`);
    }
  }
  return problems;
}

await runCheckScript('faults.json', main);
