import pg from 'pg';
import { createStatementEmitter, type Database, type Queryable } from './database.ts';

export interface PostgresOptions {
  onIdleError?: (error: Error) => void;
}

export function openPostgres(connectionString: string, { onIdleError }: PostgresOptions = {}): Database {
  const pool = new pg.Pool({ connectionString });
  // Without a listener an idle client's error (e.g. the server restarting) would crash the
  // process; the pool already discards that client, so reporting it is all that is left.
  pool.on('error', (error) => onIdleError?.(error));
  const statements = createStatementEmitter();
  let closed: Promise<void> | undefined;

  const run = async <T>(client: pg.Pool | pg.PoolClient, sql: string, params: readonly unknown[] = []) => {
    statements.emit(sql, params);
    const result = await client.query(sql, params as unknown[]);
    return result.rows as T[];
  };

  return {
    kind: 'postgres',
    query: (sql, params) => run(pool, sql, params),
    async transaction(fn) {
      const client = await pool.connect();
      const tx: Queryable = { query: (sql, params) => run(client, sql, params) };
      try {
        await client.query('BEGIN');
        const result = await fn(tx);
        await client.query('COMMIT');
        client.release();
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
          client.release();
        } catch (rollbackError) {
          // A connection that cannot roll back is in an unknown state: destroy it, never reuse it.
          client.release(rollbackError instanceof Error ? rollbackError : true);
        }
        throw error;
      }
    },
    onStatement: statements.subscribe,
    close: () => (closed ??= pool.end()),
  };
}
