/**
 * Request keying: from a request's method, headers and GraphQL params to its cache key, or to
 * the reason it has none. Synchronous, so the HTTP front can key a request in the turn its
 * body arrives. What follows from the params alone (plan, operation, stable variables and,
 * for the default key without a session, the key) is worked out once per shared params object.
 */
import { defaultBuildCacheKey, stableVariables, type BuildCacheKey, type RequestLike } from './cache-key.ts';
import type { CacheableAnswer, CacheStatus } from './cache-http.ts';
import type { Lead } from './coalescer.ts';
import type { DocumentPlan, DocumentPlanner, OperationPlan } from './document-plan.ts';
import type { GraphQLParams } from './graphql-params.ts';
import { negotiateMediaType } from './cache-http.ts';
import type { CacheEntry, ReadTicket } from './store.ts';
import { BoundedMemo } from './bounded-memo.ts';

/** The GraphQL request as a front read it: method and headers, and the GraphQL params. */
export interface GraphQLRequestInput {
  request: RequestLike;
  params: GraphQLParams;
}

interface StateBase {
  readonly input: GraphQLRequestInput;
  /** The media type a hit is sent as, or null when a front must leave the request to yoga. */
  readonly mediaType: string | null;
  status: CacheStatus;
  /** Set once the answer is known to be cacheable (served from the cache, or executed and storable). */
  answer?: CacheableAnswer;
  /** Set once its outcome has been counted as a bypass. */
  counted?: boolean;
}

/** A request the cache neither reads nor writes for (a mutation, a PRIVATE one without a session…). */
export interface UnkeyedState extends StateBase {
  readonly keyed: false;
  /** The operation the request selects, when its document was read (a mutation, say). */
  readonly operation?: OperationPlan;
}

/** A request with a key: it may be looked up, and its answer stored. */
export interface KeyedState extends StateBase {
  readonly keyed: true;
  readonly key: string;
  readonly documentPlan: DocumentPlan;
  readonly operation: OperationPlan;
  /** '' for an anonymous single operation. */
  readonly operationName: string;
  /** Stable JSON of the variables. */
  readonly variables: string;
  /** The session the key carries; null for answers shared by everyone. */
  readonly session: string | null;
  /** False when the request's Cache-Control says no-cache or no-store: execute, never serve an entry. */
  readonly readable: boolean;
  /** False when the request's Cache-Control says no-store: nothing of its answer is stored. */
  readonly storable: boolean;
  /** The store's ticket from this request's lookup, required to store its answer. */
  ticket?: ReadTicket;
  /** Set while this request leads a coalesced execution. */
  lead?: Lead<CacheEntry>;
}

export type RequestState = KeyedState | UnkeyedState;

export interface RequestKeyingOptions {
  planner: DocumentPlanner;
  session: (request: RequestLike) => string | null | undefined;
  buildKey: BuildCacheKey;
  cacheIntrospection: boolean;
}

export interface RequestKeying {
  begin(input: GraphQLRequestInput): RequestState;
  /**
   * An answer turned PRIVATE through a dynamic hint, though its static hints say PUBLIC: from
   * now on its operation is keyed per session. Returns its key with the session, or undefined
   * when the request has none (then nothing may be stored).
   */
  rekeyPrivate(state: KeyedState): string | undefined;
}

/** What a request's GraphQL params determine, whatever its headers. */
interface Prepared {
  operationName: string;
  documentPlan: DocumentPlan | undefined;
  operation: OperationPlan | undefined;
  /** Stable JSON; absent when the variables are not an object. */
  variables: string | undefined;
  /** The default key without a session, once computed. */
  sharedKey: string | undefined;
}

