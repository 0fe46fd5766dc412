/**
 * What the operators' endpoints (`POST /cache/purge`, `GET /cache/stats`) share, as a yoga
 * plugin factory: one path and method, a bearer token configured at start-up and compared in
 * constant time, JSON answers that are never cached. Without a token the endpoint does not
 * exist (404); a missing token is 401, a wrong one 403, and the handler does not run.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';

export interface OperatorAnswer {
  status: number;
  body: object;
}

export interface OperatorEndpointOptions {
  /** The bearer token operators present; unset turns the endpoint off. */
  token: string | undefined;
  path: string;
  method: 'GET' | 'POST';
  /** Named in `WWW-Authenticate` when the token is missing. */
  realm: string;
  handle(request: Request): Promise<OperatorAnswer> | OperatorAnswer;
}

export function createOperatorEndpoint({ token, path, method, realm, handle }: OperatorEndpointOptions): Plugin {
  const expected = token === undefined ? undefined : digest(token);
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname !== path || expected === undefined) return;
      const answer = (status: number, body: object, headers: Record<string, string> = {}) =>
        endResponse(fetchAPI.Response.json(body, { status, headers: { 'cache-control': 'no-store', ...headers } }));

      if (request.method !== method) return answer(405, { error: `use ${method}` }, { allow: method });
      const presented = /^Bearer\s+(.+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
      if (presented === undefined) return answer(401, { error: 'a bearer token is required' }, { 'www-authenticate': `Bearer realm="${realm}"` });
      // Compare digests so the time taken says nothing about the token, whatever its length.
      if (!timingSafeEqual(digest(presented), expected)) return answer(403, { error: 'the bearer token is not valid' });
      const { status, body } = await handle(request);
      return answer(status, body);
    },
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
