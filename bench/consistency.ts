/**
 * `npm run check:consistency`: the consistency checker, long. For each mode (one instance with
 * the in-memory store; two instances sharing Redis, with and without the in-process tier, and one
 * PostgreSQL database) concurrent clients read prices in every read kind and raise them with
 * `updateProduct`, and every read is checked: none that starts after a mutation's answer may see
 * an older price. Then the controls: the same check against stores broken on purpose, which
 * must be caught (and one without the read delay, to show what the delay is for).
 *
 * The servers run in this process (see test/consistency/deployment.ts), on a throw-away
 * redis-server and a throw-away database on TEST_POSTGRES_URL (default: the local server);
 * without PostgreSQL the two-instance modes are not run, and the run says so.
 *
 * Writes bench/results/consistency.json. Exits 1 when a read was stale, a request failed, or a
 * broken store went unnoticed.
 *
 * Env: CHECK_SECONDS (per mode, default 10), CHECK_OPERATIONS (per mode, default 100000),
 * CHECK_CLIENTS (default 16), CHECK_DELAY_MS (most a product read is slowed, default 5; 0: off),
 * CHECK_SEED (default: a random one, printed), TEST_POSTGRES_URL.
 */
import { BREAKAGES, type Breakage } from '../test/consistency/broken-stores.ts';
import { runCheck, type StaleRead } from '../test/consistency/checker.ts';
import { CACHE_SETUPS, hotProducts, startDeployment, type DeploymentSpec } from '../test/consistency/deployment.ts';
import { allReadKinds } from '../test/consistency/read-kinds.ts';
import { CONSISTENCY_MODES, HOT_PRODUCTS, READ_DELAY_MS, WRITE_THROUGH } from '../test/consistency/settings.ts';
import { summarise, type CheckSummary } from '../test/consistency/summary.ts';
import { choosePostgres, describeSummary, percent, problemsOf, runCheckScript, seedFromEnv, withDeployment, withoutPostgres } from './lib/checks.ts';
import { positiveNumber, wholeNumber } from './lib/env.ts';

const settings = {
  secondsPerMode: positiveNumber('CHECK_SECONDS', 10),
  operationsPerMode: Math.round(positiveNumber('CHECK_OPERATIONS', 100_000)),
  clients: Math.round(positiveNumber('CHECK_CLIENTS', 16)),
  readDelayMs: wholeNumber('CHECK_DELAY_MS', READ_DELAY_MS),
  seed: seedFromEnv(),
  hotProducts: HOT_PRODUCTS,
  mutationShare: 0.15,
  readKinds: allReadKinds.map((kind) => kind.name),
};
/** A control needs less time: a broken store is caught within a second or two. */
const controlSeconds = Math.max(2, settings.secondsPerMode / 4);

interface RunResult {
  description: string;
  /** Whether stale reads are expected: a control against a broken store. */
  control?: { breakage: Breakage; broken: string; mustBeCaught: boolean };
  summary: CheckSummary;
  /** The first stale reads, with the seed, client and operation index of each. */
  staleReads: StaleRead[];
}

interface Planned {
  spec: DeploymentSpec;
  seconds: number;
  control?: RunResult['control'];
}

async function main() {
  console.log(
    `Seed ${settings.seed}; ${settings.clients} clients; up to ${settings.secondsPerMode} s or ${settings.operationsPerMode} operations per mode; ` +
      `product reads slowed by up to ${settings.readDelayMs} ms; ${settings.hotProducts} products written`,
  );
  const postgres = await choosePostgres();
  const notRun: string[] = [];
  const plan: Planned[] = [];
  for (const mode of CONSISTENCY_MODES) {
    const { postgres: needsPostgres, ...spec } = mode;
    if (needsPostgres && postgres.url === undefined) {
      notRun.push(withoutPostgres(postgres, `${mode.instances} instances, ${CACHE_SETUPS[mode.cache]}`));
      continue;
    }
    plan.push({ spec: { ...spec, postgresUrl: needsPostgres ? postgres.url : undefined, readDelayMs: settings.readDelayMs }, seconds: settings.secondsPerMode });
  }
  for (const breakage of Object.keys(BREAKAGES) as Breakage[]) {
    plan.push({
      spec: { instances: 1, cache: 'memory', readDelayMs: settings.readDelayMs, breakage },
      seconds: controlSeconds,
      control: { breakage, broken: BREAKAGES[breakage], mustBeCaught: true },
    });
  }
  // What the delay is for: without it, a slow read rarely straddles a write.
  plan.push({
    spec: { instances: 1, cache: 'memory', readDelayMs: 0, breakage: 'ignore-tickets' },
    seconds: controlSeconds,
    control: { breakage: 'ignore-tickets', broken: BREAKAGES['ignore-tickets'], mustBeCaught: false },
  });
  for (const message of notRun) console.log(`\n! ${message}`);

  const runs: RunResult[] = [];
  for (const { spec, seconds, control } of plan) {
    const result = await withDeployment(
      () => startDeployment(spec),
      async (deployment) => {
        console.log(`\n${control ? 'control: ' : ''}${deployment.description}`);
        const record = await runCheck({
          targets: deployment.targets,
          readKinds: allReadKinds,
          writeThrough: WRITE_THROUGH,
          products: hotProducts(settings.hotProducts),
          clients: settings.clients,
          mutationShare: settings.mutationShare,
          seed: settings.seed,
          maxOperations: settings.operationsPerMode,
          maxDurationMs: seconds * 1000,
        });
        return { description: deployment.description, ...(control && { control }), summary: summarise(record), staleReads: record.staleReads.slice(0, 10) };
      },
    );
    console.log(describeSummary(result.summary));
    if (!result.control) {
      const kinds = settings.readKinds.map((name) => `${name} ${percent(result.summary.byReadKind[name]?.hitRatio ?? 0)}`);
      console.log(`  hits by read kind: ${kinds.join(', ')}`);
    }
    for (const stale of result.staleReads.slice(0, result.control ? 1 : 3)) console.log(`  stale: ${JSON.stringify(stale)}`);
    runs.push(result);
  }

  return {
    results: { settings: { ...settings, controlSeconds, postgres: postgres.shown }, notRun, runs },
    problems: verdict(runs),
    allWell: 'No stale read, no failed request; every broken store was caught.',
  };
}

function verdict(runs: RunResult[]): string[] {
  const problems: string[] = [];
  for (const { description, control, summary } of runs) {
    if (control) {
      if (control.mustBeCaught && summary.staleReads === 0) problems.push(`${description}: the broken store went unnoticed`);
      continue;
    }
    problems.push(...problemsOf(description, summary, settings.seed));
  }
  return problems;
}

await runCheckScript('consistency.json', main);
