/**
 * What the long consistency and fault runs share: their settings, the PostgreSQL they create
 * their throw-away database on (and what to say when there is none), and how they print.
 */
import { randomInt } from 'node:crypto';
import os from 'node:os';
import { redactPassword } from '../../server/env.ts';
import { probePostgres, type Deployment } from '../../test/consistency/deployment.ts';
import { DEFAULT_POSTGRES_URL } from '../../test/consistency/settings.ts';
import type { CheckSummary, LatencySummary } from '../../test/consistency/summary.ts';
import { wholeNumber } from './env.ts';
import { describeMachine } from './report.ts';
import { currentMachine, writeResult } from './results.ts';

/** CHECK_SEED, or a fresh one (printed and written, so a run can be repeated). */
export function seedFromEnv(): number {
  return wholeNumber('CHECK_SEED', randomInt(1, 2 ** 31));
}

export interface PostgresChoice {
  /** As shown: without its password. */
  shown: string;
  /** Set when PostgreSQL answers. */
  url?: string;
  /** Why it cannot be used, when it cannot. */
  unreachable?: string;
}

/** TEST_POSTGRES_URL, or the local server's default; probed, so that a run can say at once that it has none. */
export async function choosePostgres(): Promise<PostgresChoice> {
  const url = process.env.TEST_POSTGRES_URL || DEFAULT_POSTGRES_URL;
  const shown = redactPassword(url);
  const status = await probePostgres(url);
  return status.reachable ? { shown, url } : { shown, unreachable: status.reason };
}

/** The message for modes that need PostgreSQL when it does not answer. */
export function withoutPostgres(choice: PostgresChoice, what: string): string {
  return `${what}: not run: PostgreSQL does not answer at ${choice.shown} (${choice.unreachable}). Several instances must share one database; set TEST_POSTGRES_URL to a server this user may create databases on.`;
}

let current: Deployment | undefined;

/**
 * Runs `fn` on a deployment that is closed afterwards, and also on SIGINT/SIGTERM, so that an
 * interrupted run leaves no redis-server or throw-away database behind.
 */
export async function withDeployment<T>(start: () => Promise<Deployment>, fn: (deployment: Deployment) => Promise<T>): Promise<T> {
  current = await start();
  try {
    return await fn(current);
  } finally {
    const closing = current;
    current = undefined;
    await closing.close();
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: closing the servers, Redis and the throw-away database…`);
    void (current?.close() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

// ── Printing ───────────────────────────────────────────────────────────────────────────

export const int = (n: number) => Math.round(n).toLocaleString('en-US');
export const percent = (ratio: number) => `${Math.round(ratio * 100)}%`;
export const ms = (n: number) => `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`;
const latency = ({ p50, p99, max }: LatencySummary) => `p50 ${ms(p50)}, p99 ${ms(p99)}, max ${ms(max)}`;

/** A run's figures in a few lines. */
export function describeSummary(summary: CheckSummary, indent = '  '): string {
  const failed = summary.failedReads + summary.failedMutations;
  return [
    `${int(summary.operations)} operations (${int(summary.perSecond)}/s): ${int(summary.reads)} reads, ${int(summary.mutations)} mutations; ` +
      `stale reads ${summary.staleReads}; failed requests ${failed}; hit ratio ${percent(summary.hitRatio)}`,
    `reads that overlapped a mutation of what they read ${int(summary.overlappingReads)}, held to an answered mutation ${int(summary.constrainedReads)}` +
      (summary.evictionPendingMutations > 0 ? `; mutations answered CACHE_EVICTION_PENDING ${int(summary.evictionPendingMutations)}` : ''),
    `latency: reads ${latency(summary.latencyMs.reads)}; mutations ${latency(summary.latencyMs.mutations)}`,
    ...(summary.errors.length > 0 ? [`errors: ${summary.errors.join(' | ')}`] : []),
  ]
    .map((line) => indent + line)
    .join('\n');
}

/** The problems a run's figures show: any stale read, any failed request. */
export function problemsOf(description: string, summary: CheckSummary, seed: number): string[] {
  const problems: string[] = [];
  if (summary.staleReads > 0) problems.push(`${description}: ${summary.staleReads} stale reads (seed ${seed})`);
  const failed = summary.failedReads + summary.failedMutations;
  if (failed > 0) problems.push(`${description}: ${failed} failed requests: ${summary.errors.join(' | ')}`);
  return problems;
}

/**
 * Runs a check script: prints the machine, runs `main`, writes what it returns to
 * bench/results/<file> with the machine and timing, prints the verdict and sets the exit code
 * (1 when there were problems or the run failed).
 */
export async function runCheckScript(
  file: string,
  main: () => Promise<{ results: Record<string, unknown>; problems: string[]; allWell: string }>,
): Promise<void> {
  const startedAt = new Date();
  const machine = currentMachine();
  const loadAverageAtStart = os.loadavg();
  console.log(`Machine: ${describeMachine(machine)}; 1-minute load average ${loadAverageAtStart[0].toFixed(2)}`);
  try {
    const { results, problems, allWell } = await main();
    const report = {
      startedAt: startedAt.toISOString(),
      durationSeconds: (Date.now() - startedAt.getTime()) / 1000,
      machine,
      loadAverageAtStart,
      loadAverageAtEnd: os.loadavg(),
      ...results,
      problems,
    };
    writeResult(file, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nWritten: bench/results/${file}`);
    if (problems.length > 0) {
      console.log(`\nFAILED:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
      process.exitCode = 1;
    } else {
      console.log(`\n${allWell}`);
    }
  } catch (error) {
    console.error(`\n${file}: the run failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  }
}
