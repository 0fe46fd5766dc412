/**
 * What a bench run produces: the results as data, a markdown report (printed, and saved for the
 * README), and a hand-written SVG bar chart of hit throughput.
 */
import type { EvictionResult } from '../eviction.ts';
import type { MemoryBoundResult } from '../memory-bound.ts';
import type { StoreStats } from '../../plugins/store.ts';
import type { LoadResult, ScenarioName } from './load.ts';

export type ServerId = 'raw' | 'yoga-plugin' | 'ours-disabled' | 'ours-response-only' | 'ours-memory' | 'ours-redis';

export interface Machine {
  cpu: string;
  cores: number;
  memoryBytes: number;
  node: string;
  platform: string;
  release: string;
}

export interface ServerResult {
  id: ServerId;
  label: string;
  pid: number;
  /** The `x-cache` header of the second hit request (undefined: none sent). */
  hitXCache?: string;
  hitBodyBytes?: number;
  /** VmRSS right after the hit runs (which follow the miss runs), and VmHWM (peak) at the end of all runs. */
  rssAfterHitBytes?: number;
  peakRssBytes?: number;
  /** VmRSS right after the miss runs. */
  rssAfterMissBytes?: number;
  /** Ours, after the miss runs: answers executed as misses so far, and the in-process tier (null: none). */
  cacheAfterMiss?: { misses: number; local: StoreStats | null };
  scenarios: Partial<Record<ScenarioName, LoadResult>>;
  /** Ours: SQL statements sent per answered request, in the measured rounds of a scenario. */
  statementsPerRequest?: Partial<Record<ScenarioName, number>>;
}

export interface Target {
  name: string;
  measured: number;
  goal: number;
  /** `>=`: measured must be at least goal; `<=`: at most. */
  direction: '>=' | '<=';
  met: boolean;
  /** Shown next to the measured value, e.g. the spread over rounds. */
  detail?: string;
}

export interface BenchResults {
  startedAt: string;
  durationSeconds: number;
  machine: Machine;
  settings: {
    secondsPerRun: number;
    warmupSeconds: number;
    hitRounds: number;
    missRounds: number;
    /** Rounds of the varied and private scenarios. */
    resolverRounds: number;
    connections: number;
    pipelining: 1;
    loadGenerator: string;
    database: string;
    hitQuery: string;
    hitId: string;
    /** Every server's miss run sends this many requests (the same keys, in the same order). */
    missRequestsPerServer?: number;
    /** os.loadavg() before the first run and after the last: other work on the machine. */
    loadAverageAtStart: number[];
    loadAverageAtEnd: number[];
  };
  servers: ServerResult[];
  ratios: {
    hitVsRaw: Partial<Record<ServerId, number>>;
    hitVsYogaPlugin: Partial<Record<ServerId, number>>;
    missCpuOursMemoryVsDisabled?: number;
    /** The same ratio for each miss round on its own: its spread shows how noisy the machine was. */
    missCpuOursMemoryVsDisabledPerRound: number[];
    hitP99OursMemoryVsRaw?: number;
    hitP99OursRedisVsRaw?: number;
    /** tRPC `product.byId` hits per second with the cache middleware ÷ the same router without it. */
    trpcHitVsUncached: Partial<Record<ServerId, number | undefined>>;
  };
  targets: Target[];
  eviction: EvictionResult[];
  memoryBound?: MemoryBoundResult;
  warnings: string[];
}

// ── Numbers ────────────────────────────────────────────────────────────────────────────

const int = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '–' : Math.round(n).toLocaleString('en-US'));
const fixed = (n: number | undefined, digits: number) =>
  n === undefined || !Number.isFinite(n) ? '–' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ms = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '–' : `${fixed(n, n < 10 ? 2 : 1)} ms`);
