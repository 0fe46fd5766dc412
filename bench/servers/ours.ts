/**
 * Our server as `npm start` runs it (server/run.ts: the same configuration from the environment,
 * the same code), from its sources under tsx rather than compiled, plus what the bench alone
 * needs, set in code so that no deployment can switch it on:
 * - `GET /bench/statements` answers how many SQL statements the server has sent so far;
 * - `BENCH_RESOLVER_CACHING=false` keeps the response cache but caches no loader or field;
 * - it exits when the bench's stdin pipe closes, so that a bench killed outright (SIGKILL)
 *   leaves no server behind.
 */
import type { Plugin } from 'graphql-yoga';
import type { Database } from '../../schema/data/database.ts';
import { runServer } from '../../server/run.ts';

process.stdin.resume();
process.stdin.once('end', () => process.exit(0));

let statements = 0;
const countStatements = (db: Database): Database => {
  db.onStatement(() => void statements++);
  return db;
};
const statementsEndpoint: Plugin = {
  onRequest({ url, endResponse, fetchAPI }) {
    if (url.pathname !== '/bench/statements') return;
    endResponse(new fetchAPI.Response(JSON.stringify({ statements }), { headers: { 'content-type': 'application/json' } }));
  },
};

await runServer({
  wrapDatabase: countStatements,
  plugins: [statementsEndpoint],
  resolverCaching: process.env.BENCH_RESOLVER_CACHING !== 'false',
});
