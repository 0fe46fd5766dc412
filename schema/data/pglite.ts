import { PGlite } from '@electric-sql/pglite';
import { createStatementEmitter, type Database, type Queryable } from './database.ts';

export interface PgliteOptions {
  /** Where PGlite keeps its files; in memory when absent. */
  dataDir?: string;
  /**
   * A data directory dump (`dumpDataDir`) to start from instead of running initdb, which is
   * most of PGlite's start-up time; tests that start many servers use one.
   */
  snapshot?: Blob;
}

export interface PgliteDatabase extends Database {
  /** The data directory as an uncompressed tarball, to pass back as `snapshot`. */
  dump(): Promise<Blob>;
}

export async function openPglite({ dataDir, snapshot }: PgliteOptions = {}): Promise<PgliteDatabase> {
  const pglite = await PGlite.create({ dataDir, loadDataDir: snapshot });
  const statements = createStatementEmitter();
  let closed: Promise<void> | undefined;

  const run = async <T>(target: Pick<PGlite, 'query'>, sql: string, params: readonly unknown[] = []) => {
    statements.emit(sql, params);
    const result = await target.query<T>(sql, params as unknown[]);
    return result.rows;
  };

  return {
    kind: 'pglite',
    query: (sql, params) => run(pglite, sql, params),
    // PGlite has a single connection; its own transaction() holds a lock so that concurrent
    // requests' statements cannot slip into the transaction.
    transaction: (fn) =>
      pglite.transaction((pgTx) => {
        const tx: Queryable = { query: (sql, params) => run(pgTx, sql, params) };
        return fn(tx);
      }),
    onStatement: statements.subscribe,
    dump: () => pglite.dumpDataDir('none'),
    close: () => (closed ??= pglite.close()),
  };
}
