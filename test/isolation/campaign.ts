/**
 * A campaign: a few generated operations sent by a few clients (signed in as seeded users, or
 * anonymous) in waves of concurrent requests, as GET, POST or batched POST (a JSON array of
 * operations: yoga batches POST bodies only), sometimes revalidating with an ETag another client
 * was given. Requests of one wave are in flight together, so identical ones from different
 * sessions meet in the cache's coalescing. fast-check generates campaigns and shrinks a failing
 * one to the fewest waves, requests, operations and clients that still fail.
 */
import fc from 'fast-check';
import type { GeneratedOperation } from './query-generator.ts';
import { REQUEST_NUMBER_HEADER, type WaveGate } from './wave-gate.ts';

export interface Client {
  /** How a failure names it: `user 7`, `anonymous`… */
  label: string;
  /** The `Authorization` header sent, if any. */
  authorization: string | null;
  /** Whose answers it may be served: the user id the server reads from the header, or null. */
  session: string | null;
}

export type Transport = 'GET' | 'POST' | 'BATCH';

export interface RequestPlan {
  /** Indices into the campaign's operations and clients, taken modulo their counts. */
  operation: number;
  client: number;
  transport: Transport;
  /** The batch's other operations (BATCH only). */
  batchWith: number[];
  accept: number;
  /** Send `If-None-Match` with the last ETag an earlier wave was given for the same request, by whoever. */
  revalidate: boolean;
  /** Send `Cache-Control: no-cache`: execute whatever is stored, and store the fresh answer. */
  noCache: boolean;
}

export interface Wave {
  /** Hold executions until every request of the wave has reached the cache (see wave-gate.ts). */
  held: boolean;
  requests: RequestPlan[];
}

export interface Campaign {
  operations: GeneratedOperation[];
  clients: Client[];
  waves: Wave[];
}

const ACCEPT = [undefined, 'application/json', 'application/graphql-response+json'] as const;

const SPELLINGS = [
  (token: string) => `Bearer ${token}`,
  (token: string) => `Bearer ${token}`,
  (token: string) => `bearer ${token}`,
  (token: string) => `Bearer  ${token}`,
];

/**
 * Users of the seed (1 to 50, and 51, whose token is well formed but names no user: a session
 * whose `me` is null), anonymous clients, and a client whose Authorization header is not a demo
 * token (the server treats it as anonymous). The header's spelling varies: `bearer token-7` and
 * `Bearer  token-7` are user 7 too, so they share user 7's answers. (Fetch trims a value's
 * outer spaces, so those cannot be sent.)
 */
const clientArbitrary: fc.Arbitrary<Client> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ id: fc.integer({ min: 1, max: 51 }), spelling: fc.constantFrom(...SPELLINGS) }).map(({ id, spelling }) => ({
      label: `user ${id}`,
      authorization: spelling(`token-${id}`),
      session: String(id),
    })),
  },
  { weight: 2, arbitrary: fc.constant<Client>({ label: 'anonymous', authorization: null, session: null }) },
  { weight: 1, arbitrary: fc.constant<Client>({ label: 'anonymous (not a demo token)', authorization: 'Bearer guest', session: null }) },
);

