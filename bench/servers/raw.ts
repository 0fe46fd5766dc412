/**
 * The upper bound: bare `node:http` answering every request with fixed bytes (the exact body of
 * a cache hit, which the bench fetched from our server and passes in BENCH_RAW_BODY). It reads
 * the request body first, as any GraphQL server must, and sends nothing but the body's
 * content-type and length.
 *
 * Env: PORT (required), BENCH_RAW_BODY (required), BENCH_RAW_CONTENT_TYPE (default application/json).
 */
import { createServer } from 'node:http';

const port = Number(process.env.PORT);
const text = process.env.BENCH_RAW_BODY;
if (!Number.isInteger(port) || port <= 0 || text === undefined) {
  console.error('raw server: expected PORT and BENCH_RAW_BODY');
  process.exit(1);
}
const body = Buffer.from(text);
const headers = {
  'content-type': process.env.BENCH_RAW_CONTENT_TYPE || 'application/json; charset=utf-8',
  'content-length': String(body.length),
};

const server = createServer((req, res) => {
  req.on('data', () => {});
  req.once('end', () => res.writeHead(200, headers).end(body));
});
server.listen(port, '127.0.0.1');

// The bench holds our stdin open; when it goes away (even killed), so do we.
process.stdin.resume();
process.stdin.once('end', () => process.exit(0));
process.once('SIGTERM', () => process.exit(0));
