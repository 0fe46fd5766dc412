/**
 * Reading a Prometheus text-format scrape: each sample by its name and labels as written
 * (`graphql_cache_hits_total{grain="response",operation="Product"}`), so a test states exact
 * series and values.
 */
import { sendRaw } from './urql.ts';

export type Samples = Map<string, number>;

/** Parses the sample lines of a scrape (comments skipped); labels are sorted by name. */
export function parseSamples(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels = match[2] ? [...match[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map(([, name, value]) => `${name}="${value}"`).sort() : [];
    samples.set(labels.length > 0 ? `${match[1]}{${labels.join(',')}}` : match[1], Number(match[3]));
  }
  return samples;
}

/** The samples whose name starts with `prefix`, as an object (for `toEqual`). */
export function samplesOf(samples: Samples, prefix: string): Record<string, number> {
  return Object.fromEntries([...samples].filter(([name]) => name.startsWith(prefix)));
}

/** Scrapes `GET /metrics` next to the GraphQL endpoint `graphqlUrl`. */
export async function scrape(graphqlUrl: string, token?: string): Promise<Samples> {
  const answer = await sendRaw(new URL('/metrics', graphqlUrl).toString(), { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (answer.status !== 200) throw new Error(`GET /metrics answered ${answer.status}: ${answer.body}`);
  return parseSamples(answer.body);
}
