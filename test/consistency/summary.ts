/** Figures of a checker run, as a whole or over a window of time: what the reports print and the tests assert. */
import type { CheckRecord, Operation } from './checker.ts';

export interface LatencySummary {
  p50: number;
  p99: number;
  max: number;
}

export interface ReadKindSummary {
  reads: number;
  failed: number;
  hits: number;
  hitRatio: number;
}

export interface CheckSummary {
  /** Operations that started in the window. */
  operations: number;
  reads: number;
  mutations: number;
  /** Reads and mutations that did not get a successful answer (non-200, errors, or no answer at all). */
  failedReads: number;
  failedMutations: number;
  /** Mutations answered with `CACHE_EVICTION_PENDING`: written, but reads elsewhere were not promised to see them. */
  evictionPendingMutations: number;
  /** Reads that saw a price below a mutation answered before they started. Must be 0. */
  staleReads: number;
  /** Successful reads answered with `X-Cache: HIT`, and their share of the successful reads. */
  hits: number;
  hitRatio: number;
  /** Reads during which a mutation of a product they saw was in flight: the races the run exercised. */
  overlappingReads: number;
  /** Reads of a product with an answered mutation before them: the reads the rule held to a floor. */
  constrainedReads: number;
  latencyMs: { reads: LatencySummary; mutations: LatencySummary; all: LatencySummary };
  perSecond: number;
  byReadKind: Record<string, ReadKindSummary>;
  /** Up to five distinct error messages, for a report that says what failed. */
  errors: string[];
}

export interface Window {
  /** ms on the checker's clock, inclusive. */
  from: number;
  /** Exclusive. */
  to: number;
}

export function summarise(record: CheckRecord, window: Window = { from: record.startedAt, to: Infinity }): CheckSummary {
  const inWindow = (at: number) => at >= window.from && at < window.to;
  const operations = record.operations.filter((operation) => inWindow(operation.startedAt));
  const reads = operations.filter((operation) => operation.kind === 'read');
  const mutations = operations.filter((operation) => operation.kind === 'mutation');
  const answered = reads.filter((read) => read.ok);
  const hits = answered.filter((read) => read.cache === 'HIT').length;
  const byReadKind: Record<string, ReadKindSummary> = {};
  for (const read of reads) {
    const kind = (byReadKind[read.name] ??= { reads: 0, failed: 0, hits: 0, hitRatio: 0 });
    kind.reads++;
    if (!read.ok) kind.failed++;
    else if (read.cache === 'HIT') kind.hits++;
  }
  for (const kind of Object.values(byReadKind)) kind.hitRatio = ratio(kind.hits, kind.reads - kind.failed);
  const end = Math.min(window.to, record.endedAt);
  return {
    operations: operations.length,
    reads: reads.length,
    mutations: mutations.length,
    failedReads: reads.length - answered.length,
    failedMutations: mutations.filter((mutation) => !mutation.ok).length,
    evictionPendingMutations: mutations.filter((mutation) => mutation.evictionPending).length,
    staleReads: record.staleReads.filter((stale) => inWindow(stale.read.startedAt)).length,
    hits,
    hitRatio: ratio(hits, answered.length),
    overlappingReads: answered.filter((read) => read.overlapped).length,
    constrainedReads: answered.filter((read) => read.constrained).length,
    latencyMs: { reads: latency(reads), mutations: latency(mutations), all: latency(operations) },
    perSecond: end > window.from ? (operations.length * 1000) / (end - window.from) : 0,
    byReadKind,
    errors: [...new Set(operations.flatMap((operation) => (operation.error === undefined ? [] : [operation.error])))].slice(0, 5),
  };
}

const ratio = (part: number, whole: number) => (whole === 0 ? 0 : part / whole);

function latency(operations: Operation[]): LatencySummary {
  const sorted = operations.map((operation) => operation.endedAt - operation.startedAt).sort((a, b) => a - b);
  const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]);
  return { p50: at(0.5), p99: at(0.99), max: at(1) };
}
