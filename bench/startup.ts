/**
 * `npm run bench:startup`: how long the catalog server takes from being started to its first
 * answered request, run from sources under tsx (`tsx server/main.ts`, what `npm start` ran
 * before the server was compiled) and compiled on plain node (`node dist/server/main.js`, what
 * `npm start` runs after its `prestart` build). Each is started STARTUP_RUNS times (default 7),
 * alternating, on a free loopback port with the default configuration (embedded PGlite,
 * in-memory cache); the clock runs from spawn to the first 200 to `{ __typename }`, polled every
 * 10 ms. Builds dist/ first (`npm run build`) and times that build when it has nothing to do.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { HOST, freePort, spawnChild, stopAll } from './lib/processes.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const runs = Number(process.env.STARTUP_RUNS ?? 7);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`expected STARTUP_RUNS to be a whole number above 0, got ${process.env.STARTUP_RUNS}`);

const modes = {
  'tsx server/main.ts': [fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url)), 'server/main.ts'],
  'node dist/server/main.js': [process.execPath, '--enable-source-maps', 'dist/server/main.js'],
} as const;
type Mode = keyof typeof modes;

function env(port: number): NodeJS.ProcessEnv {
  const inherited = { ...process.env };
  for (const name of Object.keys(inherited)) {
    if (/^(PORT|HOST|DATABASE_URL|PGLITE_DATA_DIR|CACHE_.*|REDIS_.*|NODE_ENV)$/.test(name)) delete inherited[name];
  }
  return { ...inherited, PORT: String(port), HOST, LOG_LEVEL: 'warn' };
}

async function firstAnswerMs(mode: Mode): Promise<number> {
  const port = await freePort();
  const [command, ...args] = modes[mode];
  const started = performance.now();
  const child = spawnChild(mode, command, [...args], env(port), root);
  const answered = async () => {
    const response = await fetch(`http://${HOST}:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query":"{ __typename }"}',
    });
    await response.arrayBuffer();
    return response.status === 200;
  };
  try {
    for (;;) {
      if (await answered().catch(() => false)) return performance.now() - started;
      if (child.exited()) throw new Error(`${mode} exited before its first answer:\n${child.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    await child.stop();
  }
}

const timed = (run: () => void) => {
  const started = performance.now();
  run();
  return performance.now() - started;
};

try {
  execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
  const upToDateBuildMs = timed(() => execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' }));

  const samples: Record<Mode, number[]> = { 'tsx server/main.ts': [], 'node dist/server/main.js': [] };
  const order = Object.keys(modes) as Mode[];
  for (let run = 0; run < runs; run++) {
    // Alternate which goes first, so a change in the machine's load falls on both.
    for (const mode of run % 2 === 0 ? order : [...order].reverse()) samples[mode].push(await firstAnswerMs(mode));
  }

  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  console.log(`${new Date().toISOString().slice(0, 10)}, ${cpu}, ${os.cpus().length} cores, Node ${process.version}, 1-minute load average ${os.loadavg()[0].toFixed(2)} at the end`);
  console.log('| command | runs | median | min | max |');
  console.log('|---|--:|--:|--:|--:|');
  for (const mode of order) {
    const sorted = [...samples[mode]].sort((a, b) => a - b);
    const ms = (value: number) => `${Math.round(value)} ms`;
    console.log(`| \`${mode}\` | ${sorted.length} | ${ms(sorted[Math.floor(sorted.length / 2)])} | ${ms(sorted[0])} | ${ms(sorted[sorted.length - 1])} |`);
  }
  console.log(`\`npm run build\` with nothing to rebuild (what \`prestart\` adds to \`npm start\`): ${Math.round(upToDateBuildMs)} ms`);
} finally {
  await stopAll();
}
