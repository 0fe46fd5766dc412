/**
 * The HTTP headers of a tRPC response, from how each of its calls was served (noted by the cache
 * middleware on the request's context). One response carries the calls of a whole batch, so its
 * headers are the strictest of them, by the rules of a batched GraphQL request (cache-http.ts):
 * - `Cache-Control: no-store` when any call was not served by the cache middleware (a
 *   mutation, a procedure without it, a PRIVATE one without a session), failed, or when the
 *   response is streamed before its calls end;
 * - else `max-age` = the fewest seconds any call's output has left, `private` when any is PRIVATE
 *   (a batch mixing PUBLIC and PRIVATE procedures is never shared: GHSA-8r69-3cvp-wxc3), and
 *   `stale-while-revalidate` = the smallest one;
 * - `X-Cache: HIT` only when every call hit, `BYPASS` when any bypassed, else `MISS`;
 * - `Vary` on the session's headers when a session entered a key.
 */
import type { ResponseMeta, ResponseMetaFn } from '@trpc/server/http';
import type { AnyTRPCRouter } from '@trpc/server';
import { batchCacheHeaders, NO_STORE } from './cache-http.ts';
import { recordOf, type TrpcCallOutcome } from './trpc-cache.ts';

/** What `trpcCacheResponseMeta` reads of tRPC's `responseMeta` options. */
type ResponseMetaOptions = Pick<Parameters<ResponseMetaFn<AnyTRPCRouter>>[0], 'ctx' | 'info' | 'data' | 'eagerGeneration'>;

const UNCACHED: TrpcCallOutcome = { status: 'BYPASS', answer: undefined, vary: [] };

/**
 * tRPC's `responseMeta` for a router whose query procedures use `trpcCacheMiddleware`: sets
 * `Cache-Control`, `X-Cache` and `Vary` on each response, for the whole batch. Wrap it to add
 * headers of your own.
 *
 * @example
 * createHTTPHandler({ router, createContext: withTrpcCacheContext(cache, createContext), responseMeta: trpcCacheResponseMeta })
 */
export function trpcCacheResponseMeta({ ctx, info, data, eagerGeneration }: ResponseMetaOptions): ResponseMeta {
  const record = recordOf(ctx);
  const calls = info?.calls ?? [];
  // Streamed responses send their headers before any call has ended.
  if (record === undefined || eagerGeneration || calls.length === 0) return { headers: { 'cache-control': NO_STORE } };
  const outcomes = calls.map((call, position) => {
    const failed = data[position] !== undefined && 'error' in data[position];
    if (failed || call.procedure?._def.type !== 'query') return UNCACHED;
    return record.calls.get(call.batchIndex) ?? UNCACHED;
  });
  return { headers: batchCacheHeaders(outcomes, record.now()) };
}
