/**
 * The HTTP face of a cache outcome: headers, the 304 rule, the media type a hit is sent as,
 * and the `extensions.responseCache` metadata. Shared by every front so a hit and the
 * pipeline's answer to the same request carry the same bytes and equivalent headers.
 */
import { BoundedMemo } from './bounded-memo.ts';
import type { CacheEntry, CacheScope } from './store.ts';

/** How an answer was served: from the cache, executed after a lookup, or without the cache. */
export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS';

/** What a request's answer was, as data: the `extensions.responseCache` payload. */
export interface CacheOutcome {
  status: CacheStatus;
  /** Seconds the answer stays fresh from now (0 for answers that are not cacheable). */
  ttl: number;
  scope: CacheScope;
}

/** The answer's cache policy as HTTP sees it: present only when the answer is cacheable. */
export interface CacheableAnswer {
  entry: CacheEntry;
  /** Served after being stored earlier (adds `Age`). */
  fromCache: boolean;
  /** Waited on another request's execution. */
  coalesced?: boolean;
}

export const NO_STORE = 'no-store';

/** Seconds the answer (or a cached value) stays fresh from `now`: its whole maxAge when just produced. */
export function freshSeconds(entry: Pick<CacheEntry, 'createdAt' | 'maxAgeMs'>, now: number, fromCache: boolean): number {
  const maxAge = Math.floor(entry.maxAgeMs / 1000);
  return fromCache ? Math.max(0, maxAge - ageSeconds(entry, now)) : maxAge;
}

export function ageSeconds(entry: Pick<CacheEntry, 'createdAt'>, now: number): number {
  return Math.max(0, Math.floor((now - entry.createdAt) / 1000));
}

/**
 * Headers for an answer: `status` says how it was served, `answer` whether it is cacheable.
 * A stored answer says its whole `max-age` with its `Age`, as HTTP caches expect (RFC 9111
 * 4.2: fresh while max-age exceeds the age). `vary` lists the request headers the answer
 * depends on besides the body (the session's headers when it is keyed per session).
 */
export function cacheHeaders(
  status: CacheStatus,
  answer: CacheableAnswer | undefined,
  now: number,
  vary: readonly string[] = [],
): Record<string, string> {
  if (!answer) return { 'cache-control': NO_STORE, 'x-cache': status };
  const { entry } = answer;
  const headers: Record<string, string> = {
    'cache-control': cacheControlValue(Math.floor(entry.maxAgeMs / 1000), entry.scope, Math.floor(entry.swrMs / 1000)),
    etag: entry.etag,
    'x-cache': status,
    vary: varyValue(vary),
  };
  if (answer.fromCache) headers.age = String(ageSeconds(entry, now));
  if (answer.coalesced) headers['x-cache-coalesced'] = '1';
  return headers;
}

/**
 * Headers for the operations of one batched request: the strictest of their policies, as one
 * HTTP answer can carry only one. `no-store` when any operation is not cacheable; the lowest
 * max-age and swr; `private` when any is PRIVATE; `HIT` only when every operation hit, `BYPASS`
 * when any bypassed, else `MISS`. No ETag: there is no one entry it could stand for.
 */
export function batchCacheHeaders(
  answers: readonly { status: CacheStatus; answer: CacheableAnswer | undefined; vary: readonly string[] }[],
  now: number,
): Record<string, string> {
  const statuses = answers.map((a) => a.status);
  const status: CacheStatus = statuses.every((s) => s === 'HIT') ? 'HIT' : statuses.includes('BYPASS') ? 'BYPASS' : 'MISS';
  const cacheable = answers.map((a) => a.answer);
  if (cacheable.length === 0 || cacheable.some((answer) => answer === undefined)) return { 'cache-control': NO_STORE, 'x-cache': status };
  let maxAge = Infinity;
  let swr = Infinity;
  let scope: CacheScope = 'PUBLIC';
  const vary = new Set<string>();
  for (const { answer, vary: names } of answers) {
    const { entry, fromCache } = answer!;
    // The batch is as fresh as its least fresh part: each one's seconds left, from now.
    maxAge = Math.min(maxAge, freshSeconds(entry, now, fromCache));
    swr = Math.min(swr, Math.floor(entry.swrMs / 1000));
    if (entry.scope === 'PRIVATE') scope = 'PRIVATE';
    for (const name of names) vary.add(name);
  }
  const headers: Record<string, string> = {
    'cache-control': cacheControlValue(maxAge, scope, swr),
    'x-cache': status,
    vary: varyValue([...vary]),
  };
  if (answers.some((a) => a.answer?.coalesced)) headers['x-cache-coalesced'] = '1';
  return headers;
}

