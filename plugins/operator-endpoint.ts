/**
 * What the operators' endpoints (`POST /cache/purge`, `GET /cache/stats`, `GET /metrics`) share,
 * as a yoga plugin factory: one path and method, a bearer token configured at start-up and
 * compared in constant time, answers that are never cached (JSON, or text). Without a token the
 * endpoint does not exist (404), or, for one that may be `open` (metrics on an internal
 * network), answers anyone; with one, a missing token is 401, a wrong one 403, and the handler
 * does not run.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';

/** A JSON answer, or a text one of the given type. */
export type OperatorAnswer = { status: number; body: object } | { status: number; text: string; contentType: string };

export interface OperatorEndpointOptions {
  /** The bearer token operators present; unset turns the endpoint off, unless it is `open`. */
  token: string | undefined;
  /** Whether the endpoint answers anyone when no token is configured. @default false */
  open?: boolean;
  path: string;
  method: 'GET' | 'POST';
  /** Named in `WWW-Authenticate` when the token is missing. */
  realm: string;
  handle(request: Request): Promise<OperatorAnswer> | OperatorAnswer;
}

export function createOperatorEndpoint({ token, open = false, path, method, realm, handle }: OperatorEndpointOptions): Plugin {
  const expected = token === undefined ? undefined : digest(token);
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname !== path || (expected === undefined && !open)) return;
      const answer = (status: number, body: object, headers: Record<string, string> = {}) =>
        endResponse(fetchAPI.Response.json(body, { status, headers: { 'cache-control': 'no-store', ...headers } }));

      if (request.method !== method) return answer(405, { error: `use ${method}` }, { allow: method });
      if (expected !== undefined) {
        const presented = /^Bearer\s+(.+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
        if (presented === undefined) return answer(401, { error: 'a bearer token is required' }, { 'www-authenticate': `Bearer realm="${realm}"` });
        // Compare digests so the time taken says nothing about the token, whatever its length.
        if (!timingSafeEqual(digest(presented), expected)) return answer(403, { error: 'the bearer token is not valid' });
      }
      const handled = await handle(request);
      if ('body' in handled) return answer(handled.status, handled.body);
      return endResponse(
        new fetchAPI.Response(handled.text, { status: handled.status, headers: { 'cache-control': 'no-store', 'content-type': handled.contentType } }),
      );
    },
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