export function createRequestKeying({ planner, session, buildKey, cacheIntrospection }: RequestKeyingOptions): RequestKeying {
  const preparedParams = new WeakMap<object, Prepared>();
  const keyDependsOnParamsAlone = buildKey === defaultBuildCacheKey;
  /**
   * Operations (document hash and name) that answered PRIVATE through a dynamic hint. Learned
   * here rather than written on their plans: plans are shared by every request with the text.
   * Forgetting one is safe: its next answer is again refused the shared key, and relearned.
   */
  const turnedPrivate = new BoundedMemo<string, true>(4096);

  function prepare(params: GraphQLParams): Prepared | undefined {
    const memoised = sharedParams.has(params);
    if (memoised) {
      const known = preparedParams.get(params);
      if (known !== undefined) return known;
    }
    if (typeof params.query !== 'string') return undefined;
    const operationName = params.operationName ?? null;
    if (operationName !== null && typeof operationName !== 'string') return undefined;
    const documentPlan = planner.plan(params.query) ?? undefined;
    const operation = documentPlan && planner.operation(documentPlan, operationName);
    const prepared: Prepared = {
      operationName: operationName ?? '',
      documentPlan,
      operation,
      variables: documentPlan && operation ? readVariables(params.variables) : undefined,
      sharedKey: undefined,
    };
    if (memoised) preparedParams.set(params, prepared);
    return prepared;
  }

  const privateKey = (plan: DocumentPlan, operationName: string) => `${plan.hash}\n${operationName}`;

  function begin(input: GraphQLRequestInput): RequestState {
    const { request, params } = input;
    const mediaType = negotiateMediaType(request.headers.get('accept'));
    const unkeyed: UnkeyedState = { keyed: false, input, mediaType, status: 'BYPASS' };
    if (request.method !== 'GET' && request.method !== 'POST') return unkeyed;
    const prepared = prepare(params);
    if (prepared === undefined) return unkeyed;
    const { documentPlan, operation, variables, operationName } = prepared;
    if (!documentPlan || !operation) return unkeyed;
    if (variables === undefined || operation.kind !== 'query' || (operation.introspection && !cacheIntrospection)) return { ...unkeyed, operation };
    const isPrivate = operation.privateScope || (turnedPrivate.size > 0 && turnedPrivate.has(privateKey(documentPlan, operationName)));
    const sessionId = isPrivate ? (session(request) ?? null) : null;
    if (isPrivate && sessionId === null) return { ...unkeyed, operation };
    let key = sessionId === null && keyDependsOnParamsAlone ? prepared.sharedKey : undefined;
    if (key === undefined) {
      key = buildKey({ documentHash: documentPlan.hash, operationName, variables, session: sessionId, request });
      if (sessionId === null && keyDependsOnParamsAlone) prepared.sharedKey = key;
    }
    const cacheControl = request.headers.get('cache-control');
    const noStore = !!cacheControl && /\bno-store\b/i.test(cacheControl);
    const readable = !cacheControl || !(noStore || /\bno-cache\b/i.test(cacheControl));
    return {
      keyed: true,
      input,
      mediaType,
      status: 'BYPASS',
      key,
      documentPlan,
      operation,
      operationName,
      variables,
      session: sessionId,
      readable,
      storable: !noStore,
    };
  }

  function rekeyPrivate(state: KeyedState): string | undefined {
    turnedPrivate.set(privateKey(state.documentPlan, state.operationName), true);
    const sessionId = session(state.input.request) ?? null;
    if (sessionId === null) return undefined;
    return buildKey({
      documentHash: state.documentPlan.hash,
      operationName: state.operationName,
      variables: state.variables,
      session: sessionId,
      request: state.input.request,
    });
  }

  return { begin, rekeyPrivate };
}

/** Params objects shared by the requests whose bodies are identical: frozen all the way down. */
const sharedParams = new WeakSet<object>();

/**
 * Marks parsed GraphQL params as shared by every request with the same body, so the cache works
 * out their plan, variables and key once. Freezes them all the way down first: what is worked
 * out from them must not change under it. Returns the same object.
 */
export function shareParams<T extends object>(params: T): Readonly<T> {
  deepFreeze(params);
  sharedParams.add(params);
  return params;
}

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
}

/** Variables as stable JSON, or undefined when they are not an object (the pipeline rejects them). */
function readVariables(variables: unknown): string | undefined {
  if (variables === undefined || variables === null) return '{}';
  if (typeof variables !== 'object' || Array.isArray(variables)) return undefined;
  return stableVariables(variables as Record<string, unknown>);
}
