import { GraphQLError } from 'graphql';

/**
 * The catalogue of error codes a client can see, with the HTTP status each implies.
 * Yoga sends `extensions.http.status` as the response status and strips it from the body.
 */
export const errorHttpStatus = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  NOT_FOUND: 404,
} as const;

export type ErrorCode = keyof typeof errorHttpStatus;

export function catalogError(code: ErrorCode, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code, http: { status: errorHttpStatus[code] } } });
}

export const badUserInput = (message: string) => catalogError('BAD_USER_INPUT', message);
export const notFound = (message: string) => catalogError('NOT_FOUND', message);
export const unauthenticated = (message: string) => catalogError('UNAUTHENTICATED', message);

/** By name, not instanceof: a second copy of `graphql` in node_modules has its own class. */
export function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof Error && error.name === 'GraphQLError';
}

/** The catalogue code an error carries, if any. */
export function errorCodeOf(error: unknown): ErrorCode | undefined {
  if (!isGraphQLError(error)) return undefined;
  const code = error.extensions.code;
  return typeof code === 'string' && Object.hasOwn(errorHttpStatus, code) ? (code as ErrorCode) : undefined;
}