const mb = (bytes: number | undefined) => (bytes === undefined || !Number.isFinite(bytes) ? '–' : `${Math.round(bytes / 2 ** 20)} MB`);
export const mib = (bytes: number) => `${fixed(bytes / 2 ** 20, 1)} MiB`;
const ratio = (n: number | undefined) => (n === undefined ? '–' : fixed(n, 2));

export function describeMachine(machine: Machine): string {
  return `${machine.cpu}, ${machine.cores} cores, ${fixed(machine.memoryBytes / 2 ** 30, 1)} GiB RAM, Node ${machine.node}, ${machine.platform} ${machine.release}`;
}

// ── Markdown ───────────────────────────────────────────────────────────────────────────

export function renderMarkdown(results: BenchResults): string {
  const { settings } = results;
  const lines: string[] = [];
  lines.push(`Machine: ${describeMachine(results.machine)}.`);
  lines.push(
    `Load: ${settings.loadGenerator} on loopback, ${settings.connections} connections, each server its own process; ${settings.database}. ` +
      `Hit: ${settings.hitRounds} rounds of ${settings.secondsPerRun} s per server after ${settings.warmupSeconds} s of warm-up; ` +
      `miss: ${int(settings.missRequestsPerServer)} requests per server in ${settings.missRounds} rounds after a warm-up on other keys; ` +
      `mixed: ${settings.secondsPerRun} s per server; varied and private: ${settings.resolverRounds} rounds of ${settings.secondsPerRun} s per server after every row was read once and ${settings.warmupSeconds} s of warm-up. ` +
      'Rounds alternate the order of the servers. ' +
      `Run ${results.startedAt}, ${Math.round(results.durationSeconds)} s in all; ` +
      `1-minute load average ${fixed(settings.loadAverageAtStart[0], 2)} before, ${fixed(settings.loadAverageAtEnd[0], 2)} after.`,
  );
  lines.push('');
  lines.push(
    'Scenarios: **hit** = the fixed query `product(id: "7")` with category and reviews, cache warm; ' +
      '**miss** = `products(first, offset)`, a different (first, offset) pair on every request (100k keys), the same requests for every server; ' +
      '**mixed** = 90% `product(id)` reads over 1k hot ids, 10% `updateProduct` mutations; ' +
      '**varied** = every request a document of its own over 1 to 3 of the 1k hot products (random fields, aliases, fragments, nested category and reviews; 765 shapes); ' +
      '**varied-300** = the same, but each request one of 300 such documents, with the ids as variables; ' +
      '**private** = `me { name email }` and a product\'s data, for one of 50 signed-in users and one of 1k products at random. ' +
      'CPU/req = server CPU time (user + system, from /proc) ÷ responses.',
  );
  lines.push('');
  lines.push('| server | hit req/s | hit p50 | hit p99 | × raw | × yoga+plugin | RSS after hit | hit CPU/req | miss req/s | miss CPU/req | mixed req/s | mixed p99 |');
  lines.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const server of results.servers.filter((one) => one.scenarios.hit || one.scenarios.miss || one.scenarios.mixed)) {
    const { hit, miss, mixed } = server.scenarios;
    lines.push(
      `| ${server.label} | ${int(hit?.reqPerSec)} | ${ms(hit?.latencyMs.p50)} | ${ms(hit?.latencyMs.p99)} | ` +
        `${ratio(results.ratios.hitVsRaw[server.id])} | ${ratio(results.ratios.hitVsYogaPlugin[server.id])} | ` +
        `${mb(server.rssAfterHitBytes)} | ${micros(hit?.cpuMicrosPerRequest)} | ${int(miss?.reqPerSec)} | ${micros(miss?.cpuMicrosPerRequest)} | ` +
        `${int(mixed?.reqPerSec)} | ${ms(mixed?.latencyMs.p99)} |`,
    );
  }
  const resolverScenarios: ScenarioName[] = ['varied', 'varied-300', 'private'];
  const resolverRows = results.servers.filter((server) => resolverScenarios.some((scenario) => server.scenarios[scenario]));
  if (resolverRows.length > 0) {
    lines.push('');
    const responseOnly = results.servers.find((server) => server.id === 'ours-response-only');
    lines.push(`| server | ${resolverScenarios.map((scenario) => `${scenario} req/s | × response cache only | p99 | SQL/req`).join(' | ')} |`);
    lines.push(`|---|${resolverScenarios.map(() => '--:|--:|--:|--:').join('|')}|`);
    for (const server of resolverRows) {
      const cells = resolverScenarios.map((scenario) => {
        const result = server.scenarios[scenario];
        const base = responseOnly?.scenarios[scenario]?.reqPerSec;
        const times = result && base ? result.reqPerSec / base : undefined;
        return `${int(result?.reqPerSec)} | ${ratio(times)} | ${ms(result?.latencyMs.p99)} | ${fixed(server.statementsPerRequest?.[scenario], 3)}`;
      });
      lines.push(`| ${server.label} | ${cells.join(' | ')} |`);
    }
  }
  const trpc = results.servers.filter((server) => server.scenarios['trpc-hit'] !== undefined);
  if (trpc.length > 0) {
    lines.push('');
    lines.push('| tRPC `product.byId` (GET /trpc) | req/s | p50 | p99 | × same router, uncached | CPU/req |');
    lines.push('|---|--:|--:|--:|--:|--:|');
    for (const server of trpc) {
      const hit = server.scenarios['trpc-hit'];
      lines.push(
        `| ${server.label} | ${int(hit?.reqPerSec)} | ${ms(hit?.latencyMs.p50)} | ${ms(hit?.latencyMs.p99)} | ` +
          `${ratio(results.ratios.trpcHitVsUncached[server.id])} | ${micros(hit?.cpuMicrosPerRequest)} |`,
      );
    }
  }
  lines.push('');
  lines.push('| target (issue) | measured | goal | |');
  lines.push('|---|--:|--:|---|');
  for (const target of results.targets) {
    const detail = target.detail === undefined ? '' : ` (${target.detail})`;
    lines.push(`| ${target.name} | ${fixed(target.measured, 2)}${detail} | ${target.direction === '>=' ? '≥' : '≤'} ${fixed(target.goal, 2)} | ${target.met ? 'met' : '**missed**'} |`);
  }
  if (results.eviction.length > 0) {
    lines.push('');
    lines.push('| eviction cost | cached answers | answers under the tag | `evict([\'Product:n\'])`, median (min–max) of 9 | fill time |');
    lines.push('|---|--:|--:|--:|--:|');
    for (const e of results.eviction) {
      const value = e.store === 'memory'
        ? `${int(e.medianMicros)} µs (${int(e.minMicros)}–${int(e.maxMicros)})`
        : `${fixed(e.medianMicros / 1000, 2)} ms (${fixed(e.minMicros / 1000, 2)}–${fixed(e.maxMicros / 1000, 2)})`;
      const name = e.store === 'memory' ? 'memory store' : 'Redis store (one Lua script, one round trip)';
      lines.push(`| ${name} | ${int(e.entries)} | ${int(e.entriesPerEvictedTag)} | ${value} | ${fixed(e.fillMs / 1000, 1)} s |`);
    }
  }
  const tiers = results.servers.filter((server) => server.cacheAfterMiss !== undefined);
  if (tiers.length > 0 || results.memoryBound) {
    lines.push('');
    lines.push('| memory | entries offered (misses, every grain) | entries held | in-process tier (estimate) | bound | RSS |');
    lines.push('|---|--:|--:|--:|--:|--:|');
    for (const server of tiers) {
      const tier = server.cacheAfterMiss?.local;
      const offered = int(server.cacheAfterMiss?.misses);
      lines.push(
        tier
          ? `| ${server.label}, after the miss runs | ${offered} | ${int(tier.entries)} | ${mib(tier.bytes)} | ${mib(tier.maxBytes)} | ${mb(server.rssAfterMissBytes)} |`
          : `| ${server.label}, after the miss runs | ${offered} | – | none | – | ${mb(server.rssAfterMissBytes)} |`,
      );
    }
    const bound = results.memoryBound;
    if (bound) {
      lines.push(
        `| default memory store alone, ${int(bound.keys)} distinct answers (${mib(bound.offeredBytes)} by its estimate) | ${int(bound.keys)} | ${int(bound.entries)} | ` +
          `${mib(bound.bytes)} (heap grew ${mib(bound.heapGrowthBytes)}) | ${mib(bound.maxBytes)} | ${mb(bound.rssBytes)} |`,
      );
    }
  }
  if (results.warnings.length > 0) {
    lines.push('');
    lines.push('Warnings:');
    for (const warning of results.warnings) lines.push(`- ${warning}`);
  }
  return `${lines.join('\n')}\n`;
}

