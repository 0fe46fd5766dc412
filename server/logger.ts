/**
 * The server's logger: pino, JSON lines in production (one object a line, for a log shipper),
 * readable lines with `NODE_ENV=development` (pino-pretty, in process), at `LOG_LEVEL`. Lines go
 * to stdout through an asynchronous destination, so a busy server does not make a system call
 * per line; `flush` before exiting.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';
import type { YogaLogger } from 'graphql-yoga';
import type { ServerConfig } from './config.ts';

export type { Logger } from 'pino';

/**
 * A logger for `config`: its level, JSON or readable. `destination` replaces stdout (tests read
 * what was logged from it).
 */
export function createServerLogger(config: Pick<ServerConfig, 'logLevel' | 'prettyLogs'>, destination?: DestinationStream): Logger {
  const options = { level: config.logLevel };
  if (config.prettyLogs) {
    return pino(options, PinoPretty({ destination: destination ?? 1, colorize: destination === undefined && process.stdout.isTTY, ignore: 'pid,hostname', singleLine: true }));
  }
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
}

/**
 * The logger as yoga (and the cache, whose logger has the same shape) calls it:
 * `logger.warn(message, ...details)`. Pino would drop details that its message does not format,
 * so they go into the line's `err` (an Error) and `details` fields.
 */
export function yogaLogger(logger: Logger): YogaLogger {
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...args: unknown[]): void => {
      if (!logger.isLevelEnabled(level)) return;
      const [first, ...rest] = args;
      const message = typeof first === 'string' ? first : first instanceof Error ? first.message : '';
      const extra = typeof first === 'string' ? rest : args;
      const err = extra.find((value) => value instanceof Error);
      const details = extra.filter((value) => value !== err);
      logger[level]({ ...(err !== undefined && { err }), ...(details.length > 0 && { details }) }, message);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Writes out what the asynchronous destination still holds. */
export function flushLogs(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}
