/**
 * The catalog's tRPC instance and its base procedure. The operations throw the catalog's
 * GraphQL errors (errors.ts); the base procedure turns them into the tRPC error of the same
 * meaning, with the same message: BAD_USER_INPUT is BAD_REQUEST, UNAUTHENTICATED is
 * UNAUTHORIZED, NOT_FOUND is NOT_FOUND. Anything else stays an INTERNAL_SERVER_ERROR. Input
 * refused by zod is a BAD_REQUEST whose message names each bad field. Stack traces are sent only
 * with NODE_ENV=development, as GraphQL errors are masked.
 */
import { initTRPC, TRPCError, type TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { errorCodeOf, type ErrorCode } from '../errors.ts';
import type { CatalogTrpcContext } from './context.ts';

const t = initTRPC.context<CatalogTrpcContext>().create({ isDev: process.env.NODE_ENV === 'development' });

const TRPC_CODES: Record<ErrorCode, TRPC_ERROR_CODE_KEY> = {
  BAD_USER_INPUT: 'BAD_REQUEST',
  UNAUTHENTICATED: 'UNAUTHORIZED',
  NOT_FOUND: 'NOT_FOUND',
};

export const router = t.router;

/** The issues of a refused input (zod's, as Standard Schema reports them), one `field: problem` each. */
function inputIssues(cause: unknown): string | undefined {
  const issues = (cause as { issues?: unknown } | undefined)?.issues;
  if (!Array.isArray(issues) || issues.length === 0) return undefined;
  return issues.map(({ path, message }: { path?: PropertyKey[]; message: string }) => `${path?.length ? path.map(String).join('.') : 'input'}: ${message}`).join('; ');
}

export const procedure = t.procedure.use(async ({ next }) => {
  const result = await next();
  if (result.ok) return result;
  const { error } = result;
  const code = errorCodeOf(error.cause);
  if (code !== undefined) return { ...result, error: new TRPCError({ code: TRPC_CODES[code], message: error.message, cause: error.cause }) };
  const issues = error.code === 'BAD_REQUEST' ? inputIssues(error.cause) : undefined;
  if (issues !== undefined) return { ...result, error: new TRPCError({ code: 'BAD_REQUEST', message: `invalid input: ${issues}`, cause: error.cause }) };
  return result;
});
