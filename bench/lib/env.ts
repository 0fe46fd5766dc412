/** Settings of the bench scripts, read from the environment; a bad value stops the script before it starts anything. */

/** A positive number from `name`, or `fallback` when unset or empty. */
export function positiveNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!(Number.isFinite(value) && value > 0)) {
    console.error(`expected ${name} to be a positive number, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

/** A whole number from `name` (0 allowed), or `fallback` when unset or empty. */
export function wholeNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!(Number.isSafeInteger(value) && value >= 0)) {
    console.error(`expected ${name} to be a whole number, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}
