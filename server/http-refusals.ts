/**
 * Refusals at the HTTP level that yoga sends too late, without a body or with the wrong status,
 * made clear and safe: every one a GraphQL-over-HTTP error with a message and `extensions.code`,
 * sent before anything executes, and never stored by anyone (`Cache-Control: no-store`).
 *
 * - `Accept` naming no media type yoga produces: yoga executes the operation (a mutation
 *   writes) and then answers an empty 406. Refused here with 406 before it is parsed.
 * - A POST `Content-Type` no parser reads: yoga answers an empty 415.
 * - A body a parser refuses with an error that carries no status (a multipart request without
 *   its `operations` field): yoga answers 200, which the spec forbids for an answer without
 *   `data` under `application/graphql-response+json`. And `variables` that are not JSON in a
 *   query string or form: yoga answers 500. Both answered 400.
 */
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** What yoga's result processors produce (SSE and multipart answer single results too). */
const PRODUCED_MEDIA_TYPES = ['application/graphql-response+json', 'application/json', 'text/event-stream', 'multipart/mixed'];

/** The content types yoga's request parsers read, for the 415 message. */
const READ_CONTENT_TYPES = ['application/json', 'application/graphql+json', 'application/graphql', 'multipart/form-data', 'application/x-www-form-urlencoded'];

/** The yoga plugin that makes those refusals clear; it goes before any plugin that executes. */
export function useHttpRefusals(): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, endResponse, fetchAPI }) {
      // Runs after yoga's own parsers chose one (or none), and before yoga's method check.
      const accept = request.headers.get('accept');
      if (!canProduce(accept)) {
        const message = `None of the media types in Accept ${JSON.stringify(accept)} can be produced: accept one of ${PRODUCED_MEDIA_TYPES.join(', ')}.`;
        endResponse(
          new fetchAPI.Response(errorBody(message, 'NOT_ACCEPTABLE'), {
            status: 406,
            headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', accept: PRODUCED_MEDIA_TYPES.join(', ') },
          }),
        );
        return;
      }
      if (!requestParser) {
        // No parser for a PUT or DELETE: yoga's method check answers 405.
        if (request.method !== 'POST') return;
        const type = request.headers.get('content-type');
        throw new GraphQLError(
          `Content-Type ${type === null ? '(none)' : JSON.stringify(type)} is not supported: send one of ${READ_CONTENT_TYPES.join(', ')}.`,
          { extensions: { code: 'UNSUPPORTED_MEDIA_TYPE', http: { status: 415 } } },
        );
      }
      setRequestParser(async (parsed) => {
        try {
          return await requestParser(parsed);
        } catch (error) {
          throw withStatus(error);
        }
      });
    },

    onResponse({ response }) {
      // With the cache on, its plugin says no-store on every refusal too; without it, this does.
      if (response.status >= 400 && !response.headers.has('cache-control')) {
        response.headers.set('cache-control', 'no-store');
      }
    },
  };
}

/**
 * What a parser throws is the request's fault: a GraphQLError without a status, or the
 * SyntaxError of `variables` or `extensions` that are not JSON in a query string or form (which
 * yoga would mask as a 500), is a 400. Anything else goes on as it was.
 */
function withStatus(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  if (error.name === 'SyntaxError') {
    return new GraphQLError(`The request's variables or extensions are not valid JSON: ${error.message}`, {
      extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
    });
  }
  if (error.name !== 'GraphQLError') return error;
  const { extensions } = error as GraphQLError;
  if (extensions.http) return error;
  return new GraphQLError(error.message, { extensions: { ...extensions, code: extensions.code ?? 'BAD_REQUEST', http: { status: 400 } } });
}

function errorBody(message: string, code: string): string {
  return JSON.stringify({ errors: [{ message, extensions: { code } }] });
}

/**
 * Yoga's rule (`plugins/result-processor/accept.js` and `use-result-processor.js`): an `Accept`
 * entry counts only in utf-8, and matches a produced type when its type and subtype are equal
 * or `*`. No `Accept` accepts anything.
 */
function canProduce(accept: string | null): boolean {
  for (const item of (accept || '*/*').replace(/\s/g, '').toLowerCase().split(',')) {
    const [mediaType, ...params] = item.split(';');
    const charset = params.find((param) => param.includes('charset=')) ?? 'charset=utf-8';
    if (charset !== 'charset=utf-8') continue;
    const [type, subtype] = mediaType.split('/');
    for (const produced of PRODUCED_MEDIA_TYPES) {
      const [producedType, producedSubtype] = produced.split('/');
      if ((type === '*' || type === producedType) && (subtype === '*' || subtype === producedSubtype)) return true;
    }
  }
  return false;
}
