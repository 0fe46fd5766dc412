/**
 * The one data-access interface. PostgreSQL (pg) and embedded PGlite both implement it and
 * receive the same SQL, with `$1`-style parameters.
 */

export interface Queryable {
  /** Runs one statement and returns its rows. */
  query<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

/** What a statement listener receives: one per `query` call, transaction control not included. */
export interface StatementEvent {
  sql: string;
  params: readonly unknown[];
}

export type StatementListener = (event: StatementEvent) => void;

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws.
   * Statements on `tx` are seen by statement listeners like any other.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Subscribes to every statement sent (tests count them); returns the unsubscribe function. */
  onStatement(listener: StatementListener): () => void;
  /** Idempotent: later calls return the first call's promise. */
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A postgres:// URL; without it an embedded PGlite database is used. */
  databaseUrl?: string;
  /** Where PGlite keeps its files; in memory when absent. Ignored with `databaseUrl`. */
  pgliteDataDir?: string;
  /** A PGlite data directory dump to start from instead of initdb (see `openPglite`). */
  pgliteSnapshot?: Blob;
  /** Errors of idle pooled connections (e.g. the server restarted); they never reach a query. */
  onIdleError?: (error: Error) => void;
}

/** Fans statement events out to listeners; shared by both implementations. */
export function createStatementEmitter() {
  const listeners = new Set<StatementListener>();
  return {
    emit(sql: string, params: readonly unknown[]) {
      for (const listener of listeners) listener({ sql, params });
    },
    subscribe(listener: StatementListener): () => void {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}

/**
 * Opens the database the options point at. Each driver is imported only when chosen, so a
 * PostgreSQL deployment never loads the PGlite WebAssembly and vice versa.
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl !== undefined) {
    const { openPostgres } = await import('./postgres.ts');
    return openPostgres(options.databaseUrl, { onIdleError: options.onIdleError });
  }
  const { openPglite } = await import('./pglite.ts');
  return openPglite({ dataDir: options.pgliteDataDir, snapshot: options.pgliteSnapshot });
}
