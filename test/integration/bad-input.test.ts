/**
 * The bad-input corpus, through the real catalog server over real HTTP: malformed and
 * mistyped requests, wrong media types, methods, oversized bodies, invalid UTF-8, invalid and
 * huge variables, and every query limit exceeded. Each row of CORPUS states the status it must
 * get under `application/json` and under `application/graphql-response+json` (graphql-yoga's
 * rules and the GraphQL-over-HTTP spec's: some request errors are 200 with the error under the
 * legacy `application/json`, and 4xx under `application/graphql-response+json`), and the error
 * it must carry.
 *
 * Every row runs against two servers on PGlite, one with the cache and one without
 * (CACHE_ENABLED=false), and each bad request is sent while its good twin (the valid request it
 * varies, which shares its cache key wherever it can) is cold and again once it is cached: the
 * HTTP front and the cache plugin answer hits before yoga, so a hit must never answer what yoga
 * refuses. For each: the status and error stated, the same status and bytes on both servers
 * and cold or cached, never stored (`Cache-Control: no-store`, never `X-Cache: HIT`, a second
 * identical request is no hit), and nothing lost: the good twin still executes, then hits, with
 * the same bytes, and a query cached before the corpus still hits after it.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCatalog, type TestCatalog } from '../helpers/catalog.ts';
import { defaultLimits } from '../../server/config.ts';

/** One HTTP request, exactly as sent. */
interface Raw {
  method?: string;
  /** Appended to the endpoint: `?query=…` for a GET. */
  search?: string;
  headers?: Record<string, string>;
  /** Sent with its Content-Length, or chunked (no length) when given as chunks. */
  body?: string | Buffer | { chunks: Buffer[] };
}

interface Answer {
  status: number;
  headers: Record<string, string | undefined>;
  body: string;
}

/** The valid request a row varies: a query, its variables, and (here) no operation name. */
interface Good {
  query: string;
  variables?: Record<string, unknown>;
}

type MediaType = 'json' | 'graphqlResponse';
const ACCEPT: Record<MediaType, string> = { json: 'application/json', graphqlResponse: 'application/graphql-response+json' };

interface Row {
  name: string;
  /** The bad request, built from its good twin (whose product id is the row's own). */
  bad: (good: Good, id: string) => Raw;
  /** Status under each media type; one number when they agree. */
  status: number | Record<MediaType, number>;
  /** The first error's message and `extensions.code` (none: yoga sets no code there). */
  error?: { message: string | RegExp; code?: string };
  /** Yoga accepts it after all: answered as its good twin is (200, the same data). */
  accepted?: true;
  /** Headers the refusal must carry, e.g. `Allow`. */
  headers?: Record<string, string>;
  /** A good twin other than the default `product(id) { name }` query. */
  good?: (id: string) => Good;
  /** The row sets its own Accept (406): run once, not under each media type. */
  ownAccept?: true;
  /** The exact body, where there is no error to match. */
  body?: string;
}

const ITEM = 'query Item($id: ID!) { product(id: $id) { name } }';
const defaultGood = (id: string): Good => ({ query: ITEM, variables: { id } });
const json = (value: unknown) => JSON.stringify(value);
const post = (body: string | Buffer | { chunks: Buffer[] }, headers: Record<string, string> = {}): Raw => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body,
});
const get = (params: Record<string, string>): Raw => ({ search: `?${new URLSearchParams(params)}` });
const goodJson = (good: Good) => json(good);

/** `{ product(id: "1") { category { products { … } } } }`, `levels` fields deep. */
function nestedPages(levels: number): string {
  const fields: string[] = ['product(id: "1")'];
  for (let i = 1; i < levels; i++) fields.push(i % 2 === 1 ? 'category' : 'products');
  return `{ ${fields.join(' { ')} { id }${' }'.repeat(fields.length)}`;
}

/**
 * `{ product(id: "…") { ... on Product { name } … } }`: 10 lexical tokens around the inline
 * fragments and 6 in each, so 165 of them make exactly 1000, the default MAX_QUERY_TOKENS.
 */
