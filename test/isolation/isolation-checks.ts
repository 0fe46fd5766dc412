/**
 * What must hold of every answer a campaign got, judged against an oracle: the same catalog
 * with its cache turned off (CACHE_ENABLED=false) over the same seeded data, which executes
 * every request. The campaign sends no mutations, so the data does not change and what the
 * oracle answers for a client is what that client must be answered, byte for byte.
 *
 * PRIVATE (`@cacheControl(scope: PRIVATE)`) is a caching scope, not an authorization rule: the
 * catalog answers any author's `email` to anyone who asks. So the property is about the cache:
 *
 * 1. content: every answer is the oracle's answer for that client (a `me` answered for another
 *    session, or for a signed-out client, differs from it);
 * 2. an answer that carries PRIVATE data (any PRIVATE field resolved, even to null) is never
 *    `Cache-Control: public`, and a cacheable one varies on `Authorization`;
 * 3. an anonymous request is never served PRIVATE data from the cache (a HIT, or an answer
 *    coalesced with another request's execution);
 * 4. a session is served PRIVATE data from the cache only for a request that this same session
 *    executed (a MISS of its own, or a no-cache request, sent before): this catches a shared entry even when
 *    the bodies are equal, as for `review { author { email } }`, which does not depend on who asks;
 * 5. a 304 confirms only what the client was given: the body that came with that ETag is this
 *    client's answer, and if it carried PRIVATE data it was given to this same session.
 */
import {
  describeRequest,
  describeResponse,
  identityOf,
  type Client,
  type Exchange,
} from './campaign.ts';
import type { GeneratedOperation } from './query-generator.ts';

export interface Oracle {
  /** The body that executing `operation` for `client` answers (a 200 without errors). */
  expected(operation: GeneratedOperation, client: Client): Promise<string>;
}

/**
 * An oracle over an uncached server at `url`. Answers are remembered per request, and per
 * client only for operations that select a field whose value depends on who asks
 * (`viewerFields`; in the catalog only `Query.me` reads the viewer): the others are
 * executed once, signed out.
 */
export function createOracle(url: string, { viewerFields }: { viewerFields: readonly string[] }): Oracle {
  const answers = new Map<string, Promise<string>>();
  return {
    expected(operation, client) {
      const dependsOnViewer = operation.coordinates.some((coordinate) => viewerFields.includes(coordinate));
      const authorization = dependsOnViewer ? client.authorization : null;
      const memoKey = `${identityOf([operation])}\n${authorization}`;
      let answer = answers.get(memoKey);
      if (answer === undefined) {
        answer = execute(url, operation, authorization);
        answers.set(memoKey, answer);
      }
      return answer;
    },
  };
}

async function execute(url: string, { query, operationName, variables }: GeneratedOperation, authorization: string | null): Promise<string> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization !== null && { authorization }) },
    body: JSON.stringify({ query, operationName, variables }),
  });
  const body = await response.text();
  // The generator makes only valid operations inside the server's limits: anything else is a
  // bug of the fuzz, not of the cache, and must not pass as an expected answer.
  if (response.status !== 200 || 'errors' in JSON.parse(body)) {
    throw new Error(`the oracle refused a generated operation (HTTP ${response.status}): ${body}\nquery: ${query}\nvariables: ${JSON.stringify(variables)}`);
  }
  return body;
}

export interface Violation {
  rule: string;
  exchange: Exchange;
  detail: string;
}

export interface IsolationStats {
  /** HTTP requests sent. */
  requests: number;
  /** GraphQL operations in them (a batch holds several). */
  operations: number;
  get: number;
  post: number;
  batches: number;
  /** Requests without a session (no header, or one that is not a demo token). */
  anonymous: number;
  hits: number;
  /** Answers that waited on another request's execution (`X-Cache-Coalesced: 1`). */
  coalesced: number;
  notModified: number;
  /** Answers that carried PRIVATE data. */
  privateAnswers: number;
  /** Of those, served from the cache (HIT or coalesced). */
  privateFromCache: number;
  /** Requests of a PRIVATE answer that another session (or a signed-out client) also asked, in the same campaign. */
  privateAskedByOthers: number;
}

