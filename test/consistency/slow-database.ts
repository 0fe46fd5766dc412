/**
 * A database whose reads of product rows are handed back late: the consistency checker widens
 * its race windows with it. The rows are read at once and returned after the delay, so a read
 * that began before a price update can come back with the old row after the update has
 * committed, been evicted and been answered: the slow read whose write-back the cache's tickets
 * must refuse, and the read a follower of a coalesced miss must not be given.
 *
 * Why a wrapper and not a switch in the server: it enters only through the code-level
 * `CatalogServerOptions.wrapDatabase`, from test and bench code that starts servers in process.
 * No environment variable or configuration reaches it, so no deployment (server/main.ts) can
 * turn it on by accident, and the server's own data layer stays free of test switches.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../../schema/data/database.ts';

export interface SlowReadsOptions {
  /** The longest delay, in ms; each slowed read waits a uniformly random time up to it. 0 leaves the database as it is. */
  maxDelayMs: number;
  /** @default Math.random */
  random?: () => number;
}

/**
 * Statements that read product rows. Only statements outside a transaction are slowed: the
 * mutations' own reads (`SELECT … FOR UPDATE` in `updateProduct`) run inside one, and slowing
 * them would only slow the writers, not widen a reader's window.
 */
const READS_PRODUCTS = /^\s*SELECT\b[\s\S]*\bproducts\b/i;

export function withSlowProductReads(db: Database, { maxDelayMs, random = Math.random }: SlowReadsOptions): Database {
  if (maxDelayMs <= 0) return db;
  return {
    kind: db.kind,
    async query<T>(sql: string, params?: readonly unknown[]): Promise<T[]> {
      const rows = await db.query<T>(sql, params);
      if (READS_PRODUCTS.test(sql)) await sleep(random() * maxDelayMs);
      return rows;
    },
    transaction: (fn) => db.transaction(fn),
    onStatement: (listener) => db.onStatement(listener),
    close: () => db.close(),
  };
}
