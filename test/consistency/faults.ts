/**
 * Fault runs: the consistency checker's load on instances sharing a Redis, while that Redis is
 * killed and restarted, or paused. Each fault is measured on its own window: failed requests
 * (valid requests, so the target is 0), latency while the fault lasts, the time until caching
 * is back, and stale reads (0) over the whole run.
 *
 * "Caching is back" on an instance means: it answered a HIT for an answer that missed after the
 * fault ended, so the answer was stored after the fault. Hits on answers cached before (an
 * in-process tier keeps serving those while Redis is paused) do not count.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { runCheck, type CheckOptions, type CheckRecord, type Operation } from './checker.ts';
import type { Deployment } from './deployment.ts';
import { summarise, type CheckSummary } from './summary.ts';

export type Fault = 'kill' | 'pause';

export const FAULTS: Record<Fault, string> = {
  kill: 'Redis killed (SIGKILL) and restarted empty on the same port',
  pause: 'CLIENT PAUSE ALL: every command of every client held',
};

export interface FaultRunOptions {
  /** Instances sharing a Redis. */
  deployment: Deployment;
  /** In order, each after the one before has recovered. */
  faults: readonly Fault[];
  /** How long Redis stays down or paused. */
  faultMs: number;
  /** Load before each fault (once every instance caches) and after the last recovery. */
  settleMs: number;
  /** How long to wait for caching to come back after a fault before calling it not recovered. */
  recoveryTimeoutMs: number;
  load: Omit<CheckOptions, 'targets' | 'signal' | 'maxOperations' | 'maxDurationMs' | 'onOperation'>;
}

export interface FaultWindow {
  fault: Fault;
  description: string;
  /** ms since the run started. */
  began: number;
  /** When Redis answered again: restarted, or the pause over. */
  ended: number;
  /** Operations that started while the fault lasted. */
  during: CheckSummary;
  /** From the fault's end until every instance cached again (see the module comment); null when one did not within the timeout. */
  recoveryMs: number | null;
  recoveryMsByTarget: Record<string, number | null>;
  /** Operations that started from the fault's end until recovery (or the timeout). */
  recovering: CheckSummary;
}

export interface FaultRunResult {
  record: CheckRecord;
  overall: CheckSummary;
  /** The steady state to compare with: from when every instance cached under the load (warm) until the first fault. */
  before: CheckSummary;
  faults: FaultWindow[];
}

export async function runFaults({ deployment, faults, faultMs, settleMs, recoveryTimeoutMs, load }: FaultRunOptions): Promise<FaultRunResult> {
  const { redis, targets } = deployment;
  if (!redis) throw new Error('runFaults: the deployment has no Redis to fail');
  const stop = new AbortController();
  const watcher = createRecoveryWatcher(targets.map((target) => target.name));
  const running = runCheck({
    ...load,
    targets,
    signal: stop.signal,
    maxOperations: Number.POSITIVE_INFINITY,
    // Only a safety net: the run ends when the faults are done.
    maxDurationMs: faults.length * (faultMs + settleMs + recoveryTimeoutMs) + settleMs + 60_000,
    onOperation: watcher.observe,
  });
  const windows: Omit<FaultWindow, 'during' | 'recovering'>[] = [];
  let steadyFrom = Number.POSITIVE_INFINITY;
  let firstFault = Number.POSITIVE_INFINITY;
  try {
    // The steady state first: every instance caching under the load.
    const warm = await watcher.recoveredAfter(performance.now(), recoveryTimeoutMs);
    if ([...warm.values()].includes(null)) throw new Error(`not every instance cached under load within ${recoveryTimeoutMs} ms: ${JSON.stringify([...warm])}`);
    steadyFrom = performance.now();
    for (const fault of faults) {
      await sleep(settleMs);
      const began = performance.now();
      firstFault = Math.min(firstFault, began);
      if (fault === 'kill') {
        await redis.kill();
        await sleep(faultMs);
        await redis.restart();
      } else {
        const paused = await redis.command('CLIENT', 'PAUSE', faultMs, 'ALL');
        if (paused !== 'OK') throw new Error(`CLIENT PAUSE answered ${String(paused)}`);
        // Held until the pause is over.
        await redis.command('PING');
      }
      const ended = performance.now();
      const recovered = await watcher.recoveredAfter(ended, recoveryTimeoutMs);
      const byTarget = Object.fromEntries([...recovered].map(([name, at]) => [name, at === null ? null : at - ended]));
      const all = Object.values(byTarget);
      windows.push({
        fault,
        description: FAULTS[fault],
        began,
        ended,
        recoveryMs: all.includes(null) ? null : Math.max(...(all as number[])),
        recoveryMsByTarget: byTarget,
      });
    }
    await sleep(settleMs);
  } finally {
    stop.abort();
  }
  const record = await running;
  const relative = (at: number) => at - record.startedAt;
  return {
    record,
    overall: summarise(record),
    before: summarise(record, { from: steadyFrom, to: firstFault }),
    faults: windows.map((window) => ({
      ...window,
      during: summarise(record, { from: window.began, to: window.ended }),
      recovering: summarise(record, { from: window.ended, to: window.ended + (window.recoveryMs ?? recoveryTimeoutMs) }),
      began: relative(window.began),
      ended: relative(window.ended),
    })),
  };
}

/** Watches the load's operations for each instance's first HIT on an answer that missed after a given time. */
function createRecoveryWatcher(targets: readonly string[]) {
  let since = Number.POSITIVE_INFINITY;
  let missedSince = new Set<string>();
  let recoveredAt = new Map<string, number | null>();
  let wake: (() => void) | undefined;
  return {
    observe(operation: Operation): void {
      if (operation.kind !== 'read' || !operation.ok || operation.answer === undefined || operation.startedAt < since) return;
      if (operation.cache === 'MISS') missedSince.add(operation.answer);
      else if (operation.cache === 'HIT' && missedSince.has(operation.answer) && recoveredAt.get(operation.target) === null) {
        recoveredAt.set(operation.target, operation.endedAt);
        if ([...recoveredAt.values()].every((at) => at !== null)) wake?.();
      }
    },
    /** Resolves when every instance has recovered since `at`, or after `timeoutMs`, with when each did (null: not in time). */
    async recoveredAfter(at: number, timeoutMs: number): Promise<Map<string, number | null>> {
      since = at;
      missedSince = new Set();
      recoveredAt = new Map(targets.map((name) => [name, null]));
      const seen = recoveredAt;
      const timeout = AbortSignal.timeout(timeoutMs);
      await new Promise<void>((resolve) => {
        wake = resolve;
        timeout.addEventListener('abort', () => resolve(), { once: true });
      });
      wake = undefined;
      since = Number.POSITIVE_INFINITY;
      return seen;
    },
  };
}