// Hits repeat the same few header values: build each string once (keyed by number when there
// is no swr, as on most hits, so the lookup makes no string).
const cacheControlValues = new BoundedMemo<number | string, string>(4096);
function cacheControlValue(maxAge: number, scope: CacheScope, swr: number): string {
  const slot = swr > 0 ? `${maxAge} ${scope} ${swr}` : scope === 'PRIVATE' ? -1 - maxAge : maxAge;
  let value = cacheControlValues.get(slot);
  if (value === undefined) {
    value = cacheControlValues.set(slot, `max-age=${maxAge}, ${scope === 'PRIVATE' ? 'private' : 'public'}${swr > 0 ? `, stale-while-revalidate=${swr}` : ''}`);
  }
  return value;
}

const varyValues = new WeakMap<readonly string[], string>();
function varyValue(vary: readonly string[]): string {
  if (vary.length === 0) return 'Accept';
  let value = varyValues.get(vary);
  if (value === undefined) varyValues.set(vary, (value = ['Accept', ...vary].join(', ')));
  return value;
}

/** Joins two `Vary` values without repeating a header name. */
export function mergeVary(a: string | null | undefined, b: string | null | undefined): string {
  const names = new Map<string, string>();
  for (const name of `${a ?? ''},${b ?? ''}`.split(',')) {
    const trimmed = name.trim();
    if (trimmed) names.set(trimmed.toLowerCase(), trimmed);
  }
  return [...names.values()].join(', ');
}

/**
 * Whether `If-None-Match` names this entry's ETag. The ETag hashes the request's key with
 * the body, so a validator from another query or session never matches.
 */
export function etagMatches(ifNoneMatch: string | null | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  for (const candidate of ifNoneMatch.split(',')) {
    const tag = candidate.trim();
    if (tag === '*' || tag === etag || tag === `W/${etag}`) return true;
  }
  return false;
}

const GRAPHQL_RESPONSE = 'application/graphql-response+json';
const JSON_TYPE = 'application/json';

/**
 * The media type graphql-yoga would answer a successful query with for this `Accept`, or
 * null when it would pick a streaming type (the front then leaves the request to yoga).
 * Mirrors yoga's rule: the first acceptable utf-8 type that matches a regular JSON type wins,
 * `application/json` when both match.
 */
export function negotiateMediaType(accept: string | null | undefined): string | null {
  const key = accept ?? '';
  const known = negotiated.get(key);
  return known !== undefined ? known : negotiated.set(key, negotiate(accept));
}

// Clients send a handful of distinct Accept headers.
const negotiated = new BoundedMemo<string, string | null>(256);

function negotiate(accept: string | null | undefined): string | null {
  const types = (accept || '*/*').replace(/\s/g, '').toLowerCase().split(',');
  for (const item of types) {
    const [mediaType, ...params] = item.split(';');
    const charset = params.find((p) => p.includes('charset=')) ?? 'charset=utf-8';
    if (charset !== 'charset=utf-8' || !mediaType) continue;
    if (matches(mediaType, JSON_TYPE)) return `${JSON_TYPE}; charset=utf-8`;
    if (matches(mediaType, GRAPHQL_RESPONSE)) return `${GRAPHQL_RESPONSE}; charset=utf-8`;
  }
  return null;
}

function matches(asked: string, offered: string): boolean {
  const [askedType, askedSub] = asked.split('/');
  const [type, sub] = offered.split('/');
  return (askedType === '*' || askedType === type) && (askedSub === '*' || askedSub === sub);
}

/** Appends `extensions.responseCache` to a stored body (`{"data":…}`) without parsing it. */
export function withMetadata(body: string, outcome: CacheOutcome): string {
  return `${body.slice(0, -1)},"extensions":{"responseCache":${JSON.stringify(outcome)}}}`;
}
