/**
 * The bearer-token check of the operators' endpoints (`/cache/purge`, `/cache/stats`): one
 * token, configured at start-up, compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export type OperatorAuth =
  | { ok: true }
  | { ok: false; status: 401 | 403; error: string; headers: Record<string, string> };

/** Checks a request's `Authorization: Bearer <token>` against `token`. */
export function createOperatorAuth(token: string, realm: string): (request: Request) => OperatorAuth {
  const expected = digest(token);
  return (request): OperatorAuth => {
    const presented = /^Bearer\s+(.+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
    if (presented === undefined) {
      return { ok: false, status: 401, error: 'a bearer token is required', headers: { 'www-authenticate': `Bearer realm="${realm}"` } };
    }
    // Compare digests so the time taken says nothing about the token, whatever its length.
    if (!timingSafeEqual(digest(presented), expected)) return { ok: false, status: 403, error: 'the bearer token is not valid', headers: {} };
    return { ok: true };
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
