/**
 * Runs isolation campaigns against a cached server with fast-check: each run empties the
 * cache, sends one generated campaign and checks every answer (isolation-checks.ts). A failing
 * campaign is shrunk, and the failure names the seed and path that replay it, the rule broken,
 * and the offending request and session.
 */
import fc from 'fast-check';
import { campaignArbitrary, describeRequest, sendCampaign, type Campaign } from './campaign.ts';
import { addStats, checkCampaign, describeViolation, emptyStats, type IsolationStats, type Oracle, type Violation } from './isolation-checks.ts';
import { operationArbitrary } from './query-generator.ts';
import type { WaveGate } from './wave-gate.ts';
import { catalogGeneratorOptions, catalogSchema } from './catalog-fuzz.ts';

export interface FuzzTarget {
  /** The cached server's GraphQL endpoint. */
  url: string;
  /** Empties its cache, so that each campaign starts cold and replays alike. */
  reset(): Promise<unknown>;
  /** Holds executions of held waves; without one, every wave runs freely. */
  gate?: WaveGate;
}

export interface FuzzOptions {
  /** Campaigns to run. */
  runs: number;
  seed: number;
  /** fast-check's path of a failure, to replay just that campaign. */
  path?: string;
  /** Shrink a failing campaign to the smallest that still fails. @default true */
  shrink?: boolean;
}

export type FuzzResult =
  | { failed: false; stats: IsolationStats }
  | { failed: true; stats: IsolationStats; violations: Violation[]; message: string };

class IsolationViolated extends Error {
  constructor(readonly violations: Violation[]) {
    super(`${violations.length} violation(s); the first:\n${describeViolation(violations[0])}`);
  }
}

/** Campaigns of operations generated from the catalog's schema. */
export const catalogCampaigns = campaignArbitrary(operationArbitrary(catalogSchema, catalogGeneratorOptions));

export async function fuzzIsolation(target: FuzzTarget, oracle: Oracle, { runs, seed, path, shrink = true }: FuzzOptions): Promise<FuzzResult> {
  const stats = emptyStats();
  const property = fc.asyncProperty(catalogCampaigns, async (campaign) => {
    await target.reset();
    const { violations, stats: campaignStats } = await checkCampaign(await sendCampaign(target.url, campaign, target.gate), oracle);
    addStats(stats, campaignStats);
    if (violations.length > 0) throw new IsolationViolated(violations);
  });
  const details = await fc.check(property, { seed, numRuns: runs, ...(path !== undefined && { path }), endOnFailure: !shrink || path !== undefined });
  if (!details.failed) return { failed: false, stats };
  const error = details.errorInstance;
  const violations = error instanceof IsolationViolated ? error.violations : [];
  const replay = `FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath}`;
  const message = [
    `isolation fuzz failed: seed ${details.seed}, path ${details.counterexamplePath} (replay: ${replay}), after ${details.numRuns} campaign(s) and ${details.numShrinks} shrink(s)`,
    error instanceof Error ? error.message : String(error),
    ...(details.counterexample ? [`the ${shrink ? 'shrunk ' : ''}campaign:`, describeCampaign(details.counterexample[0])] : []),
  ].join('\n');
  return { failed: true, stats, violations, message };
}

/** Every wave of a campaign, one line per request. */
function describeCampaign(campaign: Campaign): string {
  return campaign.waves
    .map((wave, w) =>
      [`wave ${w} (sent at once${wave.held ? ', executions held until all reached the cache' : ''}):`, ...wave.requests.map((plan, position) => {
        const client = campaign.clients[plan.client % campaign.clients.length];
        const operations = plan.transport === 'BATCH' ? [plan.operation, ...plan.batchWith] : [plan.operation];
        const request = describeRequest({
          at: `${w}.${position}`,
          client,
          transport: plan.transport,
          operations: operations.map((index) => campaign.operations[index % campaign.operations.length]),
          accept: undefined,
          ifNoneMatch: plan.revalidate ? '(the last ETag an earlier wave got for it)' : undefined,
          noCache: plan.noCache,
        });
        return `  ${request.replace(/\n/g, '\n    ')}`;
      })].join('\n'),
    )
    .join('\n');
}