export function emptyStats(): IsolationStats {
  return {
    requests: 0,
    operations: 0,
    get: 0,
    post: 0,
    batches: 0,
    anonymous: 0,
    hits: 0,
    coalesced: 0,
    notModified: 0,
    privateAnswers: 0,
    privateFromCache: 0,
    privateAskedByOthers: 0,
  };
}

export function addStats(total: IsolationStats, more: IsolationStats): void {
  for (const name of Object.keys(total) as (keyof IsolationStats)[]) total[name] += more[name];
}

/** Checks every exchange of one campaign (sent to a cache emptied before it). */
export async function checkCampaign(exchanges: readonly Exchange[], oracle: Oracle): Promise<{ violations: Violation[]; stats: IsolationStats }> {
  const violations: Violation[] = [];
  const stats = emptyStats();
  const fail = (exchange: Exchange, rule: string, detail: string) => violations.push({ rule, exchange, detail });

  /** The answers of an exchange's operations, parsed (null for a 304). */
  const answersOf = (exchange: Exchange): { data?: unknown }[] | null => {
    if (exchange.status === 304) return null;
    const parsed = JSON.parse(exchange.body);
    return exchange.transport === 'BATCH' ? parsed : [parsed];
  };
  const privateIn = (exchange: Exchange): boolean[] =>
    (answersOf(exchange) ?? []).map((answer, i) => carriesPrivate(answer.data, new Set(exchange.operations[i].privateKeys)));
  const fromCache = (exchange: Exchange) => exchange.headers.get('x-cache') === 'HIT' || exchange.headers.get('x-cache-coalesced') === '1';
  /** Whether an exchange executed its operations itself (neither a hit nor another's execution), so it may have stored them. */
  // A batch that did not all hit may have executed any of its operations (its headers do not
  // say which one was coalesced).
  const executed = (exchange: Exchange) => !fromCache(exchange) || (exchange.transport === 'BATCH' && exchange.headers.get('x-cache') !== 'HIT');

  const askers = new Map<string, Set<string | null>>();
  for (const exchange of exchanges) {
    for (const operation of exchange.operations) {
      const identity = identityOf([operation]);
      if (!askers.has(identity)) askers.set(identity, new Set());
      askers.get(identity)!.add(exchange.client.session);
    }
  }

  for (const exchange of exchanges) {
    const { client, headers } = exchange;
    stats.requests++;
    stats.operations += exchange.operations.length;
    if (exchange.transport === 'GET') stats.get++;
    else if (exchange.transport === 'POST') stats.post++;
    else stats.batches++;
    if (client.session === null) stats.anonymous++;
    if (headers.get('x-cache') === 'HIT') stats.hits++;
    if (headers.get('x-cache-coalesced') === '1') stats.coalesced++;

    if (exchange.status === 304) {
      stats.notModified++;
      if (!exchange.ifNoneMatch) fail(exchange, 'a 304 without If-None-Match', 'the request sent no validator');
      else await checkNotModified(exchange);
      continue;
    }
    if (exchange.status !== 200) {
      fail(exchange, 'a valid request was not answered 200', exchange.body);
      continue;
    }

    // 1. Content.
    const answers = answersOf(exchange)!;
    for (const [i, operation] of exchange.operations.entries()) {
      const expected = await oracle.expected(operation, client);
      const got = exchange.transport === 'BATCH' ? JSON.stringify(answers[i]) : exchange.body;
      const want = exchange.transport === 'BATCH' ? JSON.stringify(JSON.parse(expected)) : expected;
      if (got !== want) {
        fail(exchange, 'an answer is not what executing the request for this client answers', `${batchLabel(exchange, i)}expected ${want}\n     got ${got}`);
      }
    }

    const privates = privateIn(exchange);
    if (!privates.some(Boolean)) continue;
    stats.privateAnswers++;
    if (fromCache(exchange)) stats.privateFromCache++;
    if (exchange.operations.some((operation, i) => privates[i] && [...askers.get(identityOf([operation]))!].some((s) => s !== client.session))) {
      stats.privateAskedByOthers++;
    }

    // 2. Headers of PRIVATE data.
    const cacheControl = headers.get('cache-control') ?? '';
    if (/\bpublic\b/i.test(cacheControl)) fail(exchange, 'PRIVATE data sent with Cache-Control: public', cacheControl);
    if (/\bmax-age=[1-9]/.test(cacheControl) && !/\bauthorization\b/i.test(headers.get('vary') ?? '')) {
      fail(exchange, 'a cacheable PRIVATE answer does not vary on Authorization', `Cache-Control: ${cacheControl}; Vary: ${headers.get('vary')}`);
    }
    if (!fromCache(exchange)) continue;

    // 3. Never from the cache without a session.
    if (client.session === null) {
      fail(exchange, 'a signed-out request was served PRIVATE data from the cache', 'PRIVATE answers are never stored without a session');
      continue;
    }
    // 4. From the cache only what this session executed itself. A batch's headers say HIT only
    // when every operation hit; when they say coalesced, which operation was is not told, so
    // only content (1) and headers (2) hold it then.
    if (exchange.transport === 'BATCH' && headers.get('x-cache') !== 'HIT') continue;
    for (const [i, operation] of exchange.operations.entries()) {
      if (!privates[i]) continue;
      const identity = identityOf([operation]);
      // Identical operations of one batch share one execution: one of them ran it for this session.
      const twinInBatch = exchange.operations.filter((o) => identityOf([o]) === identity).length > 1;
      const producer = twinInBatch || exchanges.find(
        (other) =>
          other !== exchange &&
          other.client.session === client.session &&
          other.sentAt < exchange.answeredAt &&
          executed(other) &&
          other.operations.some((o) => identityOf([o]) === identity),
      );
      if (!producer) {
        const others = exchanges.filter((other) => other.sentAt < exchange.answeredAt && executed(other) && other.client.session !== client.session && other.operations.some((o) => identityOf([o]) === identity));
        fail(
          exchange,
          'PRIVATE data served from the cache to a session that never executed the request',
          `${batchLabel(exchange, i)}session ${client.session} had not executed it itself; executed before by: ${others.map((o) => `${o.client.label} (request ${o.at})`).join(', ') || 'nobody'}`,
        );
      }
    }
  }

  /** 5. A 304 confirms the body that came with the ETag: it must be this client's, and its own if PRIVATE. */
  async function checkNotModified(exchange: Exchange) {
    const origin = exchanges.find((other) => other.status === 200 && other.headers.get('etag') === exchange.ifNoneMatch && other.answeredAt < exchange.sentAt);
    if (!origin) {
      fail(exchange, 'a 304 for a validator never given out', `If-None-Match: ${exchange.ifNoneMatch}`);
      return;
    }
    const answers = answersOf(origin)!;
    for (const [i, operation] of exchange.operations.entries()) {
      const expected = await oracle.expected(operation, exchange.client);
      const held = exchange.transport === 'BATCH' ? JSON.stringify(answers[i]) : origin.body;
      const want = exchange.transport === 'BATCH' ? JSON.stringify(JSON.parse(expected)) : expected;
      if (held !== want) {
        fail(exchange, 'a 304 confirmed a body that is not this client\'s answer', `${batchLabel(exchange, i)}the ETag came with ${held} (to ${origin.client.label}, request ${origin.at})\nthis client's answer is ${want}`);
      }
    }
    if (privateIn(origin).some(Boolean) && origin.client.session !== exchange.client.session) {
      fail(exchange, 'a 304 confirmed another session\'s PRIVATE answer', `the ETag was given to ${origin.client.label} (request ${origin.at})`);
    }
  }

  return { violations, stats };
}

/** Whether any object in `data` has a key under which a PRIVATE field answers. */
function carriesPrivate(data: unknown, keys: ReadonlySet<string>): boolean {
  if (keys.size === 0 || data === null || typeof data !== 'object') return false;
  if (Array.isArray(data)) return data.some((item) => carriesPrivate(item, keys));
  return Object.entries(data).some(([key, value]) => keys.has(key) || carriesPrivate(value, keys));
}

function batchLabel(exchange: Exchange, index: number): string {
  return exchange.transport === 'BATCH' ? `operation ${index} of the batch: ` : '';
}

/** A violation as a failure message shows it: the rule, the request, the response and why. */
export function describeViolation({ rule, exchange, detail }: Violation): string {
  return `${rule}\n${describeRequest(exchange)}\nresponse: ${describeResponse(exchange)}\n${detail}`;
}