const requestArbitrary: fc.Arbitrary<RequestPlan> = fc.record({
  operation: fc.nat(),
  client: fc.nat(),
  transport: fc.constantFrom<Transport>('GET', 'POST', 'POST', 'BATCH'),
  batchWith: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
  accept: fc.nat({ max: ACCEPT.length - 1 }),
  revalidate: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  noCache: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

export function campaignArbitrary(operation: fc.Arbitrary<GeneratedOperation>): fc.Arbitrary<Campaign> {
  return fc.record({
    operations: fc.array(operation, { minLength: 1, maxLength: 5 }),
    clients: fc.array(clientArbitrary, { minLength: 2, maxLength: 5 }),
    waves: fc.array(fc.record({ held: fc.boolean(), requests: fc.array(requestArbitrary, { minLength: 1, maxLength: 6 }) }), { minLength: 1, maxLength: 8 }),
  });
}

/** One request as sent, with its answer. */
export interface Exchange {
  /** `wave.position`, for failure messages. */
  at: string;
  client: Client;
  transport: Transport;
  operations: GeneratedOperation[];
  accept: string | undefined;
  ifNoneMatch: string | undefined;
  noCache: boolean;
  /** Ticks of one counter for the whole campaign: a request sent before another was answered has a lower `sentAt`. */
  sentAt: number;
  answeredAt: number;
  status: number;
  headers: Headers;
  body: string;
}

/** What identifies a request to a cache: the operations' documents, names and variables. */
export function identityOf(operations: readonly GeneratedOperation[]): string {
  return JSON.stringify(operations.map(({ query, operationName, variables }) => [query, operationName ?? '', variables]));
}

let requestNumber = 0;

/**
 * Sends the campaign's waves to `url` (a GraphQL endpoint), one wave after the other, the
 * requests of each wave at once. Held waves go through `gate` when the server has one.
 */
export async function sendCampaign(url: string, campaign: Campaign, gate?: WaveGate): Promise<Exchange[]> {
  const exchanges: Exchange[] = [];
  // Validators of earlier waves only: which request of a wave answers first is up to the server.
  const etags = new Map<string, string>();
  let tick = 0;
  for (const [w, wave] of campaign.waves.entries()) {
    const numbers = wave.requests.map(() => String(++requestNumber));
    const sendOne = async (plan: RequestPlan, position: number): Promise<Exchange> => {
      const client = campaign.clients[plan.client % campaign.clients.length];
      const pick = (index: number) => campaign.operations[index % campaign.operations.length];
      const operations = plan.transport === 'BATCH' ? [pick(plan.operation), ...plan.batchWith.map(pick)] : [pick(plan.operation)];
      const accept = ACCEPT[plan.accept % ACCEPT.length];
      const ifNoneMatch = plan.revalidate ? etags.get(identityOf(operations)) : undefined;
      const headers: Record<string, string> = { [REQUEST_NUMBER_HEADER]: numbers[position] };
      if (client.authorization !== null) headers.authorization = client.authorization;
      if (accept) headers.accept = accept;
      if (ifNoneMatch) headers['if-none-match'] = ifNoneMatch;
      if (plan.noCache) headers['cache-control'] = 'no-cache';
      const sentAt = tick++;
      const response = await send(url, plan.transport, operations, headers);
      const body = await response.text();
      return {
        at: `${w}.${position}`,
        client,
        transport: plan.transport,
        operations,
        accept,
        ifNoneMatch,
        noCache: plan.noCache,
        sentAt,
        answeredAt: tick++,
        status: response.status,
        headers: response.headers,
        body,
      };
    };
    const sendWave = () => Promise.all(wave.requests.map(sendOne));
    const answered = wave.held && gate ? await gate.hold(numbers, sendWave) : await sendWave();
    for (const exchange of answered) {
      const etag = exchange.headers.get('etag');
      if (etag) etags.set(identityOf(exchange.operations), etag);
    }
    exchanges.push(...answered);
  }
  return exchanges;
}

function send(url: string, transport: Transport, operations: GeneratedOperation[], headers: Record<string, string>): Promise<Response> {
  const params = operations.map(({ query, operationName, variables }) => ({
    query,
    ...(operationName && { operationName }),
    ...(Object.keys(variables).length > 0 && { variables }),
  }));
  if (transport === 'GET') {
    const [{ query, operationName, variables }] = params;
    const search = new URLSearchParams({ query });
    if (operationName) search.set('operationName', operationName);
    if (variables) search.set('variables', JSON.stringify(variables));
    return fetch(`${url}?${search}`, { headers });
  }
  const body = JSON.stringify(transport === 'BATCH' ? params : params[0]);
  return fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body });
}

/** A request as a failure message shows it: enough to send it again by hand. */
export function describeRequest(exchange: Pick<Exchange, 'at' | 'client' | 'transport' | 'operations' | 'accept' | 'ifNoneMatch' | 'noCache'>): string {
  const lines = [
    `request ${exchange.at} (wave.position): ${exchange.transport} as ${exchange.client.label}` +
      `${exchange.client.authorization ? ` (Authorization: ${JSON.stringify(exchange.client.authorization)})` : ''}` +
      `${exchange.accept ? `, Accept: ${exchange.accept}` : ''}${exchange.ifNoneMatch ? `, If-None-Match: ${exchange.ifNoneMatch}` : ''}` +
      `${exchange.noCache ? ', Cache-Control: no-cache' : ''}`,
  ];
  for (const [i, { query, operationName, variables }] of exchange.operations.entries()) {
    if (exchange.operations.length > 1) lines.push(`operation ${i} of the batch:`);
    lines.push(`query: ${query}`);
    if (operationName) lines.push(`operationName: ${operationName}`);
    if (Object.keys(variables).length > 0) lines.push(`variables: ${JSON.stringify(variables)}`);
  }
  return lines.join('\n');
}

/** The response headers a failure message shows. */
export function describeResponse(exchange: Exchange): string {
  const shown = ['x-cache', 'x-cache-coalesced', 'cache-control', 'vary', 'age', 'etag'];
  const headers = shown.flatMap((name) => {
    const value = exchange.headers.get(name);
    return value === null ? [] : [`${name}: ${value}`];
  });
  return `HTTP ${exchange.status}; ${headers.join('; ')}`;
}