const tokensLong = (id: string, fragments: number) => `{ product(id: "${id}") { ${'... on Product { name } '.repeat(fragments)}} }`;

const multipart = (fields: Record<string, string>) => {
  const parts = Object.entries(fields).map(([name, value]) => `--XX\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
  return post(`${parts.join('')}--XX--\r\n`, { 'content-type': 'multipart/form-data; boundary=XX' });
};
const withBytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : Buffer.from(part))));
const overLimit = (good: Good) => json({ ...good, variables: { ...good.variables, padding: 'x'.repeat(defaultLimits.maxBodyBytes) } });
const inChunks = (text: string) => {
  const buffer = Buffer.from(text);
  return { chunks: Array.from({ length: Math.ceil(buffer.length / 65536) }, (_, i) => buffer.subarray(i * 65536, (i + 1) * 65536)) };
};

const PARSE = { json: 200, graphqlResponse: 400 };
const CANNOT_DETERMINE = { message: 'Could not determine what operation to execute.', code: 'OPERATION_RESOLUTION_FAILURE' };
const INVALID_JSON = { message: 'POST body sent invalid JSON.', code: 'BAD_REQUEST' };
const TOO_LARGE = { message: `The request body is larger than the limit of ${defaultLimits.maxBodyBytes} bytes (MAX_BODY_BYTES).`, code: 'PAYLOAD_TOO_LARGE' };
const unsupported = (type: string) => ({
  message: `Content-Type ${type} is not supported: send one of application/json, application/graphql+json, application/graphql, multipart/form-data, application/x-www-form-urlencoded.`,
  code: 'UNSUPPORTED_MEDIA_TYPE',
});
const notAcceptable = (accept: string) => ({
  message: `None of the media types in Accept ${JSON.stringify(accept)} can be produced: accept one of application/graphql-response+json, application/json, text/event-stream, multipart/mixed.`,
  code: 'NOT_ACCEPTABLE',
});
const paramType = (param: string, type: string) => ({ message: `Expected "${param}" param to be empty or an object, but given ${type}.`, code: 'BAD_REQUEST' });
const METHODS = { allow: 'GET, POST' };
const rename = (id: string) => `mutation { updateProduct(id: "${id}", input: { name: "Renamed" }) { name } }`;

/**
 * The corpus: what each bad request must get. PARSE rows (syntax errors, and the token limit,
 * which refuses while parsing) are 200 with the error under `application/json` and 400 under
 * `application/graphql-response+json`, as yoga answers them and the spec recommends; yoga
 * answers a missing query the same way (the spec prefers 400 for a request that is not
 * well-formed, and allows a 2xx from legacy servers). Variable coercion errors are 400 under
 * both because yoga's executor says so (the spec's 200 under `application/json` is a SHOULD);
 * the query limits other than tokens are 400 under both, as the README documents.
 */
const CORPUS: Row[] = [
  // Malformed bodies.
  { name: 'malformed JSON', bad: () => post('{"query":'), status: 400, error: INVALID_JSON },
  { name: 'not JSON at all', bad: () => post('NONSENSE'), status: 400, error: INVALID_JSON },
  { name: 'an empty body', bad: () => post(''), status: 400, error: INVALID_JSON },
  { name: 'a JSON string body', bad: (good) => post(json(good.query)), status: 400, error: { message: 'POST body is expected to be object but received string', code: 'BAD_REQUEST' } },
  { name: 'a JSON null body', bad: () => post('null'), status: 400, error: { message: 'POST body is expected to be object but received null', code: 'BAD_REQUEST' } },
  { name: 'a body with a byte-order mark', bad: (good) => post(withBytes([0xef, 0xbb, 0xbf], goodJson(good))), status: 400, error: INVALID_JSON },

  // Content types yoga does not read (it reads JSON, multipart, form-urlencoded and application/graphql).
  // Yoga answered these 415 with an empty body and no Cache-Control.
  { name: 'Content-Type text/plain', bad: (good) => post(goodJson(good), { 'content-type': 'text/plain' }), status: 415, error: unsupported('"text/plain"') },
  { name: 'Content-Type text/json', bad: (good) => post(goodJson(good), { 'content-type': 'text/json' }), status: 415, error: unsupported('"text/json"') },
  { name: 'Content-Type application/jsonx', bad: (good) => post(goodJson(good), { 'content-type': 'application/jsonx' }), status: 415, error: unsupported('"application/jsonx"') },
  { name: 'a list of Content-Types whose first is text/plain', bad: (good) => post(goodJson(good), { 'content-type': 'text/plain, application/json' }), status: 415, error: unsupported('"text/plain, application/json"') },
  { name: 'no Content-Type', bad: (good) => ({ method: 'POST', body: goodJson(good) }), status: 415, error: unsupported('(none)') },
  { name: 'multipart without its operations field (yoga answered 200 without data, under either media type)', bad: () => multipart({ other: 'x' }), status: 400, error: { message: 'Missing multipart form field "operations"', code: 'BAD_REQUEST' } },
  { name: 'multipart with operations that are not JSON', bad: () => multipart({ operations: '{nope' }), status: 400, error: { message: 'Multipart form field "operations" must be a valid JSON string', code: 'BAD_REQUEST' } },
  { name: 'multipart without a file', bad: (good) => multipart({ operations: goodJson(good) }), status: 200, accepted: true },
  { name: 'form-urlencoded', bad: (good) => post(new URLSearchParams({ query: good.query, variables: json(good.variables) }).toString(), { 'content-type': 'application/x-www-form-urlencoded' }), status: 200, accepted: true },
  { name: 'form-urlencoded variables that are not JSON', bad: (good) => post(new URLSearchParams({ query: good.query, variables: '{nope' }).toString(), { 'content-type': 'application/x-www-form-urlencoded' }), status: 400, error: { message: /^The request's variables or extensions are not valid JSON: /, code: 'BAD_REQUEST' } },

  // Oversized bodies: refused before they are read.
  { name: 'a body over MAX_BODY_BYTES, declared', bad: (good) => post(overLimit(good)), status: 413, error: TOO_LARGE },
  { name: 'a body over MAX_BODY_BYTES, chunked', bad: (good) => post(inChunks(overLimit(good))), status: 413, error: TOO_LARGE },

  // Invalid UTF-8: decoded with U+FFFD, as fetch decodes, the same way by the front and by yoga.
  { name: 'invalid UTF-8 outside the JSON strings', bad: (good) => post(withBytes(goodJson(good).slice(0, -1), [0xff], '}')), status: 400, error: INVALID_JSON },
  { name: 'invalid UTF-8 where the document has a name', bad: (_good, id) => post(withBytes(`{"query":"{ product(id: \\"${id}\\") { na`, [0xff, 0xfe], 'me } }"}')), status: PARSE, error: { message: 'Syntax Error: Unexpected character: U+FFFD.', code: 'GRAPHQL_PARSE_FAILED' } },
  { name: 'invalid UTF-8 in a variable the error quotes', bad: () => post(withBytes('{"query":"query ($n: Int) { products(first: $n) { id } }","variables":{"n":"', [0xf0, 0x80, 0x80, 0xe0, 0x80, 0xed, 0xa0, 0x80, 0xc3], '"}}')), status: 400, error: { message: /^Variable "\$n" got invalid value "\uFFFD+"; Int cannot represent non-integer value/ } },
  { name: 'invalid UTF-8 in a comment', bad: (good) => post(withBytes(`{"query":${json(`${good.query} #`).slice(0, -1)}`, [0xff, 0xfe], `","variables":${json(good.variables)}}`)), status: 200, accepted: true },
  { name: 'invalid UTF-8 in a GET query string', bad: (_good, id) => ({ search: `?query=${encodeURIComponent(`{ product(id: "${id}") { na`)}%FF%FE${encodeURIComponent('me } }')}` }), status: PARSE, error: { message: 'Syntax Error: Unexpected character: U+FFFD.', code: 'GRAPHQL_PARSE_FAILED' } },

  // Parameters of the wrong JSON type, or unknown.
  { name: 'no query', bad: (good) => post(json({ variables: good.variables })), status: PARSE, error: { message: 'Must provide query string.', code: 'BAD_REQUEST' } },
  { name: 'a query that is not a string', bad: () => post(json({ query: 7 })), status: 400, error: { message: 'Expected "query" param to be a string, but given number.', code: 'BAD_REQUEST' } },
  { name: 'variables given as a JSON string', bad: (good) => post(json({ ...good, variables: json(good.variables) })), status: 400, error: paramType('variables', 'string') },
  { name: 'variables given as an array', bad: (good) => post(json({ ...good, variables: [good.variables] })), status: 400, error: paramType('variables', 'array') },
  { name: 'variables given as a number', bad: (good) => post(json({ ...good, variables: 7 })), status: 400, error: paramType('variables', 'number') },
  { name: 'extensions given as a string', bad: (good) => post(json({ ...good, extensions: 'persisted' })), status: 400, error: paramType('extensions', 'string') },
  { name: 'extensions given as an array', bad: (good) => post(json({ ...good, extensions: [] })), status: 400, error: paramType('extensions', 'array') },
  { name: 'a parameter yoga does not know', bad: (good) => post(json({ ...good, qeury: good.query })), status: 400, error: { message: 'Unexpected parameter "qeury" in the request body.', code: 'BAD_REQUEST' } },
  { name: 'GET variables that are a JSON string', bad: (good) => get({ query: good.query, variables: json(json(good.variables)) }), status: 400, error: paramType('variables', 'string') },
  { name: 'GET variables that are not JSON (yoga answered 500)', bad: (good) => get({ query: good.query, variables: '{"id": ' }), status: 400, error: { message: /^The request's variables or extensions are not valid JSON: /, code: 'BAD_REQUEST' } },
  { name: 'GET extensions that are not JSON (yoga answered 500)', bad: (good) => get({ query: good.query, variables: json(good.variables), extensions: '{nope' }), status: 400, error: { message: /^The request's variables or extensions are not valid JSON: /, code: 'BAD_REQUEST' } },

  // Operations that cannot be determined.
  { name: 'an unknown operation name', bad: (good) => post(json({ ...good, operationName: 'Nope' })), status: 400, error: CANNOT_DETERMINE },
  { name: 'operationName "" (a hit answered it 200, a miss refuses it)', bad: (good) => post(json({ ...good, operationName: '' })), status: 400, error: CANNOT_DETERMINE },
  { name: 'an operation name that is not a string', bad: (good) => post(json({ ...good, operationName: 7 })), status: 400, error: CANNOT_DETERMINE },
  { name: 'several operations and no operation name', bad: (good) => post(json({ ...good, query: `${good.query} query Other { categories { id } }` })), status: 400, error: CANNOT_DETERMINE },

  // Invalid and huge variables.
  { name: 'a variable of the wrong type', bad: (good) => post(json({ ...good, variables: { id: true } })), status: 400, error: { message: 'Variable "$id" got invalid value true; ID cannot represent value: true' } },
  { name: 'a required variable missing', bad: (good) => post(json({ ...good, variables: {} })), status: 400, error: { message: 'Variable "$id" of required type "ID!" was not provided.' } },
  { name: 'null for a required variable', bad: (good) => post(json({ ...good, variables: { id: null } })), status: 400, error: { message: 'Variable "$id" of non-null type "ID!" must not be null.' } },
  { name: 'an unknown variable (graphql-js ignores it)', bad: (good) => post(json({ ...good, variables: { ...good.variables, extra: 1 } })), status: 200, accepted: true },
  { name: 'huge variables under MAX_BODY_BYTES', bad: (good) => post(json({ ...good, variables: { ...good.variables, padding: 'x'.repeat(defaultLimits.maxBodyBytes - 200) } })), status: 200, accepted: true },
  { name: 'a huge variable of the wrong type', bad: (good) => post(json({ ...good, variables: { id: Array.from({ length: 100_000 }, () => 1) } })), status: 400, error: { message: /^Variable "\$id" got invalid value \[1, 1, 1, .*\]; ID cannot represent value: \[1, / } },

  // Methods.
  { name: 'GET with a mutation', bad: (_good, id) => get({ query: rename(id) }), status: 405, headers: { allow: 'POST' }, error: { message: 'Can only perform a mutation operation from a POST request.', code: 'BAD_REQUEST' } },
  { name: 'GET naming the mutation of a document', bad: (good, id) => get({ query: `${good.query} ${rename(id).replace('mutation', 'mutation Rename')}`, variables: json(good.variables), operationName: 'Rename' }), status: 405, headers: { allow: 'POST' }, error: { message: 'Can only perform a mutation operation from a POST request.', code: 'BAD_REQUEST' } },
  ...['PUT', 'DELETE', 'PATCH'].map((method): Row => ({
    name: method,
    bad: (good) => ({ ...post(goodJson(good)), method }),
    status: 405,
    headers: METHODS,
    error: { message: 'GraphQL only supports GET and POST requests.', code: 'BAD_REQUEST' },
  })),

  // Accept the server cannot produce: yoga executed the operation, then answered an empty 406.
  // Refused now before anything is parsed or executed.
  ...['application/xml', 'text/html', 'application/json; charset=iso-8859-1'].map((accept): Row => ({
    name: `POST with Accept ${accept}`,
    bad: (good) => post(goodJson(good), { accept }),
    status: 406,
    ownAccept: true,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    error: notAcceptable(accept),
  })),
  { name: 'GET with Accept application/xml', bad: (good) => ({ ...get({ query: good.query, variables: json(good.variables) }), headers: { accept: 'application/xml' } }), status: 406, ownAccept: true, error: notAcceptable('application/xml') },
  { name: 'a mutation with Accept application/xml (yoga executed it, then answered an empty 406)', bad: (_good, id) => post(json({ query: rename(id) }), { accept: 'application/xml' }), status: 406, ownAccept: true, error: notAcceptable('application/xml') },
  { name: 'PUT with Accept application/xml', bad: (good) => ({ ...post(goodJson(good), { accept: 'application/xml' }), method: 'PUT' }), status: 406, ownAccept: true, error: notAcceptable('application/xml') },

  // Batches.
  { name: `a batch over MAX_BATCH_SIZE (${defaultLimits.maxBatchSize})`, bad: (good) => post(json(Array.from({ length: defaultLimits.maxBatchSize + 1 }, () => good))), status: 413, error: { message: `Batching is limited to ${defaultLimits.maxBatchSize} operations per request.`, code: 'BAD_REQUEST' } },
  { name: 'an empty batch (with the cache, it answered 400 "invalid JSON")', bad: () => post('[]'), status: 200, body: '[]' },
  { name: 'a batch of things that are not operations (with the cache, a 500-class "Unexpected error.")', bad: () => post('[7, null]'), status: 200, error: { message: 'Expected params to be an object but given number.', code: 'BAD_REQUEST' } },

  // Query limits.
  { name: 'the depth limit', bad: () => post(json({ query: nestedPages(12) })), status: 400, error: { message: 'Syntax Error: Query depth limit of 8 exceeded, found 13.', code: 'QUERY_LIMIT_EXCEEDED' } },
  { name: 'the aliases limit', bad: () => post(json({ query: `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: product(id: "${i + 1}") { id }`).join(' ')} }` })), status: 400, error: { message: 'Syntax Error: Aliases limit of 15 exceeded, found 16.', code: 'QUERY_LIMIT_EXCEEDED' } },
  { name: 'the directives limit', bad: () => post(json({ query: `{ product(id: "1") { id ${'@include(if: true) '.repeat(51)} } }` })), status: 400, error: { message: 'Syntax Error: Directives limit of 50 exceeded, found 51.', code: 'QUERY_LIMIT_EXCEEDED' } },
  { name: 'the token limit', bad: (_good, id) => post(json({ query: tokensLong(id, 166) })), status: PARSE, error: { message: 'Syntax Error: Token limit of 1000 exceeded.', code: 'QUERY_LIMIT_EXCEEDED' } },
  {
    name: 'the token limit, one token over, by a text that keyed like a cached one (`query {` printed as `{`: a hit answered it)',
    good: (id) => ({ query: tokensLong(id, 165) }),
    bad: (good) => post(json({ query: `query ${good.query}` })),
    status: PARSE,
    error: { message: 'Syntax Error: Token limit of 1000 exceeded.', code: 'QUERY_LIMIT_EXCEEDED' },
  },
  { name: 'the cost limit', bad: () => post(json({ query: 'query ($n: Int) { products(first: $n) { category { products(first: $n) { id name } } } }', variables: { n: 100 } })), status: 400, error: { message: /^Query cost limit of 5000 exceeded, found \d+\.$/, code: 'QUERY_LIMIT_EXCEEDED' } },
];

/** The request's answer. A server may answer and close before the whole upload is written. */
function exchange(url: string, { method = 'GET', search = '', headers = {}, body }: Raw): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunked = typeof body === 'object' && !Buffer.isBuffer(body);
    const sent = { ...headers };
    if (body !== undefined && !chunked) sent['content-length'] = String(Buffer.byteLength(body));
    if (chunked) sent['transfer-encoding'] = 'chunked';
    let answered = false;
    const request = httpRequest(`${url}${search}`, { method, headers: sent, agent: false }, (response) => {
      answered = true;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('error', reject);
      response.once('end', () => {
        const received: Record<string, string | undefined> = {};
        for (const [name, value] of Object.entries(response.headers)) received[name] = Array.isArray(value) ? value.join(', ') : value;
        resolve({ status: response.statusCode ?? 0, headers: received, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    request.once('error', (error: NodeJS.ErrnoException) => {
      if (answered && (error.code === 'EPIPE' || error.code === 'ECONNRESET')) return;
      reject(error);
    });
    if (chunked) {
      for (const chunk of body.chunks) request.write(chunk);
      request.end();
    } else request.end(body);
  });
}

type ErrorBody = { errors?: { message: string; extensions?: { code?: string } }[] };
/** The first error of an answer, or of the first operation of a batch that has one. */
function firstError(answer: Answer) {
  const parsed = JSON.parse(answer.body) as ErrorBody | ErrorBody[];
  return (Array.isArray(parsed) ? parsed.find((item) => item.errors) : parsed)?.errors?.[0];
}

describe('the bad-input corpus', () => {
  let cached: TestCatalog;
  let uncached: TestCatalog;
  const SENTINEL = post(json({ query: '{ product(id: "1") { name price } }' }));
  let sentinel: Answer;

  beforeAll(async () => {
    [cached, uncached] = await Promise.all([startCatalog('pglite'), startCatalog('pglite', { env: { CACHE_ENABLED: 'false' } })]);
    await exchange(cached.url, SENTINEL);
    sentinel = await exchange(cached.url, SENTINEL);
    expect(sentinel.headers['x-cache']).toBe('HIT');
  });
  afterAll(async () => {
    await Promise.all([cached?.close(), uncached?.close()]);
  });

  let nextId = 500;
  const runs = CORPUS.flatMap((row): { row: Row; media: MediaType | undefined }[] =>
    row.ownAccept ? [{ row, media: undefined }] : (['json', 'graphqlResponse'] as const).map((media) => ({ row, media })),
  );

  it.each(runs.map((run) => [`${run.row.name}${run.media ? ` (${ACCEPT[run.media]})` : ''}`, run] as const))('%s', async (_title, { row, media }) => {
    // A product of its own, so the good twin is cold on the cached server until this run caches it.
    const id = String(nextId++);
    const good = (row.good ?? defaultGood)(id);
    const accept: Record<string, string> = media ? { accept: ACCEPT[media] } : {};
    const raw = row.bad(good, id);
    const bad: Raw = { ...raw, headers: { ...accept, ...raw.headers } };
    const goodRequest = post(goodJson(good), { accept: 'application/json' });
    const expectedStatus = typeof row.status === 'number' ? row.status : row.status[media ?? 'json'];

    const transcripts: Record<'cached' | 'uncached', { bad: Answer[]; good: Answer[] }> = { cached: { bad: [], good: [] }, uncached: { bad: [], good: [] } };
    for (const [which, server] of [['cached', cached], ['uncached', uncached]] as const) {
      const { bad: badAnswers, good: goodAnswers } = transcripts[which];
      badAnswers.push(await exchange(server.url, bad)); // the good twin is cold
      goodAnswers.push(await exchange(server.url, goodRequest));
      goodAnswers.push(await exchange(server.url, goodRequest)); // now cached (on the cached server)
      badAnswers.push(await exchange(server.url, bad)); // the good twin is cached
      badAnswers.push(await exchange(server.url, bad)); // a second identical request
      goodAnswers.push(await exchange(server.url, goodRequest)); // nothing lost
    }

    const first = transcripts.cached.bad[0];
    for (const which of ['cached', 'uncached'] as const) {
      const { bad: badAnswers, good: goodAnswers } = transcripts[which];
      // The same status and bytes every time, cold or cached, with the cache or without.
      for (const answer of badAnswers) {
        expect({ which, status: answer.status, body: answer.body }).toEqual({ which, status: expectedStatus, body: first.body });
        if (!row.accepted) expect(answer.headers['x-cache'], which).not.toBe('HIT');
      }
      // The good twin: answered, then served from the cache, the same bytes: the bad request
      // neither broke it nor changed it (the mutations among them wrote nothing).
      expect(goodAnswers.map((answer) => answer.status)).toEqual([200, 200, 200]);
      expect(new Set(goodAnswers.map((answer) => answer.body)).size).toBe(1);
      expect(JSON.parse(goodAnswers[0].body).errors).toBeUndefined();
      if (which === 'cached') {
        expect(goodAnswers.slice(1).map((answer) => answer.headers['x-cache'])).toEqual(['HIT', 'HIT']);
        // A refusal stored nothing, not even under its good twin's key.
        if (!row.accepted) expect(goodAnswers[0].headers['x-cache']).toBe('MISS');
      }
    }

    // Nothing the bad request did reached the data: no mutation among them renamed the product.
    expect(transcripts.cached.good[0].body).not.toContain('Renamed');
    if (row.accepted) {
      // Yoga reads it: it is answered as its good twin is.
      expect(first.body).toBe(transcripts.cached.good[0].body);
      return;
    }
    // Never stored by anyone: the cache says so on every answer it sees; without the cache, the
    // server says so on every refusal (a legacy 200 with an error carries no cache headers).
    for (const answer of transcripts.cached.bad) expect(answer.headers['cache-control']).toBe('no-store');
    for (const answer of transcripts.uncached.bad) expect(answer.headers['cache-control']).toBe(answer.status >= 400 ? 'no-store' : undefined);
    for (const answer of [...transcripts.cached.bad, ...transcripts.uncached.bad]) {
      for (const [name, value] of Object.entries(row.headers ?? {})) expect(answer.headers[name], name).toBe(value);
    }
    if (row.body !== undefined) expect(first.body).toBe(row.body);
    if (row.error) {
      const error = firstError(first);
      expect(error?.message).toMatch(typeof row.error.message === 'string' ? exactly(row.error.message) : row.error.message);
      expect(error?.extensions?.code).toBe(row.error.code);
    }
  });

  it('still answers a query cached before the corpus as a hit, with the same bytes', async () => {
    const after = await exchange(cached.url, SENTINEL);
    expect([after.status, after.headers['x-cache'], after.body]).toEqual([200, 'HIT', sentinel.body]);
  });

  it('answers a request line with raw non-ASCII bytes with 400 from the HTTP parser, and stays up', async () => {
    for (const server of [cached, uncached]) {
      const { port } = new URL(server.url);
      const line = withBytes(`GET /graphql?query=${encodeURIComponent('{ product(id: "1") { name } } #')}`, [0xff, 0xfe], ' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(await sendBytes(Number(port), line)).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect((await exchange(server.url, SENTINEL)).status).toBe(200);
    }
  });
});

function exactly(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}

/** Writes raw bytes on a fresh connection and resolves with everything the server sent back. */
function sendBytes(port: number, bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let text = '';
    socket.on('data', (data: Buffer) => (text += data.toString('latin1')));
    socket.once('end', () => resolve(text));
    socket.once('error', reject);
  });
}
