/**
 * Cache keys. The default key is a hash of the normalised document, the operation name,
 * the variables with their keys sorted, and the session when the operation can answer
 * PRIVATE. `extensions` never enter it.
 */
import { createHash } from 'node:crypto';
import { stringify } from 'safe-stable-stringify';
import { LRUCache } from 'lru-cache';

/** The part of a request that session and key functions may read: method and headers. */
export interface RequestLike {
  readonly method: string;
  readonly headers: {
    get(name: string): string | null | undefined;
    /** Every header, for replaying the request (stale-while-revalidate refreshes). */
    forEach(callback: (value: string, name: string) => void): void;
  };
}

/** What a key function is given: the request's parts that may enter the key. */
export interface CacheKeyInput {
  /** Hash of the document's tokens: layout, commas and comments do not change it. */
  documentHash: string;
  /** '' for an anonymous single operation. */
  operationName: string;
  /** The variables as stable JSON ('{}' when there are none). */
  variables: string;
  /** The session when the operation can answer PRIVATE, else null (PUBLIC answers are shared). */
  session: string | null;
  request: RequestLike;
}

/** Builds a request's cache key; requests with equal keys share an answer. Must be synchronous. */
export type BuildCacheKey = (input: CacheKeyInput) => string;

export function hashKey(text: string): string {
  return createHash('sha1').update(text).digest('base64url');
}

/**
 * The default key: a hash of the document hash, the operation name, the variables and the
 * session (when there is one). Wrap it to add what else an answer depends on, e.g. a header:
 * `` (input) => `${defaultBuildCacheKey(input)}:${input.request.headers.get('accept-language') ?? ''}` ``.
 */
export const defaultBuildCacheKey: BuildCacheKey = ({ documentHash, operationName, variables, session }) =>
  rememberedHash(`${documentHash}\n${operationName}\n${variables}\n${session === null ? '-' : `s:${session}`}`);

// Hot keys repeat: remembering their hashes takes a hash off every hit.
const hashedKeys = new LRUCache<string, string>({ maxSize: 8 * 1024 * 1024, sizeCalculation: (key, preimage) => preimage.length + key.length });

/** `hashKey(preimage)`, remembered for the hot preimages (answers' keys, values' identities). */
export function rememberedHash(preimage: string): string {
  let key = hashedKeys.get(preimage);
  if (key === undefined) {
    key = hashKey(preimage);
    hashedKeys.set(preimage, key);
  }
  return key;
}

/** Variables as JSON whose object keys are sorted, so `{a,b}` and `{b,a}` share a key. */
export function stableVariables(variables: Record<string, unknown> | null | undefined): string {
  return variables ? (stringify(variables) ?? '{}') : '{}';
}
