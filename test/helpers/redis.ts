/**
 * Throw-away `redis-server` processes for integration tests: each on a free loopback port, in its
 * own temporary directory, without persistence. Only servers started here are ever touched.
 *
 * Admin commands go over a raw RESP connection opened per command, so a test needs no client of
 * its own to inspect a server (and none is left open by a failed test).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import getPort from 'get-port';

const HOST = '127.0.0.1';
const START_DEADLINE_MS = 10_000;

export type RespReply = string | number | null | Error | RespReply[];

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Sends one command on a fresh connection; a Redis error reply resolves to an Error. */
  command(...args: (string | number)[]): Promise<RespReply>;
  /** Kills the process as a crash would (SIGKILL); its data is gone (no persistence). */
  kill(): Promise<void>;
  /** Starts the server again on the same port after `kill`. */
  restart(): Promise<void>;
  /** Kills the process and removes its directory. */
  stop(): Promise<void>;
}

export interface RedisClusterHandle {
  readonly nodes: readonly RedisServer[];
  readonly startupNodes: readonly { host: string; port: number }[];
  stop(): Promise<void>;
}

// Safety net for a test run that dies without its teardown: no redis-server outlives the worker.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A port that was free a moment ago on the loopback interface (and not handed out by this process in the last few seconds). */
export const freePort = (): Promise<number> => getPort({ host: HOST });

/**
 * Resolves when an ioredis client is (or next becomes) ready. Unlike `events.once`, connection
 * errors while it reconnects do not reject: a test waiting for a restarted server sees several.
 */
export function whenReady(client: { status: string; once(event: 'ready', listener: () => void): unknown }): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => client.once('ready', () => resolve()));
}

/** Polls `condition` every `intervalMs` until it holds; rejects after `timeoutMs` with `what`. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  { timeoutMs = 5_000, intervalMs = 20 } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function encodeCommand(args: (string | number)[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const arg of args) {
    const text = String(arg);
    parts.push(`$${Buffer.byteLength(text)}\r\n${text}\r\n`);
  }
  return Buffer.from(parts.join(''));
}

/** Parses one RESP2 reply at `offset`; undefined while the buffer holds only part of it. */
function parseReply(buf: Buffer, offset: number): [RespReply, number] | undefined {
  const lineEnd = buf.indexOf('\r\n', offset);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buf[offset]);
  const line = buf.toString('utf8', offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case '+':
      return [line, next];
    case '-':
      return [new Error(line), next];
    case ':':
      return [Number(line), next];
    case '$': {
      const length = Number(line);
      if (length < 0) return [null, next];
      if (buf.length < next + length + 2) return undefined;
      return [buf.toString('utf8', next, next + length), next + length + 2];
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return [null, next];
      const items: RespReply[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const parsed = parseReply(buf, at);
        if (parsed === undefined) return undefined;
        items.push(parsed[0]);
        at = parsed[1];
      }
      return [items, at];
    }
    default:
      throw new Error(`unexpected RESP reply type ${JSON.stringify(type)}`);
  }
}

export function redisCommand(port: number, args: (string | number)[], timeoutMs = 5_000): Promise<RespReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port });
    let received = Buffer.alloc(0);
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`redis ${args[0]} on port ${port}: no reply in ${timeoutMs} ms`)));
    socket.once('error', reject);
    socket.once('connect', () => socket.write(encodeCommand(args)));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      const parsed = parseReply(received, 0);
      if (parsed === undefined) return;
      socket.destroy();
      resolve(parsed[0]);
    });
  });
}

interface Spawned {
  child: ChildProcess;
  /** The server's last output, for the error message when it does not come up. */
  output(): string;
}

function spawnServer(dir: string, args: string[]): Spawned {
  const child = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => output };
}

async function waitForPing(port: number, spawned: Spawned): Promise<void> {
  const deadline = Date.now() + START_DEADLINE_MS;
  for (;;) {
    if (spawned.child.exitCode !== null || spawned.child.signalCode !== null) {
      throw new Error(`redis-server on port ${port} exited during start-up:\n${spawned.output()}`);
    }
    const reply = await redisCommand(port, ['PING'], 1_000).catch(() => undefined);
    if (reply === 'PONG') return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING:\n${spawned.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function launch(extraArgs: (port: number) => Promise<string[]>): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'gcl-redis-'));
  // Another process may take the free port before redis-server binds it: try a few ports.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const args = [
      '--port', String(port),
      '--bind', HOST,
      '--save', '',
      '--appendonly', 'no',
      '--protected-mode', 'no',
      '--dir', dir,
      ...(await extraArgs(port)),
    ];
    let spawned = spawnServer(dir, args);
    try {
      await waitForPing(port, spawned);
    } catch (error) {
      await killChild(spawned.child);
      if (attempt < 3) continue;
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    return {
      host: HOST,
      port,
      url: `redis://${HOST}:${port}`,
      command: (...command) => redisCommand(port, command),
      kill: () => killChild(spawned.child),
      async restart() {
        await killChild(spawned.child);
        spawned = spawnServer(dir, args);
        await waitForPing(port, spawned);
      },
      async stop() {
        await killChild(spawned.child);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

/** Starts a standalone redis-server on a free loopback port. */
export function startRedis(): Promise<RedisServer> {
  return launch(async () => []);
}

/** Starts `size` cluster-enabled masters, joins them into one cluster and waits for cluster_state:ok. */
export async function startRedisCluster(size = 3): Promise<RedisClusterHandle> {
  const nodes: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    for (let i = 0; i < size; i++) {
      nodes.push(
        await launch(async () => [
          '--cluster-enabled', 'yes',
          '--cluster-config-file', 'nodes.conf',
          '--cluster-node-timeout', '5000',
          // The bus port defaults to port + 10000, which may be taken or above 65535.
          '--cluster-port', String(await freePort()),
        ]),
      );
    }
    await runRedisCli([
      '--cluster', 'create',
      ...nodes.map((node) => `${HOST}:${node.port}`),
      '--cluster-replicas', '0',
      '--cluster-yes',
    ]);
    for (const node of nodes) {
      await waitUntil(
        async () => String(await node.command('CLUSTER', 'INFO')).includes('cluster_state:ok'),
        `cluster_state:ok on port ${node.port}`,
        { timeoutMs: 20_000, intervalMs: 50 },
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, startupNodes: nodes.map(({ host, port }) => ({ host, port })), stop };
}

function runRedisCli(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`redis-cli ${args.join(' ')} exited with ${code}:\n${output}`));
    });
  });
}