function micros(n: number | undefined): string {
  return n === undefined || !Number.isFinite(n) ? '–' : `${int(n)} µs`;
}

// ── SVG ────────────────────────────────────────────────────────────────────────────────

const escapeXml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);

const BAR_COLOURS: Record<ServerId, string> = {
  raw: '#9e9e9e',
  'yoga-plugin': '#e0a030',
  'ours-disabled': '#b0bec5',
  'ours-response-only': '#81c784',
  'ours-memory': '#2e7d32',
  'ours-redis': '#1565c0',
};

/** Horizontal bars of hit req/s, one per server, with the value and the ratio to raw. */
export function renderSvg(results: BenchResults): string {
  const rows = results.servers.filter((server) => server.scenarios.hit !== undefined);
  const width = 820;
  const labelWidth = 300;
  const barArea = 380;
  const rowHeight = 34;
  const top = 82;
  const height = top + rows.length * rowHeight + 36;
  const max = Math.max(1, ...rows.map((server) => server.scenarios.hit?.reqPerSec ?? 0));

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="13">`);
  parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(`<text x="16" y="26" font-size="16" font-weight="600" fill="#212121">Cache-hit throughput (req/s, higher is better)</text>`);
  parts.push(
    `<text x="16" y="46" fill="#616161">${escapeXml(
      `${results.settings.loadGenerator}, ${results.settings.connections} connections, ${results.settings.hitRounds} × ${results.settings.secondsPerRun} s per server, loopback, ${results.startedAt.slice(0, 10)}`,
    )}</text>`,
  );
  parts.push(`<text x="16" y="64" fill="#616161">${escapeXml(describeMachine(results.machine))}</text>`);
  rows.forEach((server, i) => {
    const rps = server.scenarios.hit?.reqPerSec ?? 0;
    const y = top + i * rowHeight;
    const barWidth = Math.max(1, Math.round((rps / max) * barArea));
    const vsRaw = results.ratios.hitVsRaw[server.id];
    const value = `${int(rps)}${vsRaw === undefined || server.id === 'raw' ? '' : `  (${ratio(vsRaw)}× raw)`}`;
    parts.push(`<text x="${labelWidth - 10}" y="${y + 18}" text-anchor="end" fill="#212121">${escapeXml(server.label)}</text>`);
    parts.push(`<rect x="${labelWidth}" y="${y + 4}" width="${barWidth}" height="${rowHeight - 10}" rx="3" fill="${BAR_COLOURS[server.id]}"/>`);
    parts.push(`<text x="${labelWidth + barWidth + 8}" y="${y + 18}" fill="#212121">${escapeXml(value)}</text>`);
  });
  const axisY = top + rows.length * rowHeight + 4;
  parts.push(`<line x1="${labelWidth}" y1="${top}" x2="${labelWidth}" y2="${axisY}" stroke="#757575"/>`);
  parts.push(`<text x="${labelWidth}" y="${axisY + 18}" fill="#757575">0</text>`);
  parts.push(`<text x="${labelWidth + barArea}" y="${axisY + 18}" text-anchor="end" fill="#757575">${int(max)}</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
