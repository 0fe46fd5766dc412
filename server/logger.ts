/**
 * The server's logger: pino, JSON lines in production (one object a line, for a log shipper),
 * readable lines with `NODE_ENV=development` (pino-pretty, in process), at `LOG_LEVEL`. Lines go
 * to stdout in batches: joined for up to 200 ms (or 64 KiB) and handed to an asynchronous
 * destination at once, so a busy server makes a few writes a second rather than one per line;
 * they are written out when the process exits, and `flushLogs` writes them out at once.
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
  return pino(options, destination ?? stdoutLines());
}

type FlushableDestination = DestinationStream & { flush(callback: (error?: Error) => void): void };

let stdout: FlushableDestination | undefined;

/**
 * How long a line may wait to be written with others: a write (a thread-pool job and its
 * callback) costs several µs, which per turn of a busy event loop was a fifth of a cache hit.
 */
const LINE_DELAY_MS = 200;

/** One batching destination for stdout per process, written out as the process exits. */
function stdoutLines(): FlushableDestination {
  if (stdout) return stdout;
  const target = pino.destination({ dest: 1, sync: false });
  let pending = '';
  let scheduled = false;
  const hand = () => {
    scheduled = false;
    if (pending === '') return;
    target.write(pending);
    pending = '';
  };
  process.once('exit', () => {
    hand();
    try {
      target.flushSync();
    } catch {
      // Nothing more can be done for the last lines of a process that is going away.
    }
  });
  stdout = {
    write(line: string) {
      pending += line;
      if (pending.length >= 65_536) hand();
      else if (!scheduled) {
        scheduled = true;
        setTimeout(hand, LINE_DELAY_MS).unref();
      }
    },
    flush(callback) {
      hand();
      target.flush(callback);
    },
  };
  return stdout;
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
