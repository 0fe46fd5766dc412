/**
 * A throw-away redis-server for one bench run: a free loopback port (never 6379, the usual home
 * of a real Redis), no persistence, its own temporary directory, killed with the other children.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST, freePort, spawnChild, waitFor, type Child } from './processes.ts';

export interface RedisHandle {
  child: Child;
  port: number;
  url: string;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'gcl-bench-redis-'));
  let port = await freePort();
  // 6379 may be someone's real Redis: never start on it, even if it looks free.
  while (port === 6379) port = await freePort();
  const args = ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir];
  const child = spawnChild('redis-server', 'redis-server', args, { ...process.env });
  const stop = async () => {
    await child.stop(2_000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(child, 'PING', () => ping(port), 10_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { child, port, url: `redis://${HOST}:${port}`, stop };
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    socket.setTimeout(1_000, () => socket.destroy());
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk) => {
      resolve(chunk.toString().startsWith('+PONG'));
      socket.destroy();
    });
  });
}
