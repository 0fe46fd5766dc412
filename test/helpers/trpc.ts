/**
 * tRPC clients for the catalog's `/trpc` endpoint, typed by its router (no casts), that keep the
 * cache headers of every HTTP response they get; and a database latch that holds one read of
 * product rows, for races between a procedure's read and a write.
 */
import { createTRPCClient, httpBatchLink, httpLink } from '@trpc/client';
import type { Database } from '../../schema/data/database.ts';
import type { AppRouter } from '../../schema/trpc/router.ts';

/** The cache headers of one HTTP response (one call, or one batch of calls). */
export interface TrpcResponseHeaders {
  method: string;
  url: string;
  status: number;
  xCache: string | null;
  cacheControl: string | null;
  vary: string | null;
  coalesced: string | null;
}

export interface TrpcClientOptions {
  /** Signs in as this demo user (`Authorization: Bearer token-N`). */
  userId?: number;
  /** One HTTP request per call (`httpLink`) instead of batching the calls of one tick (`httpBatchLink`). @default true */
  batch?: boolean;
}

/** `url` is the catalog's GraphQL URL; the client talks to `/trpc` beside it. Queries go as GET. */
export function createCatalogTrpcClient(url: string, { userId, batch = true }: TrpcClientOptions = {}) {
  const responses: TrpcResponseHeaders[] = [];
  const capturing: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const header = (name: string) => response.headers.get(name);
    responses.push({
      method: init?.method ?? 'GET',
      url: String(input),
      status: response.status,
      xCache: header('x-cache'),
      cacheControl: header('cache-control'),
      vary: header('vary'),
      coalesced: header('x-cache-coalesced'),
    });
    return response;
  };
  const options = {
    url: url.replace(/\/graphql$/, '/trpc'),
    fetch: capturing,
    headers: userId === undefined ? {} : { authorization: `Bearer token-${userId}` },
  };
  const client = createTRPCClient<AppRouter>({ links: [batch ? httpBatchLink(options) : httpLink(options)] });
  return {
    client,
    responses,
    /** The headers of the latest response. */
    last: () => responses[responses.length - 1],
  };
}

export type CatalogTrpcClient = ReturnType<typeof createCatalogTrpcClient>;

/** Statements that read product rows outside a transaction (mutations lock theirs inside one). */
const READS_PRODUCTS = /^\s*SELECT\b[\s\S]*\bproducts\b/i;

export interface ReadLatch {
  /** Holds the next read of product rows, after it has read them, until `release()`. */
  arm(): { entered: Promise<void>; release(): void };
  wrap(db: Database): Database;
}

/** A latch over the database: a held read returns the rows it read before a write, after that write. */
export function createReadLatch(): ReadLatch {
  let armed: { enter(): void; released: Promise<void> } | undefined;
  return {
    arm() {
      let enter!: () => void;
      let release!: () => void;
      const entered = new Promise<void>((resolve) => (enter = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      armed = { enter, released };
      return { entered, release };
    },
    wrap: (db) => ({
      kind: db.kind,
      async query<T>(sql: string, params?: readonly unknown[]): Promise<T[]> {
        const rows = await db.query<T>(sql, params);
        const held = armed;
        if (held && READS_PRODUCTS.test(sql)) {
          armed = undefined;
          held.enter();
          await held.released;
        }
        return rows;
      },
      transaction: (fn) => db.transaction(fn),
      onStatement: (listener) => db.onStatement(listener),
      close: () => db.close(),
    }),
  };
}
