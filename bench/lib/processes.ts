/**
 * Child processes of the benchmark: every server and redis-server runs as its own process, so its
 * CPU time and RSS can be read from /proc. Every child started here is tracked and killed by
 * `stopAll`, which `run.ts` calls from `finally` and on SIGINT/SIGTERM; a synchronous SIGKILL on
 * `exit` is the last resort.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import getPort from 'get-port';

export const HOST = '127.0.0.1';

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** The child's last few KB of stdout and stderr, for error messages. */
  output(): string;
  exited(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`. Resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<Child>();

process.once('exit', () => {
  for (const child of running) child.process.kill('SIGKILL');
});

/**
 * Starts `command`. With `discardStdout`, the child's stdout goes nowhere: a server logs a line per
 * request there, and draining those through a pipe would take CPU from the bench and the load
 * generator in the middle of a measurement (its stderr, where start-up failures go, is kept).
 */
export function spawnChild(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string, discardStdout = false): Child {
  // stdin is a pipe that stays open: the bench's own servers exit when it closes (the bench died).
  const child = spawn(command, args, { env, cwd, stdio: ['pipe', discardStdout ? 'ignore' : 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  // A child that dies early must not crash the bench through an EPIPE on its stdin.
  child.stdin?.on('error', () => {});
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const handle: Child = {
    name,
    process: child,
    pid: child.pid,
    output: () => output,
    exited,
    stop(graceMs = 5_000) {
      if (exited()) {
        running.delete(handle);
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        child.once('exit', () => {
          clearTimeout(timer);
          running.delete(handle);
          resolve();
        });
        child.kill('SIGTERM');
      });
    },
  };
  running.add(handle);
  child.once('exit', () => running.delete(handle));
  return handle;
}

/** Stops every child still running, in parallel. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((child) => child.stop(3_000)));
}

/** A port that was free a moment ago on the loopback interface. */
export const freePort = (): Promise<number> => getPort({ host: HOST });

/** Polls `probe` until it resolves true; fails at once if the child exits, or after `timeoutMs`. */
export async function waitFor(child: Child, what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exited()) {
      const how = child.process.signalCode ?? `code ${child.process.exitCode}`;
      throw new Error(`${child.name} (pid ${child.pid}) exited (${how}) before ${what}:\n${child.output()}`);
    }
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${child.name}: timed out after ${timeoutMs} ms waiting for ${what}:\n${child.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// ── /proc readings (Linux) ─────────────────────────────────────────────────────────────

let clockTicks: number | undefined;

/** Clock ticks per second of /proc/<pid>/stat's utime and stime. */
export function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** User + system CPU time the process has used so far, in µs. */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may contain spaces: count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e6) / ticksPerSecond();
}

/** Resident set size now (`VmRSS`) and its peak (`VmHWM`), in bytes. */
export function memory(pid: number): { rssBytes: number; peakRssBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') };
}
