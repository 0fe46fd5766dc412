/** Ids are database ids (PostgreSQL `integer`) written as canonical decimal strings. */
const MAX_ID = 2_147_483_647;
const CANONICAL_ID = /^[1-9][0-9]{0,9}$/;

/**
 * The database id an ID string names, or null when it cannot name a row: not a canonical
 * positive integer ("7", not "07" or "7.0"), or outside the column's range. Only canonical
 * spellings are accepted so that one object has exactly one id.
 */
export function parseId(raw: string): number | null {
  if (!CANONICAL_ID.test(raw)) return null;
  const id = Number(raw);
  return id <= MAX_ID ? id : null;
}
