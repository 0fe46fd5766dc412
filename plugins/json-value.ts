/**
 * Whether a value survives the store: values are kept as JSON, so only what comes back from
 * `JSON.parse(JSON.stringify(value))` as it was may be cached. A `Date` would come back a
 * string, a `Map` an empty object, a class instance a plain object without its methods, a
 * `BigInt` or a cycle would throw, `NaN` would become null: caching any of them would serve a
 * different value on a hit than on a miss.
 */

/** An `Error` inside a value: a partial result, never cached, and not worth a warning. */
export const PARTIAL_RESULT = 'an Error (a partial result)';

/** Deeper than this, a value is taken for a cycle. */
const MAX_DEPTH = 64;

/**
 * Why `value` would not come back from JSON unchanged, or undefined when it would. Plain
 * objects (`Object.prototype` or none), arrays without holes or undefined, strings, booleans,
 * finite numbers and null pass; an object property that is undefined passes too (it reads
 * undefined after the round trip as before).
 */
export function jsonProblem(value: unknown, depth = 0): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : String(value);
    case 'object':
      return value === null ? undefined : objectProblem(value, depth);
    case 'bigint':
      return 'a BigInt';
    case 'undefined':
      return 'undefined';
    default:
      return `a ${typeof value}`;
  }
}

function objectProblem(value: object, depth: number): string | undefined {
  if (depth >= MAX_DEPTH) return `nesting deeper than ${MAX_DEPTH} levels (a cycle?)`;
  if (value instanceof Error) return PARTIAL_RESULT;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return 'an instance of a subclass of Array';
    for (let i = 0; i < value.length; i++) {
      if (!(i in value) || value[i] === undefined) return 'undefined in an array';
      const problem = jsonProblem(value[i], depth + 1);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    const name = (prototype as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== '' ? `an instance of ${name}` : 'an instance of a class';
  }
  if (Object.getOwnPropertySymbols(value).length > 0) return 'a symbol-keyed property';
  for (const key of Object.keys(value)) {
    const property = (value as Record<string, unknown>)[key];
    if (property === undefined) continue;
    const problem = jsonProblem(property, depth + 1);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
