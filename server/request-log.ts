/**
 * One log line per request, at `info`, once its response is sent:
 *
 *   {"level":30,"time":…,"msg":"request","method":"POST","path":"/graphql","status":200,"ms":0.41,"cache":"HIT","operation":"Product"}
 *
 * Method, path (never the query string: a GET carries the query and its variables there),
 * status, duration and, for GraphQL requests, the cache outcome as `X-Cache` says it (`HIT`,
 * `MISS`, `BYPASS`; `coalesced` or `stale` when so) and the operation's name (names, for a
 * batch). Never a header, a token, a cookie, variables or a body. Hits the HTTP front answers
 * never reach yoga: the front reports them through its `onServed` hook; yoga's answers are read
 * by a plugin listed after the cache's.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from './logger.ts';

/** What the cache layers learned of a request, for its line. */
interface Described {
  cache: string | undefined;
  stale: true | undefined;
  coalesced: true | undefined;
  operation: string;
}

// Kept on the request itself: a property write costs a hit less than a WeakMap entry.
const STARTED = Symbol('request-log started');
const DESCRIBED = Symbol('request-log described');
type Logged = IncomingMessage & { [STARTED]?: number; [DESCRIBED]?: Described };

export interface RequestLog {
  /** Wraps the server's outermost listener: times each request and logs it when its response is sent. */
  listener(next: RequestListener): RequestListener;
  /** The HTTP front's `onServed`: a hit it answered itself. */
  onServed(req: IncomingMessage, served: { outcome: 'hit' | 'stale' | 'coalesced'; operation: string }): void;
  /** Reads yoga's answers; list it after the cache's plugin, which sets `X-Cache`. */
  plugin: Plugin;
}

/** Request lines for `logger`; with `info` off, nothing is wrapped and nothing is read. */
export function createRequestLog(logger: Logger): RequestLog {
  const on = logger.isLevelEnabled('info');

  function finished(this: ServerResponse) {
    const req = this.req as Logged;
    const started = req[STARTED];
    if (started === undefined) return;
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const described = req[DESCRIBED];
    // One shape for every line (pino leaves out the fields left undefined): no spread, no
    // object built per outcome, on the path every cache hit takes.
    logger.info(
      {
        method: req.method,
        path: queryAt === -1 ? url : url.slice(0, queryAt),
        status: this.statusCode,
        ms: Math.round((performance.now() - started) * 100) / 100,
        cache: described?.cache,
        stale: described?.stale,
        coalesced: described?.coalesced,
        operation: described?.operation,
      },
      'request',
    );
  }

  const operationNames = new WeakMap<Request, string>();
  return {
    listener(next) {
      if (!on) return next;
      return (req, res) => {
        (req as Logged)[STARTED] = performance.now();
        res.on('finish', finished);
        next(req, res);
      };
    },
    onServed(req, { outcome, operation }) {
      (req as Logged)[DESCRIBED] = {
        cache: outcome === 'coalesced' ? 'MISS' : 'HIT',
        stale: outcome === 'stale' ? true : undefined,
        coalesced: outcome === 'coalesced' ? true : undefined,
        operation,
      };
    },
    plugin: on
      ? {
          onRequestParse({ request }) {
            return {
              onRequestParseDone({ requestParserResult }) {
                const operations = Array.isArray(requestParserResult) ? requestParserResult : [requestParserResult];
                operationNames.set(request, operations.map((params) => (typeof params?.operationName === 'string' ? params.operationName : '')).join(','));
              },
            };
          },
          onExecute({ args }) {
            // A request that named no operation: its document's one operation may have a name.
            const request = (args.contextValue as { request?: Request }).request;
            if (request === undefined || operationNames.get(request) !== '') return;
            const name = getOperationAST(args.document, args.operationName)?.name?.value;
            if (name !== undefined) operationNames.set(request, name);
          },
          onResponse({ request, response, serverContext }) {
            const req = (serverContext as { req?: Logged } | undefined)?.req;
            if (req === undefined) return;
            // Only GraphQL requests have an outcome (operators' JSON answers carry X-Cache too).
            const operation = operationNames.get(request);
            const cache = response.headers.get('x-cache');
            if (operation === undefined) return;
            req[DESCRIBED] = { cache: cache ?? undefined, stale: undefined, coalesced: response.headers.has('x-cache-coalesced') ? true : undefined, operation };
          },
        }
      : {},
  };
}
