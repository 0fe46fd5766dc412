/**
 * OpenTelemetry spans for the cache's work on each GraphQL operation, made only while a tracer
 * provider is registered (`@opentelemetry/api`'s global one). Without one nothing is made: each
 * request costs one look at the global provider. The HTTP front starts a span when it keys a
 * request; a request it passes on keeps its span into yoga, whose plugin ends it with the
 * response. Attributes:
 *
 *   graphql.cache.outcome          hit | stale | miss | coalesced | bypass
 *   graphql.cache.key              the key's short hash (`shortKeyHash`), when it has a key
 *   graphql.cache.store.latency_ms the store lookup's duration (hit, stale, miss)
 *   graphql.cache.scope, .ttl      of a cacheable answer
 *   graphql.operation.name         '' for an anonymous operation
 */
import { createHash } from 'node:crypto';
import { ProxyTracerProvider, trace, type Span, type Tracer, type TracerProvider } from '@opentelemetry/api';
import type { CacheOutcomeKind } from './cache-counters.ts';
import { freshSeconds } from './cache-http.ts';
import type { RequestState } from './request-keying.ts';

/** The provider `@opentelemetry/api` answers with while none is registered. */
const NO_PROVIDER = new ProxyTracerProvider().getDelegate();
const TRACER_NAME = 'graphql-cache-layer';

let lastProvider: TracerProvider | undefined;
let lastTracer: Tracer | undefined;

/** The tracer of the registered provider, or undefined when none is registered. */
function activeTracer(): Tracer | undefined {
  const global = trace.getTracerProvider();
  const provider = global instanceof ProxyTracerProvider ? global.getDelegate() : global;
  if (provider === NO_PROVIDER) return undefined;
  if (provider !== lastProvider) {
    lastProvider = provider;
    lastTracer = provider.getTracer(TRACER_NAME);
  }
  return lastTracer;
}

/**
 * The first 16 hex digits of the key's SHA-256: what spans carry to name a key, short and
 * revealing nothing even when a custom `buildKey` puts readable parts in it.
 */
export function shortKeyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

interface CacheSpan {
  span: Span;
  /** `performance.now()` when the lookup began; undefined once measured. */
  lookupStarted?: number;
  outcome?: CacheOutcomeKind;
}

const spans = new WeakMap<RequestState, CacheSpan>();
/** Spans started and not yet ended: while none is, recording costs a hit one comparison. */
let open = 0;

/** Starts the span of a keyed (or refused) operation when tracing is on; call before its lookup. */
export function startCacheSpan(state: RequestState): void {
  const tracer = activeTracer();
  if (tracer === undefined) return;
  const span = tracer.startSpan('graphql.cache', {
    attributes: {
      'graphql.operation.name': state.operation?.name ?? operationNameOf(state),
      ...(state.keyed && { 'graphql.cache.key': shortKeyHash(state.key) }),
    },
  });
  spans.set(state, { span, lookupStarted: performance.now() });
  open++;
}

/** Records what the lookup found: a hit, stale hit or miss read the store, and its latency is kept. */
export function recordLookup(state: RequestState, kind: CacheOutcomeKind): void {
  if (open === 0) return;
  const traced = spans.get(state);
  if (traced === undefined) return;
  if (traced.lookupStarted !== undefined && (kind === 'hit' || kind === 'stale' || kind === 'miss')) {
    traced.span.setAttribute('graphql.cache.store.latency_ms', performance.now() - traced.lookupStarted);
  }
  traced.lookupStarted = undefined;
  if (kind !== 'miss' && kind !== 'bypass') traced.outcome = kind;
}

/** Ends the operation's span with its outcome: as served, or as the response's `X-Cache` says. */
export function endCacheSpan(state: RequestState): void {
  if (open === 0) return;
  const traced = spans.get(state);
  if (traced === undefined) return;
  spans.delete(state);
  open--;
  const { span } = traced;
  const executed = state.status === 'MISS' ? (state.answer?.coalesced ? 'coalesced' : 'miss') : 'bypass';
  span.setAttribute('graphql.cache.outcome', traced.outcome ?? executed);
  const entry = state.answer?.entry;
  if (entry) {
    span.setAttribute('graphql.cache.scope', entry.scope);
    span.setAttribute('graphql.cache.ttl', freshSeconds(entry, Date.now(), state.answer!.fromCache));
  }
  span.end();
}

function operationNameOf(state: RequestState): string {
  const { operationName } = state.input.params;
  return typeof operationName === 'string' ? operationName : '';
}
