/**
 * DEMO-ONLY authentication: `Authorization: Bearer token-N` signs in as user N. Anyone can
 * forge it; it exists so that the demo has sessions without an identity provider.
 *
 * Pure and synchronous on purpose: the response cache derives the session from the request
 * headers alone, before any resolver or database runs.
 */
const CREDENTIALS = /^(\S+) +(\S+)$/;
const DEMO_TOKEN = /^token-([1-9][0-9]*)$/;

/** The user id ("N") the header signs in as, or null when it is absent or not a demo token. */
export function userIdFromAuthorization(header: string | null | undefined): string | null {
  if (header == null) return null;
  const credentials = CREDENTIALS.exec(header.trim());
  // The scheme is case-insensitive (RFC 9110 §11.1), the token is not.
  if (credentials === null || credentials[1].toLowerCase() !== 'bearer') return null;
  return DEMO_TOKEN.exec(credentials[2])?.[1] ?? null;
}
