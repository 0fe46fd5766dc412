/**
 * Reading the environment, for every part of the configuration: each reader returns the value
 * (or the fallback when the variable is unset or empty) and adds a problem that names the
 * variable and shows the bad value, so one error at start-up can list them all.
 */
export type Env = Record<string, string | undefined>;

export interface EnvReader {
  /** The value; undefined when unset or empty. */
  string(name: string): string | undefined;
  /** A whole number from `min` to `max`. */
  integer(name: string, { min, max, fallback }: { min: number; max: number; fallback: number }): number;
  /** `true`/`1` or `false`/`0`. */
  boolean(name: string, fallback: boolean): boolean;
  oneOf<T extends string>(name: string, options: readonly T[], fallback: T): T;
  /** A bearer token: 16 characters or more, without leading or trailing spaces. Never shown. */
  token(name: string): string | undefined;
  /** Records a problem found by the caller's own check. */
  problem(message: string): void;
}

export function createEnvReader(env: Env, problems: string[]): EnvReader {
  const string = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  return {
    string,
    integer(name, { min, max, fallback }) {
      const raw = string(name);
      if (raw === undefined) return fallback;
      const value = Number(raw);
      if (!/^[0-9]+$/.test(raw) || value < min || value > max) {
        problems.push(`expected ${name} to be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
        return fallback;
      }
      return value;
    },
    boolean(name, fallback) {
      const raw = string(name);
      if (raw === undefined) return fallback;
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      problems.push(`expected ${name} to be true or false, got ${JSON.stringify(raw)}`);
      return fallback;
    },
    oneOf(name, options, fallback) {
      const raw = string(name);
      if (raw === undefined) return fallback;
      const option = options.find((candidate) => candidate === raw);
      if (option === undefined) problems.push(`expected ${name} to be one of ${options.join(', ')}, got ${JSON.stringify(raw)}`);
      return option ?? fallback;
    },
    token(name) {
      const token = string(name);
      if (token !== undefined && token.length < 16) {
        problems.push(`expected ${name} to be at least 16 characters, got one of ${token.length}`);
      } else if (token !== undefined && /^\s|\s$/.test(token)) {
        // A bearer token is read without its outer spaces: this one could never match.
        problems.push(`expected ${name} without leading or trailing spaces, got a token that has them`);
      } else {
        return token;
      }
      return undefined;
    },
    problem: (message) => void problems.push(message),
  };
}

/** Config errors end up in logs: never print a password. */
export function redactPassword(raw: string): string {
  return raw.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}
